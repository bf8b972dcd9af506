"""Read any supported input into batches of raw records, numbering every record in input order.

A record that cannot be read (a line that is not JSON or not UTF-8, text that is not valid Unicode, an array where
an object belongs) is not skipped: it stays in its batch as an `Unreadable` so rule S001 reports it and nothing is
lost.
"""

from __future__ import annotations

import atexit
import bz2
import csv
import glob
import gzip
import io
import itertools
import json
import lzma
import os
import re
import shutil
import sys
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import zstandard

from preflint.errors import InputError, one_line
from preflint.io.hub import out_of_reach
from preflint.io.json_text import SURROGATE_ESCAPE, JsonText

STDLIB_DECOMPRESSORS = {"gzip": gzip.open, "xz": lzma.open, "bzip2": bz2.open}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".xz": "xz", ".bz2": "bzip2"}
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".arrow": "arrow",
}
STDIN, STDIN_NAME = "-", "<stdin>"
STDIN_MAGIC = (  # what standard input's first bytes say it is; anything else must be JSON or JSON Lines
    (b"PAR1", "parquet", None),
    (b"ARROW1", "arrow", None),
    (b"\xff\xff\xff\xff", "arrow", None),  # an Arrow IPC stream
    (b"\x1f\x8b", "json", "gzip"),
    (b"\x28\xb5\x2f\xfd", "json", "zstd"),
    (b"\xfd7zXZ\x00", "json", "xz"),
    (b"BZh", "json", "bzip2"),
)
DATASET_KINDS = ("saved", "hub")  # read through `datasets`
SAVED_DATASET_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
CSV_FIELD_LIMIT = 2**31 - 1  # the largest the csv module takes on every platform
CSV_DELIMITERS = (",", ";", "\t", "|")  # for a .csv, the one its header uses most (a comma on a tie)
SURROGATE = re.compile("[\ud800-\udfff]")
SPLIT_SUFFIX = re.compile(r"^(?P<spec>.+)\[(?P<split>[\w.-]+)\]$")  # a reference's split: org/evals[test]
SPLIT_READ = re.compile(r"^(?P<spec>.+) \[(?P<split>[^\]]+)\]$")  # how batches name a dataset's split: "data [train]"
HELD_OUT_SPLITS = ("test", "valid", "eval", "dev")  # how held-out splits' names start (test_prefs, validation)


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be decoded; `reason` says why, in words a dataset author understands."""

    reason: str
    text: str | None = None  # the record as it stood in the file (undecodable bytes as \xNN), for the rejects


@dataclass
class RawBatch:
    source: str
    rows: list[int]
    records: list[dict | Unreadable]


@dataclass(frozen=True)
class Source:
    """One input: a file, a saved dataset directory, or a dataset for `datasets.load_dataset`."""

    spec: str  # as the user named it; what messages say
    kind: str  # jsonl | json | parquet | csv | tsv | arrow | saved | hub
    compression: str | None = None
    path: str | None = None  # where it is read from, when not `spec` (standard input's copy)

    @property
    def display(self) -> str:
        return self.spec

    @property
    def location(self) -> str:
        return self.path or self.spec

    def __fspath__(self) -> str:  # where it is read from: what a check that no output replaces it needs
        return self.location


def input_name(spec: str | Source) -> str:
    """What reports call an input: as the user named it."""
    return spec.spec if isinstance(spec, Source) else spec


def resolve_sources(specs: Sequence[str | Source]) -> list[Source]:
    """Expand globs and classify each input, in the order given (a Source, as the Python API makes for data in
    memory, is taken as it is)."""
    sources: list[Source] = []
    for spec in specs:
        if isinstance(spec, Source):
            sources.append(spec)
        elif glob.has_magic(spec):
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise InputError(f"no files match {spec!r}")
            sources.extend(_classify(m) for m in matches if os.path.isfile(m))
        else:
            sources.append(_classify(spec))
    if not sources:
        raise InputError("no input given")
    return sources


def _classify(spec: str) -> Source:
    if spec == STDIN:
        if sys.stdin is None:  # started without one (a service, pythonw)
            raise InputError("'-' reads standard input, and this process has none")
        return _standard_input(sys.stdin.buffer)
    path = Path(spec)
    if path.is_dir():
        if any((path / marker).exists() for marker in SAVED_DATASET_MARKERS):
            return Source(spec, "saved")
        return Source(spec, "hub")  # a directory of data files, read the way the hub reads a repository
    if path.exists():
        suffixes = [s.lower() for s in path.suffixes]
        compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
        if compression:
            suffixes = suffixes[:-1]
        kind = FORMATS.get(suffixes[-1]) if suffixes else None
        if kind is None:
            known = ", ".join(sorted(FORMATS))
            raise InputError(f"cannot tell the format of {spec!r} from its name (expected one of {known})")
        if compression and kind == "parquet":  # Parquet compresses its own pages
            raise InputError(f"{spec!r} is Parquet compressed as a whole, which is not read: decompress it first")
        if _is_lfs_pointer(path):
            raise InputError(f"{spec!r} is a Git LFS pointer, not the data: fetch the data with `git lfs pull`")
        return Source(spec, kind, compression)
    if HUB_ID.match(spec) and "/" in spec and not Path(spec).suffix.lower() in FORMATS:
        return Source(spec, "hub")
    raise InputError(f"no such file: {spec!r}")


@lru_cache(maxsize=1)
def _standard_input(stream) -> Source:
    """`-`: standard input, copied once to a temporary file (removed at exit) and read from there by every pass
    over the data (`fix` makes two) and by the cache, which hashes it. Its format is told from its first bytes."""
    if stream.isatty():
        raise InputError("'-' reads standard input, which is a terminal here: pipe the data in (`cat data.jsonl |`)")
    directory = tempfile.mkdtemp(prefix="preflint-")
    copy = os.path.join(directory, "stdin")  # a fixed name, so the cache knows the same data again
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    with open(copy, "wb") as handle:
        head = stream.read(1 << 20)  # what tells the format, kept as it is copied
        handle.write(head)
        shutil.copyfileobj(stream, handle, 1 << 20)
    told = ((kind, compression) for magic, kind, compression in STDIN_MAGIC if head.startswith(magic))
    kind, compression = next(told, ("json", None))
    if kind == "json" and compression is None and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"[", b"{"):
        raise InputError(
            "cannot tell the format of standard input: '-' takes JSON, JSON Lines (also gzip, zstd, xz or bzip2 compressed), "
            "Parquet or Arrow" + (" (it is empty)" if not head else "; name a CSV file instead")
        )
    return Source(STDIN_NAME, kind, compression, copy)


def _is_lfs_pointer(path: Path) -> bool:
    """Whether Git LFS left a pointer in place of the file (a clone without `git lfs pull`, as dataset repositories
    on the hub often are): three short lines naming the object, which would read as three broken records."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(LFS_POINTER)) == LFS_POINTER
    except OSError:  # reading it will say what is wrong
        return False


