"""Every input format reads to the same records, numbered in input order across files."""

import bz2
import gzip
import json
import lzma
import re

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from preflint.errors import InputError
from preflint.io.formats import Unreadable
from preflint.io.locations import record_files, record_lines
from preflint.io.read import read_batches
from preflint.io.sources import resolve_sources

ROWS = [
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."},
    {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
    {"prompt": "Colour of the sky?", "chosen": "Blue.", "rejected": "Green."},
]


def records(*specs, batch_size=2, **kwargs):
    batches = list(read_batches(resolve_sources([str(s) for s in specs]), batch_size=batch_size, **kwargs))
    assert all(len(batch.records) <= batch_size for batch in batches)
    return [row for batch in batches for row in batch.rows], [r for batch in batches for r in batch.records]


def jsonl_bytes(rows):
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("data.jsonl", jsonl_bytes),
        ("data.jsonl.gz", lambda rows: gzip.compress(jsonl_bytes(rows))),
        ("data.jsonl.zst", lambda rows: zstandard.ZstdCompressor().compress(jsonl_bytes(rows))),
        ("data.jsonl.xz", lambda rows: lzma.compress(jsonl_bytes(rows))),
        ("data.json.bz2", lambda rows: bz2.compress(json.dumps(rows).encode())),
        ("data.json", lambda rows: json.dumps(rows).encode()),
        ("data.json", lambda rows: json.dumps({"data": rows}).encode()),
        ("lines.json", jsonl_bytes),  # JSON Lines under a .json name, as many hub datasets ship it
        ("bom.jsonl", lambda rows: b"\xef\xbb\xbf" + jsonl_bytes(rows)),
    ],
)
def test_json_family(tmp_path, name, encode):
    path = tmp_path / name
    path.write_bytes(encode(ROWS))
    rows, recs = records(path)
    assert rows == [0, 1, 2]
    assert recs == ROWS


def test_parquet_csv_and_arrow(tmp_path):
    table = pa.Table.from_pylist(ROWS)
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=2)
    with pa.ipc.new_stream(tmp_path / "data.arrow", table.schema) as writer:
        writer.write_table(table)
    (tmp_path / "data.csv").write_text(
        "prompt,chosen,rejected\n" + "".join(f'"{r["prompt"]}",{r["chosen"]},{r["rejected"]}\n' for r in ROWS)
    )
    for name in ("data.parquet", "data.arrow", "data.csv"):
        assert records(tmp_path / name)[1] == ROWS, name


def test_large_parquet_is_read_one_row_group_at_a_time(tmp_path):
    """Reading must not hold the file: 40 row groups of ~1.5 kB rows stay under a few row groups in memory."""
    rows = 40_000
    text = [f"{i:06d} " + "x" * 1500 for i in range(rows)]
    pq.write_table(
        pa.table({"prompt": text, "chosen": text, "rejected": text}),
        tmp_path / "big.parquet",
        row_group_size=1000,
        compression="none",
    )
    file_bytes, peak, seen = 3 * rows * 1507, 0, 0
    for batch in read_batches(resolve_sources([str(tmp_path / "big.parquet")]), batch_size=1000):
        peak = max(peak, pa.total_allocated_bytes())
        seen += len(batch.records)
    assert seen == rows
    assert peak < file_bytes / 8


def test_csv_delimiter_is_the_one_the_header_uses(tmp_path):
    """Excel in many locales writes semicolons (and a byte order mark); a lone column still reads."""
    (tmp_path / "excel.csv").write_bytes('\ufeffprompt;chosen;rejected\r\n"Hi; there";Hello, you;Go\r\n'.encode())
    assert records(tmp_path / "excel.csv")[1] == [{"prompt": "Hi; there", "chosen": "Hello, you", "rejected": "Go"}]


