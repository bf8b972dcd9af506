"""Where a scan's time goes: read + normalize, render, tokenize, and each rule, on N generated pairs.

    python -m benchmarks.stages 100000
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.data import write
from preflint.pipeline.batch import render, to_pairs, tokenize
from preflint.config import Settings
from preflint.io.read import resolve_sources
from preflint.registry import Registry
from preflint.rule import DatasetRule
from preflint.pipeline.scan import raw_batches
from preflint.tokenizer.loading import load_tokenizer


def profile(rows: int) -> dict[str, float]:
    tokenizer = load_tokenizer("llama")
    trainer = Settings().profile()
    rules = [rule() for rule in Registry.load().select(Settings().select)]
    seconds: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        data = write(rows, Path(tmp) / "pairs.jsonl")
        states = {rule.code: rule.start() for rule in rules if isinstance(rule, DatasetRule)}
        batches = raw_batches(resolve_sources([str(data)]), Settings(batch_size=1000), {})
        while True:
            started = time.perf_counter()
            raw, fields = next(batches, (None, None))
            if raw is None:
                break
            batch = to_pairs(raw, fields)
            seconds["read + normalize"] += time.perf_counter() - started
            for stage, run in (("render", render), ("tokenize", tokenize), ("trainer", lambda b, t: setattr(b, "trainer", trainer.encode(b, t)))):
                started = time.perf_counter()
                run(batch, tokenizer)
                seconds[stage] += time.perf_counter() - started
            for rule in rules:
                started = time.perf_counter()
                if isinstance(rule, DatasetRule):
                    states[rule.code] = rule.update(states[rule.code], batch)
                else:
                    list(rule.check(batch))
                seconds[f"rule {rule.code}"] += time.perf_counter() - started
    return dict(seconds)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    timings = profile(count)
    total = sum(timings.values())
    print(f"{count:,} pairs, {total:.1f} s in all")
    for stage, value in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {stage:<20} {value:8.2f} s  {100 * value / total:5.1f} %")
