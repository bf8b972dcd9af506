"""The fix pipeline: scan -> keep the fixes the policy allows -> rewrite the data -> scan again until nothing moves.

A pass scans its input and streams the records through: a row with an allowed drop fix goes to the rejects with
every code and message that dropped it; the others get their edits and swaps, in place in the record (columns and
shape unchanged). Drops cannot create new findings, but edits can (a pair whose sides differed only in trailing
whitespace is identical once stripped), so a pass that edited rows is followed by one over its output, as ruff
does, at most MAX_PASSES times. Every row read is kept or dropped with a reason; outputs appear atomically.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import regex

from preflint import __version__
from preflint.pipeline.batch import PairBatch, render, tokenize
from preflint.config import Settings
from preflint.fixing.edit import apply_edit, swap_sides
from preflint.findings import DROP, SWAP, Applicability, Edit, Finding, Severity, fix_labels
from preflint.io.outputs import (
    JsonlSink,
    ParquetSink,
    check_targets,
    copy_into_place,
    data_format,
    to_json,
)
from preflint.io.read import Source, Unreadable, input_name, read_batches, resolve_sources
from preflint.registry import Registry
from preflint.pipeline.scan import ScanResult, normalized_batches, scan, settings_tokenizer
from preflint.shapes.pairs import Fields, Pair, RecordDefect, normalize, parse_map
from preflint.text import ending
from preflint.tokenizer.loading import Tokenizer
from preflint.trainers import common_prefix_length

MAX_PASSES = 4
SAMPLES_PER_CODE = 3
MAX_SAMPLES = 40
DIFF_CELLS = 4_000_000  # difflib on 2,000 tokens a side: at most ~0.15 s
PROVENANCE_COLUMNS = ("preflint_row", "preflint_fixes")
# Characters a terminal shows as nothing or as a plain space; --diff escapes them ("\u200b"), so a W004 change can
# be seen: format and control characters, line and paragraph separators, and every space but the plain one.
# (Not the newlines between JSON's lines.)
HIDDEN = regex.compile(r"(?!\n)[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


@dataclass(frozen=True)
class FixPolicy:
    """Which findings' fixes are applied: fixable rules, by applicability, with ruff's per-rule overrides."""

    fixable: frozenset[str]
    promoted: frozenset[str]  # unsafe fixes treated as safe (extend-safe-fixes)
    demoted: frozenset[str]  # safe fixes treated as unsafe (extend-unsafe-fixes)
    unsafe: bool

    @classmethod
    def from_settings(cls, settings: Settings, unsafe: bool) -> FixPolicy:
        registry = Registry.load(settings.plugins, settings.base_dir)

        def codes(selectors: Sequence[str]) -> frozenset[str]:
            return frozenset(rule.code for rule in registry.select(selectors)) if selectors else frozenset()

        fixable = codes(settings.fixable) - codes(settings.unfixable)
        return cls(fixable, codes(settings.extend_safe_fixes), codes(settings.extend_unsafe_fixes), unsafe)

    def applicability(self, finding: Finding) -> Applicability | None:
        """How this finding's fix counts here; None when it has nothing to apply (display-only or no fix)."""
        if finding.fix is None or finding.fix.action is None:
            return None
        declared = finding.fix.applicability
        if declared is Applicability.UNSAFE and finding.code in self.promoted:
            return Applicability.SAFE
        if declared is Applicability.SAFE and finding.code in self.demoted:
            return Applicability.UNSAFE
        return declared

    def applies(self, finding: Finding) -> bool:
        if finding.row is None or finding.code not in self.fixable:
            return False
        applicability = self.applicability(finding)
        return applicability is Applicability.SAFE or (applicability is Applicability.UNSAFE and self.unsafe)


@dataclass
class Outputs:
    out: Path | None  # None: work out the changes (--diff) and write nothing
    rejects: Path | None = None
    provenance: bool = False
    force: bool = False
    report: Path | None = None  # written by the caller from the result (the CLI's --report); checked with the rest


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
    passes: int
    settled: bool  # False when edits still changed rows in the last allowed pass
    samples: list[dict] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # with --diff: the changes, as text lines
    fix_labels: dict[str, str] = field(default_factory=dict)  # code -> how the input's findings' fixes apply

    def accounting(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": sum(self.dropped.values()),
            "dropped_by_reason": dict(sorted(self.dropped.items())),
            "rows_fixed_by_code": dict(sorted(self.fixed.items())),
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
    settings: Settings,
    outputs: Outputs,
    *,
    unsafe: bool = False,
    tokenizer: Tokenizer | None = None,
    progress: Callable[[int], None] | None = None,
) -> FixResult:
    """Fix `inputs` into `outputs`; checks every output path before any work starts."""
    targets = [(outputs.out, "--out"), (outputs.rejects, "--rejects")]
    for path, option in targets:
        if path is not None:
            data_format(path, option)
    reads = [*map(os.fspath, inputs), *settings.references]
    check_targets([*targets, (outputs.report, "--report")], reads, force=outputs.force)
    policy = FixPolicy.from_settings(settings, unsafe)
    with tempfile.TemporaryDirectory(prefix="preflint-fix-") as scratch:
        return _Run(list(inputs), settings, outputs, policy, tokenizer, Path(scratch), progress).execute()


