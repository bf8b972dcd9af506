"""preflint.scan / preflint.fix from Python, on every kind of data a user holds."""

import json

import datasets
import pandas
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import preflint
from preflint.errors import InputError

from .test_cli import run

ROWS = [
    {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": " Paris."},
    {"prompt": "Name a color.", "chosen": " Blue.", "rejected": " The sky is blue, usually."},
    {"prompt": "2+2?", "chosen": " 4", "rejected": " 5"},
]


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda tmp: ROWS, "<list>"),
        (lambda tmp: pandas.DataFrame(ROWS), "<DataFrame>"),
        (lambda tmp: datasets.Dataset.from_list(ROWS), "<Dataset>"),
        (lambda tmp: datasets.DatasetDict(train=datasets.Dataset.from_list(ROWS)), "<DatasetDict['train']>"),
        (lambda tmp: _jsonl(tmp, ROWS), "/prefs.jsonl"),
    ],
    ids=["list", "dataframe", "dataset", "datasetdict", "path"],
)
def test_scan_any_data(make, named, tmp_path):
    report = preflint.scan(make(tmp_path), tokenizer="llama", select=["P", "W"])
    assert list(report.findings.code) == ["P001"] and list(report.findings.row) == [0]
    assert report.summary["rows"] == 3 and not report.ok
    assert report.findings.loc[0, "fix"] == "safe"
    assert report.summary["sources"][0]["input"].endswith(named)  # data in memory by its type, not a temporary file


def test_fix_returns_the_kept_and_dropped_rows_as_datasets(llama):
    report = preflint.fix(datasets.Dataset.from_list(ROWS), tokenizer=llama.hf)  # a loaded tokenizer object
    assert report.data.to_list() == ROWS[1:]
    assert [(row["row"], row["reason"], row["source"]) for row in report.rejects.to_list()] == [
        (0, "P001", "<Dataset>")
    ]
    assert report.summary["accounting"]["rows_read"] == 3 and report.ok
    assert report.summary["input"] == ["<Dataset>"]


def test_unsafe_fixes_are_applied_only_when_asked_as_on_the_command_line(llama):
    rows = [*ROWS, {"prompt": "Greet me.", "chosen": " Hello!", "rejected": " Hello."}]  # P003: punctuation only
    assert preflint.fix(rows, tokenizer=llama.hf).data.num_rows == 3
    unsafe = preflint.fix(rows, tokenizer=llama.hf, unsafe_fixes=True)
    assert [(row["row"], row["reason"]) for row in unsafe.rejects.to_list()] == [(0, "P001"), (3, "P003")]


def test_a_python_string_that_is_not_unicode_is_a_finding(llama):
    """Half a surrogate pair in a list of dicts (text cut inside an emoji) is reported and dropped, not raised."""
    rows = [{**ROWS[1], "chosen": " Blue \ud83d"}, ROWS[2]]
    report = preflint.fix(rows, tokenizer=llama.hf, select=["S001", "P"])
    assert [(row["row"], row["reason"]) for row in report.rejects.to_list()] == [(0, "S001")]
    assert report.data.to_list() == [ROWS[2]]


def test_settings_and_splits_are_checked(tmp_path):
    with pytest.raises(TypeError, match="unknown setting 'selct'"):
        preflint.scan(ROWS, selct=["P"])
    splits = datasets.DatasetDict(a=datasets.Dataset.from_list(ROWS), b=datasets.Dataset.from_list(ROWS[:1]))
    with pytest.raises(InputError, match="say which with split"):
        preflint.scan(splits)
    assert preflint.scan(splits, split="b", select=["P001"]).summary["rows"] == 1
    with pytest.raises(InputError, match="cannot read int"):
        preflint.scan(42)


def test_hub_layout_directory_with_split_from_the_command_line(capsys, tmp_path):
    """`preflint scan org/name --split` goes through datasets.load_dataset; a local repository directory takes the
    same path (no machine here reaches the hub)."""
    repo = tmp_path / "org" / "prefs"
    (repo / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS[1:]), repo / "data" / "train_prefs-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS[:1]), repo / "data" / "test_prefs-00000-of-00001.parquet")
    code, out, _ = run(capsys, "scan", str(repo), "--split", "test_prefs", "--format", "json", "--no-cache")
    result = json.loads(out)
    assert code == 1 and result["summary"]["rows"] == 1 and result["findings"][0]["code"] == "P001"
    code, _, err = run(capsys, "scan", str(repo))
    assert code == 2 and "several splits" in err


def _jsonl(tmp_path, rows):
    path = tmp_path / "prefs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
