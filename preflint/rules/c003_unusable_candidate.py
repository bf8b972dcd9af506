from preflint.findings import Applicability, Fix, Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import DROP_ROW, RowRule
from preflint.shapes.samples import RANKED, UNPAIRED
from preflint.text import blank

LEFT_OUT = Fix(Applicability.DISPLAY, "keep the row: `fix --binarize` leaves the candidate out of every pair")


class UnusableCandidate(RowRule):
    """A candidate is empty, or has no score or rank: it can be in no pair; an unpaired (KTO) completion is empty.

    ## What it does
    Reports candidates of rated or ranked rows that have no words or whose score or rank is missing or not a
    number (UltraFeedback's `"N/A"`), a labelled pair's empty reply where the label is a tie, and unpaired (KTO)
    rows whose completion is empty. An empty reply of the pair a labelled or ranked row makes is P004's.

    ## Why is this bad?
    A binarization that does not look pairs an empty candidate as the rejected one ("anything beats nothing":
    the model learns little) or, unrated, drops it silently. A KTO example with an empty completion trains only its
    end (TRL appends EOS to text; a message keeps its end of turn): it teaches stopping at once, or not, and moves
    the desirable/undesirable balance (L007).

    ## Example
    ```jsonl
    {"prompt": "2+2?", "completion": "", "label": true}
    ```

    ## Fix safety
    Safe for an unpaired row: it is dropped. Display-only for a candidate: `fix --binarize` leaves it out and
    pairs the others.
    """

    code = "C003"
    name = "unusable-candidate"
    family = "candidates"
    severity = Severity.WARNING
    fix = LEFT_OUT

    def check(self, batch):
        for i in batch.with_samples():
            sample, view = batch.samples[i], batch.view(i) or ()
            if sample.form == UNPAIRED:
                if blank(plain_text(sample.candidates[0].reply)):
                    yield self.finding(
                        batch.rows[i], "the completion is empty: the example has nothing to learn from", DROP_ROW
                    )
                continue
            for k, candidate in enumerate(sample.candidates):
                if k in view:
                    continue
                if blank(plain_text(candidate.reply)):
                    yield self.finding(batch.rows[i], f"{candidate.name} is empty: no pair should be made of it")
                elif sample.form == RANKED and candidate.score is None:
                    yield self.finding(
                        batch.rows[i],
                        f"{candidate.name} has no score or rank ({candidate.rating}): it can be in no pair",
                    )
