"""Readers of data files, record by record: JSON Lines, JSON, CSV and TSV (each record with the line it starts on),
Parquet and Arrow; compressed or not.

A record that cannot be read (a line that is not JSON or not UTF-8, text that is not valid Unicode, an array where
an object belongs) is not skipped: it stays as an `Unreadable` so rule S001 reports it and nothing is lost.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import itertools
import json
import lzma
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import zstandard

from preflint.errors import InputError, one_line
from preflint.io.json_text import SURROGATE_ESCAPE, JsonText, TooLarge
from preflint.io.sources import Source

STDLIB_DECOMPRESSORS = {"gzip": gzip.open, "xz": lzma.open, "bzip2": bz2.open}
MAX_RECORD_BYTES = 8 << 20  # a record larger than this is not read (its size is told): max-record-mb
SHOWN_BYTES = 200  # of a record too large to read, what the rejects keep
CSV_DELIMITERS = (",", ";", "\t", "|")  # for a .csv, the one its header uses most (a comma on a tie)
SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be decoded; `reason` says why, in words a dataset author understands."""

    reason: str
    text: str | None = None  # the record as it stood in the file (undecodable bytes as \xNN), for the rejects


@contextmanager
def read_errors(source: Source) -> Iterator[None]:
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
        return io.BufferedReader(_ZstdFrames(source.location))
    return open(source.location, "rb")


class _ZstdFrames(io.RawIOBase):
    """The decompressed bytes of a zstd file, frame after frame. zstandard's own reader ends quietly where a
    truncated file ends; this one raises, as the gzip, xz and bzip2 readers do, so a cut file is an error rather
    than fewer rows."""

    def __init__(self, path: str):
        self.file = open(path, "rb")  # noqa: SIM115 - closed with this reader
        self.decompressor = zstandard.ZstdDecompressor()
        self.frame = self.decompressor.decompressobj()
        self.started, self.pending, self.offset = False, b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.offset == len(self.pending):
            chunk = self.file.read(1 << 20)
            if not chunk:
                if self.started and not self.frame.eof:
                    raise zstandard.ZstdError("the compressed data ends in the middle of a frame (a truncated file)")
                return 0
            parts = []
            while chunk:
                if self.frame.eof:
                    self.frame = self.decompressor.decompressobj()
                self.started = True
                parts.append(self.frame.decompress(chunk))
                chunk = self.frame.unused_data if self.frame.eof else b""
            self.pending, self.offset = b"".join(parts), 0
        size = min(len(buffer), len(self.pending) - self.offset)
        buffer[:size] = memoryview(self.pending)[self.offset : self.offset + size]
        self.offset += size
        return size

    def close(self) -> None:
        self.file.close()
        super().close()


def _jsonl_records(source: Source, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, dict | Unreadable]]:
    with _open_binary(source) as handle:
        yield from _parse_json_lines(handle, limit)


def too_large(size: int, limit: int) -> str:
    """What a record over the size limit is called, in a finding (S001) and the rejects."""
    return f"{size / 2**20:,.1f} MiB, over the {limit / 2**20:g} MiB limit for a record (max-record-mb)"


def _bounded_lines(handle, limit: int) -> Iterator[bytes | tuple[int, bytes]]:
    """The file's lines, as iterating it gives them; a line longer than `limit` is passed over without being held
    whole, and given as its size and its first bytes."""
    while raw := handle.readline(limit + 1):
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        size, start = len(raw), raw[:SHOWN_BYTES]
        while (more := handle.readline(1 << 20)) and not more.endswith(b"\n"):
            size += len(more)
        yield size + len(more), start


def _parse_json_lines(lines, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, dict | Unreadable]]:
    """Each record with the number of its line; blank lines are no records."""
    for number, raw in enumerate(_bounded_lines(lines, limit), start=1):
        if isinstance(raw, tuple):
            size, start = raw
            yield (
                number,
                Unreadable(f"line {number} is {too_large(size, limit)}", start.decode("utf-8", "replace") + "…"),
            )
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark before the first record is harmless
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield (
                number,
                Unreadable(
                    f"line {number} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                    raw.decode("utf-8", "backslashreplace").rstrip("\r\n"),
                ),
            )
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield (
                number,
                Unreadable(
                    f"line {number} is not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})",
                    text.rstrip("\r\n"),
                ),
            )
            continue
        except (ValueError, RecursionError) as exc:
            yield (
                number,
                Unreadable(
                    f"line {number} is JSON beyond what can be read ({_beyond_limits(exc)})", text.rstrip("\r\n")
                ),
            )
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


