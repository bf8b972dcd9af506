from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.text import quoted_start

SHOWN = 60


class SystemColumnIgnored(RowRule):
    """The trainer never sees the row's `system` column.

    ## What it does
    Reports rows whose system prompt comes from a `system` column (Orca DPO pairs, Argilla's distilabel sets)
    when the trainer profile reads no such column. TRL (`--trainer trl`) knows `prompt`, `chosen`, `rejected`,
    `tools` and `chat_template_kwargs` only: it renders a conversation without the system message, and trains
    text rows as plain text, with neither the chat template nor the system prompt. OpenRLHF (`--trainer
    openrlhf`) reads its prompt, chosen and rejected keys only, and does the same; axolotl's `chat_template` types
    (`--trainer axolotl`) read the messages, chosen and rejected fields, and render the prompt without it.
    preflint renders the row with the system prompt first; the other M rules then check what the trainer builds
    without it.

    ## Why is this bad?
    The model is preference-tuned on prompts without the instructions the data was written for (answer briefly,
    reason step by step), and with text rows, without the chat format it will be prompted in.

    ## Example
    ```jsonl
    {"system": "Answer briefly.", "prompt": "Capital of France?", "chosen": " Paris.", "rejected": " Rome."}
    ```
    with `--trainer trl`.

    ## Fix safety
    No automatic fix: give the prompt as messages with the system message first
    (`[{"role": "system", ...}, {"role": "user", ...}]`) and the replies as assistant messages.
    """

    code = "M011"
    name = "system-column-ignored"
    family = "mask"
    severity = Severity.WARNING
    needs_trainer = True

    def check(self, batch):
        for i, row in enumerate(batch.trainer):
            if row is None or not row.system_ignored:
                continue
            system = batch.pairs[i].prompt[0]["content"]  # preflint put the column's text first in the prompt
            ignored = row.system_ignored
            how = "as plain text, without the chat template" if ignored.as_text else "as a conversation"
            yield self.finding(
                batch.rows[i],
                f"{ignored.trainer} ignores the system column: it trains this row {how} and without the system prompt "
                + quoted_start(system, SHOWN),
            )