@dataclass
class _Pass:
    origin: array  # output row -> input row of the whole run
    changed: int  # rows an edit or swap changed
    remaining: list[Finding]  # the scan's findings that this pass neither fixed nor dropped, rows as in the input


class _Run:
    """One `preflint fix`: its passes, and what they kept, changed and dropped."""

    def __init__(self, inputs, settings, outputs, policy, tokenizer, scratch, progress):
        self.inputs, self.settings, self.outputs, self.policy = inputs, settings, outputs, policy
        self.tokenizer, self.scratch, self.progress = tokenizer, scratch, progress
        self.format = data_format(outputs.out, "--out") if outputs.out else "jsonl"
        self.mapping = parse_map(settings.map)
        self.applied: dict[int, list[str]] = {}  # input row -> codes of the edits and swaps applied to it
        self.dropped: Counter = Counter()
        self.drops: dict[int, list[str]] = {}  # input row -> why it was dropped (kept for --diff only)
        self.sampled: dict[int, list[Finding]] = {}
        self.sample_pairs: dict[int, Pair] = {}
        self.before: ScanResult | None = None  # the first pass's scan: the inputs as read
        self.fix_labels: dict[str, str] = {}

    def execute(self) -> FixResult:
        rejects_path = None
        if self.outputs.rejects:
            rejects_path = self.scratch / f"rejects.{data_format(self.outputs.rejects, '--rejects')}"
        with ExitStack() as stack:
            rejects = None
            if rejects_path:
                handle = stack.enter_context(open(rejects_path, "wb"))
                rejects = self._sink(handle, rejects_path.suffix[1:], _rejects_schema())
            current, origin = self.inputs, None
            for number in range(1, MAX_PASSES + 1):
                target = self.scratch / f"pass-{number}.{self.format}"
                done, rewrites, last = self._pass(number, current, origin, target, rejects)
                if last or not done.changed:
                    break
                current, origin = [str(target)], done.origin
                done.remaining.clear()  # the next pass's scan supersedes them: not held while it runs
            if rejects:
                rejects.finish()
        if not last:  # the planned edits changed nothing: this output is final; write it once more with provenance
            final = self.scratch / f"final.{self.format}"
            rewritten = self._apply([str(target)], [], {}, done.origin, final, None, provenance=True)
            done, target = _Pass(rewritten.origin, 0, done.remaining), final
        result = FixResult(
            self.inputs, self.outputs, self.before, sorted(done.remaining, key=Finding.sort_key), self.policy,
            rows_read=self.before.summary["rows"], rows_kept=len(done.origin), dropped=self.dropped,
            fixed=Counter(code for codes in self.applied.values() for code in set(codes)), passes=number,
            settled=not (rewrites and done.changed and number == MAX_PASSES),
        )
        result.samples, result.fix_labels = self._samples(), self.fix_labels
        if self.outputs.out is None:
            result.changes = self._changes(target)
        else:
            copy_into_place(target, self.outputs.out)
            if rejects_path:
                copy_into_place(rejects_path, self.outputs.rejects)
        return result

    def _pass(self, number: int, current: list[str], origin, target: Path, rejects) -> tuple[_Pass, bool, bool]:
        """Scan `current` and apply the fixes the policy allows, into `target`: the pass, whether it planned edits
        or swaps (which can create findings: then another pass follows) and whether it is the last."""
        scanned = scan(current, self.settings, progress=self.progress, tokenizer=self.tokenizer)
        if number == 1:
            self.sampled = _pick_samples(scanned.findings)
            self.before = replace(scanned, findings=[])  # at a million rows the findings are hundreds of MiB
            self.fix_labels = fix_labels(scanned.findings)
        plan: dict[int, list[Finding]] = {}
        for finding in scanned.findings:
            if self.policy.applies(finding):
                plan.setdefault(finding.row, []).append(finding)
        rewrites = any(f.fix.action != DROP for found in plan.values() for f in found)
        last = not rewrites or number == MAX_PASSES
        return self._apply(current, scanned.findings, plan, origin, target, rejects, provenance=last), rewrites, last

    def _sink(self, handle, fmt: str, hint=None):
        return ParquetSink(handle, self.scratch, hint) if fmt == "parquet" else JsonlSink(handle)

    def _apply(self, inputs, findings, plan, origin, target: Path, rejects, *, provenance: bool) -> _Pass:
        """One pass over `inputs`: drop, edit and swap as planned; write the kept records to `target`."""
        kept_origin, changed, dropped_rows, used = array("q"), 0, set(), set()
        with open(target, "wb") as handle:
            sources = resolve_sources(inputs)
            sink = self._sink(handle, self.format, _parquet_schema(sources))
            for batch, fields in normalized_batches(sources, self.settings, self.mapping):
                kept, rejected = [], []
                for i, (row, record) in enumerate(zip(batch.rows, batch.records)):
                    original = origin[row] if origin is not None else row
                    if origin is None and original in self.sampled and batch.pairs[i] is not None:
                        self.sample_pairs[original] = batch.pairs[i]
                    found = sorted(plan.get(row, ()), key=lambda f: f.code)
                    drops = [f for f in found if f.fix.action == DROP]
                    if isinstance(record, Unreadable) and not drops:  # cannot be written, whatever the policy
                        drops = [Finding("S001", "unreadable-record", Severity.ERROR, row, record.reason)]
                    if drops:
                        rejected.append(self._reject(original, record, drops))
                        dropped_rows.add(row)
                        continue
                    if found:
                        record, applied = _rewrite(record, fields, batch.pairs[i], found)
                        used.update(map(id, found))
                        if applied:
                            changed += 1
                            self.applied.setdefault(original, []).extend(f.code for f in applied)
                    if provenance and self.outputs.provenance:
                        record = {**record, "preflint_row": original, "preflint_fixes": self.applied.get(original, [])}
                    kept.append(record)
                    kept_origin.append(original)
                sink.write(kept)
                if not kept:  # all dropped: should no record be written at all, the file keeps their columns
                    sink.keep_columns_of([record for record in batch.records if isinstance(record, dict)])
                if rejects is not None:
                    rejects.write(rejected)
            sink.finish()
        remaining = [
            f if f.row is None or origin is None else replace(f, row=origin[f.row])
            for f in findings
            if id(f) not in used and f.row not in dropped_rows
        ]
        return _Pass(kept_origin, changed, remaining)

    def _reject(self, original: int, record, drops: list[Finding]) -> dict:
        """Count a dropped row under its first reason; its line in the rejects lists every reason."""
        self.dropped[drops[0].code] += 1
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

    def _samples(self) -> list[dict]:
        """The two sides of some fixed or flagged rows, rendered and tokenized, with the token-level difference."""
        rows = [row for row in self.sampled if row in self.sample_pairs]
        if not rows:
            return []
        pairs = [self.sample_pairs[row] for row in rows]
        batch = PairBatch("samples", rows, pairs, [None] * len(rows), [None] * len(rows))
        tokenizer = settings_tokenizer(self.settings, self.tokenizer)  # after the scans: their workers are gone
        render(batch, tokenizer)
        tokenize(batch, tokenizer)
        samples = []
        for i, row in enumerate(rows):
            if batch.pairs[i] is None:
                continue
            chosen, rejected = batch.body_ids(i, "chosen"), batch.body_ids(i, "rejected")
            chosen_parts, rejected_parts = token_diff(chosen, rejected, tokenizer)
            samples.append({
                "row": row,
                "findings": [{"code": f.code, "name": f.name, "severity": f.severity.value, "message": f.message,
                              "fix": f.fix.to_dict() if f.fix else None} for f in self.sampled[row]],
                "prompt": ending(batch.prompt[i], 400),
                "chosen": chosen_parts,
                "rejected": rejected_parts,
                "tokens": {"chosen": len(chosen), "rejected": len(rejected)},
            })
        return samples

    def _changes(self, final: Path) -> list[str]:
        """What --diff shows: each dropped row with its reasons, each changed row as a unified diff."""
        lines: list[str] = []
        fixed = _records(final)
        for raw in read_batches(resolve_sources(self.inputs), batch_size=self.settings.batch_size,
                                split=self.settings.split, subset=self.settings.subset):
            for row, record in zip(raw.rows, raw.records):
                if row in self.drops:
                    lines.append(f"{self._place(row)}: dropped")
                    lines += [f"    {message}" for message in self.drops[row]]
                    continue
                new = next(fixed)
                if row in self.applied:
                    old_lines = _pretty(record).splitlines()
                    new_lines = _pretty(new).splitlines()
                    codes = ", ".join(dict.fromkeys(self.applied[row]))
                    lines += difflib.unified_diff(old_lines, new_lines, self._place(row), f"fixed ({codes})",
                                                  lineterm="", n=1)
        return lines

    def _place(self, row: int) -> str:
        """Where --diff says a row is: `file:line (row N)` where the file has lines, else `input row N`."""
        path, line = self.before.location_of(row)
        return f"{path}:{line} (row {row})" if line is not None else f"{path} row {row}"


