"""Which shape an input is in, and each record read in it: a pair (pairs.py) or a sample of candidates
(samples.py), chosen by the input's columns and its first records, or by the keys `--map` names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from preflint.defects import Defect, RowDefect
from preflint.errors import InputError
from preflint.shapes.fields import EVAL_TURNS, PROMPT_ALIASES, SAMPLE_MAP_KEYS, Fields, detect_fields
from preflint.shapes.pairs import Content, Pair, _prompt, normalize, own_shape
from preflint.shapes.samples import Sample, SampleFields, detect_sample_fields, read_sample

InputFields = Fields | SampleFields


def detect_input(
    columns: Sequence[str], mapping: Mapping[str, str], source: str, record: Mapping | None = None
) -> InputFields:
    """Pairs where the columns hold them, else labelled pairs, ranked candidates or unpaired rows; the pairs'
    error (it says what else the data looks like) where neither reads. `--map` keys of one kind decide it."""
    if set(mapping) & set(SAMPLE_MAP_KEYS):
        try:
            return detect_sample_fields(columns, mapping, record)
        except InputError as exc:
            raise InputError(f"{source!r}: {exc}") from None
    try:
        return detect_fields(columns, mapping, source, record)
    except InputError:
        if {"chosen", "rejected"} & set(mapping):
            raise
        try:
            return detect_sample_fields(columns, mapping, record)
        except InputError:
            pass
        raise


def read_record(
    record: Mapping, fields: InputFields, mapped: bool = False
) -> tuple[Pair | None, Sample | None, InputFields]:
    """A record as a pair, or as a sample and its pair view (None for a tie or an unpaired row), and the fields it
    was read with; RowDefect says what is wrong with it. A record that lacks one of its input's pair fields is read
    by its own columns where they make it a whole dialogue (a file whose rows change shape part-way), unless
    `--map` named them (`mapped`)."""
    if isinstance(fields, SampleFields):
        sample = read_sample(record, fields)
        return sample.pair(), sample, fields
    try:
        return normalize(record, fields), None, fields
    except RowDefect as defect:
        own = own_shape(record) if defect.kind is Defect.MISSING_FIELD and not mapped else None
        if own is None:
            raise
        return own[0], None, own[1]


def reference_prompts(records: list[dict], source: str) -> Iterator[Content]:
    """The prompts of reference data (D005's test sets): of pairs or samples, as preflint reads them, or of a file
    of prompts alone, as evaluation sets are (a `prompt`, `instruction`, `question`, ... column, or MT-Bench's and
    Arena-Hard's `turns`, each turn a prompt). Unreadable ones are skipped."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    try:
        fields = detect_input(columns, {}, source, records[0] if records else None)
    except InputError:
        prompt = next((name for name in PROMPT_ALIASES if name in columns), None)
        if prompt is None and EVAL_TURNS in columns:
            yield from _turns(records)
            return
        if prompt is None:
            raise InputError(
                f"{source!r}: no prompt column to compare with (columns: {', '.join(columns)}; looked for "
                f"{', '.join(PROMPT_ALIASES)}, {EVAL_TURNS})"
            ) from None
        alpaca = prompt == "instruction" and "input" in columns  # the input extends the instruction
        fields = None
        prompt_only = Fields("", "", ("instruction", "input") if alpaca else (prompt,))
    for record in records:
        try:
            if fields is None:
                if prompt_only.prompt[0] in record:  # an Alpaca row may leave out its input
                    yield _prompt({name: record.get(name) for name in prompt_only.prompt}, prompt_only)
                continue
            pair, sample, _ = read_record(record, fields)
            yield sample.candidates[0].prompt if sample is not None else pair.prompt
        except RowDefect:
            continue


def _turns(records: list[dict]) -> Iterator[str]:
    """Each turn of an evaluation question: MT-Bench's are text, Arena-Hard's `{"content": ...}`."""
    for record in records:
        turns = record.get(EVAL_TURNS)
        for turn in turns if isinstance(turns, list) else ():
            text = turn.get("content") if isinstance(turn, Mapping) else turn
            if isinstance(text, str):
                yield text
