"""`trl dpo --config` YAML: TRL's own example read as `trl dpo` reads it, a scan from the config equal to the scan with
the same options given by hand, and a config preflint cannot follow an error."""

import shutil

import pytest
import yaml

from preflint.configs import read_trainer_config
from tests.conftest import data_file
from tests.test_cli import run

from . import CONFIGS, as_run, json_scan, read_as, values

HH = data_file("hh-rlhf-harmless-test.jsonl")


def write_config(directory, **keys) -> str:
    path = directory / "dpo_config.yaml"
    path.write_text(yaml.safe_dump({"model_name_or_path": "Qwen/Qwen2.5-0.5B", **keys}))
    return str(path)


def test_the_cli_example_reads_as_trl_dpo_reads_it():
    config = read_trainer_config(CONFIGS / "trl-dpo-config.yaml")
    # By hand, from TRL 1.16: trl/trainer/dpo_config.py's defaults max_length=1024 and truncation_mode="keep_start";
    # trl/scripts/dpo.py loads dataset_name whole and trains on dataset_train_split, "train" by default
    # (trl/scripts/utils.py ScriptArguments); DPOTrainer loads the tokenizer from model_name_or_path.
    assert config.trainer == "TRL"
    assert values(config) == {
        "trainer": "trl",
        "max_length": 1024,
        "truncation_mode": "keep_start",
        "tokenizer": "Qwen/Qwen2.5-0.5B",
    }
    assert read_as(config) == [("anthropic/hh-rlhf", ("anthropic/hh-rlhf",), {"split": "train"})]
    assert config.settings["max_length"].where == "TRL's default max_length (1024)"


def test_its_hub_dataset_offline_is_a_one_line_error(capsys):
    code, out, err = run(capsys, "scan", "--from-config", str(CONFIGS / "trl-dpo-config.yaml"), "--tokenizer", "llama")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "cannot load dataset 'anthropic/hh-rlhf': HF_HUB_OFFLINE is set; the local cache does not hold it" in err


def test_a_scan_from_the_config_is_the_scan_with_its_options_given_by_hand(tmp_path, capsys):
    mixture = [{"path": "json", "data_files": str(HH)}]
    config = write_config(tmp_path, datasets=mixture, max_length=512, truncation_mode="keep_end")
    from_config = json_scan(capsys, "--from-config", config, "--tokenizer", "llama")
    by_hand = json_scan(
        capsys, str(HH), *("--trainer", "trl", "--max-length", "512", "--truncation-mode", "keep_end"), "-t", "llama"
    )
    assert as_run(from_config) == as_run(by_hand)
    assert from_config["summary"]["forecast"]["options"] == {"max_length": 512, "truncation_mode": "keep_end"}
    assert from_config["summary"]["settings_from"] == {
        "trainer": "a `trl dpo` config",
        "max_length": "max_length 512",
        "truncation_mode": "truncation_mode keep_end",
        "tokenizer": "command line",
        "input": "datasets[0].data_files",
    }


def test_a_dataset_directory_is_read_in_its_train_split(tmp_path, capsys, monkeypatch):
    (tmp_path / "prefs").mkdir()
    shutil.copy(data_file("torchtune-stack-exchange-paired-tiny.json"), tmp_path / "prefs" / "train.json")
    (tmp_path / "prefs" / "test.json").write_text('[{"question": "q", "response_j": "a", "response_k": "a"}]')
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, dataset_name="prefs", max_length=256)
    from_config = json_scan(capsys, "--from-config", config, "--tokenizer", "llama")
    by_hand = json_scan(capsys, "prefs", "--split", "train", "--trainer", "trl", "--max-length", "256", "-t", "llama")
    assert as_run(from_config) == as_run(by_hand)
    assert [source["input"] for source in from_config["summary"]["sources"]] == ["prefs [train]"]


def test_another_trainer_on_the_command_line_keeps_only_the_limits_it_has(tmp_path, capsys):
    config = write_config(tmp_path, datasets=[{"path": "json", "data_files": str(HH)}], truncation_mode="keep_end")
    report = json_scan(capsys, "--from-config", config, "--tokenizer", "llama", "--trainer", "openrlhf")
    assert report["summary"]["forecast"]["trainer"] == "openrlhf"
    assert report["summary"]["forecast"]["options"] == {"max_length": 1024}  # TRL's, which OpenRLHF has too
    assert "truncation_mode" not in report["summary"]["settings_from"]
    assert report["summary"]["settings_from"]["trainer"] == "command line"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"dataset_name": "x", "max_length": None}, "max_length null: TRL then truncates nothing"),
        ({"dataset_name": "x", "truncation_mode": "middle"}, "truncation_mode must be one of keep_start, keep_end"),
        ({"dataset_name": "x", "desirable_weight": 1.0}, "desirable_weight is a key of `trl kto`, not of `trl dpo`"),
        ({"dataset_name": "x", "reward_funcs": ["accuracy_reward"]}, "reward_funcs is a key of `trl grpo or trl"),
        ({"max_length": 512}, "names no dataset to train on (dataset_name or datasets)"),
        ({"datasets": [{"path": "json"}]}, "datasets[0]: path json needs data_files"),
        ({"datasets": [{"path": "json", "data_files": {"test": "t.jsonl"}}]}, "datasets[0]: data_files names no files"),
        ({"datasets": [{"path": "org/x", "data_dir": "en"}]}, "datasets[0]: data_dir and data_files of a hub dataset"),
        ({"datasets": ["org/x"]}, "datasets[0] must be a mapping"),
        ({"dataset_name": str(HH)}, f"dataset_name {HH} is a file, which TRL cannot load"),
        ({"datasets": [{"path": str(HH)}]}, f"datasets[0]: path {HH} is a file, which TRL cannot load"),
    ],
)
def test_a_config_preflint_cannot_follow_is_one_line(tmp_path, capsys, keys, expected):
    config = write_config(tmp_path, **keys)
    code, out, err = run(capsys, "scan", "--from-config", config, "--tokenizer", "llama")
    assert code == 2 and out == ""
    assert err.startswith(f"preflint: error: {config}: {expected}") and err.count("\n") == 1


def test_an_option_trl_no_longer_has_is_a_note_not_an_error(tmp_path):
    config = read_trainer_config(write_config(tmp_path, dataset_name="org/x", max_prompt_length=128))
    assert config.assumptions == [
        "max_prompt_length: TRL 1.16, whose preprocessing preflint simulates, has no such option and ignores it (TRL "
        "before 0.29 cut prompts or replies to it)"
    ]
