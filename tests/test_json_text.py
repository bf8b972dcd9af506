"""A JSON array read item by item gives what `json.loads` gives, wherever the chunks end, and fails where it fails."""

import io
import json
import tracemalloc

import pytest

from preflint.errors import InputError
from preflint.io import json_text
from preflint.io.json_text import JsonText
from preflint.io.read import read_batches
from preflint.io.sources import resolve_sources

DOCUMENTS = [
    "[]",
    " [ ] ",
    '[1, 22, 333, -5.5e10, 7E+2, true, false, null, "x"]',  # numbers that a chunk's end could cut
    '[\n  {"prompt": "é😀 \\u00e9 \\ud83d\\ude00 \\"]}", "n": 12345678901234567890},\n  {"x": [1, [2, [3]]]}\n]\n',
]
BROKEN = ["[", "[1,]", '[{"a": 1} {"b": 2}]', "[1, 2", '[\n {"a": 1},\n {"a": tru}\n]', "[1] x", '["\\x"]']


def read_all(data: bytes) -> list:
    text = JsonText(io.BytesIO(data), "data.json")
    values = [value for value, _ in text.items()]
    if text.peek() is not None:
        text.fail("Extra data", text.pos)
    return values


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_items_are_what_json_loads_gives_wherever_chunks_end(monkeypatch, chunk):
    monkeypatch.setattr(json_text, "CHUNK", chunk)
    for document in DOCUMENTS:
        assert read_all(document.encode()) == json.loads(document)
        assert read_all(b"\xef\xbb\xbf" + document.encode()) == json.loads(document)  # a byte order mark
    for document in BROKEN:
        with pytest.raises(json.JSONDecodeError) as expected:
            json.loads(document)
        error = expected.value
        with pytest.raises(InputError, match=f"at line {error.lineno}, column {error.colno}\\)$") as got:
            read_all(document.encode())
        assert f"'data.json' is not valid JSON ({error.msg} " in str(got.value)
    data = '[{"a": "é"}, {"b": "'.encode() + b"caf\xe9" + b'"}]'  # Latin-1 é at byte 24
    with pytest.raises(InputError, match=r"'data.json' is not valid UTF-8 \(byte 0xe9 at offset 24\)"):
        read_all(data)


def test_an_empty_file_and_extra_data_through_the_reader(tmp_path):
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(InputError, match=r"'.*empty.json' is not valid JSON \(Expecting value at line 1, column 1\)"):
        list(read_batches(resolve_sources([str(tmp_path / "empty.json")]), batch_size=10))
    (tmp_path / "extra.json").write_text('[{"a": 1}]\n[{"b": 2}]\n')
    with pytest.raises(InputError, match=r"'.*extra.json' is not valid JSON \(Extra data at line 2, column 1\)"):
        list(read_batches(resolve_sources([str(tmp_path / "extra.json")]), batch_size=10))


def read_file(path) -> list:
    return [record for batch in read_batches(resolve_sources([str(path)]), batch_size=2) for record in batch.records]


WRAPPED = [
    ('{"meta": {"n": [1, 2]}, "data": [{"a": 1}, {"b": [2, {"c": 3}]}], "count": 2}', [{"a": 1}, {"b": [2, {"c": 3}]}]),
    ('{\n  "data": 1,\n  "data": [{"a": "\\u00e9"}]\n}\n', [{"a": "é"}]),  # of a repeated key, the last counts
    ('{"rows": []}', []),
]
WRAPPED_BROKEN = ['{"data": [{"a": 1}, {"b": 2}}', '{"data": [] "x": 1}', "{1: 2}", '{"a" 1}', "{", '{"data": [],}']


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_an_object_holding_the_array_is_read_as_json_loads_reads_it(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(json_text, "CHUNK", chunk)
    path = tmp_path / "data.json"
    for document, expected in WRAPPED:
        path.write_text(document)
        assert read_file(path) == expected
    for document in WRAPPED_BROKEN:
        path.write_text(document)
        with pytest.raises(json.JSONDecodeError) as expected:
            json.loads(document)
        error = expected.value
        message = f"is not valid JSON \\({error.msg} at line {error.lineno}, column {error.colno}\\)$"
        with pytest.raises(InputError, match=message):
            read_file(path)
    for document in ['{"train": [{"a": 1}], "test": [{"a": 2}]}', '{"data": [{"a": 1}], "data": 5}', '{"n": 1}']:
        path.write_text(document)  # no one array of rows: the object is one record, as `datasets` reads it
        assert read_file(path) == [json.loads(document)]


def test_json_lines_whose_records_hold_arrays_are_still_json_lines(tmp_path):
    """A first record holding one array (chat messages) is a record of JSON Lines, not an object holding rows."""
    rows = [{"chosen": [{"role": "user", "content": "hi"}], "rejected": "x"}, {"chosen": [], "rejected": "y"}]
    path = tmp_path / "lines.json"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert read_file(path) == rows


@pytest.mark.parametrize(
    "wrap", [lambda rows: rows, lambda rows: {"version": 1, "data": rows}], ids=["array", "in an object"]
)
def test_a_json_array_is_read_without_holding_the_file(tmp_path, wrap):
    """A .json array (LLaMA-Factory's format), or one an object holds, is read a batch at a time, as JSON Lines are."""
    rows = [{"prompt": f"{i:06d} " + "x" * 1500, "chosen": "a" * 500, "rejected": "b" * 500} for i in range(20_000)]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(wrap(rows)))
    tracemalloc.start()
    try:
        seen = 0
        for batch in read_batches(resolve_sources([str(path)]), batch_size=1000):
            assert batch.records == rows[seen : seen + len(batch.records)]
            seen += len(batch.records)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == len(rows)
    assert peak < path.stat().st_size / 4
