"""A real two-node Ray cluster on this machine: a head and a worker node started as separate processes (`ray start`,
on loopback, one CPU each, without dashboard or usage statistics), a scan run through --ray-address from its own
process, and the work found on both nodes. Each node's processes are stopped through the process group the test
started, never with `ray stop` (which would stop every Ray on the machine)."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time

import pytest

from benchmarks.data import write
from benchmarks.ray_engine import start_node, stop

from .conftest import ROOT

ray = pytest.importorskip("ray")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The head's address and the ids of the two nodes, each node known by a resource of its own."""
    logs = tmp_path_factory.mktemp("ray-cluster")
    env = {  # a token of the test's own: only its processes can join (Ray's servers listen beyond loopback)
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(16),
        "PYTHONPATH": str(ROOT),
    }
    port = free_port()
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    nodes = []
    try:
        with open(logs / "head.log", "w") as log:
            nodes.append(
                start_node(
                    ["--head", f"--port={port}", "--include-dashboard=false", *common, '--resources={"head":1}'],
                    env,
                    log,
                )
            )
        address = f"127.0.0.1:{port}"
        with open(logs / "worker.log", "w") as log:
            nodes.append(start_node([f"--address={address}", *common, '--resources={"worker":1}'], env, log))
        ids = _wait_for_nodes(address, env)
        yield address, ids, env
    finally:
        for node in reversed(nodes):
            stop(node)


def _wait_for_nodes(address: str, env: dict) -> dict[str, str]:
    """Each node's own resource -> its node id, once both nodes have joined (asked from a process of its own, so
    this one never connects)."""
    probe = (
        f"import json, ray; ray.init(address={address!r}, log_to_driver=False); "
        "print(json.dumps({k: n['NodeID'] for n in ray.nodes() if n['Alive'] for k in ('head', 'worker') "
        "if k in n['Resources']}))"
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            ids = json.loads(done.stdout.strip().splitlines()[-1])
            if len(ids) == 2:
                return ids
        time.sleep(2)
    raise AssertionError("the two Ray nodes did not join")


def test_a_scan_through_ray_address_runs_on_both_nodes_with_the_local_findings(cluster, tmp_path):
    """Enough batches (120) that the second node's actor, ready a few seconds after the first, gets some."""
    address, ids, env = cluster
    data = str(write(6000, tmp_path / "pairs.jsonl"))
    options = ["--format", "json", "--no-cache", "--batch-size", "50", "--exit-zero", "--no-progress"]
    scan = [sys.executable, "-m", "preflint", "scan", data, *options]
    on_ray = subprocess.run(
        [*scan, "--engine", "ray", "--ray-address", address], env=env, capture_output=True, text=True, timeout=300
    )
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    local = subprocess.run(scan, env=env, capture_output=True, text=True, timeout=300)
    on_ray, local = json.loads(on_ray.stdout), json.loads(local.stdout)
    engine = on_ray["summary"].pop("engine")
    assert set(engine["rows_by_node"]) == set(ids.values())  # both nodes worked
    assert sum(engine["rows_by_node"].values()) == 6000
    for report in (on_ray, local):
        report["summary"].pop("seconds")
    assert on_ray == local
