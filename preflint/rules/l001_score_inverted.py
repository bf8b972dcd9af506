from preflint.findings import SWAP, Applicability, Fix, Severity
from preflint.rule import RowRule


class ScoreInverted(RowRule):
    """The dataset's own scores say the rejected response is the better one.

    ## What it does
    Where score columns were detected (`score_chosen`/`score_rejected`, `chosen_rating`/`rejected_rating`, ...,
    or named with `--map`), reports pairs whose rejected score is higher than the chosen score, and pairs whose
    `margin` is negative.

    ## Why is this bad?
    The label contradicts the data it was derived from: usually swapped columns or a sign error in a conversion
    script, and the model learns the opposite preference for those rows.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": "Rome.", "rejected": "Paris.", "score_chosen": 2, "score_rejected": 9}
    ```

    ## Fix safety
    Unsafe: chosen and rejected are swapped to agree with the scores; the scores may be the wrong part.
    """

    code = "L001"
    name = "score-inverted"
    family = "labels"
    severity = Severity.ERROR
    fix = Fix(Applicability.UNSAFE, "swap chosen and rejected to agree with the scores", SWAP)

    def check(self, batch):
        for i in batch.usable():
            scores = batch.pairs[i].scores
            chosen, rejected, margin = scores.get("score_chosen"), scores.get("score_rejected"), scores.get("margin")
            if chosen is not None and rejected is not None and chosen < rejected:
                yield self.finding(
                    batch.rows[i], f"the rejected response scored higher (chosen {chosen:g}, rejected {rejected:g})"
                )
            elif margin is not None and margin < 0:
                yield self.finding(batch.rows[i], f"the margin is negative ({margin:g})")
