"""fix --out DIRECTORY: shards, each whole, and a manifest written last (see preflint.io.shards)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from preflint.errors import OutputError
from preflint.io.shards import MANIFEST


def test_shards_interrupted_mid_write_leave_no_manifest(tmp_path, monkeypatch):
    """A manifest from an earlier run goes first; a failure after some shards leaves shards but no manifest."""
    from preflint.io import shards

    data = tmp_path / "fixed.parquet"
    pq.write_table(pa.table({"prompt": [str(i) for i in range(1000)]}), data)
    out = tmp_path / "out"
    shards.publish(data, None, out, {"rows_read": 1000}, rows_per_shard=300)
    assert (out / MANIFEST).exists() and len(json.loads((out / MANIFEST).read_text())["shards"]) == 4
    written = []

    def fail_on_the_third(batch):
        written.append(batch)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return pa.Table.from_batches([batch])

    monkeypatch.setattr(shards, "_table", fail_on_the_third)
    with pytest.raises(OutputError, match="No space left"):
        shards.publish(data, None, out, {"rows_read": 1000}, rows_per_shard=300)
    assert not (out / MANIFEST).exists()
    assert not [path for path in out.iterdir() if not path.name.startswith("part-")]  # no half-written part
