"""The Ray engine against the local one, side by side in one run, and on a cluster of one then two nodes.

    python -m benchmarks.ray_engine 1000000 [--rounds 3]   # prints a Markdown section for RESULTS.md

Each scan is a `preflint scan` command of its own (all default rules, Llama 3 tokenizer, no cache), timed from
the outside, start-up included (for --engine ray without an address: starting Ray itself). The driver's memory is
the peak resident size of the command's own process, sampled every second: with Ray, the workers are Ray's
processes, not the driver's. Then a head node (1 CPU) is started on this machine, scanned through --ray-address,
a worker node (1 CPU) joins, and the same scan runs again: 1 against 2 worker nodes. Every node is stopped
through the process group that started it. With --rounds N the local and Ray scans run N times, alternating
which goes first (this machine's speed drifts by more than the difference over minutes), and the median of
Ray-over-local is the figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.data import write

ROOT = Path(__file__).resolve().parent.parent


def timed_scan(data: Path, *options: str, env: dict) -> dict:
    command = [sys.executable, "-m", "preflint", "scan", str(data), "--format", "json", "--no-cache"]
    command += ["--exit-zero", "--no-progress", *options]
    started, peak = time.perf_counter(), 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, watched.memory_info().rss)
            time.sleep(1.0)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read().decode()[-3000:]}")
        out.seek(0)
        report = json.loads(out.read())
    return {"seconds": seconds, "driver_mib": peak / 2**20, "report": report}


def same_findings(a: dict, b: dict) -> bool:
    def strip(report):
        summary = {key: value for key, value in report["summary"].items() if key not in ("seconds", "engine")}
        return {**report, "summary": summary}

    return strip(a) == strip(b)


def start_node(args: list[str], env: dict, log=subprocess.DEVNULL) -> subprocess.Popen:
    """`ray start --block`: the node's processes live in a process group of their own, ended with it."""
    command = [os.path.join(os.path.dirname(sys.executable), "ray"), "start", "--block", *args]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(node: subprocess.Popen) -> None:
    """SIGTERM to the node's process group, then SIGKILL to whatever of it is left (a head drains for up to 30 s)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.wait(10)


def side_by_side(data: Path, rounds: int, env: dict) -> tuple[dict, dict, list[float]]:
    """The local and the Ray scan, `rounds` times, the order alternating: the first round's runs and each round's
    Ray over local."""
    options = {"local": (), "ray": ("--engine", "ray")}
    first, ratios = {}, []
    for number in range(rounds):
        order = ("local", "ray") if number % 2 == 0 else ("ray", "local")
        runs = {engine: timed_scan(data, *options[engine], env=env) for engine in order}
        ratios.append(runs["ray"]["seconds"] / runs["local"]["seconds"] - 1)
        first = first or runs
        print(
            f"round {number + 1} ({order[0]} first): local {runs['local']['seconds']:.1f} s, ray "
            f"{runs['ray']['seconds']:.1f} s, {ratios[-1]:+.1%}, same findings: "
            f"{'yes' if same_findings(runs['ray']['report'], runs['local']['report']) else 'NO'}",
            file=sys.stderr,
        )
    return first["local"], first["ray"], ratios


def main(pairs: int, rounds: int) -> None:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as scratch:
        data = write(pairs, Path(scratch) / "pairs.jsonl")
        local, on_ray, ratios = side_by_side(data, rounds, env)
        cluster_env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
        nodes = [start_node(["--head", f"--port={port}", "--include-dashboard=false", *common], cluster_env)]
        try:
            time.sleep(10)
            address = f"127.0.0.1:{port}"
            one = timed_scan(data, "--engine", "ray", "--ray-address", address, env=cluster_env)
            nodes.append(start_node([f"--address={address}", *common], cluster_env))
            time.sleep(10)
            two = timed_scan(data, "--engine", "ray", "--ray-address", address, env=cluster_env)
        finally:
            for node in reversed(nodes):
                stop(node)
    runs = {"local engine": local, "ray, started by preflint": on_ray, "ray, 1 node": one, "ray, 2 nodes": two}
    print("| run | seconds | pairs/s | driver peak RSS | nodes | fold busy | same findings as local |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, run in runs.items():
        engine = run["report"]["summary"].get("engine", {})
        print(
            f"| {name} | {run['seconds']:.1f} | {pairs / run['seconds']:,.0f} | {run['driver_mib']:,.0f} MiB | "
            f"{engine.get('nodes', '-')} | {engine.get('fold_seconds', '-')} s | "
            f"{'yes' if same_findings(run['report'], local['report']) else 'NO'} |"
        )
    each = ", ".join(f"{ratio:+.1%}" for ratio in ratios)
    print(f"\nRay over local on one machine: median {statistics.median(ratios):+.1%} (rounds: {each})")
    print(f"2 nodes over 1: {one['seconds'] / two['seconds']:.2f}x")
    print(json.dumps({name: run["report"]["summary"].get("engine") for name, run in runs.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", type=int, nargs="?", default=200_000)
    parser.add_argument("--rounds", type=int, default=1, help="local against Ray side by side this many times")
    arguments = parser.parse_args()
    main(arguments.pairs, arguments.rounds)
