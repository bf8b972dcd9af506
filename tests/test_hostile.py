"""Hostile inputs and faults (issue 29): each attack that once got through, kept as a test. The README's promises are
backed by the tests named after them: an input is never overwritten, outputs are atomic, memory is bounded,
templates are sandboxed, the cache is never trusted."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from preflint.cli import main
from tests.conftest import read_jsonl

PAIR = {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}
ROWS = [{**PAIR, "prompt": f"Question {n}: capital of France?"} for n in range(40)]


def run(capsys, *argv):
    code = main([*map(str, argv), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines_of(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# 1. An input is never overwritten, however it was named.


@pytest.mark.parametrize("how", ["directory", "glob", "symlink", "repository", "against"])
def test_input_never_overwritten(how, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "data").mkdir(parents=True)
    data = lines_of(tmp_path / "d" / "data" / "a.jsonl", ROWS)
    original = data.read_bytes()
    reference = lines_of(tmp_path / "test.jsonl", ROWS[:3])
    named, out, extra = {
        "directory": ("d/data", "d/data/a.jsonl", []),
        "glob": ("d/data/*.jsonl", "d/data/a.jsonl", []),
        "symlink": ("d/data/a.jsonl", "link.jsonl", []),
        "repository": ("d", "d/data/clean.jsonl", []),  # a dataset repository read whole: nothing written inside
        "against": ("d/data/a.jsonl", "test.jsonl", ["--against", "test.jsonl"]),
    }[how]
    if how == "symlink":
        (tmp_path / "link.jsonl").symlink_to(data)
    code, _, err = run(capsys, "fix", named, "--out", out, "--force", *extra)
    assert code == 2 and err.startswith("preflint: error: --out"), err
    assert "is an input" in err or "inside the input directory" in err
    assert data.read_bytes() == original and reference.read_bytes() == json_lines(ROWS[:3])
    assert not (tmp_path / "d" / "data" / "clean.jsonl").exists()


def json_lines(rows) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


# 2. Every file of a directory is read, or the run says which would not be.


def test_a_directory_of_several_formats_is_refused_naming_them(tmp_path, capsys):
    lines_of(tmp_path / "a.jsonl", ROWS[:5])
    pq.write_table(pa.Table.from_pylist(ROWS[5:]), tmp_path / "b.parquet")
    for command in (["scan", tmp_path], ["fix", tmp_path, "--out", tmp_path.parent / "out.jsonl"]):
        code, _, err = run(capsys, *command)
        assert code == 2 and "holds data files of several formats" in err
        assert "JSON: a.jsonl" in err and "Parquet: b.parquet" in err
    assert not (tmp_path.parent / "out.jsonl").exists()


def test_a_file_of_a_directory_that_cannot_be_read_is_named(tmp_path, capsys):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes(b"not parquet at all")
    code, _, err = run(capsys, "scan", tmp_path, "--no-cache")
    assert code == 2 and f"(in {tmp_path / 'b.parquet'})" in err and err.count("\n") == 1


# 3. The cache describes exactly the bytes read.


def test_cache_never_trusted_a_file_changed_while_it_was_scanned_is_not_stored(tmp_path, capsys, monkeypatch):
    import preflint.pipeline.cache as cache

    data = lines_of(tmp_path / "data.jsonl", ROWS)
    full = data.read_bytes()
    scan = cache.scan

    def truncated_meanwhile(inputs, plan, progress=None):
        result = scan(inputs, plan, progress=progress)
        data.write_bytes(full[: len(full) // 2])  # as if truncated while the scan read it
        return result

    monkeypatch.setattr(cache, "scan", truncated_meanwhile)
    run(capsys, "scan", data, "--format", "json")
    monkeypatch.setattr(cache, "scan", scan)
    data.write_bytes(full)  # the original content again: its key, but no stored result
    code, out, _ = run(capsys, "scan", data, "--format", "json")
    summary = json.loads(out)["summary"]
    assert "cached" not in summary and summary["rows"] == len(ROWS)


# 4. A tokenizer without EOS or BOS is a normal case.


def test_a_tokenizer_json_alone_without_eos_is_scanned_and_says_what_it_cannot_check(tmp_path, capsys, llama):
    directory = tmp_path / "tokenizer-only"
    directory.mkdir()
    llama.hf.backend_tokenizer.save(str(directory / "tokenizer.json"))
    data = lines_of(tmp_path / "data.jsonl", ROWS[:5])
    code, out, err = run(capsys, "scan", data, "--tokenizer", directory, "--no-cache")
    assert code == 0 and err == ""
    assert "note: M005 eos-problem: the tokenizer has no EOS token, so how text replies end is not checked" in out
    code, out, _ = run(
        capsys, "scan", data, "--tokenizer", directory / "tokenizer.json", "--trainer", "trl", "--no-cache"
    )
    assert code == 1 and "TRL raises on a tokenizer without an EOS token" in out


# 5. Two runs writing one output: the later does not silently replace the earlier.


def test_outputs_atomic_a_file_that_appeared_meanwhile_is_not_replaced(tmp_path, capsys, monkeypatch):
    import preflint.fixing.run as fixing

    data = lines_of(tmp_path / "data.jsonl", ROWS)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    execute = fixing._Run.execute

    def another_run_finishes_first(self):
        result = execute(self)
        out.write_text("another run's output\n")
        return result

    monkeypatch.setattr(fixing._Run, "execute", another_run_finishes_first)
    code, _, err = run(capsys, "fix", data, "--out", out, "--rejects", rejects)
    assert code == 2 and "appeared while preflint ran" in err
    assert out.read_text() == "another run's output\n" and not rejects.exists()  # none of this run's outputs


# 6. A truncated zstd file is an error, as a truncated gzip, xz or bzip2 file is.


def test_a_truncated_zst_is_an_error(tmp_path, capsys):
    import zstandard

    compressed = zstandard.ZstdCompressor().compress(json_lines(ROWS * 50))
    (tmp_path / "whole.jsonl.zst").write_bytes(compressed)
    (tmp_path / "cut.jsonl.zst").write_bytes(compressed[: len(compressed) // 2])
    code, out, _ = run(capsys, "scan", tmp_path / "whole.jsonl.zst", "--no-cache")
    assert code == 1 and f"{len(ROWS) * 50:,} rows" in out  # duplicates found, every row read
    code, out, err = run(capsys, "scan", tmp_path / "cut.jsonl.zst", "--no-cache")
    assert code == 2 and out == "" and "ends in the middle of a frame (a truncated file)" in err


# 7. The outputs of one run appear together or not at all.


def test_outputs_atomic_an_unwritable_destination_fails_before_any_work(tmp_path, capsys):
    data = lines_of(tmp_path / "data.jsonl", ROWS)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.parquet"
    code, _, err = run(capsys, "fix", data, "--out", out, "--rejects", rejects, "--report", "/proc/report.html")
    assert code == 2 and "--report /proc/report.html: cannot write there" in err
    assert not out.exists() and not rejects.exists()


def test_outputs_atomic_a_report_that_fails_leaves_no_data_written(tmp_path, capsys, monkeypatch):
    import preflint.report.html

    def broken(result, stream):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(preflint.report.html, "write_html", broken)
    data = lines_of(tmp_path / "data.jsonl", ROWS)
    code, _, err = run(capsys, "fix", data, "--out", tmp_path / "out.jsonl", "--report", tmp_path / "r.html")
    assert code == 2 and "No space left on device" in err
    assert sorted(os.listdir(tmp_path)) == ["data.jsonl"]  # no output, no hidden temporary file either


# 8. Memory is bounded: records over the limit are not read, templates cannot build without bound.


@pytest.mark.parametrize("form", ["jsonl", "json", "parquet", "csv"])
def test_memory_bounded_a_record_over_the_limit_is_a_finding_not_read(form, tmp_path, capsys):
    (tmp_path / "preflint.toml").write_text("max-record-mb = 1\n")
    rows = [ROWS[0], {**PAIR, "chosen": "Paris. " * 400_000}, ROWS[1]]  # 2.8 MB of reply
    path = tmp_path / f"data.{form}"
    if form == "jsonl":
        lines_of(path, rows)
    elif form == "json":
        path.write_text(json.dumps(rows))
    elif form == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        if form == "csv":
            code, _, err = run(capsys, "scan", _csv(path, rows), "--config", tmp_path / "preflint.toml")
            assert code == 2 and "has a cell over the 1 MiB limit for a record (max-record-mb)" in err
            return
    config = tmp_path / "preflint.toml"
    code, out, _ = run(capsys, "scan", path, "--config", config, "--no-cache", "--select", "S001", "--format", "json")
    [finding] = json.loads(out)["findings"]
    assert (
        code == 1
        and finding["row"] == 1
        and "MiB, over the 1 MiB limit for a record (max-record-mb)" in finding["message"]
    )
    run(capsys, "fix", path, "--config", config, "--out", tmp_path / "out.jsonl", "--rejects", tmp_path / "rj.jsonl")
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 2
    [rejected] = read_jsonl(tmp_path / "rj.jsonl")
    assert rejected["reason"] == "S001" and len(rejected["record"]) < 1000


def _csv(path: Path, rows) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PAIR))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ('a' * 4000000000)|length }}",
        "{{ '{:>3000000000}'.format('x') }}",
        "{{ '{x:>3000000000}'.format_map({'x': 1}) }}",
        "{{ 'x'|center(3000000000) }}",
        "{{ 'x'.ljust(3000000000) }}",
        "{{ '%3000000000s'|format('x') }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
        "{{ 2 ** 100000000 }}",
    ],
)
def test_templates_sandboxed_an_expression_cannot_build_without_bound(expression, tmp_path, capsys, llama):
    """Each of these takes gigabytes (or hours) unbounded; in the sandbox the row's rendering fails at once."""
    template = tmp_path / "bomb.jinja"
    template.write_text(expression + "{% for m in messages %}{{ m['content'] }}{% endfor %}")
    chat = [{"role": "user", "content": "Hi"}]
    data = lines_of(
        tmp_path / "chat.jsonl",
        [
            {
                "prompt": chat,
                "chosen": [{"role": "assistant", "content": "Hello"}],
                "rejected": [{"role": "assistant", "content": "Go"}],
            }
        ],
    )
    started = time.monotonic()
    code, out, _ = run(capsys, "scan", data, "--chat-template", template, "--no-cache", "--select", "S005")
    assert code == 1 and "S005" in out and ("over 67,108,864 characters" in out or "power over" in out)
    assert time.monotonic() - started < 30


