"""Read any supported input into batches of raw records, numbering every record in input order and keeping the line
each record of a text file starts on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from preflint.io.datasets import dataset_records, open_dataset
from preflint.io.formats import BINARY_READERS, MAX_RECORD_BYTES, TEXT_READERS, Unreadable, read_errors
from preflint.io.sources import DATASET_KINDS, Source, reference_spec, resolve_sources


@dataclass
class RawBatch:
    source: str
    rows: list[int]
    records: list[dict | Unreadable]
    lines: list[int] | None = None  # the line each record starts on, in a text file an annotation can point into


def read_batches(
    sources: Sequence[Source],
    *,
    batch_size: int,
    split: str | None = None,
    subset: str | None = None,
    held_out: bool = False,
    max_record: int = MAX_RECORD_BYTES,
) -> Iterator[RawBatch]:
    """Yield batches of at most `batch_size` records; row numbers run on across sources. A dataset's batches name
    the split read ("repo [train]"). With `held_out` (reference data: a test set), a dataset of several splits is
    read in its held-out ones (test, validation, ...), not its train split, unless `split` names one. A record
    over `max_record` bytes is not read: it is an Unreadable that says how large it is."""
    next_row = 0
    for source in sources:
        parts: list[tuple[str, object]] = [(source.display, None)]
        if source.kind in DATASET_KINDS:
            with read_errors(source):
                opened = open_dataset(source, split=split, subset=subset, held_out=held_out)
            parts = [
                (f"{source.display} [{picked}]" if picked else source.display, dataset) for dataset, picked in opened
            ]
        for name, dataset in parts:
            located = dataset is None and has_lines(source)
            records: list[dict | Unreadable] = []
            lines: list[int] = []
            for line, record in _records(source, dataset, batch_size, max_record):
                records.append(record)
                lines.append(line)
                if len(records) == batch_size:
                    yield RawBatch(
                        name, list(range(next_row, next_row + len(records))), records, lines if located else None
                    )
                    next_row += len(records)
                    records, lines = [], []
            if records:
                yield RawBatch(
                    name, list(range(next_row, next_row + len(records))), records, lines if located else None
                )
                next_row += len(records)


def reference_batches(specs: Sequence[str], batch_size: int = 1000) -> Iterator[RawBatch]:
    """Batches of reference data (D005's test sets): a spec may name its split (`org/evals[test]`); a dataset of
    several splits is read in its held-out ones unless it does."""
    for spec in specs:
        path, split = reference_spec(spec)
        yield from read_batches(resolve_sources([path]), batch_size=batch_size, split=split, held_out=True)


def has_lines(source: Source) -> bool:
    """Whether an annotation can point at a line of this input: a text file as it is on disk (not compressed, not
    standard input's copy)."""
    return source.kind in TEXT_READERS and not source.compression and source.path is None


def _records(source: Source, dataset, batch_size: int, limit: int) -> Iterator[tuple[int | None, dict | Unreadable]]:
    """Each record with the line it starts on (None where the format has no lines)."""
    with read_errors(source):
        if dataset is not None:
            yield from ((None, record) for record in dataset_records(source, dataset, batch_size, limit))
        elif source.kind in TEXT_READERS:
            yield from TEXT_READERS[source.kind](source, limit)
        else:
            yield from ((None, record) for record in BINARY_READERS[source.kind](source, batch_size, limit))
