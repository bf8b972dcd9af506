from preflint.findings import Severity
from preflint.rule import DatasetRule
from preflint.shapes.samples import LABELLED


class PositionLabelBias(DatasetRule):
    """In labelled pairs, the reply in one position wins far more often than the other.

    ## What it does
    Over labelled pairs that are not ties, counts how often the first reply (`response_0`, `response_a`,
    `output_1`, ...) is the preferred one. When at least `min-rows` rows are counted and one position wins at
    least `max-share` of them, it reports the share.

    ## Why is this bad?
    Where replies were put in random order, each position should win about half the time. A lopsided share means
    the label follows something other than quality: an LLM judge's position bias, or a pipeline that always put
    the stronger model first. Binarized, the pairs then carry that generator's style as the preference (L006
    names the generator), or the judge's bias as noise.

    ## Example
    A judged dataset in which `A>B` is the label of 847 of 1,000 rows.

    ## Fix safety
    No fix: re-judge with the positions swapped, or keep only rows where both orders agree.
    """

    code = "L005"
    name = "position-label-bias"
    family = "labels"
    severity = Severity.WARNING
    options = {"min-rows": 50, "max-share": 0.8}

    def start(self):
        return {"rows": 0, "first": 0, "names": None}

    def update(self, state, batch):
        for i in batch.with_samples():
            sample = batch.samples[i]
            if sample.form != LABELLED or sample.tie or sample.extremes() is None:
                continue
            first, second = sample.candidates
            state["rows"] += 1
            state["first"] += first.score > second.score
            state["names"] = state["names"] or (first.name, second.name)
        return state

    def merge(self, state, other):
        state["rows"] += other["rows"]
        state["first"] += other["first"]
        state["names"] = state["names"] or other["names"]
        return state

    def finish(self, state):
        rows, first = state["rows"], state["first"]
        if rows < self.settings["min-rows"]:
            return
        wins, name = max((first, state["names"][0]), (rows - first, state["names"][1]))
        if wins / rows >= self.settings["max-share"]:
            yield self.finding(
                None,
                f"the reply in {name} is preferred in {wins:,} of {rows:,} labelled pairs that are not ties "
                f"({wins / rows:.1%}): the label follows the position",
                about=f"position {name}",
            )
