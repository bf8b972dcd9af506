"""Writing outputs: atomically (a crash leaves no partial file behind), never over an input, as Parquet or JSON Lines.

On Linux a file is written unnamed (O_TMPFILE) in the destination's directory and linked into place when it is
complete, so even `kill -9` mid-write leaves nothing; elsewhere a hidden temporary file is renamed into place.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import glob
import io
import json
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from preflint.errors import OutputError, one_line
from preflint.io.formats import parquet_batches

DATA_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Rows per batch (and Parquet row group) when the parts become the output: pyarrow's default, 65,536 rows of
# preference text, held ~300 MB at once (twice, while cast to the unified schema).
PART_BATCH_ROWS = 4096
STDOUT = Path("-")  # an output path that means standard output


def data_format(path: Path, option: str) -> str:
    fmt = DATA_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{option} {path}: write .parquet or .jsonl (the format follows the file name)")
    return fmt


def check_targets(targets: Sequence[tuple[Path | None, str]], reads: Sequence[str], *, force: bool) -> None:
    """Before anything is written: refuse to write over a file this run reads (ever: the data, a reference set, a
    baseline), over an existing file (unless forced), or two outputs to one file (the later would replace the
    earlier). `targets` are (path or None, the option that names it); `reads` are specs as given, globs too."""
    read = [spec for pattern in reads for spec in (glob.glob(pattern) if glob.has_magic(pattern) else [pattern])]
    written: dict[Path, str] = {}
    for path, option in targets:
        if path is None:
            continue
        if not path.parent.is_dir():
            raise OutputError(f"{option} {path}: directory {str(path.parent)!r} does not exist")
        resolved = path.resolve()
        for spec in read:
            if os.path.exists(spec) and (
                resolved == Path(spec).resolve() or (path.exists() and os.path.samefile(path, spec))
            ):
                raise OutputError(f"{option} {path} is an input; preflint never writes over its input")
        if path.exists() and not force:
            raise OutputError(f"{option} {path} exists; pass --force to replace it")
        if resolved in written:
            raise OutputError(f"{option} {path} is also {written[resolved]}: give each output its own file")
        written[resolved] = option


@contextmanager
def atomic_write(path: Path, *, text: bool = False) -> Iterator[IO]:
    """A file that appears at `path`, complete, when the block ends without error; otherwise nothing appears.

    A device or a pipe already at `path` (/dev/null, /dev/stdout, a named pipe) is written to as it is: renaming a
    file over it would replace the device itself.
    """
    if path.exists() and not path.is_file() and not path.is_dir():
        with open(path, "w", encoding="utf-8", newline="") if text else open(path, "wb") as stream:
            yield stream
        return
    directory = path.parent
    temp_name = None
    try:
        if not os.path.isdir("/proc/self/fd"):
            raise OSError("no /proc to link an unnamed file")
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o666)
    except (AttributeError, OSError):  # not Linux, or a filesystem without O_TMPFILE
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    raw = os.fdopen(fd, "wb")
    handle = io.TextIOWrapper(raw, encoding="utf-8", newline="") if text else raw
    try:
        yield handle
        handle.flush()
        os.fsync(raw.fileno())
        if temp_name is None:
            _link_into_place(raw.fileno(), path)
        else:
            os.replace(temp_name, path)
    finally:
        handle.close()
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)


def _link_into_place(fd: int, path: Path) -> None:
    """Give the unnamed file a hidden name, then rename it over `path`: one atomic step, replacing or not."""
    hidden = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:  # a directory fd makes CPython call linkat(AT_SYMLINK_FOLLOW), which can link /proc's fd link
        os.link(f"/proc/self/fd/{fd}", hidden.name, dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)
    try:
        os.replace(hidden, path)
    except BaseException:
        hidden.unlink(missing_ok=True)
        raise


def copy_into_place(source: Path, path: Path) -> None:
    with open(source, "rb") as src, atomic_write(path) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)


def to_json(record, indent: int | None = None) -> str:
    return json.dumps(record, ensure_ascii=False, indent=indent, default=_json_value)


def _json_value(value):
    """Values JSON has no type for, as Parquet or a hub dataset may hold them."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


