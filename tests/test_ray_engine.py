"""--engine ray gives the local engine's results: the same findings (rows numbered across files as the local engine
numbers them), counts and forecast, and a fix that keeps and drops the same rows. One Ray, on loopback and without
dashboard, serves the module; the scans join it."""

import contextlib
import json
import os
import shutil
from dataclasses import replace

import psutil
import pyarrow.parquet as pq
import pytest

from benchmarks.data import write
from preflint.api import fix as api_fix
from preflint.config import Settings
from preflint.io.shards import MANIFEST
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan

from .conftest import data_file

ray = pytest.importorskip("ray")

TORCHTUNE_MAP = {"prompt": "question", "chosen": "response_j", "rejected": "response_k"}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


def comparable(result) -> dict:
    """A scan's JSON without what differs between any two runs (the time taken) and the engine's own account."""
    report = result.to_dict()
    report["summary"] = {key: value for key, value in report["summary"].items() if key not in ("seconds", "engine")}
    return report


def both_engines(inputs, settings: Settings, tokenizer):
    local = scan(inputs, RunPlan.build(settings, tokenizer))
    on_ray = scan(inputs, RunPlan.build(replace(settings, engine="ray"), tokenizer))
    return local, on_ray


@pytest.mark.parametrize(
    ("name", "mapping"),
    [
        ("hh-rlhf-harmless-test.jsonl", {}),
        ("llamafactory-dpo-en-demo.json", {}),
        ("llamafactory-dpo-zh-demo.json", {}),
        ("torchtune-stack-exchange-paired-tiny.json", TORCHTUNE_MAP),
    ],
)
def test_real_files_scan_the_same_on_ray(name, mapping, llama):
    local, on_ray = both_engines([str(data_file(name))], Settings(map=mapping, batch_size=64), llama)
    assert local.findings, "a file with nothing to find would prove little"
    assert comparable(on_ray) == comparable(local)
    assert on_ray.summary["engine"]["name"] == "ray"
    assert sum(on_ray.summary["engine"]["rows_by_node"].values()) == local.summary["rows"]


def test_rows_are_numbered_across_files_and_the_first_occurrence_is_the_lowest_row(tmp_path, llama):
    """Two files, the second repeating rows of the first and of itself: duplicates point back across files to the
    lowest row, whichever block a Ray worker finished first; many small blocks make the merge tree two levels deep."""
    first = write(3000, tmp_path / "first.jsonl")
    second = tmp_path / "second.parquet"
    lines = first.read_text(encoding="utf-8").splitlines()
    shard = tmp_path / "second.jsonl"
    shard.write_text("\n".join(lines[:400] + lines[100:200]) + "\n", encoding="utf-8")
    import pyarrow.json as pj

    pq.write_table(pj.read_json(shard), second)
    shard.unlink()
    local, on_ray = both_engines([str(first), str(second)], Settings(batch_size=50), llama)
    duplicates = [f for f in local.findings if f.code == "D001"]
    assert any(f.row is not None and f.row >= 3000 for f in duplicates)
    assert comparable(on_ray) == comparable(local)
    assert [source["first_row"] for source in on_ray.summary["sources"]] == [0, 3000]


def test_fix_on_ray_keeps_and_drops_the_same_rows(tmp_path, llama):
    data = shutil.copy(data_file("hh-rlhf-harmless-test.jsonl"), tmp_path / "hh.jsonl")
    local = api_fix(str(data), tokenizer=llama, batch_size=200)
    on_ray = api_fix(str(data), tokenizer=llama, batch_size=200, engine="ray")
    assert on_ray.data.to_list() == local.data.to_list()
    assert on_ray.rejects.to_list() == local.rejects.to_list()
    accounting = on_ray.summary["accounting"]
    assert accounting["rows_read"] == accounting["rows_kept"] + accounting["rows_dropped"] == 2312
    assert accounting["rows_dropped"] > 0


def test_fix_on_ray_into_a_directory_writes_the_local_rows_as_shards_and_a_manifest(tmp_path):
    from click.testing import CliRunner

    from preflint.cli import cli

    data = str(data_file("hh-rlhf-harmless-test.jsonl"))
    local, shards = tmp_path / "clean.parquet", tmp_path / "clean"
    runner = CliRunner()
    common = ["fix", data, "--no-progress", "--batch-size", "500", "--exit-zero"]
    local_run = runner.invoke(cli, [*common, "--out", str(local), "--rejects", str(tmp_path / "rejects.parquet")])
    assert local_run.exit_code == 0, local_run.output
    on_ray = runner.invoke(cli, [*common, "--engine", "ray", "--out", str(shards)])
    assert on_ray.exit_code == 0, on_ray.output
    assert f"wrote {shards}" in on_ray.output
    manifest = json.loads((shards / MANIFEST).read_text())
    rows = pq.read_table([shards / shard["path"] for shard in manifest["shards"]]).to_pylist()
    assert rows == pq.read_table(local).to_pylist()
    rejects = pq.read_table(shards / manifest["rejects"]).to_pylist()
    assert rejects == pq.read_table(tmp_path / "rejects.parquet").to_pylist()
    accounting = manifest["accounting"]
    assert accounting["rows_read"] == accounting["rows_kept"] + accounting["rows_dropped"] == len(rows) + len(rejects)


def test_a_worker_killed_mid_scan_is_replaced_and_the_findings_stay_the_same(tmp_path, llama):
    """The first progress report (some batches folded, most still to come) kills one of the pool's actor
    processes (a descendant of this process: the Ray this module started); Ray restarts it and runs its batches
    again."""
    data = [str(write(6000, tmp_path / "pairs.jsonl"))]
    settings = Settings(batch_size=50)
    killed = []

    def kill_a_worker(rows: int) -> None:
        if killed or not rows:
            return
        for process in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if process.name().startswith("ray::MapWorker") or "MapWorker" in " ".join(process.cmdline()):
                    process.kill()
                    killed.append(process.pid)
                    return

    on_ray = scan(data, RunPlan.build(replace(settings, engine="ray"), llama), progress=kill_a_worker)
    assert killed, "no worker process was found to kill"
    local = scan(data, RunPlan.build(settings, llama))
    assert comparable(on_ray) == comparable(local)
