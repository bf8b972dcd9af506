from preflint.defects import Defect
from preflint.findings import Severity
from preflint.rule import NOT_A_PAIR, DefectRule


class UnreadableRecord(DefectRule):
    """A record that cannot be read: a line that is not JSON, text that is not Unicode, a value not an object.

    ## What it does
    Reports every record the reader could not decode, with the line (or item) and the reason: a JSON line that
    does not parse, a CSV row with more or fewer cells than the header (a cell out of place shifts the rest), or
    text that is not valid Unicode: bytes that are not UTF-8 in a JSON line or in a Parquet or Arrow text column
    (writers do not all check), or a JSON escape of half a UTF-16 surrogate pair (`\\ud83d` without its
    `\\ude00`: an emoji cut in two where the text was truncated), which no tokenizer or Parquet file accepts.

    ## Why is this bad?
    Loaders disagree about broken lines: `datasets` aborts the whole file, other tools skip the line silently.
    Either way the row never reaches training and nobody is told.

    ## Example
    ```jsonl
    {"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."
    ```
    (the closing brace is missing)

    ## Fix safety
    Safe: `preflint fix` drops the record and lists it in the rejects with this reason; no trainer can use it.
    """

    code = "S001"
    name = "unreadable-record"
    family = "structure"
    severity = Severity.ERROR
    fix = NOT_A_PAIR
    defect = Defect.UNREADABLE
