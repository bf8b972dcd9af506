"""The scan pipeline, in one direction: read -> normalize -> render -> tokenize -> rules -> result."""

from __future__ import annotations

import bisect
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter

from rapidfuzz.distance import Levenshtein

from preflint import __version__
from preflint.pipeline.batch import PairBatch, render, to_pairs, tokenize
from preflint.config import Settings
from preflint.pipeline.engine import Engine
from preflint.errors import InputError
from preflint.findings import Finding, finding_counts
from preflint.forecast import forecast
from preflint.io.read import FileRecords, RawBatch, Source, input_name, read_batches, record_files, resolve_sources
from preflint.registry import Registry
from preflint.rule import Rule
from preflint.shapes.pairs import Fields, detect_fields, parse_map
from preflint.pipeline.workers import fewer_collections, in_workers, pool_threshold, use_jobs, worker_start
from preflint.text import quantity
from preflint.tokenizer.loading import Tokenizer, load_tokenizer, read_chat_template
from preflint.trainers import Profile

SHAPE_NAMES = {
    "text": "text (prompt, chosen, rejected)",
    "implicit": "implicit prompt (whole dialogues in chosen and rejected)",
    "conversational": "conversational (chat messages)",
}


# Histogram bins for the fix report: token edit distance between the sides, and chosen/rejected length ratio.
DISTANCE_BINS = ((0, "0"), (1, "1"), (2, "2"), (3, "3"), (4, "4-5"), (6, "6-10"), (11, "11-20"), (21, "21-50"),
                 (51, "51-100"), (101, "101-200"), (201, "201-500"), (501, "501+"))
RATIO_BINS = ((0.0, "< 1/4"), (0.25, "1/4-1/2"), (0.5, "1/2-2/3"), (2 / 3, "2/3-0.9"), (0.9, "0.9-1.1"),
              (1.1, "1.1-1.5"), (1.5, "1.5-2"), (2.0, "2-4"), (4.0, "> 4"))