def test_a_csv_row_whose_cells_do_not_match_the_header_is_unreadable(tmp_path):
    (tmp_path / "ragged.csv").write_text('prompt,chosen,rejected\nHi,Hello,Go,extra\n\nA,B\n"x\ny",z,w\n')
    rows, found = records(tmp_path / "ragged.csv", batch_size=10)
    assert rows == [0, 1, 2]
    assert [(r.reason, r.text) for r in found[:2]] == [
        ("line 2 has 4 cells where the header has 3", "Hi,Hello,Go,extra"),
        ("line 4 has 2 cells where the header has 3", "A,B"),
    ]
    assert found[2] == {"prompt": "x\ny", "chosen": "z", "rejected": "w"}  # a quoted cell spans lines


@pytest.mark.parametrize(
    ("name", "text", "lines"),
    [
        ("blank.jsonl", '\n{"a": 1}\n\n  \n{"a": 2}\nnot json\n', [2, 5, 6]),  # blank lines are no records
        ("bom.jsonl", '\ufeff{"a": 1}\n{"a": 2}', [1, 2]),
        ("pretty.json", json.dumps([{"a": 1}, {"a": 2, "b": [1, 2]}, 3], indent=2), [2, 5, 12]),
        ("held.json", json.dumps({"meta": {"x": "y"}, "rows": [{"a": 1}, {"a": 2}]}, indent=1), [6, 9]),
        ("one.json", '\n\n{"a": 1}', [3]),
        ("lines.json", '{"a": 1}\n\n{"a": 2}\n', [1, 3]),
        ("quoted.csv", 'a,b\n"x\ny",1\n\nz,2,3\n"p","q"\n', [2, 5, 6]),  # a record starts where its first cell does
    ],
)
def test_record_lines_are_where_each_record_read_starts(tmp_path, name, text, lines):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert list(record_lines(str(path))) == lines
    assert len(records(path, batch_size=10)[0]) == len(lines)  # one line per record read, unreadable ones too


