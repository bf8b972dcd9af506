"""Every core: batches run in worker processes; results must not depend on it."""

import json
import os
import subprocess
import sys

import pytest

from preflint.pipeline import scan as scanning
from preflint.pipeline import workers as speed
from preflint.pipeline.workers import in_workers, prefetched

from .conftest import data_file
from .test_cli import run


def test_jobs_do_not_change_findings(capsys, monkeypatch):
    monkeypatch.setattr(speed, "POOL_MIN_PAIRS", 100)  # 300 pairs in batches of 64: workers from the 2nd batch
    data = str(data_file("llamafactory-dpo-en-demo.json"))
    outputs = []
    for jobs in ("1", "2"):
        code, out, _ = run(capsys, "scan", data, "--format", "json", "--no-cache", "--jobs", jobs, "--batch-size", "64")
        result = json.loads(out)
        result["summary"].pop("seconds")
        outputs.append((code, result))
    assert outputs[0] == outputs[1]
    assert outputs[0][1]["findings"]


def test_workers_load_the_tokenizer_and_this_process_holds_none(monkeypatch):
    """In workers, the scan's own process never loads the tokenizer: it would be a third copy in memory."""
    from preflint import api

    def not_here(spec, **_):
        raise AssertionError(f"tokenizer {spec!r} loaded in the scan's own process")

    monkeypatch.setattr(speed, "POOL_MIN_PAIRS", 100)
    monkeypatch.setattr(scanning, "load_tokenizer", not_here)
    report = api.scan(str(data_file("llamafactory-dpo-en-demo.json")), batch_size=50, jobs=2, cache=False)
    assert report.summary["rows"] == 300
    assert report.result.tokenizer["vocab_size"] == 128256  # described by the workers that loaded it


def test_an_unknown_tokenizer_is_a_clear_error_from_the_workers(capsys, monkeypatch):
    monkeypatch.setattr(speed, "POOL_MIN_PAIRS", 100)
    data = str(data_file("llamafactory-dpo-en-demo.json"))
    code, _, err = run(capsys, "scan", data, "--no-cache", "--jobs", "2", "--batch-size", "50", "-t", "no-such-model")
    assert code == 2
    assert "unknown tokenizer 'no-such-model'" in err
    assert "Traceback" not in err


class Tagger:
    """A worker for `in_workers`: built once per process, it tags each item with the process that handled it."""

    def __init__(self, fail_on: int):
        self.fail_on = fail_on

    def prepare(self, item: int) -> int:
        if item == self.fail_on:
            raise ValueError(f"bad item {item}")
        return item

    def finish(self, item: int) -> tuple[int, int]:
        return item, os.getpid()


def test_workers_keep_order_and_run_outside_this_process():
    results = list(in_workers(((i,) for i in range(12)), 2, 4, Tagger, -1))
    assert [item for item, _ in results] == list(range(12))
    assert os.getpid() not in {pid for _, pid in results}


def test_a_workers_error_is_raised_in_order():
    seen = []
    with pytest.raises(ValueError, match="bad item 6"):
        seen.extend(item for item, _ in in_workers(((i,) for i in range(12)), 2, 4, Tagger, 6))
    assert seen == list(range(6))


def test_small_inputs_and_one_job_stay_in_this_process():
    small = list(in_workers(((i,) for i in range(3)), 2, 4, Tagger, -1))
    with pytest.raises(ValueError, match="bad item 2"):  # prepared in a background thread, raised here
        list(in_workers(((i,) for i in range(3)), 2, 4, Tagger, 2))
    one_job = list(in_workers(((i,) for i in range(12)), 1, 4, Tagger, -1))
    assert {pid for _, pid in small + one_job} == {os.getpid()}


def test_a_script_without_a_main_guard_is_not_run_again_by_the_workers(tmp_path):
    """Spawned workers import the main module; an unguarded script would scan again in each of them."""
    script = tmp_path / "check.py"
    script.write_text(
        "import preflint, preflint.pipeline.workers\n"
        "preflint.pipeline.workers.POOL_MIN_PAIRS = 100  # workers even for these 300 pairs\n"
        f"report = preflint.scan({str(data_file('llamafactory-dpo-en-demo.json'))!r}, batch_size=50, jobs=2, "
        "cache=False)\n"
        "print('scanned', report.summary['rows'])\n"
    )
    process = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.splitlines() == ["scanned 300"]


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked only on Linux")
def test_workers_are_forked_only_where_it_is_safe():
    """Forked from a process of preflint's own with no other thread, before its tokenizer ran; else spawned."""
    probe = (
        "import threading, time\n"
        "from preflint.pipeline import workers as speed\n"
        "from preflint.tokenizer.loading import load_tokenizer\n"
        "print(speed.worker_start())  # a library caller's process: spawn\n"
        "speed.allow_fork()  # the command line's\n"
        "print(speed.worker_start())\n"
        "busy = threading.Thread(target=time.sleep, args=(2,))\n"
        "busy.start()\n"
        "print(speed.worker_start())  # another thread runs\n"
        "busy.join()\n"
        "print(speed.worker_start())\n"
        "tokenizer = load_tokenizer('llama')\n"
        "print(speed.worker_start())  # loaded, not used: the workers share it\n"
        "tokenizer.encode_many(['Hello', 'world'])\n"
        "print(speed.worker_start())  # the tokenizer's thread pool ran here\n"
    )
    process = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.split() == ["spawn", "fork", "spawn", "fork", "fork", "spawn"]


def test_forked_workers_find_what_one_process_finds(tmp_path):
    """The command line forks its workers from the second batch on: 300 pairs in batches of 64."""
    data = str(data_file("llamafactory-dpo-en-demo.json"))
    results = []
    for jobs in ("2", "1"):
        out = tmp_path / f"jobs{jobs}.json"
        argv = [
            sys.executable,
            "-m",
            "preflint",
            "scan",
            data,
            "--format",
            "json",
            "--no-cache",
            "--batch-size",
            "64",
            "--jobs",
            jobs,
            "-o",
            str(out),
        ]
        process = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        assert process.returncode == 1, process.stderr[-2000:]
        result = json.loads(out.read_text())
        result["summary"].pop("seconds")
        results.append(result)
    assert results[0] == results[1] and results[0]["findings"]


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