def read_batches(
    sources: Sequence[Source], *, batch_size: int, split: str | None = None, subset: str | None = None,
    held_out: bool = False,
) -> Iterator[RawBatch]:
    """Yield batches of at most `batch_size` records; row numbers run on across sources. A dataset's batches name
    the split read ("repo [train]"). With `held_out` (reference data: a test set), a dataset of several splits is
    read in its held-out ones (test, validation, ...), not its train split, unless `split` names one."""
    next_row = 0
    for source in sources:
        parts: list[tuple[str, object]] = [(source.display, None)]
        if source.kind in DATASET_KINDS:
            with _read_errors(source):
                opened = _open_dataset(source, split=split, subset=subset, held_out=held_out)
            parts = [(f"{source.display} [{picked}]" if picked else source.display, dataset) for dataset, picked in opened]
        for name, dataset in parts:
            records: list[dict | Unreadable] = []
            for record in _records(source, dataset, batch_size):
                records.append(record)
                if len(records) == batch_size:
                    yield RawBatch(name, list(range(next_row, next_row + len(records))), records)
                    next_row += len(records)
                    records = []
            if records:
                yield RawBatch(name, list(range(next_row, next_row + len(records))), records)
                next_row += len(records)


def check_dataset_options(specs: Sequence[str], *, split: str | None, subset: str | None) -> None:
    """A split or subset asked on the command line of inputs that have none is an error, not an option silently
    ignored. (One set in a config file is a default for the datasets among the inputs, if any.)"""
    if split is None and subset is None:
        return
    sources = resolve_sources(specs)
    options = (
        ("--split", split, DATASET_KINDS, "a dataset (a hub id, a saved dataset or a directory of data files) has splits"),
        ("--subset", subset, ("hub",), "a hub dataset or a directory of data files has subsets"),
    )
    for option, value, kinds, which in options:
        if value is not None and not any(source.kind in kinds for source in sources):
            names = ", ".join(repr(source.display) for source in sources[:3]) + (", …" if len(sources) > 3 else "")
            raise InputError(f"{option} {value!r} does nothing for {names}: only {which}; drop {option}")


