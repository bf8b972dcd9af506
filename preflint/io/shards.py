"""`fix --out DIRECTORY`: the cleaned data as Parquet shards, the rejects beside them, and a manifest written last.

Each shard appears whole (written under a hidden name, then renamed); the manifest, which lists the shards with
their rows and the run's accounting (rows read = kept + dropped), is written only once every part is in place, and
an earlier manifest is removed before the first part changes. A reader that starts from the manifest never sees a
half-written dataset; a fix interrupted mid-write leaves no manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from preflint.errors import OutputError
from preflint.io.formats import parquet_batches
from preflint.io.outputs import atomic_write
from preflint.io.sources import expand
from preflint.version import __version__

MANIFEST = "manifest.json"
REJECTS = "rejects.parquet"
SHARD_ROWS = 100_000
SHARD = "part-{:05d}.parquet"


def is_shard_directory(path: Path) -> bool:
    """`--out` names a directory (an existing one, or a path without a suffix): write shards there. A file name with
    another suffix (`clean.csv`) is refused as an output format, not made a directory."""
    return path.is_dir() or not path.suffix


def check_directory(directory: Path, reads: Sequence[str], *, force: bool) -> None:
    """Before any work: `publish` replaces the directory's shards (and removes stale ones), so it may hold no file
    this run reads and lie inside no input directory; a dataset already there is replaced only with --force."""
    target = directory.resolve()
    for spec in (spec for pattern in reads for spec in expand(pattern)):
        read = Path(spec).resolve()
        if os.path.exists(spec) and (read.is_relative_to(target) or target.is_relative_to(read)):
            raise OutputError(
                f"--out {directory} holds or lies in the input {spec!r}; preflint never writes where it reads: "
                "write the shards elsewhere"
            )
    if (directory / MANIFEST).exists() and not force:
        raise OutputError(f"--out {directory} holds a dataset ({MANIFEST}); pass --force to replace it")


def publish(data: Path, rejects: Path | None, directory: Path, accounting: dict, rows_per_shard: int = SHARD_ROWS):
    """Split the cleaned Parquet file `data` into shards in `directory`, copy the rejects there, then the manifest."""
    import pyarrow.parquet as pq

    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MANIFEST).unlink(missing_ok=True)  # from here on the directory is being rewritten
        shards = []
        for index, batch in enumerate(parquet_batches(data, rows_per_shard)):
            name = SHARD.format(index)
            _place(directory / name, lambda handle, batch=batch: pq.write_table(_table(batch), handle))
            shards.append({"path": name, "rows": batch.num_rows})
        if not shards:  # no row kept: one empty shard keeps the columns
            _place(directory / SHARD.format(0), lambda handle: pq.write_table(pq.read_table(data), handle))
            shards.append({"path": SHARD.format(0), "rows": 0})
        kept = {shard["path"] for shard in shards}
        for stale in directory.glob("part-*.parquet"):  # an earlier run's extra shards
            if stale.name not in kept:
                stale.unlink()
        manifest = {"version": __version__, "format": "parquet", "shards": shards, "accounting": accounting}
        if rejects is not None:
            _place(directory / REJECTS, lambda handle: handle.write(rejects.read_bytes()))
            manifest["rejects"] = REJECTS
        with atomic_write(directory / MANIFEST, text=True) as handle:
            json.dump(manifest, handle, indent=2)
            handle.write("\n")
    except OSError as exc:
        raise OutputError(f"--out {directory}: cannot write the shards there ({exc.strerror or exc})") from exc


def _table(batch):
    import pyarrow as pa

    return pa.Table.from_batches([batch])


def _place(path: Path, write) -> None:
    with atomic_write(path) as handle:
        write(handle)
