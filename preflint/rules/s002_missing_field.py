from preflint.defects import Defect
from preflint.findings import Severity
from preflint.rule import NOT_A_PAIR, DefectRule


class MissingField(DefectRule):
    """A record lacks a field its dataset's shape needs (the prompt, chosen or rejected column).

    ## What it does
    Reports records that do not have one of the columns detected (or named with `--map`) for the prompt, the
    chosen response or the rejected response.

    ## Why is this bad?
    Trainers either crash on the row mid-run or, worse, fill in an empty string and train on it.

    ## Example
    ```jsonl
    {"prompt": "Hi", "chosen": "Hello!"}
    ```

    ## Fix safety
    Safe: `preflint fix` drops the record and lists it in the rejects with this reason; no trainer can use it.
    """

    code = "S002"
    name = "missing-field"
    family = "structure"
    severity = Severity.ERROR
    fix = NOT_A_PAIR
    defect = Defect.MISSING_FIELD
