"""The benchmark: build the data sets, run every comparison, rewrite the generated part of RESULTS.md.

    python -m benchmarks                      # 10k and 100k pairs (about 15 minutes on 2 cores)
    python -m benchmarks --sizes 10000,100000,1000000 --repeat 2   # best of 2 for tokenize-only and scan

Each measurement runs in its own process, timed from the outside (wall seconds, and the peak memory of the
process and its worker processes together, sampled every second: their proportional set sizes summed, so that the
pages forked workers share with the process count once; or wait4's peak resident size for the process alone when
that is higher), so the figures are what a user's command costs, start-up included:
- tokenize only: every prompt, chosen and rejected text of the file through the same fast tokenizer (its Rust
  batch call, 1,000 rows at a time; repeated texts too, as a trainer's preprocessing does); the reference for
  the lint overhead;
- `preflint scan` (all default rules, Llama 3 tokenizer, no cache) and `preflint fix` (safe fixes, Parquet out);
- TRL: `DPOTrainer._prepare_dataset` on the same rows (load the JSON Lines with datasets, apply the chat
  template / extract the prompt, tokenize), TRL's own code with its defaults; only up to 100k pairs (TRL at 1M
  takes hours).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import psutil

from benchmarks.data import write

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- benchmark:begin (python -m benchmarks rewrites this part) -->", "<!-- benchmark:end -->"
TRL_LIMIT = 100_000
# Reading a process's proportional set size costs about 7.5 ms of kernel time (for the 300 MiB of a tokenizer's
# process, 2026-11-26): every 50 ms, it took 15 % of a core per process sampled and slowed the command measured,
# the scan with its two workers most (100k pairs: scan 35.1 s against 30.5 s unsampled, tokenize-only 26.1 against
# 23.8). Memory grows slowly (the duplicate index), so a sample a second finds its peak.
SAMPLE_SECONDS = 1.0
COMPARED = ("tokenize only", "preflint scan")  # the lint-overhead ratio: run --repeat times each

TOKENIZE_ONLY = """
import json, sys
from preflint.tokenizer.loading import load_tokenizer
backend = load_tokenizer("llama").hf.backend_tokenizer  # the Rust tokenizer itself, called as preflint calls it

def tokenize(rows):
    texts = [r["prompt"] for r in rows] + [r["chosen"] for r in rows] + [r["rejected"] for r in rows]
    return [encoding.ids for encoding in backend.encode_batch_fast(texts, add_special_tokens=False)]

with open(sys.argv[1], encoding="utf-8") as handle:
    batch = []
    for line in handle:
        batch.append(json.loads(line))
        if len(batch) == 1000:
            tokenize(batch)
            batch = []
    if batch:
        tokenize(batch)
"""

TRL_PREPROCESS = """
import sys, tempfile
from types import SimpleNamespace
from datasets import load_dataset
from trl import DPOConfig
from trl.trainer.dpo_trainer import DPOTrainer
from preflint.tokenizer.loading import load_tokenizer
tokenizer = load_tokenizer("llama").hf
with tempfile.TemporaryDirectory() as cache:
    dataset = load_dataset("json", data_files=sys.argv[1], split="train", cache_dir=cache)
    args = DPOConfig(output_dir=cache, report_to=[], use_cpu=True, bf16=False)
    trainer = SimpleNamespace(_tokenizer=tokenizer, _is_vision_dataset=False)
    DPOTrainer._prepare_dataset(trainer, dataset, tokenizer, args, "train")