@dataclass
class ScanResult:
    inputs: list[str]
    tokenizer: dict
    summary: dict
    findings: list[Finding]
    rules: list[type[Rule]]
    distributions: dict = field(default_factory=dict)  # for reports: {name: {bin label: pairs}}

    _files: dict[str, tuple[list[int], list[FileRecords]] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)  # each input's files: where each ends, and them

    def source_of(self, row: int | None) -> str:
        """The input a row was read from (the first input for dataset-level findings)."""
        source = self._source(row)
        return source["input"] if source else self.inputs[0]

    def location_of(self, row: int | None) -> tuple[str, int | None]:
        """The file a row was read from and the line it starts on, for annotations: a data directory's row is in
        one of its data files, and a row of a text file (JSON Lines, JSON, CSV) has a line. The files are read
        again the first time this is asked; an input they no longer match (or with no file to point at: standard
        input, a hub dataset) is named as the input, with no line, as are dataset-level findings."""
        source = self._source(row)
        if source is None:
            return self.inputs[0], None
        name = source["input"]
        if row is None:
            return name, None
        if name not in self._files:
            files = record_files(name)
            matched = files is not None and sum(file.records for file in files) == source["rows"]
            self._files[name] = (list(itertools.accumulate(file.records for file in files)), files) if matched else None
        if self._files[name] is None:
            return name, None
        ends, files = self._files[name]
        offset = row - source["first_row"]
        index = bisect.bisect_right(ends, offset)
        file = files[index]
        return file.path, (file.lines[offset - (ends[index - 1] if index else 0)] if file.lines is not None else None)

    def _source(self, row: int | None) -> dict | None:
        sources = self.summary["sources"]
        if not sources:
            return None
        starts = [source["first_row"] for source in sources]
        return sources[max(bisect.bisect_right(starts, row if row is not None else 0) - 1, 0)]

    def to_dict(self) -> dict:
        return {
            "version": __version__,
            "input": self.inputs,
            "tokenizer": self.tokenizer,
            "summary": self.summary,
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass
class _Tally:
    """What the summary says about the data, gathered batch by batch."""

    rows: int = 0
    unusable: int = 0
    dropped: int = 0
    failing: int = 0  # rows the trainer's preprocessing raises on
    tokens: Counter = field(default_factory=Counter)
    tokenizer: dict = field(default_factory=dict)  # the description of the tokenizer that made the ids
    sources: dict[str, dict] = field(default_factory=dict)
    source_kinds: dict[str, Counter] = field(default_factory=dict)  # each input's shapes
    distances: Counter = field(default_factory=Counter)
    ratios: Counter = field(default_factory=Counter)

    def add(self, batch: PairBatch, fields: Fields | None, profile: Profile | None = None) -> None:
        self.rows += len(batch)
        source = self.sources.setdefault(batch.source, {"input": batch.source, "first_row": batch.rows[0], "rows": 0})
        source["rows"] += len(batch)
        if fields is not None:
            source["columns"] = fields.describe()
            if profile is not None and (note := profile.column_note(fields)):
                source["trainer_note"] = note
        self.dropped += sum(1 for row in batch.trainer if row is not None and row.dropped and not row.failure)
        self.failing += sum(1 for row in batch.trainer if row is not None and row.failure)
        if not self.tokenizer and batch.tokenizer is not None:
            self.tokenizer = batch.tokenizer.describe()
        kinds = self.source_kinds.setdefault(batch.source, Counter())
        for i, pair in enumerate(batch.pairs):
            if pair is None:
                self.unusable += 1
                continue
            kinds[pair.kind] += 1
            self.tokens["prompt"] += len(batch.prompt_ids[i])
            self.tokens["chosen"] += len(batch.chosen_ids[i])
            self.tokens["rejected"] += len(batch.rejected_ids[i])
        for i in batch.comparable():
            chosen, rejected = batch.body_ids(i, "chosen"), batch.body_ids(i, "rejected")
            distance = Levenshtein.distance(chosen, rejected, score_cutoff=DISTANCE_BINS[-1][0])  # linear, not quadratic
            self.distances[_bin(distance, DISTANCE_BINS)] += 1
            if rejected:
                self.ratios[_bin(len(chosen) / len(rejected), RATIO_BINS)] += 1

    def merge(self, other: _Tally) -> None:
        """Fold in the tally of later batches (from a worker process)."""
        self.rows += other.rows
        self.unusable += other.unusable
        self.dropped += other.dropped
        self.failing += other.failing
        self.tokenizer = self.tokenizer or other.tokenizer
        for counter in ("tokens", "distances", "ratios"):
            getattr(self, counter).update(getattr(other, counter))
        for name, kinds in other.source_kinds.items():
            self.source_kinds.setdefault(name, Counter()).update(kinds)
        for name, source in other.sources.items():
            if name in self.sources:
                self.sources[name]["rows"] += source["rows"]
                self.sources[name].update({key: source[key] for key in ("columns", "trainer_note") if key in source})
            else:
                self.sources[name] = source

    def distributions(self) -> dict:
        return {
            "token_edit_distance": {label: self.distances[label] for _, label in DISTANCE_BINS},
            "length_ratio": {label: self.ratios[label] for _, label in RATIO_BINS},
        }

    def summary(self, findings: list[Finding], rules: list[type[Rule]], profile: Profile, seconds: float) -> dict:
        usable, kinds = self.rows - self.unusable, sum(self.source_kinds.values(), Counter())
        return {
            "rows": self.rows,
            "usable_rows": usable,
            "shape": _shape(kinds),
            "kinds": dict(kinds),
            "sources": [{**source, "shape": _shape(self.source_kinds.get(name, Counter()))}
                        for name, source in self.sources.items()],
            **finding_counts(findings),
            "forecast": forecast(findings, usable, self.dropped, self.failing, profile.name, profile.described_options()),
            **({"trainer_version_note": note} if (note := profile.version_note()) else {}),
            "mean_tokens": {side: round(total / usable, 1) if usable else 0 for side, total in self.tokens.items()},
            "rules": [rule.code for rule in rules],
            "seconds": round(seconds, 2),
        }


def _shape(kinds: Counter) -> str:
    """A shape's name; a mix is named with its counts (a trainer loading it would fail on the mixed types)."""
    if len(kinds) <= 1:
        return SHAPE_NAMES.get(next(iter(kinds), "unknown"), "unknown")
    return "mixed shapes: " + ", ".join(
        f"{SHAPE_NAMES.get(kind, kind)} in {quantity(count, 'row')}" for kind, count in kinds.most_common()
    )


def _bin(value: float, bins: tuple) -> str:
    return bins[bisect.bisect_right(bins, value, key=itemgetter(0)) - 1][1]


def scan(
    inputs: Sequence[str | Source],
    settings: Settings,
    progress: Callable[[int], None] | None = None,
    tokenizer: Tokenizer | None = None,
) -> ScanResult:
    """Scan `inputs`; `tokenizer`, when given, replaces the one `settings` name (already loaded, or customized).

    Without one, whatever tokenizes loads the named tokenizer: the worker processes each their own, so this process
    holds no copy while they work.
    """
    started = time.perf_counter()
    selected, rules = rules_for(settings)
    sources = resolve_sources(inputs)
    engine, tally = Engine(rules), _Tally()
    batches = raw_batches(sources, settings, parse_map(settings.map))
    with fewer_collections():
        start = worker_start() if tokenizer is None else "spawn"  # a tokenizer given here may be in use here
        if start == "fork":  # loaded here once: the forked workers share it (and a fix's later passes reuse it)
            tokenizer = load_tokenizer(settings.tokenizer)
        scanned = in_workers(batches, use_jobs(settings.jobs), pool_threshold(start, settings.batch_size), BatchScanner,
                             settings, tokenizer, start=start)
        for findings, partial_states, part in scanned:
            engine.absorb(findings, partial_states)
            tally.merge(part)
            if progress:
                progress(part.rows)
        if tally.rows == 0:
            raise InputError(f"no records in {', '.join(map(input_name, inputs))}")
        findings = engine.finish()
    return ScanResult(
        inputs=[input_name(spec) for spec in inputs],
        tokenizer=tally.tokenizer,
        summary=tally.summary(findings, selected, settings.profile(), time.perf_counter() - started),
        findings=findings,
        rules=selected,
        distributions=tally.distributions(),
    )


class BatchScanner:
    """One raw batch through the whole per-batch pipeline: normalize, render, tokenize, simulate the trainer
    (`prepare`), then the row rules' findings, the dataset rules' partial states and the tally (`finish`).
    Built once per process (the scan's own or each worker's), from what pickles: the settings and the tokenizer
    given to the scan, if any; else the tokenizer the settings name is loaded when the first batch comes.
    """

    def __init__(self, settings: Settings, tokenizer: Tokenizer | None):
        selected, rules = rules_for(settings)
        self.engine = Engine(rules)
        self.given, self.settings = tokenizer, settings
        self.profile = settings.profile() if any(rule.needs_trainer for rule in selected) else None
        # read here, once: a bad template file is an error before the first batch
        self.chat_template = read_chat_template(settings.chat_template) if settings.chat_template else None

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return settings_tokenizer(self.settings, self.given, self.chat_template)

    def prepare(self, raw: RawBatch, fields: Fields | None) -> tuple[PairBatch, Fields | None]:
        batch = to_pairs(raw, fields)
        prepare(batch, self.tokenizer, self.profile)
        return batch, fields

    def finish(self, prepared: tuple[PairBatch, Fields | None]) -> tuple[list[Finding], list, _Tally]:
        batch, fields = prepared
        tally = _Tally()
        tally.add(batch, fields, self.profile)
        return (*self.engine.examine(batch), tally)


def settings_tokenizer(settings: Settings, given: Tokenizer | None = None, chat_template: str | None = None) -> Tokenizer:
    """The tokenizer a scan uses: the one given, else the one the settings name; with the settings' chat template
    (its text, if already read)."""
    tokenizer = given or load_tokenizer(settings.tokenizer)
    if settings.chat_template:
        template = chat_template or read_chat_template(settings.chat_template)
        tokenizer = tokenizer.with_chat_template(template, settings.chat_template)
    return tokenizer


def rules_for(settings: Settings) -> tuple[list[type[Rule]], list[Rule]]:
    """The selected rule classes, and an instance of each with its options from the settings."""
    registry = Registry.load(settings.plugins, settings.base_dir)
    selected = registry.select(settings.select, settings.ignore, settings.extend_select)
    return selected, [rule(**options_for(rule, settings, registry)) for rule in selected]


def options_for(rule: type[Rule], settings: Settings, registry: Registry) -> dict:
    options: dict = {}
    for key, values in settings.rules.items():
        if registry.get(key) is rule:
            options.update({name.replace("_", "-"): value for name, value in values.items()})
    return options


def prepare(batch: PairBatch, tokenizer: Tokenizer, profile: Profile | None) -> None:
    """Render and tokenize a normalized batch, and simulate the trainer on it when a rule needs that."""
    render(batch, tokenizer)
    tokenize(batch, tokenizer)
    if profile is not None:
        batch.trainer = profile.encode(batch, tokenizer)


def raw_batches(sources: list[Source], settings: Settings, mapping: dict[str, str]) -> Iterator[tuple[RawBatch, Fields | None]]:
    """Batches of records as read, each with its input's fields (detected from the input's first records)."""
    fields_by_source: dict[str, Fields] = {}
    for raw in read_batches(sources, batch_size=settings.batch_size, split=settings.split, subset=settings.subset):
        fields = fields_by_source.get(raw.source)
        if fields is None:
            columns = [key for record in raw.records if isinstance(record, dict) for key in record]
            if columns:
                fields = fields_by_source[raw.source] = _fields(raw, columns, mapping)
        yield raw, fields


def _fields(raw: RawBatch, columns: list[str], mapping: dict[str, str]) -> Fields:
    """`detect_fields`, and where it fails on a JSON object of several lists of records (`{"train": [...], "test":
    [...]}`, read as one record, as `datasets` reads it), an error that says so."""
    try:
        return detect_fields(columns, mapping, raw.source)
    except InputError:
        record = raw.records[0] if len(raw.records) == 1 and isinstance(raw.records[0], dict) else {}
        lists = [key for key, value in record.items() if isinstance(value, list) and value and isinstance(value[0], dict)
                 and not {"role", "from"} & value[0].keys()]  # message lists are one record's sides, not records
        if len(lists) < 2:
            raise
        raise InputError(
            f"{raw.source!r} is one JSON object holding several lists of records ({', '.join(lists)}); preflint reads "
            f"a list of records, or an object holding one: check each list apart, e.g. jq -c '.{lists[0]}[]' "
            f"{raw.source} | preflint scan -"
        ) from None


def normalized_batches(
    sources: list[Source], settings: Settings, mapping: dict[str, str]
) -> Iterator[tuple[PairBatch, Fields | None]]:
    """Batches of pairs as read and normalized, not yet rendered; `batch.records` keeps the raw records."""
    for raw, fields in raw_batches(sources, settings, mapping):
        yield to_pairs(raw, fields), fields
