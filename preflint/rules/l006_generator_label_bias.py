from itertools import combinations

from preflint.findings import Severity
from preflint.rule import DatasetRule

MAX_GENERATORS = 10_000  # names beyond these are not counted: a per-row id in a generator column is no generator


class GeneratorLabelBias(DatasetRule):
    """Which model wrote a reply predicts whether it is preferred.

    ## What it does
    Where the data names the model behind each reply (`model_a`/`model_b`, `generator_1`/`generator_2`,
    `response_0_source`, a candidate's `model`, or `chosen_model`/`rejected_model` beside pairs), counts for each
    model the comparisons it is in with a winner, and how many it wins: a pair's chosen side wins; of rated or
    ranked candidates, each two with different scores. It reports every model in at least `min-comparisons`
    comparisons that wins (or loses) at least `max-share` of them.

    ## Why is this bad?
    When one generator's replies are (nearly) always preferred, the cheapest preference to learn is that
    generator's style: its formatting, its length, its phrases. The loss falls while the model imitates a
    model, not a judgement; and a model that always loses may only mark a broken generation setup.

    ## Example
    UltraFeedback-style data where `gpt-4`'s completions win 96% of their comparisons.

    ## Fix safety
    No fix: whether the generator is simply better is a judgement call; balance the pairs by generator, or make
    the rejected replies with the same model.
    """

    code = "L006"
    name = "generator-label-bias"
    family = "labels"
    severity = Severity.WARNING
    options = {"min-comparisons": 100, "max-share": 0.95}

    def start(self):
        return {}  # generator -> [wins, comparisons]

    def update(self, state, batch):
        for i in batch.usable():
            if batch.sample(i) is None and (names := batch.pairs[i].generators):
                _count(state, names[0], names[1])
        for i in batch.with_samples():
            candidates = [c for c in batch.samples[i].candidates if c.generator is not None and c.score is not None]
            for a, b in combinations(candidates, 2):
                if a.score != b.score:
                    winner, loser = (a, b) if a.score > b.score else (b, a)
                    _count(state, winner.generator, loser.generator)
        return state

    def merge(self, state, other):
        for name, (wins, comparisons) in other.items():
            if name in state or len(state) < MAX_GENERATORS:
                counts = state.setdefault(name, [0, 0])
                counts[0] += wins
                counts[1] += comparisons
        return state

    def finish(self, state):
        share = self.settings["max-share"]
        for name, (wins, comparisons) in sorted(state.items()):
            if comparisons < self.settings["min-comparisons"]:
                continue
            if wins / comparisons >= share or wins / comparisons <= 1 - share:
                verb, count = ("wins", wins) if wins / comparisons >= share else ("loses", comparisons - wins)
                yield self.finding(
                    None,
                    f"replies by {name!r} {verb} {count:,} of the {comparisons:,} comparisons they are in "
                    f"({count / comparisons:.1%}): the label follows the generator",
                    about=f"generator {name}",
                )


def _count(state: dict, winner: str, loser: str) -> None:
    if winner == loser:
        return
    for name, won in ((winner, 1), (loser, 0)):
        if name in state or len(state) < MAX_GENERATORS:
            counts = state.setdefault(name, [0, 0])
            counts[0] += won
            counts[1] += 1
