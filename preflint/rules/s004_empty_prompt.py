from preflint.findings import Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import RowRule
from preflint.text import blank

NO_PROMPT_FOUND = (
    "the prompt is empty: no prompt column was found, and chosen and rejected are not dialogues to take one from (no "
    "assistant-turn marker such as '\\n\\nAssistant:'); if a column holds it, name it: --map prompt=COLUMN"
)


class EmptyPrompt(RowRule):
    """The prompt is empty or only whitespace.

    ## What it does
    Reports pairs whose prompt has no text (for conversations: no non-system message with text). For dialogues
    with an implicit prompt, it also fires when no assistant-turn marker was found to split the prompt off: then no
    prompt column was found either, and the message says how to name one (UltraInteract keeps its prompt in a
    `trajectory` column: `--map prompt=trajectory`).

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
            if not blank(plain_text(turns)):
                continue
            if pair.kind == "implicit" and not pair.prompt:
                yield self.finding(batch.rows[i], NO_PROMPT_FOUND)
            else:
                yield self.finding(batch.rows[i], "the prompt is empty")
