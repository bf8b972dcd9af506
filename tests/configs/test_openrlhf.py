"""OpenRLHF's train_dpo / train_rm command line: its example scripts (0.11's dotted options and 0.10's flat ones)
read as OpenRLHF's parser reads them, a scan of the command (in a script, or after `--`) equal to the scan with the
same options given by hand, and a command preflint cannot follow an error."""

import json

import pytest

import preflint
from preflint.configs import read_trainer_config
from tests.conftest import data_file
from tests.test_cli import run

from . import CONFIGS, as_run, json_scan, read_as, values

HUB_DATASET = "OpenRLHF/preference_dataset_mixture2_and_safe_pku"
KEYS_MAP = {"chosen": "chosen", "rejected": "rejected"}


@pytest.fixture
def dialogues(tmp_path, monkeypatch):
    """LLaMA-Factory's demo pairs as whole dialogues, `chosen` and `rejected` (OpenRLHF's shape without a prompt
    key); the test runs beside them."""
    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    rows = []
    for row in json.loads(data_file("llamafactory-dpo-en-demo.json").read_text()):
        prompt = [{"role": roles[m["from"]], "content": m["value"]} for m in row["conversations"]]
        rows.append(
            {side: [*prompt, {"role": "assistant", "content": row[side]["value"]}] for side in ("chosen", "rejected")}
        )
    (tmp_path / "dialogues.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.chdir(tmp_path)
    return "dialogues.jsonl"


@pytest.mark.parametrize("script", ["openrlhf-train_dpo_llama.sh", "openrlhf-0.10-train_dpo_llama.sh"])
def test_the_dpo_example_scripts_read_as_openrlhf_reads_them(script):
    config = read_trainer_config(CONFIGS / script)
    # By hand, from OpenRLHF's code (3c3be62, and before 0.11 the same with flat names): train_dpo; max_len 8192
    # as given (default 512); the tokenizer is the model's (get_tokenizer(model_name_or_path), before 0.11
    # --pretrain); chosen_key and rejected_key as given, no prompt_key (openrlhf/cli/train_dpo.py); the dataset is
    # no data file nor local directory, so a hub dataset, its train split (datasets/utils.py blending_datasets).
    assert config.trainer == "OpenRLHF"
    assert values(config) == {"trainer": "openrlhf", "max_length": 8192, "tokenizer": "OpenRLHF/Llama-3-8b-sft-mixture"}
    assert read_as(config) == [(HUB_DATASET, (HUB_DATASET,), {"map": KEYS_MAP, "split": "train"})]
    assert [assumption.split(":")[0] for assumption in config.assumptions] == ["no --prompt_key"]
    assert config.settings["max_length"].where in ("--data.max_len 8192", "--max_len 8192")


def test_the_reward_example_is_read_with_an_assumption_about_its_pairs():
    config = read_trainer_config(CONFIGS / "openrlhf-train_rm.sh")
    assert values(config)["trainer"] == "openrlhf" and config.settings["trainer"].where == "train_rm"
    assert config.assumptions[0].startswith("train_rm: checked as train_dpo reads pairs")


@pytest.mark.parametrize("script", ["openrlhf-train_dpo_llama.sh", "openrlhf-0.10-train_dpo_llama.sh"])
def test_a_scan_of_the_script_is_the_scan_with_its_options_given_by_hand(dialogues, tmp_path, capsys, script):
    launch = tmp_path / "train_dpo.sh"
    launch.write_text((CONFIGS / script).read_text().replace(HUB_DATASET, dialogues))
    from_config = json_scan(capsys, "--from-config", str(launch), "--tokenizer", "llama")
    by_hand = json_scan(
        capsys,
        dialogues,
        *("--trainer", "openrlhf", "--max-length", "8192", "--tokenizer", "llama"),
        *("--map", "chosen=chosen,rejected=rejected"),
    )
    assert as_run(from_config) == as_run(by_hand)
    assert from_config["summary"]["forecast"]["options"] == {"max_length": 8192}


def test_a_scan_of_the_command_after_dashes_is_the_scan_with_its_options_given_by_hand(dialogues, capsys):
    command = [
        *("deepspeed", "--module", "openrlhf.cli.train_dpo", "--data.dataset", dialogues, "--data.apply_chat_template"),
        *("--data.max_len", "1024", "--data.rejected_key", "rejected", "--model.model_name_or_path", "org/model"),
    ]
    from_config = json_scan(capsys, "--tokenizer", "llama", "--", *command)
    by_hand = json_scan(capsys, dialogues, "--trainer", "openrlhf", "--max-length", "1024", "--tokenizer", "llama")
    assert as_run(from_config) == as_run(by_hand)
    assert from_config["summary"]["trainer_config"] == {"path": "the command after --", "trainer": "OpenRLHF"}
    assert from_config["summary"]["settings_from"] == {
        "trainer": "train_dpo",
        "max_length": "--data.max_len 1024",
        "tokenizer": "command line",
        "map": "--map chosen=chosen,rejected=rejected from the keys",
        "input": f"--data.dataset {dialogues}",
    }
    report = preflint.scan(from_config=command, tokenizer="llama", cache=False)  # the same command, from Python
    assert report.summary["findings"] == from_config["summary"]["findings"]
    assert report.summary["settings_from"]["tokenizer"] == "argument"


def test_after_dashes_without_a_trainer_command_data_follows_as_usual(capsys, write_jsonl):
    data = str(write_jsonl([{"prompt": "a", "chosen": "b", "rejected": "b"}]))
    code, out, _ = run(capsys, "scan", "--tokenizer", "llama", "--", data)
    assert code == 1 and "P001" in out


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["openrlhf.cli.train_ppo_ray", "--data.dataset", "x"], "train_ppo_ray: preflint checks the pairs of"),
        (["openrlhf.cli.train_dpo", "--pretrain", "m"], "names no dataset to train on (--data.dataset"),
        (["openrlhf.cli.train_dpo", "--dataset", "x.jsonl", "--max_len", "long"], "--max_len must be a positive"),
        (["openrlhf.cli.train_dpo", "--dataset", "x.jsonl", "--input_template", "User: {}"], "--input_template: Open"),
        (
            ["openrlhf.cli.train_dpo", "--dataset", "x.jsonl", "--apply_chat_template", "yes"],
            "--apply_chat_template take",
        ),
        (["openrlhf.cli.train_dpo", "--dataset", "load.py"], "--dataset load.py: a dataset loading script"),
        (["openrlhf.cli.train_dpo", "--dataset", "org/x@en"], "--dataset org/x@en: data_dir of a hub dataset"),
        (["openrlhf.cli.train_dpo", "--dataset", "x.jsonl", "stray"], "'stray' is not an option"),
        (["openrlhf.cli.train_dpo", "--dataset", "a.jsonl,,b.jsonl"], "--dataset 'a.jsonl,,b.jsonl' names an empty"),
    ],
)
def test_a_command_preflint_cannot_follow_is_one_line(capsys, command, expected):
    code, out, err = run(capsys, "scan", "--tokenizer", "llama", "--", *command)
    assert code == 2 and out == ""
    assert err.startswith(f"preflint: error: the command after --: {expected}") and err.count("\n") == 1


def test_a_file_that_holds_no_trainer_config_is_one_line(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("train the model on monday\n")
    code, _, err = run(capsys, "scan", "--from-config", str(notes))
    assert code == 2 and err.count("\n") == 1
    assert f"{notes}: a trainer config is a YAML mapping of its settings" in err


def test_a_config_and_a_command_together_are_refused(capsys):
    config = str(CONFIGS / "trl-dpo-config.yaml")
    code, _, err = run(capsys, "scan", "--from-config", config, "--", "openrlhf.cli.train_dpo", "--dataset", "x")
    assert code == 2 and "give the trainer's config with --from-config or its command after --, not both" in err
