from preflint.findings import Severity
from preflint.rule import RowRule


class PromptTruncated(RowRule):
    """The trainer cuts the prompt to fit its length limits.

    ## What it does
    Compares the prompt tokens that survive the trainer profile's truncation with the prompt's length, and reports
    pairs where part of the prompt is cut (LLaMA-Factory's cutoff_len keeps the start of a long prompt, TRL's
    keep_end and plain's max-prompt-length keep its end).

    ## Why is this bad?
    The model learns to prefer a response to a question it never fully saw: the instruction, the document or
    the last user turn may be the part that was cut.

    ## Example
    A 3,000-token document question with `--trainer llamafactory` (cutoff_len 2048).

    ## Fix safety
    No automatic fix: shorten the prompt or raise the limit.
    """

    code = "M009"
    name = "prompt-truncated"
    family = "mask"
    severity = Severity.WARNING
    needs_trainer = True

    def check(self, batch):
        for i, row in batch.trained():
            prompt_length = row.chosen.completion_start
            kept = row.chosen.prompt_kept
            if kept < prompt_length:
                yield self.finding(batch.rows[i], f"the prompt is cut from {prompt_length} to {kept} tokens")