def reference_batches(specs: Sequence[str], batch_size: int = 1000) -> Iterator[RawBatch]:
    """Batches of reference data (D005's test sets): a spec may name its split (`org/evals[test]`); a dataset of
    several splits is read in its held-out ones unless it does."""
    for spec in specs:
        path, split = reference_spec(spec)
        yield from read_batches(resolve_sources([path]), batch_size=batch_size, split=split, held_out=True)


def reference_spec(spec: str) -> tuple[str, str | None]:
    """A reference input and the split it names: `org/evals[test]` is the test split of `org/evals` (a path that
    exists as written is a path, brackets and all)."""
    named = SPLIT_SUFFIX.match(spec)
    if named is None or os.path.exists(spec):
        return spec, None
    return named["spec"], named["split"]


def _records(source: Source, dataset, batch_size: int) -> Iterator[dict | Unreadable]:
    with _read_errors(source):
        if dataset is not None:
            yield from _dataset_records(source, dataset, batch_size)
        elif source.kind in TEXT_READERS:
            yield from (record for _, record in TEXT_READERS[source.kind](source))
        else:
            yield from BINARY_READERS[source.kind](source, batch_size)


def record_lines(spec: str) -> array | None:
    """The line on which each record of a text file (JSON Lines, JSON, CSV) starts, counted from 1, as its records
    are read; None for anything else (Parquet, a compressed file, a dataset, standard input) or a file that can no
    longer be read. For annotations that point into the file (GitHub, SARIF); the file is read again for them."""
    try:
        source = _classify(spec) if os.path.isfile(spec) else None
        if source is None or source.kind not in TEXT_READERS or source.compression:
            return None
        with _read_errors(source):
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
    if named is None or not os.path.isdir(named["spec"]) or _classify(named["spec"]).kind != "hub":
        return None
    files, directory = [], os.path.abspath(named["spec"])
    for path in _split_files(directory, named["split"]) or ():
        shown = os.path.normpath(os.path.join(named["spec"], os.path.relpath(path, directory)))
        if (lines := record_lines(path)) is not None:
            files.append(FileRecords(shown, len(lines), lines))
        elif (rows := _parquet_rows(path)) is not None:
            files.append(FileRecords(shown, rows, None))
        else:
            return None
    return files or None


def _split_files(directory: str, split: str) -> list[str] | None:
    """The data files `datasets` reads for a split of a data directory, in the order it reads them; None where the
    directory has several subsets (which one was read is not known here) or `datasets` cannot resolve them."""
    import datasets

    try:
        if len(datasets.get_dataset_config_names(directory)) != 1:
            return None
        data_files = datasets.load_dataset_builder(directory).config.data_files or {}
    except Exception:  # datasets raises many unrelated types; without the files, annotations name the directory
        return None
    return next((list(files) for named, files in data_files.items() if str(named) == split), None)


def _parquet_rows(path: str) -> int | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if FORMATS.get(Path(path).suffix.lower()) != "parquet":
        return None
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException):
        return None


