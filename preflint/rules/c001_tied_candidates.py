from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.rule import RowRule
from preflint.shapes.samples import LABELLED


class TiedCandidates(RowRule):
    """The label is a tie, or every rated candidate has the same score: no pair can be made of the row.

    ## What it does
    Reports labelled pairs whose label says neither reply is preferred (Chatbot Arena's `tie`, AlpacaEval's 1.5,
    HelpSteer3's 0, a judge's `A=B`) and rows of rated or ranked candidates whose scores or ranks are all equal.
    C004 reports the share of such rows in the dataset.

    ## Why is this bad?
    DPO, IPO and ORPO learn from a preferred and a dispreferred reply. A tie has neither: binarizing drops the row,
    and a script that binarizes by position (`chosen = response_0`) turns it into a pair whose label is noise.

    ## Example
    ```jsonl
    {"conversation_a": [...], "conversation_b": [...], "model_a": "m1", "model_b": "m2", "winner": "tie"}
    ```

    ## Fix safety
    Unsafe: the row can be dropped, but a reward model that learns ties (or a human reviewer) may want it kept.
    `preflint fix --binarize` never makes a pair of it, whatever the policy.
    """

    code = "C001"
    name = "tied-candidates"
    family = "candidates"
    severity = Severity.WARNING
    fix = Fix(Applicability.UNSAFE, "drop the row: no pair can be made of a tie", DROP)

    def check(self, batch):
        for i in batch.with_samples():
            sample = batch.samples[i]
            if not sample.tie:
                continue
            if sample.form == LABELLED:
                message = f"the label is a tie ({sample.label!r}): no pair can be made of the row"
            else:
                rated = [sample.candidates[k] for k in sample.rated()]
                message = (
                    f"all {len(rated)} rated candidates are rated alike ({rated[0].rating}): no pair can be made of "
                    "the row"
                )
            yield self.finding(batch.rows[i], message)
