from itertools import combinations

from rapidfuzz.distance import Levenshtein

from preflint.findings import Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import RowRule
from preflint.text import blank, quantity


class NearIdenticalCandidates(RowRule):
    """Two candidates of one prompt are identical, differ by a token or two, or one is a cut-off copy of the other.

    ## What it does
    Compares every two candidates of a labelled pair or a rated or ranked row as the model sees them (the target
    tokenizer's ids, after the chat template): identical ids; a token edit distance of at most `max-distance` that
    is at most `max-ratio` of the longer (as P002 does for pairs); or the shorter's first tokens (at least
    `min-prefix-tokens`) starting the longer (as P005 does). The two a pair is made of (best and worst) are left to
    P001, P002 and P005, which check that pair; empty candidates to C003.

    ## Why is this bad?
    The same reply rated twice, differently, is label noise; and whichever pair a binarization makes of two
    near-identical candidates teaches a token or two, or nothing (the loss of an identical pair stays at ln 2).
    A cut-off copy usually means one generation hit its length limit: preferring the whole over its start teaches
    "write more", not quality.

    ## Example
    ```jsonl
    {"prompt": "Name a color.", "answers": [{"answer": "Blue.", "rank": 1}, {"answer": "Red.", "rank": 2},
     {"answer": "Blue.", "rank": 3}]}
    ```

    ## Fix safety
    No fix: which copy (and which rating) is right is a judgement call; `fix --binarize` may still pair them, and
    then P001, P002 or P005 drop the pair.
    """

    code = "C002"
    name = "near-identical-candidates"
    family = "candidates"
    severity = Severity.WARNING
    options = {"max-distance": 3, "max-ratio": 0.1, "min-prefix-tokens": 5}

    def check(self, batch):
        for i in batch.with_samples():
            sample, view = batch.samples[i], batch.view(i)
            if len(sample.candidates) < 2:
                continue
            worded = [k for k, candidate in enumerate(sample.candidates) if not blank(plain_text(candidate.reply))]
            ids = {k: batch.candidate_body_ids(i, k) for k in worded}
            for a, b in combinations(worded, 2):
                if view is not None and {a, b} == set(view):
                    continue
                if how := self._alike(ids[a], ids[b], batch.candidates[i][a], batch.candidates[i][b]):
                    first, second = sample.candidates[a], sample.candidates[b]
                    yield self.finding(batch.rows[i], f"{_named(first)} and {_named(second)} {how}")

    def _alike(self, a: list[int], b: list[int], text_a: str, text_b: str) -> str | None:
        if a == b:
            return f"are identical ({quantity(len(a), 'token')})"
        limit, longer = self.settings["max-distance"], max(len(a), len(b))
        if abs(len(a) - len(b)) <= limit:
            distance = Levenshtein.distance(a, b, score_cutoff=limit)
            if distance <= limit and distance / longer <= self.settings["max-ratio"]:
                return f"differ by {distance} of {longer} tokens ({distance / longer:.1%})"
        short, long = sorted((a, b), key=len)
        short_text, long_text = sorted((text_a, text_b), key=len)
        if (
            len(short) >= self.settings["min-prefix-tokens"]
            and short[:-1] == long[: len(short) - 1]
            and long_text.startswith(short_text.rstrip())
        ):
            return (
                f"are one cut-off copy of the other: the {len(short)} tokens of one start the {len(long)} of the other"
            )
        return None


def _named(candidate) -> str:
    return f"{candidate.name} ({candidate.rating})" if candidate.rating else candidate.name
