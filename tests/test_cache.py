"""A second scan of unchanged data is answered from the cache; any change that could change a finding is a miss."""

import gzip
import json

import pytest

from preflint.config import Settings
from preflint.pipeline.cache import scan_key, tokenizer_identity
from preflint.pipeline.plan import RunPlan

from .test_cli import run

ROWS = [
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},
    {"prompt": "2+2?", "chosen": "4", "rejected": " 4"},
    {"prompt": "Name a color.", "chosen": "Blue.", "rejected": "The sky is blue, usually."},
]


@pytest.fixture
def scan_json(capsys, tmp_path):
    def scan(path, *extra):
        code, out, _ = run(
            capsys, "scan", str(path), "--format", "json", "--cache-dir", str(tmp_path / "cache"), *extra
        )
        return code, json.loads(out)

    return scan


def test_second_scan_is_the_first_from_the_cache(scan_json, write_jsonl, tmp_path):
    data = write_jsonl(ROWS)
    code, first = scan_json(data)
    again_code, again = scan_json(data)
    assert (code, again_code) == (1, 1)
    assert "cached" not in first["summary"] and again["summary"].pop("cached") is True
    assert again == first
    entries = list((tmp_path / "cache" / "scans").glob("*.json.gz"))
    assert len(entries) == 1
    assert json.loads(gzip.decompress(entries[0].read_bytes()))["findings"] == first["findings"]  # JSON, no pickle


def test_changed_data_or_options_are_scanned_again(scan_json, write_jsonl):
    data = write_jsonl(ROWS)
    _, first = scan_json(data)
    _, selected = scan_json(data, "--select", "P001")
    assert "cached" not in selected["summary"] and {f["code"] for f in selected["findings"]} == {"P001"}
    write_jsonl(ROWS[:1])  # same file name, new content
    _, changed = scan_json(data)
    assert "cached" not in changed["summary"] and changed["summary"]["rows"] == 1
    _, uncached = scan_json(data, "--no-cache")
    assert "cached" not in uncached["summary"]
    assert first["summary"]["rows"] == 3


def test_an_edited_chat_template_is_scanned_again(scan_json, write_jsonl, tmp_path):
    data = write_jsonl(
        [
            {
                "prompt": [{"role": "user", "content": "Q?"}],
                "chosen": [{"role": "assistant", "content": "A."}],
                "rejected": [{"role": "assistant", "content": "B."}],
            }
        ]
    )
    template = tmp_path / "t.jinja"
    template.write_text("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}")
    assert scan_json(data, "--chat-template", str(template))[1]["summary"]["findings"] == 0
    assert scan_json(data, "--chat-template", str(template))[1]["summary"]["cached"] is True
    template.write_text(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}"
    )  # no end of turn: M005
    _, edited = scan_json(data, "--chat-template", str(template))
    assert "cached" not in edited["summary"] and edited["summary"]["findings"] > 0


def test_a_damaged_cache_entry_is_a_miss(scan_json, write_jsonl, tmp_path):
    data = write_jsonl(ROWS)
    _, first = scan_json(data)
    for entry in (tmp_path / "cache" / "scans").glob("*.json.gz"):
        entry.write_bytes(b"not gzip")
    code, again = scan_json(data)
    assert code == 1 and "cached" not in again["summary"] and again["findings"] == first["findings"]
    _, third = scan_json(data)
    assert third["summary"]["cached"] is True  # rewritten by the scan that missed


def test_key_follows_tokenizer_files_and_references(tmp_path, write_jsonl):
    data = str(write_jsonl(ROWS))
    tokenizer = tmp_path / "tok"
    tokenizer.mkdir()
    (tokenizer / "tokenizer.json").write_text("{}")
    (tokenizer / "model.safetensors").write_bytes(b"weights are not the tokenizer")
    before = tokenizer_identity(str(tokenizer))
    (tokenizer / "model.safetensors").write_bytes(b"other weights")
    assert tokenizer_identity(str(tokenizer)) == before
    (tokenizer / "tokenizer.json").write_text('{"changed": true}')
    assert tokenizer_identity(str(tokenizer)) != before
    assert tokenizer_identity("some-org/not-in-the-local-cache") is None  # unknowable offline: not cached

    reference = write_jsonl(ROWS[:1], name="test.jsonl")
    with_reference = Settings().with_rule_options("reference-overlap", against=[str(reference)])
    key = scan_key([data], RunPlan.build(with_reference))
    write_jsonl(ROWS[1:2], name="test.jsonl")
    assert scan_key([data], RunPlan.build(with_reference)) != key
    assert scan_key([data], RunPlan.build(Settings(jobs=1, batch_size=7))) == scan_key(
        [data], RunPlan.build(Settings())
    )
    assert scan_key(["org/hub-dataset"], RunPlan.build(Settings())) is None
