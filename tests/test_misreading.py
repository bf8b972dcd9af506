"""Nothing lost to misreading (issue 30): files no one here wrote are read as their authors meant them, or refused
with a message that says what to do; a row the reader did not understand is never "fixed" away."""

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from preflint.cli import main
from tests.conftest import data_file, read_jsonl

EN = json.loads(data_file("llamafactory-dpo-en-demo.json").read_text(encoding="utf-8"))
HH = [json.loads(line) for line in data_file("hh-rlhf-harmless-test.jsonl").read_text(encoding="utf-8").splitlines()]
READING = ("S001", "S002", "S003", "S004", "P004", "M007")  # what a misread row shows as


def run(capsys, *argv):
    code = main([*map(str, argv), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def codes(out: str) -> set[str]:
    return {finding["code"] for finding in json.loads(out)["findings"]}


def _v1(record: dict, reply: dict) -> list[dict]:
    """A LLaMA-Factory conversation as LLaMA-Factory v1 writes it: content as typed parts with `value`."""
    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    turns = [*record["conversations"], reply]
    return [
        {"role": roles[turn["from"]], "content": [{"type": "text", "value": turn["value"]}], "loss_weight": 1.0}
        for turn in turns
    ]


def test_llamafactory_v1_pairs_are_read_as_the_dialogues_they_are(tmp_path, capsys):
    rows = [{"chosen_messages": _v1(r, r["chosen"]), "rejected_messages": _v1(r, r["rejected"])} for r in EN[:10]]
    code, out, _ = run(capsys, "scan", write(tmp_path / "v1.jsonl", rows), "--format", "json", "--no-cache")
    summary = json.loads(out)["summary"]
    assert summary["rows"] == 10 and summary["usable_rows"] == 10 and not codes(out) & set(READING)
    assert summary["sources"][0]["columns"] == "chosen=chosen_messages, rejected=rejected_messages"
    assert summary["mean_tokens"]["chosen"] > 100  # the replies' text, not empty


def test_a_content_part_preflint_cannot_read_is_a_defect_not_an_empty_reply(tmp_path, capsys):
    reply = {"role": "assistant", "content": [{"type": "hologram", "value": "Paris."}]}
    image = {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What city is this?"}]}
    rows = [
        {"prompt": [image], "chosen": [reply], "rejected": [{"role": "assistant", "content": "Rome."}]},
        {
            "prompt": [image],
            "chosen": [{"role": "assistant", "content": [{"type": "text", "text": "Paris."}]}],
            "rejected": [{"role": "assistant", "content": "Rome."}],
        },
    ]
    code, out, _ = run(capsys, "scan", write(tmp_path / "parts.jsonl", rows), "--format", "json", "--no-cache")
    findings = json.loads(out)["findings"]
    assert [(f["code"], f["row"]) for f in findings if f["code"] in READING] == [("S003", 0)]
    assert "chosen[0] content part 0 is of type 'hologram'" in findings[0]["message"]


def test_a_file_whose_rows_change_shape_is_read_row_by_row(tmp_path, capsys):
    data = write(tmp_path / "mixed.jsonl", [*HH[:31], {"prompt": "2+2?", "chosen": " 4", "rejected": " 5"}])
    code, out, _ = run(capsys, "scan", data, "--format", "json", "--no-cache")
    summary = json.loads(out)["summary"]
    assert not codes(out) & set(READING) and summary["usable_rows"] == 32
    assert summary["kinds"] == {"implicit": 31, "text": 1}
    run(capsys, "fix", data, "--out", tmp_path / "out.jsonl")
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 32


def test_a_row_without_a_field_its_file_has_is_still_that_defect(tmp_path, capsys):
    """Read by its own columns only where they make it a whole dialogue: a lone missing prompt is S002."""
    data = write(
        tmp_path / "s002.jsonl",
        [{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go."}, {"chosen": "Hello!", "rejected": "Go."}],
    )
    code, out, _ = run(capsys, "scan", data, "--format", "json", "--no-cache", "--select", "S002")
    assert [(f["code"], f["row"]) for f in json.loads(out)["findings"]] == [("S002", 1)]


def test_old_pairwise_alpaca_files_with_history_are_read(tmp_path, capsys):
    rows = []
    for record in EN[:20]:
        turns = [turn["value"] for turn in record["conversations"]]
        earlier = [[turns[i], turns[i + 1]] for i in range(0, len(turns) - 2, 2)]
        rows.append(
            {
                "instruction": turns[-1],
                "input": "",
                "output": [record["chosen"]["value"], record["rejected"]["value"]],
                "history": earlier,
            }
        )
    path = tmp_path / "comparison.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    code, out, _ = run(capsys, "scan", path, "--format", "json", "--no-cache")
    summary = json.loads(out)["summary"]
    assert summary["usable_rows"] == 20 and not codes(out) & set(READING)
    assert "chosen=output[0], rejected=output[1], history=history" in summary["sources"][0]["columns"]
    assert summary["kinds"] == {"conversational": 20}
    # and --map may name an item of a list column, for files of other spellings
    renamed = [{"q": row["instruction"], "answers": row["output"]} for row in rows]
    code, out, _ = run(
        capsys,
        "scan",
        write(tmp_path / "renamed.jsonl", renamed),
        "--map",
        "prompt=q,chosen=answers[0],rejected=answers[1]",
        "--format",
        "json",
        "--no-cache",
    )
    assert json.loads(out)["summary"]["usable_rows"] == 20


def test_a_misread_input_is_said_first_and_fix_writes_nothing(tmp_path, capsys):
    data = write(tmp_path / "pairs.jsonl", [{"question": f"Q{n}?", "good": "A.", "bad": "B."} for n in range(20)])
    code, out, _ = run(capsys, "scan", data, "--map", "prompt=question,chosen=good,rejected=nonexistent")
    assert code == 2  # a column that is not there at all: an error before reading
    rows = [{"prompt": f"Q{n}?", "chosen": "A.", "rejected": None} for n in range(18)]
    rows += [{"prompt": "Q?", "chosen": "A.", "rejected": "B."}] * 2
    data = write(tmp_path / "nulls.jsonl", rows)
    code, out, _ = run(capsys, "scan", data, "--no-cache")
    assert out.startswith("warning: 18 of 20 rows of ") and "probably misread" in out
    code, _, err = run(capsys, "fix", data, "--out", tmp_path / "out.jsonl")
    assert code == 2 and "Nothing was written" in err and not (tmp_path / "out.jsonl").exists()
    (tmp_path / "preflint.toml").write_text("max-unusable = 1.0\n")  # the author's decision: drop them
    code, _, _ = run(capsys, "fix", data, "--out", tmp_path / "out.jsonl", "--config", tmp_path / "preflint.toml")
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 1  # the two identical rows: one kept (D001)


def test_baselined_dataset_findings_survive_inserted_and_moved_rows(tmp_path, capsys, monkeypatch):
    """D004's clusters (and the other findings about the dataset) are identified by content, not row numbers."""
    monkeypatch.chdir(tmp_path)
    rows = HH
    data = write(tmp_path / "hh.jsonl", rows)
    code, out, _ = run(capsys, "scan", data, "--format", "json")
    assert json.loads(out)["summary"]["findings_by_code"]["D004"] == 6  # six clusters, named by their rows
    assert run(capsys, "scan", data, "--write-baseline")[0] == 0
    code, out, _ = run(capsys, "scan", data, "--format", "json", "--baseline", ".preflint-baseline.json")
    assert code == 0 and json.loads(out)["summary"]["baseline"]["covered"] > 0
    write(data, [{"prompt": "New?", "chosen": " Yes.", "rejected": " No."}, *reversed(rows)])
    code, out, _ = run(capsys, "scan", data, "--format", "json", "--no-cache", "--baseline", ".preflint-baseline.json")
    result = json.loads(out)
    assert code == 0 and result["findings"] == [] and result["summary"]["baseline"]["stale"] == []


def test_the_fix_reports_rows_add_up(tmp_path, capsys):
    """Per rule: found = dropped + fixed + remaining + on rows dropped under another rule's code."""
    data = write(tmp_path / "hh.jsonl", HH)
    report = tmp_path / "report.json"
    argv = ["fix", data, "--trainer", "trl", "--max-length", "5", "--out", tmp_path / "out.jsonl", "--report", report]
    run(capsys, *argv, "--exit-zero")
    result = json.loads(report.read_text())
    accounting, before = result["accounting"], result["before"]["findings_by_code"]
    elsewhere = accounting["findings_on_rows_dropped_by_another_rule"]
    assert elsewhere.get("M008", 0) == before.get("M008", 0) > 0  # M008's rows were dropped as M002's
    for code, found in before.items():
        dropped = accounting["dropped_by_reason"].get(code, 0)
        fixed = accounting["rows_fixed_by_code"].get(code, 0)
        remaining = result["remaining"]["by_code"].get(code, 0)
        assert found == dropped + fixed + remaining + elsewhere.get(code, 0), code


SHAPES = [
    "text",
    "alpaca",
    "implicit text",
    "conversational",
    "implicit messages",
    "sharegpt",
    "v1",
    "openai",
    "pairwise alpaca",
    "parquet",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_rows_of_every_shape_read_are_never_taken_for_broken_ones(shape, tmp_path, capsys):
    """A property of the reader: rows generated in a shape preflint reads, from real texts (random ones, seeded),
    give no finding of a broken record (S001-S004), an empty reply (P004) or a role problem (M007)."""
    rng = random.Random(shape)
    texts = [turn["value"] for record in EN for turn in record["conversations"]] + [r["chosen"]["value"] for r in EN]
    rows = [_generate(shape, rng.choice(texts), rng.choice(texts), rng.choice(texts)) for _ in range(30)]
    path = tmp_path / ("data.parquet" if shape == "parquet" else "data.jsonl")
    if shape == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        write(path, rows)
    code, out, _ = run(capsys, "scan", path, "--format", "json", "--no-cache")
    assert not codes(out) & set(READING), [f for f in json.loads(out)["findings"] if f["code"] in READING][:3]
    assert json.loads(out)["summary"]["usable_rows"] == 30


def _generate(shape: str, prompt: str, chosen: str, rejected: str) -> dict:
    user = {"role": "user", "content": prompt}
    if shape in ("text", "parquet"):
        return {"prompt": prompt, "chosen": " " + chosen, "rejected": " " + rejected}
    if shape == "alpaca":
        return {"instruction": prompt, "input": "", "chosen": chosen, "rejected": rejected}
    if shape == "implicit text":
        head = f"\n\nHuman: {prompt}\n\nAssistant:"
        return {"chosen": f"{head} {chosen}", "rejected": f"{head} {rejected}"}
    if shape == "conversational":
        return {
            "prompt": [user],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
    if shape == "implicit messages":
        return {
            "chosen": [user, {"role": "assistant", "content": chosen}],
            "rejected": [user, {"role": "assistant", "content": rejected}],
        }
    if shape == "sharegpt":
        return {
            "conversations": [{"from": "human", "value": prompt}],
            "chosen": {"from": "gpt", "value": chosen},
            "rejected": {"from": "gpt", "value": rejected},
        }
    if shape == "v1":
        part = lambda text: [{"type": "text", "value": text}]  # noqa: E731
        first = {"role": "user", "content": part(prompt)}
        return {
            "chosen_messages": [first, {"role": "assistant", "content": part(chosen)}],
            "rejected_messages": [first, {"role": "assistant", "content": part(rejected)}],
        }
    if shape == "openai":
        return {
            "input": {"messages": [user]},
            "preferred_output": [{"role": "assistant", "content": chosen}],
            "non_preferred_output": [{"role": "assistant", "content": rejected}],
        }
    return {"instruction": prompt, "input": "", "output": [chosen, rejected], "history": []}
