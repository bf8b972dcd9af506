from preflint.defects import Defect
from preflint.findings import Severity
from preflint.rule import NOT_A_PAIR, DefectRule


class InvalidType(DefectRule):
    """A field holds the wrong type: null or a number where text belongs, or a malformed message list.

    ## What it does
    Reports records whose prompt, chosen or rejected value is neither text nor a list of messages, messages that
    lack a role or whose content is not text, and score columns that are not numbers.

    ## Why is this bad?
    `None` becomes the string "None" in some pipelines and an exception in others; an integer prompt is
    silently stringified. Neither is the data the author meant.

    ## Example
    ```jsonl
    {"prompt": 42, "chosen": null, "rejected": "No."}
    ```

    ## Fix safety
    Safe: `preflint fix` drops the record and lists it in the rejects with this reason; no trainer can use it.
    """

    code = "S003"
    name = "invalid-type"
    family = "structure"
    severity = Severity.ERROR
    fix = NOT_A_PAIR
    defect = Defect.INVALID_TYPE
