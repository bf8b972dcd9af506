from itertools import combinations

from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.rule import RowRule
from preflint.text import excerpts, first_kept, normalized

ASPECTS = ("whitespace", "case", "punctuation")
EVERYTHING = dict.fromkeys(ASPECTS, True)
PEEK = 80


class FormatOnlyDifference(RowRule):
    """Chosen and rejected differ only in whitespace, case or punctuation.

    ## What it does
    Compares the two responses after normalizing whitespace, letter case and punctuation, and reports pairs that
    are then equal, naming the fewest aspects that explain the difference. Pairs that differ only in leading or
    trailing whitespace are left to W001 and W002.

    ## Why is this bad?
    The only learnable signal is formatting: "You're welcome." preferred over "You're welcome!" teaches the model
    about exclamation marks, and datasets often contain the opposite preference elsewhere.

    ## Example
    ```jsonl
    {"prompt": "Thanks!", "chosen": "You're welcome.", "rejected": "You're welcome!"}
    ```

    ## Fix safety
    Unsafe: the row can be dropped, but formatting is sometimes the preference the author meant (a style guide).
    """

    code = "P003"
    name = "format-only-difference"
    family = "pair"
    severity = Severity.WARNING
    fix = Fix(Applicability.UNSAFE, "drop the row: only formatting separates the two sides", DROP)

    def check(self, batch):
        for i in batch.comparable():
            chosen, rejected = batch.chosen[i], batch.rejected[i]
            if first_kept(chosen) != first_kept(rejected):  # most pairs: different from the first word on
                continue
            if chosen.strip() == rejected.strip() or not _same_start(chosen, rejected):
                continue
            if normalized(chosen, **EVERYTHING) != normalized(rejected, **EVERYTHING):
                continue
            aspects = _fewest_aspects(chosen, rejected)
            shown = excerpts(chosen, rejected)
            yield self.finding(
                batch.rows[i], f"chosen and rejected differ only in {' and '.join(aspects)}: {shown[0]} vs {shown[1]}"
            )


def _same_start(chosen: str, rejected: str) -> bool:
    """A cheap necessary condition: texts equal after normalization start with the same normalized words.

    The last word of each peek may be cut in the middle, so it is left out of the comparison.
    """
    a = normalized(chosen[:PEEK], **EVERYTHING).split(" ")[:-1]
    b = normalized(rejected[:PEEK], **EVERYTHING).split(" ")[:-1]
    common = min(len(a), len(b))
    return a[:common] == b[:common]


def _fewest_aspects(chosen: str, rejected: str) -> tuple[str, ...]:
    for size in range(1, len(ASPECTS) + 1):
        for aspects in combinations(ASPECTS, size):
            flags = {aspect: True for aspect in aspects}
            if normalized(chosen, **flags) == normalized(rejected, **flags):
                return aspects
    return ASPECTS