def _rewrite(record: dict, fields: Fields, pair: Pair, found: list[Finding]) -> tuple[dict, list[Finding]]:
    """The record after its edits (each on the pair as the previous edit left it), then its swap."""
    applied = []
    for finding in found:
        action = finding.fix.action
        if isinstance(action, Edit):
            edited = apply_edit(record, fields, pair, action)
            if edited is not record:
                record = edited
                applied.append(finding)
                try:
                    pair = normalize(record, fields)
                except RecordDefect:
                    break
    swap = next((f for f in found if f.fix.action == SWAP), None)
    if swap is not None:
        record = swap_sides(record, fields)
        applied.append(swap)
    return record, applied


def _rejects_schema():
    """The columns of every rejects file (those `_reject` fills), so one with no dropped row still has them."""
    import pyarrow as pa

    texts = pa.list_(pa.string())
    return pa.schema([("row", pa.int64()), ("source", pa.string()), ("reason", pa.string()), ("codes", texts),
                      ("messages", texts), ("record", pa.string())])


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


def _pick_samples(findings: list[Finding]) -> dict[int, list[Finding]]:
    """A few rows per rule for the report: the first rows of each code, all findings of those rows."""
    by_row: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.row is not None:
            by_row.setdefault(finding.row, []).append(finding)
    per_code: Counter = Counter()
    picked: dict[int, list[Finding]] = {}
    for row, found in sorted(by_row.items()):
        codes = {f.code for f in found}
        if any(per_code[code] < SAMPLES_PER_CODE for code in codes) and len(picked) < MAX_SAMPLES:
            picked[row] = found
            per_code.update(codes)
    return picked


