from preflint.findings import Severity
from preflint.rule import DROP_ROW, RowRule
from preflint.text import quantity


class IdenticalPair(RowRule):
    """Chosen and rejected are the same text.

    ## What it does
    Compares the two responses as the model sees them (after the chat template) and reports pairs where they
    are identical. Pairs with an empty side are left to P004.

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
            if batch.chosen[i] == batch.rejected[i]:
                tokens = len(batch.chosen_ids[i])
                message = f"chosen and rejected are identical ({quantity(tokens, 'token')})"
                yield self.finding(batch.rows[i], message, no_signal=batch.same_sides_no_signal)
