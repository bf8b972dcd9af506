from preflint.findings import Severity
from preflint.rule import DatasetRule
from preflint.shapes.samples import UNPAIRED


class ManyTies(DatasetRule):
    """A large share of the labelled or ranked rows are ties.

    ## What it does
    Counts the labelled pairs and rated or ranked rows whose candidates are tied (C001's rows) and reports when
    they are at least `max-share` of at least `min-rows` such rows.

    ## Why is this bad?
    Every tie is a row no pair can be made of: the dataset is smaller than it looks. Many ties usually mean
    replies too alike to judge (a weak annotation setup, one generator for all candidates), or a label column
    read the wrong way (a 0 that means "tie" in one scheme and "first" in another: check `--map label_tie=`).

    ## Example
    A Chatbot Arena export in which 4,100 of 10,000 battles are `tie` or `tie (bothbad)`.

    ## Fix safety
    No fix of its own: C001's rows are the ties.
    """

    code = "C004"
    name = "many-ties"
    family = "candidates"
    severity = Severity.WARNING
    options = {"min-rows": 20, "max-share": 0.3}

    def start(self):
        return [0, 0]  # rows, ties

    def update(self, state, batch):
        for i in batch.with_samples():
            sample = batch.samples[i]
            if sample.form != UNPAIRED:
                state[0] += 1
                state[1] += sample.tie
        return state

    def merge(self, state, other):
        return [a + b for a, b in zip(state, other)]

    def finish(self, state):
        rows, ties = state
        if rows >= self.settings["min-rows"] and ties / rows >= self.settings["max-share"]:
            yield self.finding(
                None,
                f"{ties:,} of {rows:,} labelled or ranked rows are ties ({ties / rows:.1%}): no pair can be made of "
                "them",
                about="ties",
            )
