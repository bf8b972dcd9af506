from preflint.findings import Severity
from preflint.rule import NOT_A_PAIR, DefectRule


class UnreadableRecord(DefectRule):
    """A record that cannot be read: a line that is not JSON or not UTF-8, or a value that is not an object.

    ## What it does
    Reports every record the reader could not decode, with the line (or item) and the reason.

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
