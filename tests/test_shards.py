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


def test_shards_are_never_written_where_the_input_is_and_replace_a_dataset_only_with_force(tmp_path, capsys):
    """publish replaces part-*.parquet: an input directory of such shards must stay as it was."""
    from preflint.cli import main

    data = tmp_path / "d"
    data.mkdir()
    rows = {"prompt": ["a", "b"], "chosen": ["x y", "p q"], "rejected": ["x y", "r s"]}
    pq.write_table(pa.table(rows), data / "part-00000.parquet")
    original = (data / "part-00000.parquet").read_bytes()
    for out in (data, data / "sub"):
        assert main(["fix", str(data), "--out", str(out), "--tokenizer", "llama", "--no-progress"]) == 2
        assert "never writes where it reads" in capsys.readouterr().err
    assert sorted(path.name for path in data.iterdir()) == ["part-00000.parquet"]
    assert (data / "part-00000.parquet").read_bytes() == original
    out = ["fix", str(data), "--out", str(tmp_path / "clean"), "--tokenizer", "llama", "--no-progress"]
    assert main(out) == 1
    assert main(out) == 2 and "pass --force" in capsys.readouterr().err
    assert main([*out, "--force"]) == 1
