"""LLaMA-Factory configs: its own examples read as LLaMA-Factory reads them, a scan from the config equal to the scan
with the same options given by hand, and a config LLaMA-Factory would refuse (or preflint cannot follow) an error."""

import json
import shutil

import pytest
import yaml

from preflint.configs import read_trainer_config
from tests.conftest import data_file
from tests.test_cli import run

from . import CONFIGS, as_run, json_scan, read_as, values

DPO_EXAMPLE = CONFIGS / "llamafactory-llama3-lora-dpo.yaml"
DEMO_MAP = {"prompt": "conversations", "chosen": "chosen", "rejected": "rejected"}
DEMO_ENTRY = {"file_name": "dpo_en_demo.json", "ranking": True, "formatting": "sharegpt"}  # without its columns
DEMO_COLUMNS = {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A directory laid out as LLaMA-Factory's repository, run from: its data/dataset_info.json and its demo
    preference data, data/dpo_en_demo.json."""
    (tmp_path / "data").mkdir()
    shutil.copy(CONFIGS / "llamafactory-dataset_info.json", tmp_path / "data" / "dataset_info.json")
    shutil.copy(data_file("llamafactory-dpo-en-demo.json"), tmp_path / "data" / "dpo_en_demo.json")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(directory, **keys) -> str:
    path = directory / "train.yaml"
    path.write_text(yaml.safe_dump({"model_name_or_path": "meta-llama/Meta-Llama-3-8B-Instruct", **keys}))
    return str(path)


def test_the_dpo_example_reads_as_llamafactory_reads_it(workdir):
    config = read_trainer_config(DPO_EXAMPLE)
    # By hand, from LLaMA-Factory's code (ff6d4d1): stage dpo trains through the pairwise processor (dpo/workflow.py
    # loads its data as stage "rm"); cutoff_len 1024 as written; the tokenizer is model_name_or_path's; template
    # llama3 is the one the llamafactory profile transcribes. dataset_dir defaults to "data" (data_args.py), and
    # data/dataset_info.json describes dpo_en_demo as file_name dpo_en_demo.json, formatting sharegpt, ranking, and
    # columns messages=conversations, chosen, rejected (parser.py, converter.py SharegptDatasetConverter).
    assert config.trainer == "LLaMA-Factory"
    assert values(config) == {
        "trainer": "llamafactory",
        "max_length": 1024,
        "chat_template": None,
        "tokenizer": "meta-llama/Meta-Llama-3-8B-Instruct",
    }
    assert read_as(config) == [("dpo_en_demo", ("data/dpo_en_demo.json",), {"map": DEMO_MAP})]
    assert [assumption.split(":")[0] for assumption in config.assumptions] == ["max_samples", "val_size"]
    assert config.files == ["data/dataset_info.json"]


def test_the_reward_example_reads_its_stage_length_and_template(workdir):
    config = read_trainer_config(CONFIGS / "llamafactory-qwen3-lora-reward.yaml")
    # stage rm trains on the same pairs through the same processor; cutoff_len 2048; qwen3_nothink is a template
    # LLaMA-Factory has (template.py) and preflint does not transcribe: an assumption, not a silent substitute
    assert values(config) == {"trainer": "llamafactory", "max_length": 2048, "tokenizer": "Qwen/Qwen3-4B-Instruct-2507"}
    assert config.settings["trainer"].where == "stage rm"
    assert any(assumption.startswith("template qwen3_nothink:") for assumption in config.assumptions)


def test_hub_datasets_and_their_columns_read_as_datasetattr_joins_them(workdir):
    """Given `columns`, every column it leaves out is None (DatasetAttr.join), not its default: ultrafeedback's
    prompt is `instruction` alone, without the default query column `input`."""
    config = read_trainer_config(write_config(workdir, stage="dpo", dataset="ultrafeedback, orca_pairs,dpo_mix_en"))
    assert read_as(config) == [
        (
            "ultrafeedback",
            ("llamafactory/ultrafeedback_binarized",),
            {"split": "train", "map": {"prompt": "instruction", "chosen": "chosen", "rejected": "rejected"}},
        ),
        (
            "orca_pairs",
            ("Intel/orca_dpo_pairs",),
            {
                "split": "train",
                "map": {"prompt": "question", "chosen": "chosen", "rejected": "rejected", "system": "system"},
            },
        ),
        ("dpo_mix_en", ("llamafactory/DPO-En-Zh-20k",), {"split": "train", "subset": "en", "map": DEMO_MAP}),
    ]
    assert any(assumption.startswith("no template:") for assumption in config.assumptions)


def test_alpaca_preference_data_joins_instruction_and_input_as_the_converter_does(workdir, capsys):
    """data/README.md's alpaca preference dataset: the prompt is `instruction`, then `input` on a new line."""
    rows = [
        {"instruction": "Translate.", "input": "Bonjour", "chosen": "Hello", "rejected": "Goodbye"},
        {"instruction": "Name a color.", "input": "", "chosen": "Blue.", "rejected": "Blue."},
    ]
    (workdir / "data" / "pairs.json").write_text(json.dumps(rows))
    info = json.loads((workdir / "data" / "dataset_info.json").read_text())
    info["my_pairs"] = {
        "file_name": "pairs.json",
        "ranking": True,
        "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"},
    }
    (workdir / "data" / "dataset_info.json").write_text(json.dumps(info))
    config = write_config(workdir, stage="dpo", dataset="my_pairs", template="llama3")
    report = json_scan(capsys, "--from-config", config, "--tokenizer", "llama")
    assert report["summary"]["sources"][0]["columns"] == "prompt=instruction+input, chosen=chosen, rejected=rejected"
    assert [finding["code"] for finding in report["findings"]] == ["P001"]


