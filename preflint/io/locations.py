"""Where a row stands in a file that the reader did not keep: the files of a data directory's split, read through
`datasets` (which gives no lines), are read again for annotations that point into them."""

from __future__ import annotations

import os
from array import array
from pathlib import Path
from typing import NamedTuple

from preflint.errors import InputError
from preflint.io.datasets import split_files
from preflint.io.formats import TEXT_READERS, read_errors
from preflint.io.sources import FORMATS, SPLIT_READ, classify


def record_lines(spec: str) -> array | None:
    """The line on which each record of a text file (JSON Lines, JSON, CSV) starts, counted from 1, as its records
    are read; None for anything else (Parquet, a compressed file, a dataset, standard input) or a file that can no
    longer be read. For annotations that point into the file (GitHub, SARIF); the file is read again for them."""
    try:
        source = classify(spec) if os.path.isfile(spec) else None
        if source is None or source.kind not in TEXT_READERS or source.compression:
            return None
        with read_errors(source):
            return array("q", (line for line, _ in TEXT_READERS[source.kind](source)))
    except InputError:
        return None


class FileRecords(NamedTuple):
    """One file of an input, as `record_files` finds it."""

    path: str
    records: int
    lines: array | None  # the line each record starts on; None for Parquet


def record_files(name: str) -> list[FileRecords] | None:
    """The files an input's rows were read from, in order, with the line each record starts on where the file has
    lines: for annotations that point into a file (GitHub, SARIF, JUnit), which read the files again. `name` is how
    batches name the input: a text file (JSON Lines, JSON, CSV) is itself; a split of a data directory read as the
    hub reads a repository ("data [train]") is that split's data files, text or Parquet. None for anything else
    (Parquet alone, a compressed file, standard input, a saved or hub dataset) or what can no longer be read."""
    if (lines := record_lines(name)) is not None:
        return [FileRecords(name, len(lines), lines)]
    named = SPLIT_READ.match(name)
    if named is None or not os.path.isdir(named["spec"]) or classify(named["spec"]).kind != "hub":
        return None
    files, directory = [], os.path.abspath(named["spec"])
    for path in split_files(directory, named["split"]) or ():
        shown = os.path.normpath(os.path.join(named["spec"], os.path.relpath(path, directory)))
        if (lines := record_lines(path)) is not None:
            files.append(FileRecords(shown, len(lines), lines))
        elif (rows := _parquet_rows(path)) is not None:
            files.append(FileRecords(shown, rows, None))
        else:
            return None
    return files or None


def _parquet_rows(path: str) -> int | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if FORMATS.get(Path(path).suffix.lower()) != "parquet":
        return None
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException):
        return None


def input_directory(name: str) -> Path | None:
    """The directory an input's relative paths (a vision row's images) start from: a file's own directory, a data
    directory itself; None where the input is no local file or directory (a hub dataset, standard input)."""
    named = SPLIT_READ.match(name)
    path = Path(named["spec"] if named else name)
    if path.is_file():
        return path.parent
    return path if path.is_dir() else None