# 9. Worker processes and scratch files do not outlive the run.


def _child_pids(pid: int) -> list[int]:
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int]) -> list[int]:
    import psutil

    return [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def _fixing(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """`preflint fix` of enough pairs to run in forked workers, started as a user starts it; its scratch folder."""
    data = lines_of(
        tmp_path / "data.jsonl", [{**PAIR, "prompt": f"Question {n}: " + "word " * 200} for n in range(4000)]
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "preflint",
            "fix",
            str(data),
            "--out",
            str(tmp_path / "out.jsonl"),
            "--batch-size",
            "100",
            "--jobs",
            "2",
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(_child_pids(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_child_pids(process.pid)) >= 2, "the workers never started"
    return process, tmp_path


def test_workers_end_with_their_parent_killed_and_the_next_run_sweeps_its_scratch(tmp_path, capsys):
    process, scratch = _fixing(tmp_path)
    workers = _child_pids(process.pid)
    leftover = [name for name in os.listdir(scratch) if name.startswith("preflint-fix-")]
    assert leftover
    process.kill()  # kill -9: no clean-up can run
    process.wait()
    deadline = time.monotonic() + 10
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(workers) == []
    assert [name for name in os.listdir(scratch) if name.startswith("preflint-fix-")] == leftover
    subprocess.run(
        [sys.executable, "-m", "preflint", "rules"],
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        check=True,
    )
    assert [name for name in os.listdir(scratch) if name.startswith("preflint-")] == []


def test_sigterm_ends_a_run_cleanly(tmp_path):
    process, scratch = _fixing(tmp_path)
    workers = _child_pids(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + 15
    assert [name for name in os.listdir(scratch) if name.startswith("preflint-")] == []
    assert not (scratch / "out.jsonl").exists()
    deadline = time.monotonic() + 10
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(workers) == []


# 10. A pipe is read once; standard input is looked at before it is copied.


def test_a_named_pipe_is_read_once(tmp_path, capsys):
    pipe = tmp_path / "pairs.jsonl"
    os.mkfifo(pipe)
    writer = subprocess.Popen(["sh", "-c", f"cat > '{pipe}'"], stdin=subprocess.PIPE)
    writer.stdin.write(json_lines(ROWS))
    writer.stdin.close()
    code, out, _ = run(capsys, "scan", pipe)
    writer.wait(timeout=10)
    assert code == 0 and f"{pipe}: {len(ROWS)} rows" in out


def test_endless_zeros_on_standard_input_are_refused_at_once(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    zeros = subprocess.Popen(["head", "-c", "200000000", "/dev/zero"], stdout=subprocess.PIPE)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "preflint", "scan", "-"],
        stdin=zeros.stdout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    zeros.kill()
    zeros.wait()
    assert done.returncode == 2 and "cannot tell the format of standard input" in done.stderr
    assert time.monotonic() - started < 20 and os.listdir(tmp_path) == []


# 11. Nothing in the cache can stop a scan.


def test_cache_never_trusted_an_unwritable_cache_directory_is_no_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PREFLINT_CACHE_DIR", "/proc/preflint-cache")
    data = lines_of(tmp_path / "data.jsonl", ROWS)
    assert run(capsys, "scan", data)[0] == 0
    assert run(capsys, "scan", data, "--no-cache")[0] == 0


def test_cache_never_trusted_a_damaged_tokenizer_file_is_converted_again(tmp_path, capsys, monkeypatch):
    from preflint.tokenizer.llama3 import llama3_tokenizer
    from preflint.tokenizer.loading import _load

    def loaded_afresh():  # as a new process loads it
        llama3_tokenizer.cache_clear()
        _load.cache_clear()

    monkeypatch.setenv("PREFLINT_CACHE_DIR", str(tmp_path / "cache"))
    loaded_afresh()
    data = lines_of(tmp_path / "data.jsonl", ROWS)
    assert run(capsys, "scan", data, "--no-cache")[0] == 0
    [converted] = (tmp_path / "cache" / "tokenizers").iterdir()
    converted.write_text(converted.read_text()[:1000])  # cut short
    loaded_afresh()
    assert run(capsys, "scan", data, "--no-cache")[0] == 0
    json.loads(converted.read_text())  # written again, whole


@pytest.mark.parametrize(
    "damage",
    ["not gzip", "not json", "wrong types", "unknown rule", "a bomb", "a pipe"],
)
def test_cache_never_trusted_a_damaged_entry_is_a_miss_and_replaced(damage, tmp_path, capsys, monkeypatch):
    import preflint.pipeline.cache as cache

    monkeypatch.setenv("PREFLINT_CACHE_DIR", str(tmp_path / "cache"))
    data = lines_of(tmp_path / "data.jsonl", ROWS)
    run(capsys, "scan", data)
    [entry] = (tmp_path / "cache" / "scans").iterdir()
    stored = json.loads(gzip.decompress(entry.read_bytes()))
    entry.unlink()
    if damage == "not gzip":
        entry.write_bytes(b"garbage")
    elif damage == "not json":
        entry.write_bytes(gzip.compress(b"{not json"))
    elif damage == "wrong types":
        entry.write_bytes(gzip.compress(json.dumps({**stored, "findings": [[1, 2]], "summary": 3}).encode()))
    elif damage == "unknown rule":
        stored["summary"]["rules"] = ["ZZZ9"]
        entry.write_bytes(gzip.compress(json.dumps(stored).encode()))
    elif damage == "a bomb":  # over the limit once decompressed (the limit made small here: 1 MiB)
        monkeypatch.setattr(cache, "MAX_ENTRY_BYTES", 1 << 20)
        entry.write_bytes(gzip.compress(json.dumps({**stored, "padding": " " * (2 << 20)}).encode()))
    else:
        os.mkfifo(entry)
    started = time.monotonic()
    code, out, _ = run(capsys, "scan", data, "--format", "json")
    assert code == 0 and "cached" not in json.loads(out)["summary"] and time.monotonic() - started < 60
    assert json.loads(gzip.decompress(entry.read_bytes()))["summary"]["rows"] == len(ROWS)  # replaced


# 12. Nothing from data or file names reaches a terminal or a CI log raw.


def test_control_characters_from_file_names_and_data_are_escaped(tmp_path, capsys):
    name = tmp_path / "evil\x1b]0;owned\x07\n::error title=x::injected.jsonl"
    lines_of(name, [{**PAIR, "rejected": "Paris.\x1b[2J"}, *ROWS[:3]])
    for form in ("text", "github", "markdown"):
        code, out, _ = run(capsys, "scan", name, "--format", form, "--no-cache")
        assert "\x1b" not in out and "\x07" not in out, form
        assert not any(line.startswith("::error title=x") for line in out.splitlines()), form
    code, _, err = run(capsys, "scan", tmp_path / "missing\x1bc.jsonl")
    assert code == 2 and "\x1b" not in err and "\\x1b" in err and err.count("\n") == 1
    report = tmp_path / "report.html"
    run(capsys, "fix", name, "--out", tmp_path / "out.jsonl", "--report", report)
    assert "\x1b" not in report.read_text(encoding="utf-8")


def test_a_damaged_parquet_file_is_a_one_line_input_error(tmp_path, capsys):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS * 50), path, row_group_size=100)
    content = bytearray(path.read_bytes())
    content[len(content) // 2 : len(content) // 2 + 64] = b"\x00" * 64  # a row group's pages overwritten
    path.write_bytes(bytes(content))
    code, out, err = run(capsys, "scan", path, "--no-cache")
    assert code == 2 and out == "" and err.startswith("preflint: error: ") and err.count("\n") == 1
    assert "internal error" not in err


# 13. The rest.


def test_jobs_are_capped_at_the_cores_available():
    from preflint.pipeline.workers import available_cores, use_jobs

    assert use_jobs(1000) == available_cores()


def test_the_progress_bar_is_drawn_on_standard_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    data = lines_of(tmp_path / "data.jsonl", ROWS)
    code = main(["scan", str(data), "--format", "json", "--no-cache"])
    assert code == 0 and json.loads(capsys.readouterr().out)["summary"]["rows"] == len(ROWS)


def test_an_existing_path_with_brackets_is_a_path_not_a_glob(tmp_path, capsys):
    data = lines_of(tmp_path / "data[1].jsonl", ROWS)
    code, out, _ = run(capsys, "scan", data, "--no-cache")
    assert code == 0 and f"{len(ROWS)} rows" in out


def test_a_pair_of_two_empty_replies_counts_in_the_forecast(tmp_path, capsys):
    data = lines_of(tmp_path / "data.jsonl", [*ROWS[:2], {**PAIR, "chosen": "", "rejected": ""}])
    code, out, _ = run(capsys, "scan", data, "--no-cache", "--format", "json")
    forecast = json.loads(out)["summary"]["forecast"]
    assert forecast["no_signal"] == 1 and forecast["by_code"] == {"P004": 1}


def test_a_template_that_fails_on_every_row_writes_nothing(tmp_path, capsys):
    template = tmp_path / "broken.jinja"
    template.write_text("{{ raise_exception('this template refuses every chat') }}")
    chat = [
        {
            "prompt": [{"role": "user", "content": f"Hi {n}"}],
            "chosen": [{"role": "assistant", "content": "Hello"}],
            "rejected": [{"role": "assistant", "content": "Go"}],
        }
        for n in range(10)
    ]
    data = lines_of(tmp_path / "chat.jsonl", chat)
    code, _, err = run(capsys, "fix", data, "--chat-template", template, "--out", tmp_path / "out.jsonl")
    assert code == 2 and "10 of 10 rows" in err and "Nothing was written" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_json_errors_name_the_place_once(tmp_path, capsys):
    (tmp_path / "cut.json").write_text('[{"prompt": "abc')
    code, _, err = run(capsys, "scan", tmp_path / "cut.json")
    assert code == 2 and "Unterminated string starting at line 1, column 13" in err and "at at" not in err
