"""What N candidates per prompt cost a scan, against tokenizing each candidate once.

    python -m benchmarks.candidates 20000

Writes N rows of ranked candidates (the benchmark pairs' prompt with four replies each: chosen, rejected, and a
shuffled copy of each, with ranks) and times, in one process: tokenizing every distinct prompt and candidate once
(the floor: what any tool that reads the candidates must do), then the scan's stages on the same file.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.data import variants
from benchmarks.stages import profile
from preflint.tokenizer.loading import load_tokenizer

CANDIDATES = 4
BATCH = 1000


def ranked_rows(count: int):
    rng = random.Random(1)
    for row in variants(count):
        shuffled = []
        for reply in (row["chosen"], row["rejected"]):
            sentences = reply.split(". ")
            rng.shuffle(sentences)
            shuffled.append(". ".join(sentences) + " (another draft)")
        replies = [row["chosen"], shuffled[0], shuffled[1], row["rejected"]]
        yield {"prompt": row["prompt"], "answers": [{"answer": r, "rank": k + 1} for k, r in enumerate(replies)]}


def write_ranked(count: int, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for row in ranked_rows(count):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def tokenize_once(count: int) -> float:
    """Seconds to tokenize every prompt and candidate once, in batches of the scan's size."""
    tokenizer = load_tokenizer("llama")
    rows = list(ranked_rows(count))
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        texts = [text for row in rows[start : start + BATCH] for text in (row["prompt"], *_replies(row))]
        tokenizer.encode_many(texts)
    return time.perf_counter() - started


def _replies(row: dict) -> list[str]:
    return [answer["answer"] for answer in row["answers"]]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    floor = tokenize_once(count)
    with tempfile.TemporaryDirectory():
        stages = profile(count, write_ranked)
    scan = sum(stages.values())
    print(f"{count:,} rows x {CANDIDATES} candidates")
    print(f"  tokenizing each prompt and candidate once: {floor:8.2f} s")
    print(
        f"  the scan's tokenize step:                  {stages['tokenize']:8.2f} s ({stages['tokenize'] / floor:.2f} x)"
    )
    print(f"  the whole scan, every stage:               {scan:8.2f} s ({scan / floor:.2f} x)")
    for stage, value in sorted(stages.items(), key=lambda item: -item[1])[:8]:
        print(f"    {stage:<20} {value:8.2f} s")