def token_diff(chosen: list[int], rejected: list[int], tokenizer: Tokenizer) -> tuple[list, list]:
    """Both sides as [kind, text] runs: "same", or "changed" where the token sequences differ.

    The common start and end are cut off first; difflib matches what is left, unless that is more than DIFF_CELLS
    tokens by tokens (its matching is quadratic: two responses of 450,000 tokens took hours), then it is one
    changed run."""
    head = common_prefix_length(chosen, rejected)
    tail = common_prefix_length(chosen[head:][::-1], rejected[head:][::-1])
    chosen_end, rejected_end = len(chosen) - tail, len(rejected) - tail
    if (chosen_end - head) * (rejected_end - head) <= DIFF_CELLS:
        matcher = difflib.SequenceMatcher(None, chosen[head:chosen_end], rejected[head:rejected_end], autojunk=False)
        middle = [(op, head + i1, head + i2, head + j1, head + j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
    else:
        middle = [("replace", head, chosen_end, head, rejected_end)]
    chosen_parts, rejected_parts = [], []
    for op, i1, i2, j1, j2 in [("equal", 0, head, 0, head), *middle, ("equal", chosen_end, len(chosen), rejected_end, len(rejected))]:
        kind = "same" if op == "equal" else "changed"
        if i2 > i1:
            chosen_parts.append([kind, _shorten(tokenizer.decode(chosen[i1:i2]), kind)])
        if j2 > j1:
            rejected_parts.append([kind, _shorten(tokenizer.decode(rejected[j1:j2]), kind)])
    return chosen_parts, rejected_parts


def _shorten(text: str, kind: str) -> str:
    """A run's text with its middle left out: unchanged context briefly, a change only when it is very long."""
    keep = 160 if kind == "same" else 2000
    if len(text) <= 2 * keep:
        return text
    return text[:keep] + " … " + text[-keep:]


def _records(path: Path) -> Iterator:
    for raw in read_batches(resolve_sources([str(path)]), batch_size=1000):
        yield from raw.records


def _pretty(record) -> str:
    return HIDDEN.sub(lambda match: json.dumps(match.group())[1:-1], to_json(record, indent=2))
