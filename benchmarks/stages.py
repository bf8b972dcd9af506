"""Where a scan's time goes: read, each step of the pipeline (normalize, render, tokenize, simulate the trainer)
and each rule, on N generated pairs, in one process.

    python -m benchmarks.stages 100000
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.data import write
from preflint.config import Settings
from preflint.io.sources import resolve_sources
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import raw_batches
from preflint.pipeline.steps import PREPARE, Pipeline, Work
from preflint.rule import DatasetRule


def profile(rows: int, make=write) -> dict[str, float]:
    """Seconds per stage: reading, each of the pipeline's preparing steps, and each rule (the `examine` step, rule
    by rule), on the file `make(rows, path)` writes (pairs, by default)."""
    plan = RunPlan.build(Settings(batch_size=1000))
    pipeline = Pipeline(plan)
    pipeline.profile = plan.profile  # the trainer is simulated, as for the rules that need it
    states = {rule.code: rule.start() for rule in plan.rules if isinstance(rule, DatasetRule)}
    seconds: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        data = make(rows, Path(tmp) / "data.jsonl")
        batches = raw_batches(resolve_sources([str(data)]), plan.settings)
        while True:
            started = time.perf_counter()
            raw, fields = next(batches, (None, None))
            seconds["read"] += time.perf_counter() - started
            if raw is None:
                break
            work = Work(raw, fields)
            for step in PREPARE:
                started = time.perf_counter()
                pipeline.run(work, (step,))
                seconds[step.name] += time.perf_counter() - started
            for rule in plan.rules:
                started = time.perf_counter()
                if isinstance(rule, DatasetRule):
                    states[rule.code] = rule.update(states[rule.code], work.batch)
                else:
                    list(rule.check(work.batch))
                seconds[f"rule {rule.code}"] += time.perf_counter() - started
    return dict(seconds)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    timings = profile(count)
    total = sum(timings.values())
    print(f"{count:,} pairs, {total:.1f} s in all")
    for stage, value in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {stage:<20} {value:8.2f} s  {100 * value / total:5.1f} %")
