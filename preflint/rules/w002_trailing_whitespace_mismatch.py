from preflint.findings import Applicability, Edit, Fix, Severity
from preflint.rules._edge_whitespace import EdgeWhitespaceMismatch
from preflint.text import trailing_whitespace


class TrailingWhitespaceMismatch(EdgeWhitespaceMismatch):
    """Chosen and rejected end with different whitespace.

    ## What it does
    Compares the whitespace after the last visible character of the two responses, as the model sees them, and
    reports pairs where it differs (a trailing newline on one side only, two spaces against none, ...).

    ## Why is this bad?
    Trainers append EOS right after the completion, so "...done.\\n<eos>" and "...done.<eos>" end in different
    tokens. A difference the annotator never judged becomes part of what the loss rewards; across a dataset it
    can predict the label on its own (see W003).

    ## Example
    ```jsonl
    {"prompt": "Say hi.", "chosen": "Hi!\\n", "rejected": "Hello."}
    ```

    ## Fix safety
    Safe: trailing whitespace is stripped from both sides.
    """

    code = "W002"
    name = "trailing-whitespace-mismatch"
    family = "whitespace"
    severity = Severity.WARNING
    fix = Fix(Applicability.SAFE, "strip trailing whitespace from both sides", Edit(str.rstrip))
    edge_of = staticmethod(trailing_whitespace)
    verb = "ends"
