"""Dataset-level rules (D001-D005 minus D005's reference, L001-L003) over N generated pairs: time and peak memory.

    python -m benchmarks.dataset_rules 1000000

Runs read + normalize + the rules through preflint's engine, without tokenization (these rules read text and
hashes only), in this process; peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.data import write
from preflint.config import Settings
from preflint.io.sources import resolve_sources
from preflint.pipeline.engine import Engine
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import raw_batches
from preflint.pipeline.steps import to_pairs

RULES = ("D001", "D002", "D003", "D004", "L001", "L002", "L003")


def run(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = write(rows, Path(tmp) / "pairs.jsonl")
        plan = RunPlan.build(Settings(select=RULES, batch_size=1000))
        engine = Engine(plan.rules)
        started = time.perf_counter()
        for raw, fields in raw_batches(resolve_sources([str(data)]), plan.settings):
            engine.feed(to_pairs(raw, fields))
        findings = engine.finish()
        seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "findings": dict(sorted(Counter(f.code for f in findings).items())),
    }


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