def _dataset_records(source: Source, dataset, batch_size: int) -> Iterator[dict]:
    """The rows of a dataset `datasets` streams; its errors on the way (a data file whose columns differ from the
    others', a connection lost) are one-line InputErrors."""
    rows = iter(dataset.iter(batch_size=batch_size))
    while True:
        try:
            columns = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # datasets raises many unrelated types; the user needs the message, not the type
            raise InputError(f"cannot read dataset {source.spec!r}: {one_line(exc)}") from exc
        names = list(columns)
        yield from (dict(zip(names, values)) for values in zip(*columns.values()))


@contextmanager
def _read_errors(source: Source) -> Iterator[None]:
    """Errors of reading `source` as one-line InputErrors."""
    try:
        yield
    except InputError:
        raise
    except UnicodeDecodeError as exc:  # a dataset's Arrow data: its rows cannot be read one by one here
        raise InputError(f"{source.spec!r} holds text that is not valid UTF-8 ({exc.reason})") from exc
    except (OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as exc:  # the last two: damaged compressed data
        reason = (exc.strerror if isinstance(exc, OSError) else None) or one_line(exc)
        raise InputError(f"cannot read {source.spec!r}: {reason}") from exc


def _open_binary(source: Source):
    if source.compression in STDLIB_DECOMPRESSORS:
        return STDLIB_DECOMPRESSORS[source.compression](source.location, "rb")
    if source.compression == "zstd":
        return io.BufferedReader(zstandard.open(source.location, "rb"))  # adds the readline its reader lacks
    return open(source.location, "rb")


def _jsonl_records(source: Source) -> Iterator[tuple[int, dict | Unreadable]]:
    with _open_binary(source) as handle:
        yield from _parse_json_lines(handle)


def _parse_json_lines(lines) -> Iterator[tuple[int, dict | Unreadable]]:
    """Each record with the number of its line; blank lines are no records."""
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark before the first record is harmless
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, Unreadable(
                f"line {number} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                raw.decode("utf-8", "backslashreplace").rstrip("\r\n"),
            )
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, Unreadable(f"line {number} is not valid JSON ({exc.msg} at column {exc.colno})", text.rstrip("\r\n"))
            continue
        except (ValueError, RecursionError) as exc:
            yield number, Unreadable(f"line {number} is JSON beyond what can be read ({_beyond_limits(exc)})", text.rstrip("\r\n"))
            continue
        yield number, _as_record(value, f"line {number}", SURROGATE_ESCAPE.search(text) is not None)


def _beyond_limits(exc: ValueError | RecursionError) -> str:
    """What in valid JSON exceeds the limits of Python's decoder (the only ones it has)."""
    if isinstance(exc, RecursionError):
        return "arrays or objects nested too deeply"
    return "a number of more than 4,300 digits"


def _as_record(value, where: str, escapes_surrogates: bool) -> dict | Unreadable:
    """An object is a record; anything else, or text that is not Unicode (looked for only where the JSON escapes a
    surrogate), is Unreadable."""
    if escapes_surrogates and (half := _lone_surrogate(value)):
        return Unreadable(
            f"{where} holds \\u{ord(half):04x} without the other half of its UTF-16 pair (a character cut in two): "
            "not valid Unicode",
            json.dumps(value),
        )
    if isinstance(value, dict):
        return value
    return Unreadable(f"{where} holds a JSON {_json_type(value)}, not an object", json.dumps(value, ensure_ascii=False))


def _lone_surrogate(value) -> str | None:
    """The first surrogate code point in a decoded JSON value, in keys too. JSON can escape one half of a pair (a
    `\\ud83d` whose `\\ude00` was cut off); Python decodes it to a code point that no UTF-8 text, tokenizer or
    Parquet file can hold. (A whole pair decodes to one character.)"""
    if isinstance(value, str):
        found = SURROGATE.search(value)
        return found.group() if found else None
    if isinstance(value, dict):
        value = [*value, *value.values()]
    if isinstance(value, list):
        return next(filter(None, map(_lone_surrogate, value)), None)
    return None


def _json_type(value) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "null")