def test_a_scan_from_the_config_is_the_scan_with_its_options_given_by_hand(workdir, capsys):
    from_config = json_scan(capsys, "--from-config", str(DPO_EXAMPLE), "--tokenizer", "llama")
    by_hand = json_scan(
        capsys,
        "data/dpo_en_demo.json",
        *("--trainer", "llamafactory", "--max-length", "1024", "--tokenizer", "llama"),
        *("--map", "prompt=conversations,chosen=chosen,rejected=rejected"),
    )
    assert as_run(from_config) == as_run(by_hand)
    assert from_config["summary"]["forecast"]["options"] == {"max_length": 1024}
    assert from_config["summary"]["trainer_config"] == {"path": str(DPO_EXAMPLE), "trainer": "LLaMA-Factory"}
    assert from_config["summary"]["settings_from"] == {
        "trainer": "stage dpo",
        "max_length": "cutoff_len 1024",
        "chat_template": "template llama3, transcribed in the llamafactory profile",
        "tokenizer": "command line",
        "map": "dpo_en_demo's columns in data/dataset_info.json, --map "
        "prompt=conversations,chosen=chosen,rejected=rejected",
        "input": "dataset dpo_en_demo, file_name dpo_en_demo.json in data/dataset_info.json",
    }
    assert [assumption.split(": ")[1] for assumption in from_config["summary"]["assumptions"]] == [
        "max_samples",
        "val_size",
    ]


def test_datasets_read_differently_are_scanned_one_at_a_time(workdir, capsys):
    """dpo_en_demo and ultrafeedback have different columns: one scan reads its inputs alike, so the error names
    them, and naming one scans that one."""
    config = write_config(workdir, stage="dpo", dataset="dpo_en_demo,ultrafeedback", template="llama3")
    code, out, err = run(capsys, "scan", "--from-config", config, "--tokenizer", "llama")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "its datasets are read with different column mappings (dpo_en_demo: dpo_en_demo's columns" in err
    assert "name one dataset to scan (dpo_en_demo, ultrafeedback), or give --map" in err
    report = json_scan(capsys, "--from-config", config, "dpo_en_demo", "--tokenizer", "llama")
    assert [source["input"] for source in report["summary"]["sources"]] == ["data/dpo_en_demo.json"]


def test_other_data_is_read_as_the_configs_datasets_are(workdir, capsys):
    shutil.copy(workdir / "data" / "dpo_en_demo.json", workdir / "candidate.json")
    report = json_scan(capsys, "--from-config", str(DPO_EXAMPLE), "candidate.json", "--tokenizer", "llama")
    summary = report["summary"]
    assert [source["input"] for source in summary["sources"]] == ["candidate.json"]
    assert summary["sources"][0]["columns"] == "prompt=conversations, chosen=chosen, rejected=rejected"
    assert summary["settings_from"]["input"] == "command line"
    assert summary["settings_from"]["map"].startswith("dpo_en_demo's columns")


def test_the_command_line_overrides_the_config_and_says_so(workdir, capsys):
    report = json_scan(capsys, "--from-config", str(DPO_EXAMPLE), "--tokenizer", "llama", "--max-length", "300")
    assert report["summary"]["forecast"]["options"] == {"max_length": 300}
    assert report["summary"]["settings_from"]["max_length"] == "command line"
    code, out, _ = run(capsys, "scan", "--from-config", str(DPO_EXAMPLE), "--tokenizer", "llama", "--limit", "1")
    assert code == 1
    assert f"settings from {DPO_EXAMPLE} (LLaMA-Factory): trainer: stage dpo; max_length: cutoff_len 1024;" in out
    assert f"note: {DPO_EXAMPLE}: max_samples: LLaMA-Factory trains on each dataset's first 1000 rows" in out