def _json_records(source: Source, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, dict | Unreadable]]:
    """A JSON array of records, read item by item; an object holding one array of records, walked once to find
    the array and then read item by item; any other object, as one record; or JSON Lines under a .json name (as
    `Dataset.to_json` writes them), read line by line."""
    with _open_binary(source) as handle, _json_limits(source):
        text = JsonText(handle, source.spec, limit)
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
            yield from _parse_json_lines(handle, limit)
        return
    if first != "{":
        raise InputError(f"{source.spec!r} holds a JSON {_json_type(value)}, not a list of records")
    with _open_binary(source) as handle, _json_limits(source):
        text = JsonText(handle, source.spec, limit)
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
        if isinstance(item, TooLarge):
            yield text.value_line, Unreadable(f"item {index} is {too_large(item.size, text.limit)}", item.start + "…")
            continue
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


def _parquet_records(source: Source, batch_size: int, limit: int = MAX_RECORD_BYTES) -> Iterator[dict]:
    import pyarrow as pa

    try:
        batches = parquet_batches(source.location, batch_size)
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise InputError(f"{source.spec!r} is not a readable Parquet file ({one_line(exc)})") from exc
    yield from _arrow_rows(batches, source, limit)


def parquet_batches(path: str | Path, batch_size: int) -> Iterator:
    """A Parquet file's record batches, holding one row group at a time.

    pyarrow's default `pre_buffer=True` keeps every row group it has read until the file is closed: reading a
    file batch by batch held all of it (240 MiB at 300k pairs, measured); without it memory stays flat.
    """
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_size)


def _arrow_records(source: Source, batch_size: int, limit: int = MAX_RECORD_BYTES) -> Iterator[dict]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        reader = ipc.open_stream(source.location)
        batches = iter(reader)
    except pa.ArrowInvalid:
        try:
            reader = ipc.open_file(source.location)
        except pa.ArrowInvalid as exc:
            raise InputError(f"{source.spec!r} is not an Arrow IPC file ({one_line(exc)})") from exc
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    yield from _arrow_rows(batches, source, limit)


def _arrow_rows(batches, source: Source, limit: int) -> Iterator[dict | Unreadable]:
    """The records of Arrow record batches. Parquet and Arrow writers do not all check that text is UTF-8: a row
    holding bytes that are not becomes Unreadable, and the rest of its batch is read as usual. A part of the file
    that cannot be read at all (a damaged row group) is an error that says so."""
    import pyarrow as pa

    batches = iter(batches)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{source.spec!r} is damaged: a part of it cannot be read ({one_line(exc)})") from exc
        if batch is None:
            return
        if batch.nbytes > limit:  # a row over the limit is not made a Python object
            yield from (
                _arrow_row(row, 0) if row.nbytes <= limit else _too_large_row(row, limit) for row in _rows_of(batch)
            )
            continue
        try:
            rows = batch.to_pylist()
        except UnicodeDecodeError:
            rows = [_arrow_row(batch, i) for i in range(batch.num_rows)]
        yield from rows


def _rows_of(batch):
    return (batch.slice(i, 1) for i in range(batch.num_rows))


def _too_large_row(row, limit: int) -> Unreadable:
    return Unreadable(f"the row is {too_large(row.nbytes, limit)}", f"({row.num_columns} columns)")


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


def _csv_records(source: Source, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, dict | Unreadable]]:
    """CSV cells are all text: a prompt of "42" stays the string "42" (type inference would turn it into a number).
    The delimiter of a .csv is the one its header line uses most: a comma, or the semicolon of Excel in many
    locales. A row with more or fewer cells than the header is Unreadable (a cell out of place shifts the rest)."""
    csv.field_size_limit(limit)  # Python's default, 128 KiB, is one long answer
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
                    yield (
                        start,
                        Unreadable(
                            f"line {start} has {len(cells)} cells where the header has {len(columns)}",
                            delimiter.join(cells),
                        ),
                    )
                start = rows.line_num + 1
        except UnicodeDecodeError as exc:
            raise InputError(f"{source.spec!r} is not valid UTF-8 ({exc.reason})") from exc
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise InputError(
                    f"{source.spec!r} has a cell over the {limit / 2**20:g} MiB limit for a record (max-record-mb)"
                ) from exc
            raise InputError(f"{source.spec!r} is not valid CSV ({exc})") from exc


# Readers of files: those of text formats also give the line each record starts on (`record_lines`).
TEXT_READERS = {"jsonl": _jsonl_records, "json": _json_records, "csv": _csv_records, "tsv": _csv_records}
BINARY_READERS = {"parquet": _parquet_records, "arrow": _arrow_records}