def _json_records(source: Source) -> Iterator[tuple[int, dict | Unreadable]]:
    """A JSON array of records, read item by item; an object holding one array of records, walked once to find
    the array and then read item by item; any other object, as one record; or JSON Lines under a .json name (as
    `Dataset.to_json` writes them), read line by line."""
    with _open_binary(source) as handle, _json_limits(source):
        text = JsonText(handle, source.spec)
        first = text.peek()
        if first == "[":
            yield from _array_records(text)
            if text.peek() is not None:
                text.fail("Extra data", text.pos)
            return
        value, member = (None, _array_member(text)) if first == "{" else (text.value()[0], None)
        json_lines = text.peek() is not None  # a second value follows the first
    if json_lines:
        with _open_binary(source) as handle:
            yield from _parse_json_lines(handle)
        return
    if first != "{":
        raise InputError(f"{source.spec!r} holds a JSON {_json_type(value)}, not a list of records")
    with _open_binary(source) as handle, _json_limits(source):
        text = JsonText(handle, source.spec)
        if member is None:  # no one array of rows in it: the object is the one record (as `datasets` reads it)
            record, escapes_surrogates = text.value()
            yield text.value_line, _as_record(record, "the object", escapes_surrogates)
            return
        for index, _key in enumerate(text.keys()):
            if index == member:
                yield from _array_records(text)
                return
            text.value()


@contextmanager
def _json_limits(source: Source) -> Iterator[None]:
    try:
        yield
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source.spec!r} is JSON beyond what can be read ({_beyond_limits(exc)})") from exc


def _array_records(text: JsonText) -> Iterator[tuple[int, dict | Unreadable]]:
    for index, (item, escapes_surrogates) in enumerate(text.items()):
        yield text.value_line, _as_record(item, f"item {index}", escapes_surrogates)


def _array_member(text: JsonText) -> int | None:
    """Walk the object that comes next, an item at a time; the index among its members of the one array it holds
    (of a repeated key, the last counts, as in `json.loads`), or None if it holds none or several."""
    arrays: dict[str, int | None] = {}
    for index, key in enumerate(text.keys()):
        if text.peek() == "[":
            for _ in text.items():
                pass
            arrays[key] = index
        else:
            text.value()
            arrays[key] = None
    found = [index for index in arrays.values() if index is not None]
    return found[0] if len(found) == 1 else None


def _parquet_records(source: Source, batch_size: int) -> Iterator[dict]:
    import pyarrow as pa

    try:
        batches = parquet_batches(source.location, batch_size)
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise InputError(f"{source.spec!r} is not a readable Parquet file ({exc})") from exc
    yield from _arrow_rows(batches)


def parquet_batches(path: str | Path, batch_size: int) -> Iterator:
    """A Parquet file's record batches, holding one row group at a time.

    pyarrow's default `pre_buffer=True` keeps every row group it has read until the file is closed: reading a
    file batch by batch held all of it (240 MiB at 300k pairs, measured); without it memory stays flat.
    """
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_size)


def _arrow_records(source: Source, batch_size: int) -> Iterator[dict]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        reader = ipc.open_stream(source.location)
        batches = iter(reader)
    except pa.ArrowInvalid:
        try:
            reader = ipc.open_file(source.location)
        except pa.ArrowInvalid as exc:
            raise InputError(f"{source.spec!r} is not an Arrow IPC file ({exc})") from exc
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    yield from _arrow_rows(batches)


def _arrow_rows(batches) -> Iterator[dict | Unreadable]:
    """The records of Arrow record batches. Parquet and Arrow writers do not all check that text is UTF-8: a row
    holding bytes that are not becomes Unreadable, and the rest of its batch is read as usual."""
    for batch in batches:
        try:
            rows = batch.to_pylist()
        except UnicodeDecodeError:
            rows = [_arrow_row(batch, i) for i in range(batch.num_rows)]
        yield from rows


def _arrow_row(batch, index: int) -> dict | Unreadable:
    """One row, read column by column: Unreadable if a column's text is not UTF-8 (shown with \\xNN escapes)."""
    import pyarrow as pa

    record, broken = {}, None
    for name, column in zip(batch.schema.names, batch.columns):
        try:
            record[name] = column[index].as_py()
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start]
            broken = broken or f"column {name!r} is not valid UTF-8 (byte 0x{byte:02x} at offset {exc.start})"
            record[name] = None  # nested text (messages): shown as null
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                record[name] = column[index].cast(pa.binary()).as_py().decode("utf-8", "backslashreplace")
    if broken is None:
        return record
    return Unreadable(broken, json.dumps(record, ensure_ascii=False, default=str))