class JsonlSink:
    """Records as JSON Lines, in order, into an open binary file."""

    def __init__(self, handle: IO[bytes]):
        self.handle = handle

    def write(self, records: list[dict]) -> None:
        if records:
            self.handle.write(("\n".join(map(to_json, records)) + "\n").encode("utf-8"))

    def keep_columns_of(self, records: list[dict]) -> None:
        """JSON Lines have no columns to keep: an empty file is an empty dataset."""

    def finish(self) -> None:
        self.handle.flush()


class ParquetSink:
    """Records as one Parquet file with one schema for all rows.

    Each batch is converted with its own inferred schema (or the input's, when it fits) and written to a part in
    `scratch`; a new part starts when the schema changes. `finish` unifies the parts' schemas (a column that is
    null in early rows and text later becomes text; int and float become float; message structs gain the keys
    some messages have) and streams every part into the file, in order.
    """

    def __init__(self, handle: IO[bytes], scratch: Path, schema_hint=None):
        self.handle, self.scratch, self.schema_hint = handle, scratch, schema_hint
        self.parts: list[tuple[Path, object]] = []
        self.writer = None
        self.dropped_schema = None  # the columns of dropped records, for a file that gets no record at all

    def write(self, records: list[dict]) -> None:
        import pyarrow.parquet as pq

        if not records:
            return
        table = self._table(records)
        if self.writer is None or not table.schema.equals(self.writer.schema):
            self._close_part()
            part = self.scratch / f"part-{uuid.uuid4().hex}.parquet"
            self.writer = pq.ParquetWriter(part, table.schema)
            self.parts.append((part, table.schema))
        self.writer.write_table(table)

    def keep_columns_of(self, records: list[dict]) -> None:
        """Records that are not written (dropped): if no record is, the file still has their columns."""
        if records and self.dropped_schema is None and self.schema_hint is None:
            with contextlib.suppress(OutputError):  # columns of mixed types: nothing to keep but the rows' own
                self.dropped_schema = self._table(records).schema

    def _table(self, records: list[dict]):
        """Every key of every record becomes a column (`from_pylist` alone would keep only the first record's)."""
        import pyarrow as pa

        names = list(dict.fromkeys(key for record in records for key in record))
        hint = self.schema_hint
        try:
            if hint is not None and set(names) <= set(hint.names):
                try:
                    return pa.Table.from_pylist(records, schema=hint)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    pass  # an edit changed a value's type: infer it
            return pa.Table.from_pydict({name: [record.get(name) for record in records] for name in names})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise OutputError(f"cannot write these rows as Parquet: {one_line(exc)}; write JSON Lines instead") from exc

    def _close_part(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._close_part()
        schemas = [schema for _, schema in self.parts] or [self.schema_hint or self.dropped_schema or pa.schema([])]
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise OutputError(
                f"the rows do not share one Parquet schema ({one_line(exc)}); write JSON Lines instead"
            ) from exc
        schema = pa.schema(
            [  # lists that were empty in every row (no fixes applied) hold text, not nulls
                field.with_type(pa.list_(pa.string())) if field.type == pa.list_(pa.null()) else field
                for field in schema
            ]
        )
        with pq.ParquetWriter(self.handle, schema) as writer:
            for part, _ in self.parts:
                for batch in parquet_batches(part, PART_BATCH_ROWS):
                    writer.write_table(_conform(batch, schema))
                part.unlink()


def _conform(batch, schema):
    """A batch in the unified schema: columns cast, in its order, absent ones null."""
    import pyarrow as pa

    names = batch.schema.names
    columns = [
        batch.column(names.index(field.name)).cast(field.type)
        if field.name in names
        else pa.nulls(len(batch), field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
