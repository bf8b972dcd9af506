"""The fix pipeline: scan -> keep the fixes the policy allows -> rewrite the data -> scan again until nothing moves.

A pass scans its input and streams the records through: a row with an allowed drop fix goes to the rejects with
every code and message that dropped it; the others get their edits and swaps, in place in the record (columns and
shape unchanged). Drops cannot create new findings, but edits can (a pair whose sides differed only in trailing
whitespace is identical once stripped), so a pass that edited rows is followed by one over its output, as ruff
does, at most MAX_PASSES times. Every row read is kept or dropped with a reason; outputs appear atomically.

A pass reads its input twice: once to scan it, once to apply the plan. What to drop is known only when the scan
ends (a duplicate of a row, a contradiction between two), so the records are not held between the two: the second
read normalizes only the rows the plan edits.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from preflint.defects import Defect, RowDefect
from preflint.errors import ConfigError, InputError, OutputError
from preflint.findings import DROP, SWAP, Applicability, Edit, Finding, fix_labels
from preflint.fixing.binarize import STRATEGIES, Binarize, Binarized, choose, pair_record
from preflint.fixing.edit import apply_edit, edit_candidates, swap_sides
from preflint.fixing.policy import FixPolicy
from preflint.io.formats import Unreadable
from preflint.io.outputs import (
    JsonlSink,
    OutputSet,
    ParquetSink,
    check_targets,
    data_format,
    to_json,
)
from preflint.io.scratch import scratch_dir
from preflint.io.sources import Source, input_name, resolve_sources
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import ScanResult, raw_batches, scan
from preflint.pipeline.steps import Pipeline
from preflint.report.diff import diff_lines, pretty
from preflint.report.samples import pick_samples, samples
from preflint.shapes.detect import InputFields, read_record
from preflint.shapes.pairs import Pair
from preflint.shapes.samples import UNPAIRED, Sample, SampleFields
from preflint.version import __version__

MAX_PASSES = 4
PROVENANCE_COLUMNS = ("preflint_row", "preflint_fixes")


@dataclass
class Outputs:
    out: Path | None  # None: work out the changes (--diff) and write nothing
    rejects: Path | None = None
    provenance: bool = False
    force: bool = False
    report: Path | None = None  # written by the caller from the result (the CLI's --report); checked with the rest
    # Where they are written, so that they appear together: the caller's, when it writes the report itself and
    # commits the set after; else the fix's own, committed when it ends.
    files: OutputSet | None = None
    streams: dict[str, IO] = field(default_factory=dict, repr=False)  # option -> its open file, once checked

    def open(self) -> None:
        """Open every output in its directory (the check that each can be written there), before any work."""
        options = (("--out", self.out, False), ("--rejects", self.rejects, False), ("--report", self.report, True))
        for option, path, text in options:
            if path is None:
                continue
            try:
                self.streams[option] = self.files.open(path, text=text)
            except OSError as exc:
                raise OutputError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from exc


@dataclass
class FixResult:
    inputs: list[str | Source]
    outputs: Outputs
    before: ScanResult  # the inputs as read: summary, rules, distributions (its findings are not kept)
    remaining: list[Finding]  # findings the output still has (rows numbered as in the input)
    policy: FixPolicy
    rows_read: int
    rows_kept: int
    dropped: Counter  # code of the first reason -> rows
    fixed: Counter  # code -> rows its edit or swap changed
    dropped_elsewhere: Counter  # code -> its findings on rows dropped under another rule's code
    passes: int
    settled: bool  # False when edits still changed rows in the last allowed pass
    samples: list[dict] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # with --diff: the changes, as text lines
    fix_labels: dict[str, str] = field(default_factory=dict)  # code -> how the input's findings' fixes apply
    binarized: Binarized | None = None  # with --binarize: the rows, candidates and pairs it made

    def accounting(self) -> dict:
        """Every row read kept or dropped with a reason. With --binarize, the rows kept are the pairs written:
        rows read = rows with pairs + rows without (binarize.rows_without_pairs); candidates read = used + unused;
        pairs made = rows kept + pairs dropped; rows dropped (the rejects) = rows without pairs + pairs dropped."""
        if self.binarized is not None:
            made = self.binarized.to_dict()
            dropped = self.dropped + self.binarized.rows_without_pairs
            return {
                "rows_read": self.rows_read,
                "binarize": made,
                "rows_kept": self.rows_kept,
                "rows_dropped": sum(dropped.values()),
                "pairs_dropped": sum(self.dropped.values()),
                "dropped_by_reason": dict(sorted(dropped.items())),
                "rows_fixed_by_code": dict(sorted(self.fixed.items())),
                "findings_on_rows_dropped_by_another_rule": dict(sorted(self.dropped_elsewhere.items())),
            }
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": sum(self.dropped.values()),
            "dropped_by_reason": dict(sorted(self.dropped.items())),
            "rows_fixed_by_code": dict(sorted(self.fixed.items())),
            "findings_on_rows_dropped_by_another_rule": dict(sorted(self.dropped_elsewhere.items())),
        }

    def remaining_by_kind(self) -> dict[str, int]:
        """Remaining findings: those an unsafe fix would handle, and those no fix here handles."""
        unsafe = sum(1 for f in self.remaining if self.policy.applicability(f) is Applicability.UNSAFE)
        return {"unsafe_fix_available": unsafe, "no_fix": len(self.remaining) - unsafe}

    def to_dict(self) -> dict:
        return {
            "version": __version__,
            "input": [input_name(spec) for spec in self.inputs],
            "output": {"data": _name(self.outputs.out), "rejects": _name(self.outputs.rejects)},
            "tokenizer": self.before.tokenizer,
            "accounting": self.accounting(),
            "passes": self.passes,
            "settled": self.settled,
            "before": self.before.summary,
            "distributions": self.before.distributions,
            "remaining": {
                "findings": len(self.remaining),
                **self.remaining_by_kind(),
                "by_code": dict(sorted(Counter(f.code for f in self.remaining).items())),
                "items": [finding.to_dict() for finding in self.remaining],
            },
            "samples": self.samples,
        }


def _name(path: Path | None) -> str | None:
    return str(path) if path else None


def fix(
    inputs: Sequence[str | Source],
    plan: RunPlan,
    outputs: Outputs,
    *,
    unsafe: bool = False,
    progress: Callable[[int], None] | None = None,
    binarize: Binarize | None = None,
) -> FixResult:
    """Fix `inputs` into `outputs` as the plan says; checks every output path before any work starts. With
    `binarize`, the inputs are labelled pairs or rated candidates, and the output the pairs made of them."""
    if binarize is not None and outputs.out is None:
        raise ConfigError("--binarize writes pairs: give --out (--diff shows changes to rows, not a new shape)")
    if binarize is not None and binarize.strategy not in STRATEGIES:
        raise ConfigError(f"--binarize {binarize.strategy!r}: choose one of {', '.join(STRATEGIES)}")
    targets = [(outputs.out, "--out"), (outputs.rejects, "--rejects")]
    for path, option in targets:
        if path is not None:
            data_format(path, option)
    reads = [*map(os.fspath, inputs), *plan.settings.references]
    check_targets([*targets, (outputs.report, "--report")], reads, force=outputs.force)
    policy = FixPolicy.from_plan(plan, unsafe)
    own = outputs.files is None
    with OutputSet(replace=outputs.force) if own else nullcontext(outputs.files) as files:
        outputs.files = files
        outputs.open()
        with scratch_dir("fix") as scratch:
            return _Run(list(inputs), plan, outputs, policy, Path(scratch), progress, binarize).execute()


@dataclass
class _Pass:
    origin: array  # output row -> input row of the whole run
    changed: int  # rows an edit or swap changed
    remaining: list[Finding]  # the scan's findings that this pass neither fixed nor dropped, rows as in the input


class _Run:
    """One `preflint fix`: its passes, and what they kept, changed and dropped."""

    def __init__(
        self, inputs, plan: RunPlan, outputs: Outputs, policy: FixPolicy, scratch: Path, progress, binarize=None
    ):
        self.inputs, self.plan, self.outputs, self.policy = inputs, plan, outputs, policy
        self.scratch, self.progress = scratch, progress
        self.binarize: Binarize | None = binarize
        self.binarized = Binarized(binarize) if binarize else None
        self.format = data_format(outputs.out, "--out") if outputs.out else "jsonl"
        self.unreadable = plan.registry.reporting(Defect.UNREADABLE)()  # what a record that cannot be written is
        self.applied: dict[int, list[str]] = {}  # input row -> codes of the edits and swaps applied to it
        self.found: dict[int, list[str]] = {}  # input row -> the codes of its findings, as the inputs were read
        self.reasons: dict[int, str] = {}  # dropped input row -> the code it was dropped under
        self.dropped: Counter = Counter()
        self.drops: dict[int, list[str]] = {}  # --diff: input row -> why it was dropped
        self.shown: dict[int, tuple[str, str]] = {}  # --diff: input row -> its record before the fix, and after
        self.sampled: dict[int, list[Finding]] = {}
        self.sample_pairs: dict[int, Pair] = {}
        self.before: ScanResult | None = None  # the first pass's scan: the inputs as read
        self.fix_labels: dict[str, str] = {}

    def execute(self) -> FixResult:
        rejects = None
        if self.outputs.rejects:
            handle = self.outputs.streams["--rejects"]
            rejects = self._sink(handle, data_format(self.outputs.rejects, "--rejects"), _rejects_schema())
        current, origin = self.inputs, None
        if self.binarize is not None:
            current, origin = self._binarize(rejects)
        for number in range(1, MAX_PASSES + 1):
            target = self.scratch / f"pass-{number}.{self.format}"
            done, rewrites, last = self._pass(number, current, origin, target, rejects)
            if last or not done.changed:
                break
            current, origin = [str(target)], done.origin
            done.remaining.clear()  # the next pass's scan supersedes them: not held while it runs
        if not last:  # the planned edits changed nothing: this output is final; write it once more with provenance
            rewritten = self._apply([str(target)], [], {}, done.origin, None, None, provenance=True)
            done = _Pass(rewritten.origin, 0, done.remaining)
        if rejects:
            rejects.finish()
        result = FixResult(
            self.inputs,
            self.outputs,
            self.before,
            sorted(done.remaining, key=Finding.sort_key),
            self.policy,
            rows_read=self.before.summary["rows"],
            rows_kept=len(done.origin),
            dropped=self.dropped,
            fixed=Counter(code for codes in self.applied.values() for code in set(codes)),
            dropped_elsewhere=Counter(
                code for row, reason in self.reasons.items() for code in self.found.get(row, ()) if code != reason
            ),
            passes=number,
            settled=not (rewrites and done.changed and number == MAX_PASSES),
            binarized=self.binarized,
        )
        result.samples = samples(self.sampled, self.sample_pairs, Pipeline(self.plan))  # the scans' workers are gone
        result.fix_labels = self.fix_labels
        if self.outputs.out is None:
            result.changes = self._changes()
        return result

    def _pass(self, number: int, current: list[str], origin, target: Path, rejects) -> tuple[_Pass, bool, bool]:
        """Scan `current` and apply the fixes the policy allows: the pass, whether it planned edits or swaps (which
        can create findings: then another pass follows) and whether it is the last. The last pass writes the
        output itself; the others write `target`, the next pass's input."""
        scanned = scan(current, self.plan, progress=self.progress)
        if self.before is None:
            self._read_first(scanned)
        plan = self._planned(scanned.findings)
        rewrites = any(f.fix.action != DROP for found in plan.values() for f in found)
        last = not rewrites or number == MAX_PASSES
        applied = self._apply(
            current, scanned.findings, plan, origin, None if last else target, rejects, provenance=last
        )
        return applied, rewrites, last

    def _read_first(self, scanned: ScanResult) -> None:
        """The scan of the inputs as read: what the report says of them, and the rows it samples."""
        if misread := scanned.summary.get("misread"):  # safe fixes would drop good rows unread
            raise InputError(
                f"{misread[0]}. Nothing was written: fix the reading (--map, the input's shape), or raise max-unusable "
                "in the config to drop such rows anyway"
            )
        self.sampled = pick_samples(scanned.findings)
        self.before = replace(scanned, findings=[])  # at a million rows the findings are hundreds of MiB
        self.fix_labels = fix_labels(scanned.findings)
        for finding in scanned.findings:
            if finding.row is not None:
                self.found.setdefault(finding.row, []).append(finding.code)

    def _planned(self, findings: list[Finding]) -> dict[int, list[Finding]]:
        """Row -> the findings whose fixes the policy applies."""
        plan: dict[int, list[Finding]] = {}
        for finding in findings:
            if self.policy.applies(finding):
                plan.setdefault(finding.row, []).append(finding)
        return plan

    def _binarize(self, rejects) -> tuple[list[str], array]:
        """Before the passes, with --binarize: scan the samples, drop the rows the policy drops, and write the pairs
        the strategy makes of the others (JSON Lines in scratch: the pair passes' input), each numbered as the row
        it came from."""
        scanned = scan(self.inputs, self.plan, progress=self.progress)
        self._read_first(scanned)
        plan, counts = self._planned(scanned.findings), self.binarized.rows_without_pairs
        del scanned
        target, origin = self.scratch / "pairs.jsonl", array("q")
        with open(target, "wb") as handle:
            sink = JsonlSink(handle)
            for raw, fields in raw_batches(resolve_sources(self.inputs), self.plan.settings):
                _check_binarizable(raw.source, fields)
                made, rejected = [], []
                for row, record in zip(raw.rows, raw.records):
                    sample, drops = self._sample(row, record, fields, plan)
                    if sample is not None and row in self.sampled and (view := sample.pair()) is not None:
                        self.sample_pairs[row] = view
                    if not drops:
                        pairs, unused = choose(sample, self.binarize, row)
                        if not pairs:
                            drops = [self._no_pair(row, sample, unused)]
                    if drops:
                        rejected.append(self._reject(row, record, drops, counts))
                        self.binarized.unused(drops[0].code, len(sample.candidates) if sample else 0)
                        continue
                    self.binarized.made(len(sample.candidates), len(pairs), unused)
                    made += [pair_record(sample, chosen, rejected_k, row) for chosen, rejected_k in pairs]
                    origin.extend([row] * len(pairs))
                sink.write(made)
                if rejects is not None:
                    rejects.write(rejected)
            sink.finish()
        return [str(target)], origin

    def _sample(self, row: int, record, fields, plan) -> tuple[Sample | None, list[Finding]]:
        """A record as a sample, and the findings that drop it: the policy's, or what makes it no sample."""
        drops = sorted((f for f in plan.get(row, ()) if f.fix.action == DROP), key=lambda f: f.code)
        if isinstance(record, Unreadable):
            return None, drops or [self.unreadable.finding(row, record.reason)]
        try:
            return read_record(record, fields, bool(self.plan.mapping))[1], drops
        except RowDefect as defect:
            return None, drops or [self.plan.registry.reporting(defect.kind)().finding(row, defect.message)]

    def _no_pair(self, row: int, sample: Sample, unused: dict[int, str]) -> Finding:
        """Why a sample gives no pair, as the finding of the rule that says so."""
        reasons = set(unused.values())
        if sample.tie or reasons == {"tie"}:
            code, why = "C001", "the candidates are tied: no pair can be made of the row"
        elif any(reason.startswith("answers another prompt") for reason in reasons):
            code, why = "M008", "fewer than two usable candidates answer the same prompt"
        else:
            code, why = "C003", "fewer than two usable candidates (rated, with words): no pair can be made of the row"
        return self.plan.registry.get(code)().finding(row, why)

    def _sink(self, handle, fmt: str, hint=None):
        return ParquetSink(handle, self.scratch, hint) if fmt == "parquet" else JsonlSink(handle)

    def _target(self, target: Path | None):
        """Where a pass writes: a scratch file for the next pass, else (None) the output itself, atomically (with
        --diff, which writes no output, a scratch file all the same)."""
        if target is None and self.outputs.out is not None:
            return nullcontext(self.outputs.streams["--out"])
        return open(target or self.scratch / f"final.{self.format}", "wb")

    def _apply(self, inputs, findings, plan, origin, target: Path | None, rejects, *, provenance: bool) -> _Pass:
        """One pass over `inputs`: drop, edit and swap as planned; write the kept records to `target`."""
        kept_origin, changed, dropped_rows, used = array("q"), 0, set(), set()
        diff = self.outputs.out is None
        with self._target(target) as handle:
            sources = resolve_sources(inputs)
            sink = self._sink(handle, self.format, _parquet_schema(sources))
            for raw, fields in raw_batches(sources, self.plan.settings):
                kept, rejected = [], []
                for row, record in zip(raw.rows, raw.records):
                    original = origin[row] if origin is not None else row
                    read = self._read(record, fields) if origin is None and original in self.sampled else None
                    if read and read[0] is not None:  # a pair, or a sample's pair view, is shown
                        self.sample_pairs[original] = read[0]
                    found = sorted(plan.get(row, ()), key=lambda f: f.code)
                    drops = [f for f in found if f.fix.action == DROP]
                    if isinstance(record, Unreadable) and not drops:  # cannot be written, whatever the policy
                        drops = [self.unreadable.finding(row, record.reason)]
                    if drops:
                        rejected.append(self._reject(original, record, drops))
                        dropped_rows.add(row)
                        continue
                    if found:
                        before = record
                        pair, sample, own_fields = self._read(record, fields) or (None, None, fields)
                        record, applied = _rewrite(record, own_fields, pair, sample, found)
                        used.update(map(id, found))
                        if applied:
                            changed += 1
                            self.applied.setdefault(original, []).extend(f.code for f in applied)
                            if diff:
                                first = self.shown[original][0] if original in self.shown else pretty(before)
                                self.shown[original] = (first, pretty(record))
                    if provenance and self.outputs.provenance:
                        record = {**record, "preflint_row": original, "preflint_fixes": self.applied.get(original, [])}
                    kept.append(record)
                    kept_origin.append(original)
                sink.write(kept)
                if not kept:  # all dropped: should no record be written at all, the file keeps their columns
                    sink.keep_columns_of([record for record in raw.records if isinstance(record, dict)])
                if rejects is not None:
                    rejects.write(rejected)
            sink.finish()
        remaining = [
            f if f.row is None or origin is None else replace(f, row=origin[f.row])
            for f in findings
            if id(f) not in used and f.row not in dropped_rows
        ]
        return _Pass(kept_origin, changed, remaining)

    def _reject(self, original: int, record, drops: list[Finding], counts: Counter | None = None) -> dict:
        """Count a dropped row under its first reason (in `counts`, the dropped pairs' by default); its line in the
        rejects lists every reason."""
        (self.dropped if counts is None else counts)[drops[0].code] += 1
        self.reasons[original] = drops[0].code
        earlier = self.applied.get(original, [])
        messages = [f"{code}: fixed in an earlier pass" for code in earlier] + [f"{f.code}: {f.message}" for f in drops]
        if self.outputs.out is None:
            self.drops[original] = messages
        return {
            "row": original,
            "source": self.before.source_of(original),
            "reason": drops[0].code,
            "codes": earlier + [f.code for f in drops],
            "messages": messages,
            "record": record.text if isinstance(record, Unreadable) else to_json(record),
        }

    def _read(self, record, fields: InputFields | None) -> tuple[Pair | None, Sample | None, InputFields] | None:
        """A record as a pair (or a sample and its pair view) with the fields it was read with (its own, in an input
        whose rows change shape), for the rows the plan edits and the samples: the others are not read again."""
        if isinstance(record, Unreadable) or fields is None:
            return None
        try:
            return read_record(record, fields, bool(self.plan.mapping))
        except RowDefect:
            return None

    def _changes(self) -> list[str]:
        """What --diff shows, row by row in input order: kept from the passes, not read again."""
        lines: list[str] = []
        for row in sorted({*self.drops, *self.shown}):
            before, after = self.shown.get(row, (None, None))
            lines += diff_lines(self._place(row), self.drops.get(row), before, after, self.applied.get(row, []))
        return lines

    def _place(self, row: int) -> str:
        """Where --diff says a row is: `file:line (row N)` where the file has lines, else `input row N`."""
        path, line = self.before.location_of(row)
        return f"{path}:{line} (row {row})" if line is not None else f"{path} row {row}"


