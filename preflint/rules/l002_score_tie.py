from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.rule import RowRule


class ScoreTie(RowRule):
    """The dataset's own scores rate both responses the same: no preference.

    ## What it does
    Where score columns were detected, reports pairs whose chosen and rejected scores are equal, and pairs whose
    `margin` is 0.

    ## Why is this bad?
    A tie was turned into a preference by an arbitrary rule (often: the first response wins), so the label is
    noise. Binarized datasets such as UltraFeedback carry such rows unless ties are filtered.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon.", "score_chosen": 8, "score_rejected": 8}
    ```

    ## Fix safety
    Safe: the row is dropped; it carries no preference.
    """

    code = "L002"
    name = "score-tie"
    family = "labels"
    severity = Severity.WARNING
    fix = Fix(Applicability.SAFE, "drop the row: its scores carry no preference", DROP)

    def check(self, batch):
        for i in batch.usable():
            scores = batch.pairs[i].scores
            chosen, rejected, margin = scores.get("score_chosen"), scores.get("score_rejected"), scores.get("margin")
            if chosen is not None and rejected is not None and chosen == rejected:
                yield self.finding(batch.rows[i], f"chosen and rejected have the same score ({chosen:g})")
            elif margin is not None and margin == 0 and (chosen is None or rejected is None):
                yield self.finding(batch.rows[i], "the margin is 0")