def test_record_lines_of_what_has_no_lines_is_none(tmp_path):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "data.parquet")
    (tmp_path / "data.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes(ROWS)))
    (tmp_path / "broken.json").write_text('[{"a": 1}, {"a": ')
    for name in ("data.parquet", "data.jsonl.gz", "broken.json", "missing.jsonl"):
        assert record_lines(str(tmp_path / name)) is None, name
    assert record_lines(str(tmp_path)) is None  # a directory: a dataset


def test_record_files_of_what_has_no_file_to_point_at_is_none(tmp_path):
    """Annotations then name the input as given: a saved dataset, a directory of compressed shards, a split the
    directory does not have, a name that is no split of a directory."""
    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    (tmp_path / "gz").mkdir()
    (tmp_path / "gz" / "train.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes(ROWS)))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "train.jsonl").write_bytes(jsonl_bytes(ROWS))
    assert [file.records for file in record_files(f"{tmp_path / 'plain'} [train]")] == [len(ROWS)]
    for name in ("saved", "saved [train]", "gz [train]", "plain [test]", "plain", "missing [train]"):
        assert record_files(str(tmp_path / name)) is None, name


def test_csv_keeps_numbers_as_text(tmp_path):
    (tmp_path / "data.csv").write_text("prompt,chosen,rejected\n42,4,5\n")
    assert records(tmp_path / "data.csv")[1] == [{"prompt": "42", "chosen": "4", "rejected": "5"}]


def test_several_files_and_globs_number_rows_in_the_order_given(tmp_path):
    (tmp_path / "b.jsonl").write_bytes(jsonl_bytes(ROWS[:1]))
    (tmp_path / "a.jsonl").write_bytes(jsonl_bytes(ROWS[1:]))
    rows, recs = records(tmp_path / "b.jsonl", tmp_path / "a.jsonl")
    assert rows == [0, 1, 2] and recs == ROWS
    rows, recs = records(tmp_path / "*.jsonl")  # a glob expands in sorted order
    assert recs == ROWS[1:] + ROWS[:1]


def test_unreadable_lines_keep_their_place(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(jsonl_bytes(ROWS[:1]) + b"not json\n\n[1, 2]\n" + jsonl_bytes(ROWS[1:2]))
    rows, recs = records(path)
    assert rows == [0, 1, 2, 3]  # the blank line is not a record
    assert recs[0] == ROWS[0] and recs[3] == ROWS[1]
    assert recs[1] == Unreadable("line 2 is not valid JSON (Expecting value at column 1)", "not json")
    assert recs[2] == Unreadable("line 4 holds a JSON array, not an object", "[1, 2]")  # kept for the rejects


def test_text_that_is_not_unicode_is_unreadable_in_its_place(tmp_path):
    """Half of a surrogate pair in JSON, bytes that are not UTF-8 in a Parquet text column: the row is reported,
    the rows around it are read."""
    cut, whole = (
        '{"prompt": "a", "chosen": "cut \\ud83d", "rejected": "b"}',
        '{"prompt": "a", "chosen": "\\ud83d\\ude00"}',
    )
    (tmp_path / "data.json").write_text(f"[{cut}, {whole}]")
    recs = records(tmp_path / "data.json")[1]
    assert recs[0] == Unreadable(
        "item 0 holds \\ud83d without the other half of its UTF-16 pair (a character cut in two): not valid Unicode",
        cut,
    )
    assert recs[1] == {"prompt": "a", "chosen": "\U0001f600"}

    chosen = pa.array([b"Paris.", b"caf\xe9", b"4"], type=pa.binary()).view(pa.string())  # Latin-1, unchecked
    pq.write_table(
        pa.table({"prompt": ["q1", "q2", "q3"], "chosen": chosen, "rejected": ["x", "y", "z"]}),
        tmp_path / "data.parquet",
    )
    recs = records(tmp_path / "data.parquet", batch_size=3)[1]
    assert recs[0] == {"prompt": "q1", "chosen": "Paris.", "rejected": "x"}
    assert recs[1] == Unreadable(
        "column 'chosen' is not valid UTF-8 (byte 0xe9 at offset 3)",
        '{"prompt": "q2", "chosen": "caf\\\\xe9", "rejected": "y"}',
    )
    assert recs[2] == {"prompt": "q3", "chosen": "4", "rejected": "z"}


def test_json_beyond_the_decoders_limits_is_unreadable_in_its_place(tmp_path):
    """Valid JSON that Python's decoder refuses (nesting thousands deep, a number of 5,000 digits) is reported."""
    deep = '{"prompt": "a", "chosen": ' + "[" * 100_000 + "]" * 100_000 + ', "rejected": "c"}'
    long_number = '{"prompt": "a", "chosen": "b", "rejected": "c", "score_chosen": 1' + "0" * 5000 + "}"
    path = tmp_path / "data.jsonl"
    path.write_bytes(jsonl_bytes(ROWS[:1]) + f"{deep}\n{long_number}\n".encode() + jsonl_bytes(ROWS[1:2]))
    recs = records(path)[1]
    assert recs[0] == ROWS[0] and recs[3] == ROWS[1]
    assert recs[1] == Unreadable("line 2 is JSON beyond what can be read (arrays or objects nested too deeply)", deep)
    assert recs[2].reason == "line 3 is JSON beyond what can be read (a number of more than 4,300 digits)"
    (tmp_path / "deep.json").write_text(f"[{deep}]")
    with pytest.raises(InputError, match="'.*deep.json' is JSON beyond what can be read .arrays or objects nested"):
        records(tmp_path / "deep.json")


def test_csv_cells_longer_than_the_csv_modules_default_limit(tmp_path):
    answer = "word " * 40_000  # 200,000 characters: Python's csv module stops at 131,072 unless told otherwise
    (tmp_path / "data.csv").write_text(f'prompt,chosen,rejected\nhi,"{answer}",no\n')
    assert records(tmp_path / "data.csv")[1] == [{"prompt": "hi", "chosen": answer, "rejected": "no"}]


@pytest.mark.parametrize("name", ["data.jsonl", "data.parquet", "data.jsonl.gz"])
def test_a_git_lfs_pointer_is_a_clear_error_not_broken_records(tmp_path, name):
    """A dataset repository cloned without `git lfs pull` holds pointers where the data should be."""
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "4d7a" * 16 + "\nsize 12345\n"
    (tmp_path / name).write_text(pointer)
    with pytest.raises(
        InputError, match=f"'.*{name}' is a Git LFS pointer, not the data: fetch the data with `git lfs pull`"
    ):
        records(tmp_path / name)


def test_gzipped_parquet_is_a_clear_error(tmp_path):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "data.parquet")
    (tmp_path / "data.parquet.gz").write_bytes(gzip.compress((tmp_path / "data.parquet").read_bytes()))
    with pytest.raises(InputError, match="'.*data.parquet.gz' is Parquet compressed as a whole, which is not read"):
        records(tmp_path / "data.parquet.gz")


@pytest.mark.parametrize("suffix", [".gz", ".zst", ".xz", ".bz2"])
def test_damaged_compressed_data_is_a_clear_error(tmp_path, suffix):
    """A download cut short or a file misnamed: each decompressor's complaint, as one line, not a traceback."""
    (tmp_path / f"data.jsonl{suffix}").write_bytes(b"not compressed at all\n")
    with pytest.raises(InputError, match=f"cannot read '.*data.jsonl{re.escape(suffix)}': ."):
        records(tmp_path / f"data.jsonl{suffix}")


def test_saved_dataset_directory_and_split(tmp_path):
    train, test = datasets.Dataset.from_list(ROWS[:2]), datasets.Dataset.from_list(ROWS[2:])
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(tmp_path / "saved")
    assert records(tmp_path / "saved")[1] == ROWS[:2]  # train by default
    assert records(tmp_path / "saved", split="test")[1] == ROWS[2:]
    with pytest.raises(InputError, match="has no split 'dev'"):
        records(tmp_path / "saved", split="dev")


def test_data_directory_goes_through_load_dataset_like_a_hub_repo(tmp_path):
    """A hub id and a local repository directory take the same `datasets.load_dataset` path."""
    repo = tmp_path / "org-dataset"
    (repo / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS[:2]), repo / "data" / "train_prefs-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS[2:]), repo / "data" / "test_prefs-00000-of-00001.parquet")
    sources = resolve_sources([str(repo)])
    assert sources[0].kind == "hub"
    assert records(repo, split="test_prefs")[1] == ROWS[2:]
    with pytest.raises(InputError, match="several splits"):
        records(repo)


def test_a_split_whose_files_datasets_cannot_cast_is_a_clear_error(tmp_path):
    """datasets takes one set of columns for every split and raises while streaming a split that differs."""
    repo = tmp_path / "org-dataset"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "train.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    (repo / "data" / "test.jsonl").write_text(json.dumps({"question": "a", "score": 1}) + "\n")
    with pytest.raises(
        InputError, match=r"cannot read dataset '.*org-dataset': Couldn't cast .* because column names don't match"
    ):
        records(repo, split="test")


def test_hub_id_offline_is_a_clear_error():
    sources = resolve_sources(["some-org/some-preference-dataset"])
    assert sources[0].kind == "hub"
    with pytest.raises(InputError, match="cannot load dataset 'some-org/some-preference-dataset'"):
        list(read_batches(sources, batch_size=10))


def test_glob_without_matches_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="no files match"):
        resolve_sources([str(tmp_path / "*.parquet")])
    with pytest.raises(InputError, match="no such file"):
        resolve_sources([str(tmp_path / "x.jsonl")])


def test_a_dataset_names_the_split_read_and_dot_is_the_current_repository(tmp_path, monkeypatch):
    """`preflint scan .` in a dataset repository: the split read is named, so a user sees test was not scanned."""
    repo = tmp_path / "org-dataset"
    (repo / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS[:2]), repo / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS[2:]), repo / "data" / "test-00000-of-00001.parquet")
    monkeypatch.chdir(repo)

    def names(spec, **kwargs):
        return {batch.source for batch in read_batches(resolve_sources([spec]), batch_size=10, **kwargs)}

    assert names(".") == {". [train]"} and names(".", split="test") == {". [test]"}
    datasets.DatasetDict({"dev": datasets.Dataset.from_list(ROWS)}).save_to_disk(tmp_path / "saved")
    assert names(str(tmp_path / "saved")) == {f"{tmp_path / 'saved'} [dev]"}
