"""Both cores: batches are prepared by a background thread; results must not depend on it."""

import json

import pytest

from preflint.speed import prefetched

from .conftest import shared
from .test_cli import run


def test_jobs_do_not_change_findings(capsys):
    data = str(shared("llamafactory-dpo-en-demo.json"))
    outputs = []
    for jobs in ("1", "2"):
        code, out, _ = run(capsys, "scan", data, "--format", "json", "--no-cache", "--jobs", jobs, "--batch-size", "64")
        result = json.loads(out)
        result["summary"].pop("seconds")
        outputs.append((code, result))
    assert outputs[0] == outputs[1]
    assert outputs[0][1]["findings"]


def test_prefetched_keeps_order_and_raises_the_producers_error():
    def produce():
        yield from range(5)
        raise ValueError("bad record")

    seen = []
    with pytest.raises(ValueError, match="bad record"):
        seen.extend(prefetched(produce(), depth=2))
    assert seen == [0, 1, 2, 3, 4]


def test_stopping_early_stops_the_producer():
    produced = []

    def produce():
        for i in range(1000):
            produced.append(i)
            yield i

    items = prefetched(produce(), depth=2)
    assert next(items) == 0
    items.close()
    assert len(produced) <= 4


def test_an_unreadable_file_among_inputs_is_a_clear_error_with_jobs(capsys, write_jsonl, tmp_path):
    good = write_jsonl([{"prompt": "p", "chosen": "a", "rejected": "b"}] * 3)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    code, _, err = run(capsys, "scan", str(good), str(broken), "--jobs", "2", "--no-cache")
    assert code == 2 and "broken.parquet" in err