"""


def measure(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one command with its workers (stderr goes to a file: progress bars
    fill pipes)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        tree_peak, sampled = 0, started
        while True:  # wait4, not Popen.poll: it reaps the process with its rusage
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - sampled >= SAMPLE_SECONDS:
                tree_peak, sampled = max(tree_peak, tree_memory(process.pid)), time.perf_counter()
            time.sleep(0.05)  # the end is seen within 50 ms
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):  # 1: findings
            errors.seek(0)
            raise SystemExit(
                f"{' '.join(argv[:4])} ... failed ({process.returncode}):\n"
                + errors.read().decode(errors="replace")[-2000:]
            )
    return seconds, max(tree_peak, usage.ru_maxrss * 1024) / 2**20


def tree_memory(pid: int) -> int:
    """Bytes of memory a process and all its descendants use now (0 once it is gone): the sum of their
    proportional set sizes (each shared page divided among the processes that share it). Summed resident sizes
    would count the pages forked workers share with their parent once per process."""
    try:
        root = psutil.Process(pid)
        return sum(process.memory_full_info().pss for process in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0


def run(sizes: list[int], work: Path, repeat: int = 1) -> list[dict]:
    """Measure every size in turn; RESULTS.md is rewritten after each, so a long run leaves what it measured.

    Tokenize-only and scan, whose ratio is the lint overhead, run `repeat` times, alternating, and keep their
    fastest time (and highest peak): on a shared machine one slow run says more about the neighbours than the code.
    Every run's time is kept too, so the table can also give the ratio round by round: a machine whose speed
    drifts during a long run can pair the fastest of each from different moments.

    Measurements are kept in `work`/measurements.json: with the same `--work`, sizes not measured again keep their
    earlier figures (e.g. `--sizes 1000000` after a run of the smaller sizes)."""
    python = sys.executable
    kept = work / "measurements.json"
    rows: list[dict] = json.loads(kept.read_text()) if kept.exists() else []
    rows = [row for row in rows if row["size"] not in sizes]
    for size in sizes:
        data = work / f"pairs-{size}.jsonl"
        if not data.exists():
            write(size, data)
        print(f"{size:,} pairs ({data.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        out = work / f"fixed-{size}.parquet"
        commands = {
            "tokenize only": [python, "-c", TOKENIZE_ONLY, str(data)],
            "preflint scan": [
                python,
                "-m",
                "preflint",
                "scan",
                str(data),
                "-t",
                "llama",
                "--no-cache",
                "--no-progress",
                "--format",
                "json",
                "-o",
                str(work / f"scan-{size}.json"),
            ],
            "preflint fix": [
                python,
                "-m",
                "preflint",
                "fix",
                str(data),
                "-t",
                "llama",
                "--no-progress",
                "--force",
                "--out",
                str(out),
                "--rejects",
                str(work / f"rejects-{size}.jsonl"),
            ],
        }
        if size <= TRL_LIMIT:
            commands["TRL DPO preprocessing"] = [python, "-c", TRL_PREPROCESS, str(data)]
        order = [name for _ in range(repeat) for name in COMPARED] + [name for name in commands if name not in COMPARED]
        measured: dict[str, dict] = {}
        for name in order:
            seconds, peak = measure(commands[name], ROOT)
            print(f"  {name:<24} {seconds:8.1f} s  {size / seconds:9,.0f} pairs/s  {peak:7,.0f} MiB", flush=True)
            best = measured.setdefault(name, {"size": size, "what": name, "seconds": seconds, "peak": peak, "runs": []})
            best["seconds"], best["peak"] = min(best["seconds"], seconds), max(best["peak"], peak)
            best["runs"].append(round(seconds, 2))
        rows += [measured[name] for name in commands]
        kept.write_text(json.dumps(rows, indent=1))
        rewrite(rows, repeat)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| pairs | command | seconds | pairs/s | × tokenize-only throughput | peak memory |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        reference = next(r for r in rows if r["size"] == row["size"] and r["what"] == "tokenize only")
        ratio = reference["seconds"] / row["seconds"]
        lines.append(
            f"| {row['size']:,} | {row['what']} | {row['seconds']:.1f} | {row['size'] / row['seconds']:,.0f} "
            f"| {ratio:.2f} | {row['peak']:,.0f} MiB |"
        )
    comparisons = []
    for size in sorted({row["size"] for row in rows}):
        by = {row["what"]: row["seconds"] for row in rows if row["size"] == size}
        runs = {row["what"]: row.get("runs", []) for row in rows if row["size"] == size}
        rounds = [
            tokenize / scan for tokenize, scan in zip(runs.get("tokenize only", []), runs.get("preflint scan", []))
        ]
        if len(rounds) > 1:
            comparisons.append(
                f"- {size:,} pairs, round by round (each scan against the tokenize-only run just before "
                f"it): {', '.join(f'{ratio:.2f}' for ratio in rounds)}; median "
                f"{statistics.median(rounds):.2f}."
            )
        if "TRL DPO preprocessing" in by:
            comparisons.append(
                f"- {size:,} pairs: `preflint scan` is {by['TRL DPO preprocessing'] / by['preflint scan']:.1f}× "
                f"as fast as TRL's preprocessing (which checks nothing)."
            )
    return "\n".join(lines) + "\n\n" + "\n".join(comparisons)


def machine(packages=("preflint", "tokenizers", "transformers", "trl", "datasets", "pyarrow")) -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()}; {', '.join(f'{name} {version(name)}' for name in packages)}."
    )


def commit(measured=("preflint", "benchmarks/__main__.py", "benchmarks/data.py")) -> str:
    """The checkout measured, as the results name it: ", commit abc1234", marked when the measured code (paths in
    the repository) differs from that commit; nothing outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", *measured], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f", commit {head.stdout.strip()}" + (" with uncommitted changes" if changed.stdout.strip() else "")


def rewrite(rows: list[dict], repeat: int) -> None:
    rows = sorted(rows, key=lambda row: row["size"])  # stable: each size's commands stay in order
    sizes = sorted({row["size"] for row in rows})
    text = RESULTS.read_text(encoding="utf-8")
    generated = "\n".join(
        [
            BEGIN,
            "## Scan, fix and TRL against tokenizing alone",
            "",
            (
                f"Command: `python -m benchmarks --sizes {','.join(map(str, sizes))}"
                f"{f' --repeat {repeat}' if repeat > 1 else ''}` ({time.strftime('%Y-%m-%d')}{commit()}). "
                "Data: `benchmarks/data.py` (the real rows in tests/data, cycled with variations). Each command is a "
                "fresh process timed from outside; peak memory is that of the process and its worker processes "
                "together (their proportional set sizes summed, sampled every second: pages shared by forked workers "
                "count once), or the process's own peak resident size when that is higher."
            ),
            "",
            machine(),
            "",
            table(rows),
            END,
        ]
    )
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    text = (
        pattern.sub(lambda _: generated, text)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + generated + "\n"
    )
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated pair counts")
    parser.add_argument("--work", type=Path, help="where data sets and outputs go (default: a temporary directory)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of tokenize-only and scan each; the fastest is kept"
    )
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    if options.work:
        options.work.mkdir(parents=True, exist_ok=True)
        run(sizes, options.work, options.repeat)
    else:
        with tempfile.TemporaryDirectory() as work:
            run(sizes, Path(work), options.repeat)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
