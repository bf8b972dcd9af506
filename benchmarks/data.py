"""Build benchmark datasets of any size from the real rows in tests/data, with variations so rows are not all copies.

python -m benchmarks.data 100000 /tmp/pairs-100k.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def real_rows() -> list[dict]:
    """HH-RLHF dialogues as explicit pairs, plus the LLaMA-Factory conversations, as {prompt, chosen, rejected}."""
    rows = []
    for line in (DATA / "hh-rlhf-harmless-test.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        cut = record["chosen"].rfind("\n\nAssistant:") + len("\n\nAssistant:")
        rows.append(
            {"prompt": record["chosen"][:cut], "chosen": record["chosen"][cut:], "rejected": record["rejected"][cut:]}
        )
    for name in ("llamafactory-dpo-en-demo.json", "llamafactory-dpo-zh-demo.json"):
        for record in json.loads((DATA / name).read_text(encoding="utf-8")):
            prompt = "\n".join(turn["value"] for turn in record["conversations"])
            rows.append(
                {"prompt": prompt, "chosen": record["chosen"]["value"], "rejected": record["rejected"]["value"]}
            )
    return rows


def variants(count: int, seed: int = 0):
    """`count` rows: real rows cycled, each copy after the first given a numbered prompt and a shuffled sentence.

    Every 50th row repeats the row before it (a duplicate) and every 97th swaps its sides (a contradiction with the
    row it copies), so the dataset-level indices have real work to do.
    """
    rows, rng = real_rows(), random.Random(seed)
    previous = None
    for index in range(count):
        row = dict(rows[index % len(rows)])
        copy = index // len(rows)
        if copy:
            row["prompt"] = f"{row['prompt']} (variant {copy})"
            sentences = row["rejected"].split(". ")
            rng.shuffle(sentences)
            row["rejected"] = ". ".join(sentences)
        if previous is not None and index % 50 == 0:
            row = dict(previous)
        elif previous is not None and index % 97 == 0:
            row = {**previous, "chosen": previous["rejected"], "rejected": previous["chosen"]}
        previous = row
        yield row


def write(count: int, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for row in variants(count):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    write(int(sys.argv[1]), Path(sys.argv[2]))