def _rewrite(
    record: dict, fields: InputFields, pair: Pair | None, sample: Sample | None, found: list[Finding]
) -> tuple[dict, list[Finding]]:
    """The record after its edits (each on the pair as the previous edit left it), then its swap. A sample's edits
    are made in the candidates its pair view holds; a sample is never swapped (its label says which is better)."""
    applied = []
    for finding in found:
        action = finding.fix.action
        if isinstance(action, Edit) and pair is not None:
            if sample is not None:
                edited = edit_candidates(record, fields, sample, sample.extremes(), action)
            else:
                edited = apply_edit(record, fields, pair, action)
            if edited is not record:
                record = edited
                applied.append(finding)
                try:
                    pair, sample, _ = read_record(record, fields)
                except RowDefect:
                    break
    swap = next((f for f in found if f.fix.action == SWAP), None)
    if swap is not None and sample is None:
        record = swap_sides(record, fields)
        applied.append(swap)
    return record, applied


def _rejects_schema():
    """The columns of every rejects file (those `_reject` fills), so one with no dropped row still has them."""
    import pyarrow as pa

    texts = pa.list_(pa.string())
    return pa.schema(
        [
            ("row", pa.int64()),
            ("source", pa.string()),
            ("reason", pa.string()),
            ("codes", texts),
            ("messages", texts),
            ("record", pa.string()),
        ]
    )


def _parquet_schema(sources):
    """The inputs' own schema when they are all Parquet, so the output keeps their exact types."""
    if not sources or any(source.kind != "parquet" for source in sources):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pa.unify_schemas([pq.read_schema(source.location) for source in sources], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _check_binarizable(source: str, fields) -> None:
    """--binarize makes pairs of labelled pairs and rated or ranked candidates; other inputs are an error."""
    if fields is None or (isinstance(fields, SampleFields) and fields.form != UNPAIRED):
        return
    holds = "unpaired (KTO) rows, which make no pairs" if isinstance(fields, SampleFields) else "pairs already"
    raise InputError(
        f"--binarize makes pairs of labelled pairs and rated or ranked candidates, and {source!r} holds {holds}: "
        "fix it without --binarize"
    )
