import math

from preflint.findings import Severity
from preflint.rule import DatasetRule

BINS_PER_DOUBLING = 64  # the median ratio is read off a histogram of log2(chosen / rejected), so memory is fixed
LIMIT = 16


class LengthLabelBias(DatasetRule):
    """Length alone predicts which side is chosen.

    ## What it does
    Over pairs with one shared prompt and sides of different token lengths, counts how often the chosen side is
    the longer one. When at least `min-pairs` pairs are counted and "the longer (or the shorter) one is chosen"
    is right in at least `max-share` of them, it reports that share and the median chosen/rejected length ratio.

    ## Why is this bad?
    DPO happily learns "longer is better" (or shorter) when that separates the labels: the policy's outputs grow
    (or shrink) while quality does not move. Length-controlled evaluations then show no gain.

    ## Example
    A dataset in which 9 of 10 chosen replies are longer than their rejected ones, with a median ratio of 2.1.

    ## Fix safety
    No fix: rebalancing is a sampling decision (drop some long-chosen pairs, or use a length-normalized loss).
    """

    code = "L004"
    name = "length-label-bias"
    family = "labels"
    severity = Severity.WARNING
    options = {"min-pairs": 50, "max-share": 0.75}

    def start(self):
        return {"pairs": 0, "chosen_longer": 0, "histogram": {}}

    def update(self, state, batch):
        histogram = state["histogram"]
        for i in batch.comparable():
            chosen, rejected = len(batch.chosen_ids[i]), len(batch.rejected_ids[i])
            if chosen == rejected:
                continue
            state["pairs"] += 1
            state["chosen_longer"] += chosen > rejected
            log_ratio = max(-LIMIT, min(LIMIT, math.log2(chosen / rejected)))
            key = round(log_ratio * BINS_PER_DOUBLING)
            histogram[key] = histogram.get(key, 0) + 1
        return state

    def merge(self, state, other):
        state["pairs"] += other["pairs"]
        state["chosen_longer"] += other["chosen_longer"]
        for key, count in other["histogram"].items():
            state["histogram"][key] = state["histogram"].get(key, 0) + count
        return state

    def finish(self, state):
        pairs, longer = state["pairs"], state["chosen_longer"]
        if pairs < self.settings["min-pairs"]:
            return
        share = longer / pairs
        if max(share, 1 - share) >= self.settings["max-share"]:
            which = "longer" if share >= 0.5 else "shorter"
            yield self.finding(
                None,
                f"the chosen side is the {which} one in {max(longer, pairs - longer):,} of {pairs:,} pairs "
                f"({max(share, 1 - share):.1%}); median chosen/rejected length ratio {_median_ratio(state):.2f}",
                about=f"chosen {which}",
            )


def _median_ratio(state) -> float:
    middle, seen = state["pairs"] / 2, 0
    for key in sorted(state["histogram"]):
        seen += state["histogram"][key]
        if seen >= middle:
            return 2 ** (key / BINS_PER_DOUBLING)
    return 1.0