@pytest.mark.parametrize(
    ("keys", "info", "expected"),
    [
        (
            {"stage": "sft", "dataset": "dpo_en_demo"},
            None,
            "{config}: stage sft: LLaMA-Factory then trains on supervised",
        ),
        ({"dataset": "dpo_en_demo"}, None, "{config}: stage sft"),  # LLaMA-Factory's default stage
        (
            {"stage": "dpo", "dataset": "dpo_en_demo", "template": "llama9"},
            None,
            "{config}: template 'llama9': LLaMA-Factory has",
        ),
        ({"stage": "dpo", "dataset": "nowhere"}, None, "{config}: dataset 'nowhere' is not in data/dataset_info.json"),
        ({"stage": "dpo", "dataset": "kto_en_demo"}, None, "data/dataset_info.json: kto_en_demo: no `ranking: true`"),
        ({"stage": "dpo"}, None, "{config}: names no dataset to train on"),
        ({"train_dataset": "data/v1_dpo_demo.yaml"}, None, "{config}: a LLaMA-Factory v1 config (train_dataset)"),
        (
            {"stage": "dpo", "dataset": "dpo_en_demo", "cutoff_len": "long"},
            None,
            "{config}: cutoff_len must be a positive",
        ),
        (
            {"stage": "dpo", "dataset": "dpo_en_demo", "dataset_dir": "elsewhere"},
            None,
            "{config}: no elsewhere/dataset_info.json here",
        ),
        ({"stage": "dpo", "dataset": "x", "dataset_dir": "ONLINE"}, None, "{config}: dataset_dir ONLINE"),
        (
            {"stage": "dpo", "dataset": "x"},
            {"file_name": "x.json", "ranking": True},
            "data/dataset_info.json: x: no file data/x.json",
        ),
        (
            {"stage": "dpo", "dataset": "x"},
            {"ms_hub_url": "org/x", "ranking": True},
            "data/dataset_info.json: x: ms_hub_url: the dataset is read from ModelScope",
        ),
        (
            {"stage": "dpo", "dataset": "x"},
            {**DEMO_ENTRY, "formatting": "chatml"},
            "data/dataset_info.json: x: formatting must be one of alpaca, sharegpt, openai",
        ),
        (
            {"stage": "dpo", "dataset": "x"},
            {"file_name": "dpo_en_demo.json", "ranking": True, "columns": {"prompt": "instruction"}},
            "data/dataset_info.json: x: names no chosen or rejected column",
        ),
        (
            {"stage": "dpo", "dataset": "x"},
            {**DEMO_ENTRY, "columns": DEMO_COLUMNS, "tags": {"role_tag": "who"}},
            "data/dataset_info.json: x: tags.role_tag 'who': preflint reads messages whose keys are role or from",
        ),
        (
            {"stage": "dpo", "dataset": "x"},
            {**DEMO_ENTRY, "columns": DEMO_COLUMNS, "tags": {"user_tag": "gpt"}},
            "data/dataset_info.json: x: tags.user_tag 'gpt': LLaMA-Factory reads it as the user role, preflint as "
            "'assistant'",
        ),
    ],
)
def test_a_config_llamafactory_refuses_or_preflint_cannot_follow_is_one_line(workdir, capsys, keys, info, expected):
    if info is not None:
        described = json.loads((workdir / "data" / "dataset_info.json").read_text())
        (workdir / "data" / "dataset_info.json").write_text(json.dumps({**described, "x": info}))
    config = write_config(workdir, **keys)
    code, out, err = run(capsys, "scan", "--from-config", config, "--tokenizer", "llama")
    assert code == 2 and out == ""
    assert err.startswith("preflint: error: " + expected.format(config=config)) and err.count("\n") == 1


def test_the_kto_example_is_refused(workdir, capsys):
    code, _, err = run(capsys, "scan", "--from-config", str(CONFIGS / "llamafactory-qwen3-lora-kto.yaml"))
    assert code == 2 and "stage kto: LLaMA-Factory then trains on unpaired examples (KTO), not pairs" in err
    assert "--trainer kto" in err


def test_a_hub_model_offline_is_an_error_that_says_to_give_the_tokenizer(workdir, capsys):
    code, _, err = run(capsys, "scan", "--from-config", str(DPO_EXAMPLE))
    assert code == 2 and err.count("\n") == 1
    assert "model_name_or_path meta-llama/Meta-Llama-3-8B-Instruct is a model on the Hugging Face hub" in err
    assert "HF_HUB_OFFLINE is set" in err and "give --tokenizer" in err


def test_the_readme_example_is_what_the_scan_prints(workdir, capsys):
    readme = (CONFIGS.parent.parent.parent / "README.md").read_text(encoding="utf-8")
    command = "$ preflint scan --from-config llama3_lora_dpo.yaml --tokenizer llama\n...\n"
    shown = readme[readme.index(command) + len(command) :]
    shown = shown[: shown.index("```")]
    shutil.copy(DPO_EXAMPLE, workdir / "llama3_lora_dpo.yaml")
    code, out, _ = run(capsys, "scan", "--from-config", "llama3_lora_dpo.yaml", "--tokenizer", "llama", "--no-cache")
    assert code == 1
    assert shown in out, "paste the scan's output into the README"