def _csv_records(source: Source) -> Iterator[tuple[int, dict | Unreadable]]:
    """CSV cells are all text: a prompt of "42" stays the string "42" (type inference would turn it into a number).
    The delimiter of a .csv is the one its header line uses most: a comma, or the semicolon of Excel in many
    locales. A row with more or fewer cells than the header is Unreadable (a cell out of place shifts the rest)."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))  # Python's default, 128 KiB, is one long answer
    with _open_binary(source) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        try:
            header = text.readline()
            delimiter = "\t" if source.kind == "tsv" else max(CSV_DELIMITERS, key=header.count)
            rows = csv.reader(itertools.chain([header], text), delimiter=delimiter)
            columns = next(rows, [])
            start = rows.line_num + 1  # a record may span lines (a quoted cell holding newlines): where it starts
            for cells in rows:
                if len(cells) == len(columns):
                    yield start, dict(zip(columns, cells))
                elif cells:  # a blank line is no record
                    yield start, Unreadable(f"line {start} has {len(cells)} cells where the header has {len(columns)}",
                                            delimiter.join(cells))
                start = rows.line_num + 1
        except UnicodeDecodeError as exc:
            raise InputError(f"{source.spec!r} is not valid UTF-8 ({exc.reason})") from exc
        except csv.Error as exc:
            raise InputError(f"{source.spec!r} is not valid CSV ({exc})") from exc


# Readers of files: those of text formats also give the line each record starts on (`record_lines`).
TEXT_READERS = {"jsonl": _jsonl_records, "json": _json_records, "csv": _csv_records, "tsv": _csv_records}
BINARY_READERS = {"parquet": _parquet_records, "arrow": _arrow_records}


def _open_dataset(source: Source, *, split, subset, held_out: bool) -> list[tuple[object, str | None]]:
    """Saved datasets (`save_to_disk`) and anything `datasets.load_dataset` reads (hub ids, data directories): the
    datasets to read, each with the name of its split (None for a saved dataset of no split)."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    local = os.path.isdir(source.spec)
    offline = out_of_reach() if source.kind == "hub" and not local else None
    try:
        if source.kind == "saved":
            loaded = datasets.load_from_disk(source.spec)
        else:  # a directory by its absolute path: datasets names a dataset after it, and "." has no name
            spec = os.path.abspath(source.spec) if local else source.spec
            loaded = datasets.load_dataset(spec, name=subset, split=split, streaming=True)
    except Exception as exc:  # datasets raises many unrelated types; the user needs the message, not the type
        why = f"{offline}; the local cache does not hold it" if offline else one_line(exc)
        raise InputError(f"cannot load dataset {source.spec!r}: {why}") from exc
    if isinstance(loaded, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return [(loaded[picked], picked) for picked in _pick_splits(list(loaded), split, source.spec, held_out)]
    if split is not None and source.kind == "saved" and loaded.split and str(loaded.split) != split:
        raise InputError(f"{source.spec!r} holds only the split {loaded.split!s}, not {split!r}")
    return [(loaded, split or (str(loaded.split) if loaded.split else None))]


def _pick_splits(splits: list[str], wanted: str | None, spec: str, held_out: bool) -> list[str]:
    """The split named, the only one, or by default: train for the data, the held-out splits for a reference."""
    if wanted is not None:
        if wanted not in splits:
            raise InputError(f"{spec!r} has no split {wanted!r} (splits: {', '.join(splits)})")
        return [wanted]
    if len(splits) == 1:
        return splits
    if held_out:
        if held := [name for name in splits if name.lower().startswith(HELD_OUT_SPLITS)]:
            return held
        raise InputError(f"{spec!r} has several splits ({', '.join(splits)}) and none held out (test, validation, "
                         f"...); name the one to compare with: --against '{spec}[SPLIT]'")
    if "train" in splits:
        return ["train"]
    raise InputError(f"{spec!r} has several splits ({', '.join(splits)}); choose one with --split")

