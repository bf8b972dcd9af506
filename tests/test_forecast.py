"""The ln 2 forecast, end to end: long real replies at --trainer trl --max-length 512."""

import json

from preflint.cli import main
from preflint.forecast import LN2, NO_SIGNAL, describe

from .conftest import data_file


def long_reply_dataset(path):
    """Real LLaMA-Factory rows; half get a rejected reply that is the chosen one with a new last sentence (the
    two agree for hundreds of tokens, as regenerated endings do)."""
    rows = []
    for index, record in enumerate(json.loads(data_file("llamafactory-dpo-en-demo.json").read_text(encoding="utf-8"))):
        prompt = "\n".join(turn["value"] for turn in record["conversations"])
        chosen = record["chosen"]["value"]
        rejected = chosen.rsplit(".", 2)[0] + ". That is all I can say." if index % 2 else record["rejected"]["value"]
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_trl_at_512_reports_truncation_findings_and_the_forecast(tmp_path, capsys):
    data = long_reply_dataset(tmp_path / "long.jsonl")
    argv = ["scan", str(data), "--tokenizer", "llama", "--trainer", "trl", "--max-length", "512"]
    assert main(argv + ["--format", "json", "-o", str(tmp_path / "r.json")]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    by_code = report["summary"]["findings_by_code"]
    assert by_code["M002"] > 0 and by_code["M003"] > 0
    forecast = report["summary"]["forecast"]
    assert forecast["trainer"] == "trl" and forecast["options"] == {"max_length": 512, "truncation_mode": "keep_start"}
    assert forecast["by_code"]["M003"] == by_code["M003"]
    assert forecast["dropped"] == sum(1 for f in report["findings"] if f["code"] == "M002" and "drops" in f["message"])
    trained = forecast["pairs"] - forecast["dropped"]
    assert abs(forecast["loss_floor"] - LN2 * forecast["pinned_at_ln2"] / trained) < 1e-4
    named = {f["row"] for f in report["findings"] if f.get("no_signal")}  # the pairs it counts, row by row
    assert len(named) == forecast["no_signal"]
    assert named == {f["row"] for f in report["findings"] if f["code"] in ("M002", "M003", "P001")}

    capsys.readouterr()
    assert main(argv + ["--select", "M002,M003,P001"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("ln 2 forecast (trl, max_length 512"))
    assert f"{forecast['no_signal']} of 300 pairs" in line and "stay at ln 2 = 0.6931 for good" in line


def test_clean_data_forecasts_a_signal_for_every_pair(capsys, write_jsonl):
    data = write_jsonl([{"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}])
    assert main(["scan", str(data), "--trainer", "trl"]) == 0
    assert (
        "ln 2 forecast (trl, max_length 1024, truncation_mode keep_start): the one pair carries a signal"
        in capsys.readouterr().out
    )
    assert main(["scan", str(data), "--trainer", "openrlhf"]) == 0  # OpenRLHF has no truncation mode to name
    assert "ln 2 forecast (openrlhf, max_length 512): the one pair carries a signal" in capsys.readouterr().out


def test_options_a_trainer_does_not_have_are_errors(capsys, write_jsonl):
    data = str(write_jsonl([{"prompt": "Q", "chosen": "a", "rejected": "b"}]))
    assert main(["scan", data, "--trainer", "trl", "--max-prompt-length", "128"]) == 2
    assert (
        "trainer 'trl' has no max-prompt-length (its options: --max-length, --truncation-mode)"
        in capsys.readouterr().err
    )
    assert main(["scan", data, "--trainer", "verl"]) == 2
    assert "unknown trainer 'verl' (known: plain, trl, kto, openrlhf, llamafactory, axolotl)" in capsys.readouterr().err


def test_one_pair_is_spoken_of_in_the_singular():
    one = {
        "trainer": "plain",
        "options": {},
        "pairs": 2,
        "no_signal": 2,
        "share": 1.0,
        "pinned_at_ln2": 1,
        "dropped": 1,
        "failing": 0,
        "by_code": {"M002": 1, "P001": 1},
        "loss_floor": 0.6931,
    }
    assert describe(one).endswith(
        "give DPO no signal (M002 1, P001 1): 1 stays at ln 2 = 0.6931 for good, so the DPO loss averaged over the "
        "dataset cannot fall below 0.6931 (a single step's batch loss can); 1 is dropped by the trainer."
    )
    alone = {**one, "pairs": 1, "no_signal": 1, "dropped": 0, "by_code": {"P001": 1}}
    assert describe(alone).endswith(
        "the one pair gives DPO no signal (P001 1): 1 stays at ln 2 = 0.6931 for good, so the DPO loss averaged "
        "over the dataset cannot fall below 0.6931 (a single step's batch loss can)."
    )
    many = {**one, "pairs": 2312, "no_signal": 2288, "pinned_at_ln2": 2288, "dropped": 0, "by_code": {"M003": 2288}}
    assert "give DPO no signal (M003 2,288): 2,288 stay at ln 2" in describe(many)
    none = {**one, "pairs": 0, "no_signal": 0, "pinned_at_ln2": 0, "dropped": 0, "by_code": {}}
    assert describe(none) == "ln 2 forecast (plain): no usable pair to forecast."


def test_a_row_the_trainer_raises_on_is_told_apart_from_dropped_and_pinned_rows(write_jsonl, capsys):
    data = write_jsonl(
        [
            {
                "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
                "rejected": [{"role": "user", "content": "Hey"}, {"role": "assistant", "content": "Go away."}],
            },  # TRL raises
            {
                "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Same."}],
                "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Same."}],
            },  # P001: pinned
            {
                "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yes."}],
                "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "No."}],
            },
        ]
    )
    assert main(["scan", str(data), "--trainer", "trl", "--format", "json", "--no-cache"]) == 1
    forecast = json.loads(capsys.readouterr().out)["summary"]["forecast"]
    assert (forecast["no_signal"], forecast["pinned_at_ln2"], forecast["dropped"], forecast["failing"]) == (2, 1, 0, 1)
    assert forecast["loss_floor"] == round(0.6931471805599453 / 2, 4)  # one pinned of the two trained
    assert describe(forecast).endswith(
        "give DPO no signal (M002 1, P001 1): 1 stops the trainer's preprocessing with an error (training does not "
        "start until fixed or removed); 1 stays at ln 2 = 0.6931 for good, so the DPO loss averaged over the dataset "
        "cannot fall below 0.3466 (a single step's batch loss can)."
    )


