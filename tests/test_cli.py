"""The command line as a user runs it, through main(argv) -> int (no subprocess)."""

import bz2
import gzip
import io
import json
import lzma
import sys

import pytest

from preflint.cli import main

from .conftest import CHATML_TEMPLATE, data_file

GOOD = {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}
CHAT = {
    "prompt": [{"role": "user", "content": "Q?"}],
    "chosen": [{"role": "assistant", "content": "A."}],
    "rejected": [{"role": "assistant", "content": "B."}],
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_clean_data_exits_0(capsys, write_jsonl):
    code, out, _ = run(capsys, "scan", str(write_jsonl([GOOD])), "--tokenizer", "llama")
    assert code == 0
    assert "All checks passed on 1 row." in out


def test_findings_exit_1_and_are_grouped_by_rule(capsys, write_jsonl):
    rows = [GOOD, {**GOOD, "rejected": "Paris."}, {**GOOD, "chosen": ""}]
    code, out, _ = run(capsys, "scan", str(write_jsonl(rows)), "--statistics")
    assert code == 1
    assert "P001 identical-pair (error, fix: safe): 1\n  row 1: chosen and rejected are identical" in out
    assert "P004 empty-response (error, fix: safe): 1\n  row 2: the chosen response is empty" in out
    assert "33.33%" in out  # --statistics: 1 of 3 rows
    assert "Found 2 findings (2 errors) in 2 of 3 rows." in out


def test_exit_zero(capsys, write_jsonl):
    code, _, _ = run(capsys, "scan", str(write_jsonl([{**GOOD, "rejected": "Paris."}])), "--exit-zero")
    assert code == 0


def test_output_to_a_pipe_or_device_writes_into_it_without_replacing_it(capsys, write_jsonl, tmp_path):
    """`-o /dev/null` or a named pipe: writing a file and renaming it over the path would replace the device."""
    import os
    import stat
    import threading

    fifo = tmp_path / "findings.pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    code, _, _ = run(capsys, "scan", str(write_jsonl([GOOD])), "--format", "json", "-o", str(fifo), "--no-cache")
    reader.join(timeout=10)  # first: a reader that has just closed the pipe would make the open below fail
    if reader.is_alive():  # nothing opened the pipe: unblock the reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert code == 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["summary"]["rows"] == 1


def test_json_output_contract(capsys, write_jsonl, tmp_path):
    data = write_jsonl([GOOD, {**GOOD, "rejected": "Paris."}])
    out_file = tmp_path / "findings.json"
    code, out, _ = run(capsys, "scan", str(data), "--format", "json", "-o", str(out_file))
    assert code == 1 and out == ""
    report = json.loads(out_file.read_text())
    assert set(report) == {"version", "input", "tokenizer", "summary", "findings"}
    assert report["input"] == [str(data)]
    assert report["summary"]["rows"] == 2
    assert report["summary"]["shape"].startswith("text")
    assert report["summary"]["findings_by_code"] == {"P001": 1}
    row_hash = report["findings"][0].pop("hash")
    assert _hash_alone(capsys, write_jsonl, {**GOOD, "rejected": "Paris."}) == row_hash  # row 1 there, row 0 here
    assert _hash_alone(capsys, write_jsonl, {**GOOD, "chosen": "Rome."}) != row_hash
    assert report["findings"] == [
        {
            "code": "P001",
            "name": "identical-pair",
            "severity": "error",
            "row": 1,
            "message": "chosen and rejected are identical (2 tokens)",
            "fix": {"applicability": "safe", "description": "drop the row: it carries no preference signal"},
            "no_signal": True,  # the ln 2 forecast counts its pair
        }
    ]
    assert list(tmp_path.glob(".findings.json.*")) == []  # no temporary file left behind


def _hash_alone(capsys, write_jsonl, identical_pair):
    """The hash reported for an identical pair scanned as the only row of a file."""
    main(["scan", str(write_jsonl([identical_pair], name="single.jsonl")), "--format", "jsonl", "--select", "P001"])
    found = capsys.readouterr().out.splitlines()
    return json.loads(found[0])["hash"]


def test_dash_as_output_file_is_standard_output(capsys, write_jsonl, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        capsys, "scan", str(write_jsonl([{**GOOD, "rejected": "Paris."}])), "--format", "json", "-o", "-"
    )
    assert code == 1 and json.loads(out)["findings"][0]["code"] == "P001"
    assert not (tmp_path / "-").exists()


def test_jsonl_output_is_one_finding_per_line(capsys, write_jsonl):
    rows = [{**GOOD, "rejected": "Paris."}, {**GOOD, "chosen": " "}]
    code, out, _ = run(capsys, "scan", str(write_jsonl(rows)), "--format", "jsonl")
    assert code == 1
    assert [json.loads(line)["code"] for line in out.splitlines()] == ["P001", "P004"]


def test_select_and_ignore(capsys, write_jsonl):
    data = str(write_jsonl([{**GOOD, "rejected": "Paris."}, {**GOOD, "chosen": ""}]))
    _, out, _ = run(capsys, "scan", data, "--select", "P004", "--format", "jsonl")
    assert [json.loads(line)["code"] for line in out.splitlines()] == ["P004"]
    _, out, _ = run(capsys, "scan", data, "--ignore", "identical-pair", "--format", "jsonl")
    assert [json.loads(line)["code"] for line in out.splitlines()] == ["P004"]
    code, _, err = run(capsys, "scan", data, "--select", "Z9")
    assert code == 2 and "unknown rule selector 'Z9'" in err


@pytest.mark.parametrize(
    ("content", "expected_code", "expected_message"),
    [
        (
            b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", "chosen"\n',
            "S001",
            "line 2 is not valid JSON",
        ),
        (b'{"prompt": "a", "chosen": null, "rejected": "c"}\n', "S003", "chosen is null"),
        (b'{"prompt": 7, "chosen": "b", "rejected": "c"}\n', "S003", "prompt is a number (7)"),
        (b'{"prompt": "caf\xe9", "chosen": "b", "rejected": "c"}\n', "S001", "line 1 is not valid UTF-8"),
    ],
)
def test_bad_records_are_findings(capsys, tmp_path, content, expected_code, expected_message):
    data = tmp_path / "bad.jsonl"
    data.write_bytes(content)
    code, out, _ = run(capsys, "scan", str(data), "--format", "jsonl")
    assert code == 1
    findings = [json.loads(line) for line in out.splitlines()]
    assert any(f["code"] == expected_code and expected_message in f["message"] for f in findings), findings


@pytest.mark.parametrize(
    ("setup", "argv_tail", "expected"),
    [
        (lambda d: d / "missing.jsonl", [], "no such file"),
        (lambda d: _write(d / "empty.jsonl", b""), [], "no records in"),
        (lambda d: _write(d / "latin1.json", b'[{"prompt": "caf\xe9"}]'), [], "is not valid UTF-8"),
        (lambda d: _write(d / "data.txt", b"hello"), [], "cannot tell the format"),
        (lambda d: _write(d / "cols.jsonl", b'{"a": 1, "b": 2}\n'), [], "cannot tell which columns hold"),
        (
            lambda d: _write(
                d / "splits.json",
                b'{"train": [{"prompt": "a", "chosen": "b", "rejected": "c"}], "test": [{"prompt": "d"}]}',
            ),
            [],
            "splits.json' is one JSON object holding several lists of records (train, test)",
        ),
        (
            lambda d: _write(d / "ok.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n'),
            ["--tokenizer", "no-such-model-anywhere"],
            "unknown tokenizer 'no-such-model-anywhere'",
        ),
        (
            lambda d: _write(d / "ok.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n'),
            ["--map", "prompt=nothere"],
            "no column 'nothere'",
        ),
        (
            lambda d: _write(
                d / "chat.jsonl",
                b'{"chosen": [{"role": "user", "content": "a"}], "rejected": [{"role": "user", "content": "b"}]}\n',
            ),
            ["--map", "chosen=nothere"],
            "no column 'nothere'",
        ),  # one pair of message lists: not lists of records
        (lambda d: _write(d / "bad.parquet", b"not parquet at all"), [], "is not a readable Parquet file"),
        (
            lambda d: _write(d / "ok.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n'),
            ["--chat-template", "no-such-template.jinja"],
            "cannot read chat template 'no-such-template.jinja': No such file",
        ),
        (
            lambda d: (
                _write(d / "ok.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
                and _write(d / "t.jinja", b"{% for m in %}")
            ),
            ["--chat-template", "t.jinja"],
            "chat template 't.jinja' is not valid Jinja: Expected an expression",
        ),
        (
            lambda d: (
                _write(d / "ok.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
                and _write(d / "t.jinja", b"\xff\xfe{{ x }}")
            ),
            ["--chat-template", "t.jinja"],
            "chat template 't.jinja' is not UTF-8 text",
        ),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_2(capsys, tmp_path, setup, argv_tail, expected, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = setup(tmp_path)
    code, out, err = run(capsys, "scan", str(data), *argv_tail)
    assert code == 2
    assert out == ""
    assert err.startswith("preflint: error: ") and expected in err
    assert err.count("\n") == 1


def test_among_several_inputs_the_one_without_pairs_is_named(capsys, tmp_path):
    good = _write(tmp_path / "prefs.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "c"}\n')
    other = _write(tmp_path / "package.json", b'{"name": "x", "version": "1.0"}')
    code, _, err = run(capsys, "scan", str(good), str(other), "--no-cache")
    assert code == 2
    assert (
        f"'{other}': cannot tell which columns hold the chosen and rejected responses (columns: name, version)" in err
    )


def test_a_bug_in_preflint_is_one_line_that_says_how_to_report_it(capsys, monkeypatch, write_jsonl):
    monkeypatch.delenv("PREFLINT_TRACEBACK")

    def broken_scan(*args, **kwargs):
        raise KeyError("chosen")

    monkeypatch.setattr("preflint.pipeline.cache.cached_scan", broken_scan)
    data = str(write_jsonl([{"prompt": "a", "chosen": "b", "rejected": "c"}]))
    code, out, err = run(capsys, "scan", data)
    assert code == 2 and out == ""
    assert err.startswith("preflint: internal error: KeyError: 'chosen'\nThis is a bug in preflint.")
    assert "Traceback" not in err
    monkeypatch.setenv("PREFLINT_TRACEBACK", "1")
    with pytest.raises(KeyError):
        run(capsys, "scan", data)


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["scan"],
            "missing argument 'DATA...': name the data, or the trainer config that names it (--from-config) (see "
            "'preflint scan --help')",
        ),
        (["scan", "{data}", "--bogus"], "no such option '--bogus'"),
        (["scan", "{data}", "--max-length", "0"], "max-length must be a positive integer"),
        (["scan", "{data}", "--max-length", "many"], "invalid value for '--max-length': 'many' is not a valid integer"),
        (
            ["fix", "{data}"],
            "give --out PATH to write the fixed data, or --diff to see the changes (see 'preflint fix --help')",
        ),
        (
            ["fix", "{data}", "--out", "{tmp}/x.jsonl", "--report", "{tmp}/r.txt"],
            "--report {tmp}/r.txt: write .html, .md or .json",
        ),
        (["frob"], "no such command 'frob' (see 'preflint --help')"),
        (
            ["scan", "{data}", "--split", "test"],
            "--split 'test' does nothing for '{data}': only a dataset (a hub id, a saved "
            "dataset or a directory of data files) has splits; drop --split",
        ),
        (["fix", "{data}", "--out", "{tmp}/x.jsonl", "--subset", "en"], "--subset 'en' does nothing for '{data}'"),
    ],
)
def test_every_usage_error_is_one_line_with_exit_2(capsys, write_jsonl, tmp_path, argv, expected):
    """Click's own usage errors read as preflint's other errors: one `preflint: error:` line, exit 2."""
    data = str(write_jsonl([{"prompt": "a", "chosen": "b", "rejected": "c"}]))
    code, out, err = run(capsys, *(arg.format(data=data, tmp=tmp_path) for arg in argv))
    assert code == 2 and out == ""
    assert err.startswith("preflint: error: ") and expected.format(data=data, tmp=tmp_path) in err
    assert err.count("\n") == 1 and "Usage:" not in err
    assert not (tmp_path / "x.jsonl").exists()


def test_a_split_of_a_dataset_directory_is_still_taken(capsys, tmp_path):
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data" / "test.jsonl", b'{"prompt": "a", "chosen": "b", "rejected": "b"}\n')
    code, out, _ = run(capsys, "scan", str(tmp_path), "--split", "test", "--no-cache")
    assert code == 1 and "P001" in out and "[test]" in out


def test_rules_lists_the_catalog(capsys):
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    catalog = {rule["code"]: rule for rule in json.loads(out)}
    assert {"S001", "S002", "S003", "S004", "S005", "P001", "P004", "M008"} <= set(catalog)
    assert catalog["P001"] == {
        "code": "P001",
        "name": "identical-pair",
        "family": "pair",
        "severity": "error",
        "fix": "safe",
        "summary": "Chosen and rejected are the same, as the model sees them.",
    }
    code, out, _ = run(capsys, "rules")
    assert code == 0 and "empty-response" in out


def test_rule_shows_documentation(capsys):
    code, out, _ = run(capsys, "rule", "P004")
    assert code == 0
    assert out.startswith("# P004 empty-response")
    assert "## Why is this bad?" in out
    assert "Fix: safe (" in out
    code, out, _ = run(capsys, "rule", "system-column-ignored")
    assert code == 0 and "Severity: warning · Fix: none\n" in out
    code, out, _ = run(capsys, "rule", "prompt-mismatch")
    assert code == 0 and out.startswith("# M008 prompt-mismatch")
    code, _, err = run(capsys, "rule", "X999")
    assert code == 2 and "no rule 'X999'" in err


def test_scan_real_hh_file_from_the_command_line(capsys):
    code, out, _ = run(
        capsys, "scan", str(data_file("hh-rlhf-harmless-test.jsonl")), "--tokenizer", "llama", "--format", "json"
    )
    assert code == 1
    report = json.loads(out)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert sorted({f["code"] for f in errors}) == ["M008", "P004"] and len(errors) == 9
    assert report["tokenizer"]["name"] == "llama" and report["tokenizer"]["vocab_size"] == 128256


class _Stdin:
    """Standard input as a pipe gives it: bytes in `buffer`, not a terminal."""

    def __init__(self, data: bytes, terminal: bool = False):
        self.buffer = io.BytesIO(data)
        self.buffer.isatty = lambda: terminal


def test_dash_reads_standard_input_once_in_any_of_its_formats(capsys, monkeypatch, tmp_path):
    import pandas as pd

    rows = [GOOD, {**GOOD, "rejected": "Paris."}, {**GOOD, "chosen": ""}]
    jsonl = "".join(json.dumps(row) + "\n" for row in rows).encode()
    parquet = tmp_path / "rows.parquet"
    pd.DataFrame(rows).to_parquet(parquet)
    for data in (
        jsonl,
        json.dumps(rows).encode(),
        gzip.compress(jsonl),
        lzma.compress(jsonl),
        bz2.compress(jsonl),
        parquet.read_bytes(),
    ):
        monkeypatch.setattr(sys, "stdin", _Stdin(data))
        code, out, _ = run(capsys, "scan", "-", "--no-cache")
        assert code == 1
        assert "row 1: chosen and rejected are identical" in out and "row 2: the chosen response is empty" in out
        assert "<stdin>: 3 rows" in out
    # fix reads its input twice (the scan, then the rewrite): standard input is read once and kept
    monkeypatch.setattr(sys, "stdin", _Stdin(jsonl))
    code, out, _ = run(capsys, "fix", "-", "--out", str(tmp_path / "clean.jsonl"))
    assert code == 0 and "3 rows read = 1 kept + 2 dropped" in out
    assert [json.loads(line) for line in (tmp_path / "clean.jsonl").read_text().splitlines()] == [GOOD]


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (_Stdin(b"prompt,chosen,rejected\na,b,c\n"), "cannot tell the format of standard input"),
        (_Stdin(b""), "(it is empty)"),
        (_Stdin(b"", terminal=True), "which is a terminal here: pipe the data in"),
        (None, "and this process has none"),  # started without one (a service)
    ],
)
def test_standard_input_that_cannot_be_read_is_a_one_line_error(capsys, monkeypatch, stdin, expected):
    monkeypatch.setattr(sys, "stdin", stdin)
    code, _, err = run(capsys, "scan", "-", "--no-cache")
    assert code == 2 and err.startswith("preflint: error: ") and expected in err


def test_fix_to_standard_output_writes_the_rows_there_and_the_summary_to_stderr(capsys, write_jsonl, tmp_path):
    rows = [GOOD, {**GOOD, "rejected": "Paris."}, {**GOOD, "prompt": "2+2?", "chosen": "4", "rejected": "5"}]
    code, out, err = run(capsys, "fix", str(write_jsonl(rows)), "--out", "-", "--rejects", str(tmp_path / "r.jsonl"))
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [rows[0], rows[2]]
    assert "3 rows read = 2 kept + 1 dropped" in err and "wrote standard output (2 rows)" in err
    assert not (tmp_path / "-").exists()


def test_a_mix_of_shapes_is_named_with_its_counts(capsys, write_jsonl):
    """Text rows among chat rows: a trainer would fail on the mixed column types, so the summary says so."""
    _, out, _ = run(capsys, "scan", str(write_jsonl([GOOD, CHAT, CHAT])), "--no-cache")
    assert (
        "3 rows, mixed shapes: conversational (chat messages) in 2 rows, text (prompt, chosen, rejected) in 1 row"
        in out
    )


def test_each_input_is_reported_with_its_own_shape(capsys, write_jsonl):
    text, chats = write_jsonl([GOOD], name="text.jsonl"), write_jsonl([CHAT, CHAT], name="chat.jsonl")
    _, out, _ = run(capsys, "scan", str(text), str(chats), "--no-cache")
    assert "text.jsonl: 1 row, text (prompt, chosen, rejected)" in out
    assert "chat.jsonl: 2 rows, conversational (chat messages)" in out


def test_chat_template_file_replaces_the_tokenizers_own(capsys, write_jsonl, tmp_path):
    """The template the trainer is configured with decides the findings: Llama 3's trims the replies, so axolotl
    cannot find them; ChatML's does not."""
    row = {
        **CHAT,
        "chosen": [{"role": "assistant", "content": " Paris."}],
        "rejected": [{"role": "assistant", "content": " Rome."}],
    }
    data = str(write_jsonl([row]))
    template = tmp_path / "chatml.jinja"
    template.write_text(CHATML_TEMPLATE)
    code, out, _ = run(capsys, "scan", data, "--trainer", "axolotl", "--select", "M010")
    assert code == 1 and "both replies are trained as '>'" in out
    code, out, _ = run(
        capsys, "scan", data, "--trainer", "axolotl", "--select", "M010", "--chat-template", str(template)
    )
    assert code == 0 and f"chat template {template};" in out


def test_a_chat_template_file_renders_in_the_sandbox(capsys, write_jsonl, tmp_path):
    template = tmp_path / "escape.jinja"
    template.write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    )
    code, out, _ = run(capsys, "scan", str(write_jsonl([CHAT])), "--chat-template", str(template), "--select", "S005")
    assert (
        code == 1
        and "the chat template failed on this row: access to attribute '__class__' of 'str' object is unsafe" in out
    )
