"""Binarize: make preference pairs of labelled pairs and rated or ranked candidates, as `fix --binarize` writes them.

Each sample row gives the pairs its strategy picks among its usable candidates (rated, with words, answering the
prompt the best one answers); a tie, or a row with fewer than two usable candidates, gives none. Every candidate
read is used in a pair or counted unused with the reason, so the accounting balances: candidates read = used +
unused. `best-vs-random` draws from a generator seeded by the seed and the row, so a run gives the same pairs
whatever the batch size or the number of worker processes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from preflint.shapes.samples import Sample

STRATEGIES = ("best-vs-worst", "best-vs-random", "best-vs-second", "all-pairs")


@dataclass(frozen=True)
class Binarize:
    strategy: str = "best-vs-worst"
    seed: int = 0


@dataclass
class Binarized:
    """What binarizing made of the input: rows with and without pairs, candidates used and unused, pairs made."""

    binarize: Binarize
    rows_with_pairs: int = 0
    rows_without_pairs: Counter = field(default_factory=Counter)  # reason code -> rows
    candidates_read: int = 0
    candidates_used: int = 0
    candidates_unused: Counter = field(default_factory=Counter)  # reason -> candidates
    pairs_made: int = 0

    def to_dict(self) -> dict:
        return {
            "strategy": self.binarize.strategy,
            "seed": self.binarize.seed,
            "rows_with_pairs": self.rows_with_pairs,
            "rows_without_pairs": sum(self.rows_without_pairs.values()),
            "rows_without_pairs_by_reason": dict(sorted(self.rows_without_pairs.items())),
            "candidates_read": self.candidates_read,
            "candidates_used": self.candidates_used,
            "candidates_unused": sum(self.candidates_unused.values()),
            "candidates_unused_by_reason": dict(sorted(self.candidates_unused.items())),
            "pairs_made": self.pairs_made,
        }

    def unused(self, code: str, candidates: int) -> None:
        """A row that gives no pair, dropped under `code` (counted where its reject is): its candidates unused."""
        self.candidates_read += candidates
        self.candidates_unused[f"row dropped ({code})"] += candidates

    def made(self, candidates: int, pairs: int, unused: dict[int, str]) -> None:
        """A row that gave `pairs`, with its `candidates`, of which `unused` (position -> why) are in none."""
        self.rows_with_pairs += 1
        self.pairs_made += pairs
        self.candidates_read += candidates
        self.candidates_used += candidates - len(unused)
        self.candidates_unused.update(unused.values())


def choose(sample: Sample, binarize: Binarize, row: int) -> tuple[list[tuple[int, int]], dict[int, str]]:
    """The pairs (chosen, rejected candidate) the strategy picks, and why each other candidate is unused."""
    unused: dict[int, str] = {}
    rated = sample.rated()
    best = rated[0] if rated else None
    for k, candidate in enumerate(sample.candidates):
        if not sample.usable(candidate):
            unused[k] = "unrated" if candidate.score is None else "empty"
        elif candidate.prompt != sample.candidates[best].prompt:
            unused[k] = "answers another prompt than the best candidate"
    usable = [k for k in rated if k not in unused]
    if len(usable) < 2 or sample.candidates[usable[0]].score == sample.candidates[usable[-1]].score:
        reason = "tie" if len(usable) >= 2 else "too few usable candidates"
        return [], {**unused, **dict.fromkeys(usable, reason)}
    score = {k: sample.candidates[k].score for k in usable}
    top = score[usable[0]]
    worse = [k for k in usable if score[k] < top]
    strategy = binarize.strategy
    if strategy == "all-pairs":
        pairs = [(a, b) for a in usable for b in usable if score[a] > score[b]]
    elif strategy == "best-vs-worst":  # the first listed of the worst, as the pair view (Sample.extremes)
        pairs = [(usable[0], next(k for k in worse if score[k] == score[worse[-1]]))]
    elif strategy == "best-vs-second":
        pairs = [(usable[0], worse[0])]
    else:
        pairs = [(usable[0], random.Random(f"{binarize.seed}:{row}").choice(worse))]
    used = {k for pair in pairs for k in pair}
    unused.update({k: f"not picked by {strategy}" for k in usable if k not in used})
    return pairs, unused


def pair_record(sample: Sample, chosen: int, rejected: int, row: int) -> dict:
    """A pair as TRL reads one (prompt, chosen, rejected: text, or message lists), with its scores, where it came
    from and, where the data names them, the models that wrote each side. A ranking's pair has its ranks."""
    best, worst = sample.candidates[chosen], sample.candidates[rejected]
    record = {"prompt": best.prompt, "chosen": best.reply, "rejected": worst.reply}
    if sample.by_rank:
        record |= {"rank_chosen": -best.score, "rank_rejected": -worst.score}
    else:
        record |= {"score_chosen": best.score, "score_rejected": worst.score}
    record["margin"] = best.score - worst.score
    record["source_row"] = row
    if best.generator is not None and worst.generator is not None:
        record |= {"chosen_model": best.generator, "rejected_model": worst.generator}
    return record