def test_json_marks_the_findings_whose_pairs_the_forecast_counts(capsys, write_jsonl):
    """Two equal empty replies give no signal (P004 marked); two different ones, whitespace against nothing, do."""
    data = write_jsonl(
        [
            {"prompt": "Q", "chosen": "", "rejected": ""},
            {"prompt": "Q", "chosen": " ", "rejected": ""},
            {"prompt": "Q", "chosen": "Yes.", "rejected": "Yes."},
            {"prompt": "Q", "chosen": "Yes.", "rejected": "No."},
        ]
    )
    assert main(["scan", str(data), "--trainer", "trl", "--format", "json", "--no-cache"]) == 1
    report = json.loads(capsys.readouterr().out)
    marked = sorted((f["row"], f["code"]) for f in report["findings"] if f.get("no_signal"))
    assert marked == [(0, "P004"), (2, "P001")]
    assert report["summary"]["forecast"]["no_signal"] == 2


def test_a_pair_with_one_side_of_no_tokens_trains_the_other_and_is_not_counted(capsys, write_jsonl):
    """DPO: a side without completion tokens has log-probability 0, and the pair trains on the other side."""
    user = [{"role": "user", "content": "Hi"}]
    data = write_jsonl([{"prompt": user, "chosen": [], "rejected": [{"role": "assistant", "content": "Bye."}]}])
    assert main(["scan", str(data), "--select", "M002", "--format", "json", "--no-cache"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in report["findings"]] == ["M002"] and not report["findings"][0].get("no_signal")
    assert describe(report["summary"]["forecast"]) == "ln 2 forecast (plain): the one pair carries a signal."


def test_kto_counts_examples_and_pins_no_pair_at_ln_2(capsys, write_jsonl):
    """`--trainer kto` trains a pair as two examples: an identical pair is two examples pulled opposite ways, not a
    pair without gradient; a row whose prompt fills max_length is two examples dropped."""
    data = write_jsonl(
        [
            {"prompt": "Capital of France?", "chosen": " Paris.", "rejected": " Paris."},
            {"prompt": "Please say something about this long prompt " * 3, "chosen": " Yes.", "rejected": " No."},
            {"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 5"},
        ]
    )
    argv = ["scan", str(data), "--tokenizer", "llama", "--max-length", "16", "--format", "json", "--no-cache"]
    assert main([*argv, "--trainer", "kto"]) == 1
    report = json.loads(capsys.readouterr().out)
    forecast = report["summary"]["forecast"]
    assert forecast == {
        "trainer": "kto",
        "options": {"max_length": 16},
        "examples": 6,
        "no_signal": 2,
        "share": 0.3333,
        "dropped": 2,
        "failing": 0,
    }
    assert [(f["code"], f["row"], f.get("no_signal")) for f in report["findings"] if f["code"] in NO_SIGNAL] == [
        ("P001", 0, None),
        ("M002", 1, True),
    ]
    assert describe(forecast) == (
        "KTO forecast (kto, max_length 16): 2 of 6 examples (33.3%) give KTO no signal: 2 are dropped by the "
        "trainer. No loss floor: no example is pinned at a loss (KTO's moves with the batch's KL estimate)."
    )
    assert main([*argv, "--trainer", "trl"]) == 1  # DPO: the identical pair stays at ln 2
    assert json.loads(capsys.readouterr().out)["summary"]["forecast"]["pinned_at_ln2"] == 1
