"""A scan: read the inputs, run each batch through the pipeline's steps (in worker processes when there are many),
fold the results in batch order, and finish the dataset-level rules.

    read -> normalize -> render -> tokenize -> simulate the trainer -> rules -> findings
"""

from __future__ import annotations

import bisect
import itertools
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from preflint.config import Settings
from preflint.errors import InputError
from preflint.findings import Finding
from preflint.io.locations import FileRecords, record_files
from preflint.io.read import RawBatch, read_batches
from preflint.io.sources import Source, input_name, resolve_sources
from preflint.pipeline.engine import Engine
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.steps import Pipeline
from preflint.pipeline.tally import Tally
from preflint.pipeline.workers import (
    fewer_collections,
    in_workers,
    pool_threshold,
    use_jobs,
    worker_start,
)
from preflint.rule import Rule
from preflint.shapes.detect import InputFields, detect_input
from preflint.tokenizer.loading import load_tokenizer
from preflint.version import __version__


@dataclass
class ScanResult:
    inputs: list[str]
    tokenizer: dict
    summary: dict
    findings: list[Finding]
    rules: list[type[Rule]]
    distributions: dict = field(default_factory=dict)  # for reports: {name: {bin label: pairs}}

    lines: dict[str, array] = field(default_factory=dict, repr=False, compare=False)  # input -> each row's line

    _files: dict[str, tuple[list[int], list[FileRecords]] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )  # each input's files: where each ends, and them

    def source_of(self, row: int | None) -> str:
        """The input a row was read from (the first input for dataset-level findings)."""
        source = self._source(row)
        return source["input"] if source else self.inputs[0]

    def location_of(self, row: int | None) -> tuple[str, int | None]:
        """The file a row was read from and the line it starts on, for annotations: a row of a text file (JSON
        Lines, JSON, CSV) has the line the reader kept; a data directory's row is in one of its data files, which
        `datasets` read without lines, so they are read again the first time this is asked (as a text file is for
        a result from the cache). An input they no longer match (or with no file to point at: standard input, a
        hub dataset) is named as the input, with no line, as are dataset-level findings."""
        source = self._source(row)
        if source is None:
            return self.inputs[0], None
        name = source["input"]
        if row is None:
            return name, None
        if name in self.lines:
            return name, self.lines[name][row - source["first_row"]]
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


def scan(inputs: Sequence[str | Source], plan: RunPlan, progress: Callable[[int], None] | None = None) -> ScanResult:
    """Scan `inputs` as the plan says. Unless the plan holds a tokenizer object, whatever tokenizes loads the one
    it names: the worker processes each their own, so this process holds no copy while they work. The settings'
    engine says where: here (local), or on a Ray cluster (ray; see ray_engine)."""
    if plan.settings.engine == "ray":
        from preflint.pipeline.ray_engine import ray_scan

        return ray_scan(inputs, plan, progress)
    started = time.perf_counter()
    settings = plan.settings
    engine, tally, lines = Engine(plan.rules), Tally(), {}
    batches = _located(raw_batches(resolve_sources(inputs), plan.settings), lines)
    with fewer_collections():
        start = worker_start() if plan.given_tokenizer is None else "spawn"  # a tokenizer given may be in use here
        if start == "fork":  # loaded here once: the forked workers share it (and a fix's later passes reuse it)
            load_tokenizer(settings.tokenizer)
        scanned = in_workers(
            batches, use_jobs(settings.jobs), pool_threshold(start, settings.batch_size), Pipeline, plan, start=start
        )
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
        summary=tally.summary(
            findings, plan.selected, plan.profile, time.perf_counter() - started, settings.max_unusable
        ),
        findings=findings,
        rules=plan.selected,
        distributions=tally.distributions(),
        lines={name: located for name, located in lines.items() if located is not None},
    )


def _located(batches: Iterator[tuple[RawBatch, InputFields | None]], lines: dict[str, array | None]) -> Iterator:
    """The batches as they are read, keeping the line of each row of an input whose reader gives lines."""
    for raw, fields in batches:
        if raw.source not in lines:
            lines[raw.source] = array("q") if raw.lines is not None else None
        if (kept := lines[raw.source]) is not None:
            kept.extend(raw.lines)
        yield raw, fields


def raw_batches(sources: list[Source], settings: Settings) -> Iterator[tuple[RawBatch, InputFields | None]]:
    """Batches of records as read, each with its input's fields (detected from the input's first records)."""
    fields_by_source: dict[str, InputFields] = {}
    batches = read_batches(
        sources,
        batch_size=settings.batch_size,
        split=settings.split,
        subset=settings.subset,
        max_record=settings.max_record_mb << 20,
    )
    for raw in batches:
        fields = fields_by_source.get(raw.source)
        if fields is None:
            columns = [key for record in raw.records if isinstance(record, dict) for key in record]
            if columns:
                fields = fields_by_source[raw.source] = _fields(raw, columns, settings.map)
        yield raw, fields


def _fields(raw: RawBatch, columns: list[str], mapping: dict[str, str]) -> InputFields:
    """`detect_input`, and where it fails on a JSON object of several lists of records (`{"train": [...], "test":
    [...]}`, read as one record, as `datasets` reads it), an error that says so."""
    try:
        sample = next((record for record in raw.records if isinstance(record, dict)), None)
        return detect_input(columns, mapping, raw.source, sample)
    except InputError:
        record = raw.records[0] if len(raw.records) == 1 and isinstance(raw.records[0], dict) else {}
        lists = [
            key
            for key, value in record.items()
            if isinstance(value, list)
            and value
            and isinstance(value[0], dict)
            and not {"role", "from"} & value[0].keys()
        ]  # message lists are one record's sides, not records
        if len(lists) < 2:
            raise
        raise InputError(
            f"{raw.source!r} is one JSON object holding several lists of records ({', '.join(lists)}); preflint reads "
            f"a list of records, or an object holding one: check each list apart, e.g. jq -c '.{lists[0]}[]' "
            f"{raw.source} | preflint scan -"
        ) from None
