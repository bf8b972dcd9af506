"""Writing outputs: atomically (a crash leaves no partial file behind), never over an input, as Parquet or JSON Lines.

On Linux a file is written unnamed (O_TMPFILE) in the destination's directory and linked into place when it is
complete, so even `kill -9` mid-write leaves nothing; elsewhere a hidden temporary file is renamed into place.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
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
from preflint.io.sources import expand

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
    read = [spec for pattern in reads for spec in expand(pattern)]
    written: dict[Path, str] = {}
    for path, option in targets:
        if path is None:
            continue
        if not path.parent.is_dir():
            raise OutputError(f"{option} {path}: directory {str(path.parent)!r} does not exist")
        resolved = path.resolve()
        for spec in read:
            if os.path.isdir(spec) and resolved.is_relative_to(Path(spec).resolve()):
                raise OutputError(
                    f"{option} {path} is inside the input directory {spec!r}, whose files are read; preflint never "
                    "writes where it reads: write it elsewhere, then move it"
                )
            if os.path.exists(spec) and (
                resolved == Path(spec).resolve() or (path.exists() and os.path.samefile(path, spec))
            ):
                raise OutputError(f"{option} {path} is an input; preflint never writes over its input")
        if path.exists() and not force:
            raise OutputError(f"{option} {path} exists; pass --force to replace it")
        if resolved in written:
            raise OutputError(f"{option} {path} is also {written[resolved]}: give each output its own file")
        written[resolved] = option


class _Pending:
    """One output being written: unnamed in its destination's directory (opening it there is the check that the
    directory can be written, made before any work), named only when `place` links it into place."""

    def __init__(self, path: Path, text: bool):
        self.path, self.hidden, self.temp_name = path, None, None
        self.direct = path.exists() and not path.is_file() and not path.is_dir()  # a device or a pipe: as it is
        if self.direct:
            self.raw = open(path, "wb")  # noqa: SIM115 - closed by place or discard
        else:
            try:
                if not os.path.isdir("/proc/self/fd"):
                    raise OSError("no /proc to link an unnamed file")
                fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o666)
            except (AttributeError, OSError) as exc:  # not Linux, a filesystem without O_TMPFILE, or no permission
                if isinstance(exc, PermissionError):
                    raise
                fd, self.temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            self.raw = os.fdopen(fd, "wb")
        self.handle = io.TextIOWrapper(self.raw, encoding="utf-8", newline="") if text else self.raw

    def stage(self) -> None:
        """Complete on disk, under a hidden name beside its destination."""
        self.handle.flush()
        if self.direct:
            return
        os.fsync(self.raw.fileno())
        if self.temp_name is not None:
            self.hidden = Path(self.temp_name)
            return
        self.hidden = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp"
        directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:  # a directory fd makes CPython call linkat(AT_SYMLINK_FOLLOW), which can link /proc's fd link
            os.link(f"/proc/self/fd/{self.raw.fileno()}", self.hidden.name, dst_dir_fd=directory, follow_symlinks=True)
        finally:
            os.close(directory)

    def place(self, replace: bool) -> None:
        """The staged file at its path: renamed over what is there, or (not `replace`) linked where nothing is."""
        if self.direct:
            return
        if replace:
            os.replace(self.hidden, self.path)
        else:
            os.link(self.hidden, self.path)  # FileExistsError if another run put a file there meanwhile
            self.hidden.unlink()
        self.hidden = None

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        for leftover in (self.hidden, self.temp_name):
            if leftover is not None:
                Path(leftover).unlink(missing_ok=True)


class OutputSet:
    """The files one run writes, which appear together, complete, or not at all.

    Each is opened unnamed in its destination's directory when the run starts (so a directory that cannot be
    written is an error before any work), and all are linked into place at the end, once every one is complete.
    Without `replace`, a file that appeared at a destination while the run worked (another run's output) is not
    replaced: the run fails, and none of its outputs appear. A device or pipe (/dev/null, /dev/stdout) is written
    to as it is.
    """

    def __init__(self, replace: bool = False):
        self.replace, self.pending = replace, {}

    def open(self, path: Path, *, text: bool = False) -> IO:
        self.pending[path] = _Pending(path, text)
        return self.pending[path].handle

    def commit(self) -> None:
        for pending in self.pending.values():
            pending.stage()
        placed = []
        try:
            for path, pending in self.pending.items():
                try:
                    pending.place(self.replace)
                except FileExistsError:
                    raise OutputError(
                        f"{path} appeared while preflint ran (another run's output?): nothing was "
                        "written; pass --force to replace it"
                    ) from None
                placed.append(path)
        except BaseException:
            if not self.replace:  # what this run placed did not exist before it: take it back
                for path in placed:
                    path.unlink(missing_ok=True)
            raise
        finally:
            self.discard()

    def discard(self) -> None:
        for pending in self.pending.values():
            pending.discard()
        self.pending = {}

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


@contextmanager
def atomic_write(path: Path, *, text: bool = False, replace: bool = True) -> Iterator[IO]:
    """A file that appears at `path`, complete, when the block ends without error; otherwise nothing appears."""
    with OutputSet(replace) as outputs:
        yield outputs.open(path, text=text)


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
