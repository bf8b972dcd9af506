from preflint.findings import Severity
from preflint.rule import DROP_ROW, RowRule
from preflint.text import quantity


class IdenticalPair(RowRule):
    """Chosen and rejected are the same, as the model sees them.

    ## What it does
    Compares the two responses as the model sees them, their token ids after the chat template, and reports pairs
    where they are identical. Pairs with an empty side are left to P004. Where the texts differ, the message says
    so and why they are the same all the same: the tokenizer reads the characters where they differ as one
    unknown token (W006) or normalizes them away (T5 reads a newline as a space), or the chat template drops what
    they differ in (a reasoning template drops each reply's `<think>` block: M010).

    ## Why is this bad?
    For an identical pair the policy's implicit rewards are equal, so its DPO loss is exactly ln 2 = 0.6931 with
    zero gradient: the row costs compute and teaches nothing. Many such rows pin the loss at 0.6931.

    ## Example
    ```jsonl
    {"prompt": "2+2?", "chosen": "4", "rejected": "4"}
    ```

    ## Fix safety
    Safe: the row is dropped; it carries no preference signal.
    """

    code = "P001"
    name = "identical-pair"
    family = "pair"
    severity = Severity.ERROR
    fix = DROP_ROW

    def check(self, batch):
        for i in batch.comparable():
            if batch.chosen_ids[i] == batch.rejected_ids[i]:
                tokens = quantity(len(batch.chosen_ids[i]), "token")
                message = f"chosen and rejected are identical ({tokens}){_though(batch, i)}"
                yield self.finding(batch.rows[i], message, no_signal=batch.same_sides_no_signal)


def _though(batch, i) -> str:
    """Why two sides that differ in the data are the same to the model ('' where they are the same text)."""
    if batch.chosen[i] != batch.rejected[i]:
        unknown = batch.tokenizer.unknown_id
        why = (
            "reads the characters where they differ as its unknown token (W006)"
            if unknown is not None and unknown in batch.chosen_ids[i]
            else "normalizes what they differ in away"
        )
        return f" as the model sees them, though their texts differ: the tokenizer {why}"
    pair = batch.pairs[i]
    if pair.is_chat and pair.chosen != pair.rejected:
        return " as the chat template renders them, though the replies differ: the template drops what they differ in"
    return ""
