from preflint.batch import plain_text
from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.text import blank


class EmptyPrompt(RowRule):
    """The prompt is empty or only whitespace.

    ## What it does
    Reports pairs whose prompt has no text (for conversations: no non-system message with text). For dialogues
    with an implicit prompt, it also fires when no assistant-turn marker was found to split the prompt off.

    ## Why is this bad?
    The model learns a preference between two responses to nothing. Usually a column was mapped wrongly or the
    prompt was lost in a conversion.

    ## Example
    ```jsonl
    {"prompt": "   ", "chosen": "Paris.", "rejected": "Rome."}
    ```

    ## Fix safety
    No automatic fix: whether a prompt-less pair is intended is the author's call.
    """

    code = "S004"
    name = "empty-prompt"
    family = "structure"
    severity = Severity.WARNING

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            turns = [m for m in pair.prompt if m["role"] != "system"] if pair.is_chat else pair.prompt
            if blank(plain_text(turns)):
                yield self.finding(batch.rows[i], "the prompt is empty")
