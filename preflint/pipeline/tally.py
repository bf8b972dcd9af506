"""What a scan's summary says about the data, gathered batch by batch and merged in batch order: rows, shapes,
tokens, the trainer's drops, and the distributions the fix report plots."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

from rapidfuzz.distance import Levenshtein

from preflint.findings import Finding, finding_counts
from preflint.forecast import example_outcomes, forecast, unpaired_forecast
from preflint.pipeline.batch import PairBatch
from preflint.rule import Rule
from preflint.shapes.detect import InputFields
from preflint.shapes.samples import FORM_NAMES, UNPAIRED, SampleFields
from preflint.text import quantity
from preflint.trainers import Profile
from preflint.trainers.images import is_vision

MISREAD_ROWS = 5  # fewer unreadable rows than this are a few bad records, whatever their share of a tiny input
SHAPE_NAMES = {
    "text": "text (prompt, chosen, rejected)",
    "implicit": "implicit prompt (whole dialogues in chosen and rejected)",
    "conversational": "conversational (chat messages)",
    **FORM_NAMES,
}


# Histogram bins for the fix report: token edit distance between the sides, and chosen/rejected length ratio.
DISTANCE_BINS = (
    (0, "0"),
    (1, "1"),
    (2, "2"),
    (3, "3"),
    (4, "4-5"),
    (6, "6-10"),
    (11, "11-20"),
    (21, "21-50"),
    (51, "51-100"),
    (101, "101-200"),
    (201, "201-500"),
    (501, "501+"),
)
RATIO_BINS = (
    (0.0, "< 1/4"),
    (0.25, "1/4-1/2"),
    (0.5, "1/2-2/3"),
    (2 / 3, "2/3-0.9"),
    (0.9, "0.9-1.1"),
    (1.1, "1.1-1.5"),
    (1.5, "1.5-2"),
    (2.0, "2-4"),
    (4.0, "> 4"),
)


@dataclass
class Tally:
    """What the summary says about the data, gathered batch by batch."""

    rows: int = 0
    unusable: int = 0
    paired: int = 0  # rows that are pairs, or samples with a pair view: what the pair rules and the forecast see
    samples: Counter = field(default_factory=Counter)  # rows read as samples: candidates, ties, desirable, ...
    dropped: int = 0
    failing: int = 0  # rows the trainer's preprocessing raises on
    vision: int = 0  # pairs with images (an images column, or image parts)
    examples: Counter = field(default_factory=Counter)  # a trainer of single examples (KTO): what it does with them
    tokens: Counter = field(default_factory=Counter)
    tokenizer: dict = field(default_factory=dict)  # the description of the tokenizer that made the ids
    sources: dict[str, dict] = field(default_factory=dict)
    source_kinds: dict[str, Counter] = field(default_factory=dict)  # each input's shapes
    notes: set[str] = field(default_factory=set)  # what rules could not check with this tokenizer
    distances: Counter = field(default_factory=Counter)
    ratios: Counter = field(default_factory=Counter)

    def add(self, batch: PairBatch, fields: InputFields | None, profile: Profile | None = None) -> None:
        self.rows += len(batch)
        source = self.sources.setdefault(batch.source, {"input": batch.source, "first_row": batch.rows[0], "rows": 0})
        source["rows"] += len(batch)
        if fields is not None:
            source["columns"] = fields.describe()
            note = None
            if profile is not None:
                note = profile.samples_note(fields) if isinstance(fields, SampleFields) else profile.column_note(fields)
            if note:
                source["trainer_note"] = note
        paired = [row for row, pair in zip(batch.trainer, batch.pairs) if row is not None and pair is not None]
        self.dropped += sum(1 for row in paired if row.dropped and not row.failure)
        self.failing += sum(1 for row in paired if row.failure)
        if profile is not None and not profile.trains_pairs:
            self.examples.update(example_outcomes(batch))
        if not self.tokenizer and batch.tokenizer is not None:
            self.tokenizer = batch.tokenizer.describe()
        if unusable := sum(1 for defect in batch.defects if defect is not None):  # records read as nothing (S-rules)
            source["unusable"] = source.get("unusable", 0) + unusable
            self.unusable += unusable
        kinds = self.source_kinds.setdefault(batch.source, Counter())
        for i in batch.with_samples():
            sample = batch.samples[i]
            kinds[sample.form] += 1
            self.samples["candidates"] += len(sample.candidates)
            self.samples["candidate_tokens"] += sum(map(len, batch.candidate_ids[i]))
            if sample.form == UNPAIRED:
                self.samples["desirable" if sample.desirable else "undesirable"] += 1
            elif sample.tie:
                self.samples["ties"] += 1
        for i, pair in enumerate(batch.pairs):
            if pair is None:
                continue
            self.paired += 1
            if batch.sample(i) is None:
                kinds[pair.kind] += 1
            self.tokens["prompt"] += len(batch.prompt_ids[i])
            self.tokens["chosen"] += len(batch.chosen_ids[i])
            self.tokens["rejected"] += len(batch.rejected_ids[i])
        if vision := sum(1 for i in batch.usable() if batch.sample(i) is None and is_vision(batch.pairs[i])):
            self.vision += vision
            if profile is not None:
                self.notes.add(f"vision pairs: each image taken as {profile.image_tokens.basis}")
        for i in batch.comparable():
            chosen, rejected = batch.body_ids(i, "chosen"), batch.body_ids(i, "rejected")
            distance = Levenshtein.distance(
                chosen, rejected, score_cutoff=DISTANCE_BINS[-1][0]
            )  # linear, not quadratic
            self.distances[_bin(distance, DISTANCE_BINS)] += 1
            if rejected:
                self.ratios[_bin(len(chosen) / len(rejected), RATIO_BINS)] += 1

    def merge(self, other: Tally) -> None:
        """Fold in the tally of later batches (from a worker process)."""
        self.rows += other.rows
        self.unusable += other.unusable
        self.paired += other.paired
        self.samples.update(other.samples)
        self.dropped += other.dropped
        self.failing += other.failing
        self.vision += other.vision
        self.tokenizer = self.tokenizer or other.tokenizer
        self.notes |= other.notes
        for counter in ("examples", "tokens", "distances", "ratios"):
            getattr(self, counter).update(getattr(other, counter))
        for name, kinds in other.source_kinds.items():
            self.source_kinds.setdefault(name, Counter()).update(kinds)
        for name, source in other.sources.items():
            if name in self.sources:
                self.sources[name]["rows"] += source["rows"]
                if source.get("unusable"):
                    self.sources[name]["unusable"] = self.sources[name].get("unusable", 0) + source["unusable"]
                self.sources[name].update({key: source[key] for key in ("columns", "trainer_note") if key in source})
            else:
                self.sources[name] = source

    def distributions(self) -> dict:
        return {
            "token_edit_distance": {label: self.distances[label] for _, label in DISTANCE_BINS},
            "length_ratio": {label: self.ratios[label] for _, label in RATIO_BINS},
        }

    def summary(
        self, findings: list[Finding], rules: list[type[Rule]], profile: Profile, seconds: float, max_unusable: float
    ) -> dict:
        usable, kinds = self.rows - self.unusable, sum(self.source_kinds.values(), Counter())
        misread = [
            f"{source['unusable']:,} of {source['rows']:,} rows of {name} are not pairs preflint could read: the input "
            "was probably misread (a wrong shape or --map) or is broken; see the S-rules' findings"
            for name, source in self.sources.items()
            if source.get("unusable", 0) > max_unusable * source["rows"] and source["unusable"] >= MISREAD_ROWS
        ]
        return {
            **({"misread": misread} if misread else {}),
            "rows": self.rows,
            "usable_rows": usable,
            "shape": _shape(kinds),
            "kinds": dict(kinds),
            "sources": [
                {**source, "shape": _shape(self.source_kinds.get(name, Counter()))}
                for name, source in self.sources.items()
            ],
            **finding_counts(findings),
            **({"samples": self._samples()} if self.samples else {}),
            **({"vision_pairs": self.vision} if self.vision else {}),
            "forecast": self._forecast(findings, profile),
            **({"trainer_version_note": note} if (note := profile.version_note()) else {}),
            **({"notes": sorted(self.notes)} if self.notes else {}),
            "mean_tokens": {
                side: round(total / self.paired, 1) if self.paired else 0 for side, total in self.tokens.items()
            },
            "rules": [rule.code for rule in rules],
            "seconds": round(seconds, 2),
        }

    def _forecast(self, findings: list[Finding], profile: Profile) -> dict:
        """The ln 2 forecast of a trainer of pairs, or a trainer of single examples' (KTO: each pair two examples)."""
        trainer, options = profile.name, profile.described_options()
        if profile.trains_pairs:
            return forecast(findings, self.paired, self.dropped, self.failing, trainer, options)
        examples = 2 * self.paired + self.samples["desirable"] + self.samples["undesirable"]
        return unpaired_forecast(examples, self.examples, trainer, options)

    def _samples(self) -> dict:
        """What the summary says of rows read as samples: their candidates, ties and KTO labels."""
        counts = self.samples
        described = {"candidates": counts["candidates"], "pairs": self.paired}
        if counts["candidates"]:
            described["mean_candidate_tokens"] = round(counts["candidate_tokens"] / counts["candidates"], 1)
        for name in ("ties", "desirable", "undesirable"):
            if counts[name]:
                described[name] = counts[name]
        return described


def _shape(kinds: Counter) -> str:
    """A shape's name; a mix is named with its counts (a trainer loading it would fail on the mixed types)."""
    if len(kinds) <= 1:
        return SHAPE_NAMES.get(next(iter(kinds), "unknown"), "unknown")
    return "mixed shapes: " + ", ".join(
        f"{SHAPE_NAMES.get(kind, kind)} in {quantity(count, 'row')}" for kind, count in kinds.most_common()
    )


def _bin(value: float, bins: tuple) -> str:
    return bins[bisect.bisect_right(bins, value, key=itemgetter(0)) - 1][1]
