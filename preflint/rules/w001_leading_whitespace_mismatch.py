from preflint.findings import Applicability, Edit, Fix, Severity
from preflint.rules._edge_whitespace import EdgeWhitespaceMismatch
from preflint.text import leading_whitespace


def one_leading_space(text: str) -> str:
    return " " + text.lstrip()


SINGLE_SPACE = Fix(
    Applicability.SAFE,
    "make both sides start with a single space (the prompt ends without one)",
    Edit(one_leading_space),
)


class LeadingWhitespaceMismatch(EdgeWhitespaceMismatch):
    """Chosen and rejected start with different whitespace (a space, a newline, a tab, or how many).

    ## What it does
    Compares the whitespace before the first visible character of the two responses, as the model sees them
    (after the chat template), and reports pairs where it differs.

    ## Why is this bad?
    With BPE tokenizers the leading space is part of the first token (" Paris" and "Paris" are different ids), so
    the two sides start with different tokens for no reason the annotator had. When one side carries the space
    more often than the other across the dataset (see W003), the model learns the space, not the preference.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": "Rome."}
    ```

    ## Fix safety
    Safe: both sides get the same leading whitespace. Policy `boundary` (default) follows the prompt boundary:
    nothing after a prompt that ends in whitespace, a single space otherwise (as in `Assistant: Hello`).
    Policy `strip` removes leading whitespace from both sides.
    """

    code = "W001"
    name = "leading-whitespace-mismatch"
    family = "whitespace"
    severity = Severity.WARNING
    fix = Fix(Applicability.SAFE, "strip leading whitespace from both sides", Edit(str.lstrip))
    options = {"policy": "boundary"}
    edge_of = staticmethod(leading_whitespace)
    verb = "starts"

    def __init__(self, **settings):
        super().__init__(**settings)
        if self.settings["policy"] not in ("boundary", "strip"):
            from preflint.errors import ConfigError

            raise ConfigError(
                f"rule W001 option 'policy' must be 'boundary' or 'strip', got {self.settings['policy']!r}"
            )

    def fix_for(self, prompt: str) -> Fix:
        if self.settings["policy"] == "strip" or not prompt or prompt[-1].isspace():
            return self.fix
        return SINGLE_SPACE
