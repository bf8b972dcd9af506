"""Dataset-level rules stream: their findings do not depend on batch size, and 'first' means first in input order."""

import json

import pytest

from preflint.cli import main
from preflint.config import Settings
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan

from .conftest import data_file

POEM = (
    "Write a short poem about the sea at night in the style of John Keats. It should have four stanzas, mention the "
    "moon and the lighthouse, and end on a hopeful note, with rhymes."
)


def mixed_rows():
    """Real LLaMA-Factory rows (with their 5 duplicates) plus every kind of dataset-level defect."""
    rows = []
    for record in json.loads(data_file("llamafactory-dpo-en-demo.json").read_text(encoding="utf-8"))[:120]:
        prompt = "\n".join(turn["value"] for turn in record["conversations"])
        rows.append({"prompt": prompt, "chosen": record["chosen"]["value"], "rejected": record["rejected"]["value"]})
    rows += [
        dict(rows[3]),  # D001
        {**rows[5], "prompt": rows[5]["prompt"].upper()},  # D002
        {**rows[7], "chosen": rows[7]["rejected"], "rejected": rows[7]["chosen"]},  # D003
        {"prompt": POEM, "chosen": "a", "rejected": "b"},
        {"prompt": POEM.replace("with rhymes", "without rhymes"), "chosen": "a", "rejected": "b"},  # D004
        {"prompt": "Best fruit?", "chosen": "Apple.", "rejected": "Banana."},
        {"prompt": "Best fruit?", "chosen": "Banana.", "rejected": "Cherry."},
        {"prompt": "Best fruit?", "chosen": "Cherry.", "rejected": "Apple."},  # L003
    ]
    return rows


def test_findings_do_not_depend_on_batch_size(write_jsonl, llama):
    data = str(write_jsonl(mixed_rows()))
    results = []
    for batch_size in (1, 7, 64, 1000):
        result = scan([data], RunPlan.build(Settings(select=("D", "L"), batch_size=batch_size), llama))
        results.append([finding.to_dict() for finding in result.findings])
    assert all(found == results[0] for found in results[1:])
    codes = {finding["code"] for finding in results[0]}
    assert codes == {"D001", "D002", "D003", "D004", "L003"}


def test_first_occurrence_follows_the_order_of_the_inputs(tmp_path, llama):
    row = {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}
    (tmp_path / "a.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"prompt": "2+2?", "chosen": "4", "rejected": "5"}) + "\n" + json.dumps(row) + "\n"
    )
    forward = scan(
        [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], RunPlan.build(Settings(select=("D001",)), llama)
    )
    backward = scan(
        [str(tmp_path / "b.jsonl"), str(tmp_path / "a.jsonl")], RunPlan.build(Settings(select=("D001",)), llama)
    )
    assert [(f.row, f.message) for f in forward.findings] == [(2, "duplicate of row 0")]
    assert [(f.row, f.message) for f in backward.findings] == [(2, "duplicate of row 1")]


@pytest.mark.parametrize(
    ("name", "rows"), [("llamafactory-dpo-en-demo.json", 5), ("llamafactory-dpo-zh-demo.json", 11)]
)
def test_llamafactory_demo_duplicates(name, rows, llama):
    result = scan([str(data_file(name))], RunPlan.build(Settings(select=("D001",)), llama))
    assert len(result.findings) == rows


def test_against_reports_train_test_leakage(tmp_path, capsys, write_jsonl):
    train = write_jsonl(
        [
            {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."},
            {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
        ],
        name="train.jsonl",
    )
    test = write_jsonl([{"prompt": "2+2?", "chosen": "four", "rejected": "22"}], name="test.jsonl")
    assert main(["scan", str(train), "--against", str(test), "--select", "D005", "--format", "jsonl"]) == 1
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(f["row"], f["message"]) for f in findings] == [(1, f"the prompt is also in {test}")]
    assert main(["scan", str(train), "--against", str(tmp_path / "missing.jsonl"), "--select", "D005"]) == 2
    assert "no such file" in capsys.readouterr().err
    answers = write_jsonl([{"answer": "4"}], name="answers.jsonl")
    assert main(["scan", str(train), "--against", str(answers), "--select", "D005"]) == 2
    assert (
        f"'{answers}': no prompt column to compare with (columns: answer; looked for prompt, question"
        in capsys.readouterr().err
    )


def test_against_finds_an_evaluation_question_asked_inside_real_multi_turn_dialogues(llama, write_jsonl):
    """HH-RLHF dialogues hold several human turns; an evaluation set made of some of their questions (8 words or
    more, without the dialogue around them) must be found in every dialogue that asks one, and only there."""
    rows = [
        json.loads(line) for line in data_file("hh-rlhf-harmless-test.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    turns = [row["chosen"].split("\n\nHuman: ")[1:] for row in rows]
    asked = sorted(
        {
            turn.split("\n\nAssistant:")[0]
            for row_turns in turns
            if len(row_turns) > 2
            for turn in row_turns[1:2]
            if len(turn.split("\n\nAssistant:")[0].split()) >= 8
        }
    )[:25]
    assert len(asked) == 25
    test = write_jsonl([{"question": question} for question in asked], name="eval.jsonl")
    settings = Settings(select=("D005",), rules={"D005": {"against": [str(test)]}})
    result = scan([str(data_file("hh-rlhf-harmless-test.jsonl"))], RunPlan.build(settings, llama))
    found = {f.row for f in result.findings}
    asking = {
        row
        for row, row_turns in enumerate(turns)
        if any(turn.split("\n\nAssistant:")[0] in asked for turn in row_turns)
    }
    assert found == asking and len(asking) > 25  # some dialogues ask the same question
    assert all("contains the whole of a prompt in" in f.message for f in result.findings)


def test_against_a_dataset_of_several_splits_reads_its_held_out_splits_or_the_one_named(tmp_path, capsys, write_jsonl):
    """`--against org/evals` means its test sets, not its train split; `org/evals[SPLIT]` names one."""
    import datasets

    splits = {"train_prefs": "Capital of Italy?", "test_prefs": "Capital of France?", "validation": "2+2?"}
    evals = tmp_path / "evals"
    datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list([{"prompt": prompt, "chosen": "a", "rejected": "b"}])
            for split, prompt in splits.items()
        }
    ).save_to_disk(evals)
    train = write_jsonl(
        [{"prompt": prompt, "chosen": "x", "rejected": "y"} for prompt in splits.values()], name="train.jsonl"
    )

    def found(against):
        code = main(["scan", str(train), f"--against={against}", "--select", "D005", "--format", "jsonl"])
        out, err = capsys.readouterr()
        assert code in (0, 1), err
        return [(f["row"], f["message"].rsplit(" in ", 1)[1]) for f in map(json.loads, out.splitlines())]

    assert found(str(evals)) == [(1, f"{evals} [test_prefs]"), (2, f"{evals} [validation]")]
    assert found(f"{evals}[train_prefs]") == [(0, f"{evals} [train_prefs]")]
    only_train = tmp_path / "only-train"
    datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list([{"prompt": "Hi", "chosen": "a", "rejected": "b"}])
            for split in ("train_a", "train_b")
        }
    ).save_to_disk(only_train)
    assert main(["scan", str(train), "--against", str(only_train), "--select", "D005"]) == 2
    assert (
        f"none held out (test, validation, ...); name the one to compare with: --against '{only_train}[SPLIT]'"
        in capsys.readouterr().err
    )
