"""axolotl configs: its own example read as axolotl reads it, a scan from the config equal to the scan with the same
options given by hand, and a config preflint cannot follow an error."""

import json

import pytest
import yaml

from preflint.configs import read_trainer_config
from tests.conftest import CHATML_TEMPLATE, data_file
from tests.test_cli import run

from . import CONFIGS, as_run, json_scan, read_as, values

DPO_EXAMPLE = CONFIGS / "axolotl-llama3-instruct-dpo-lora-8b.yml"
EXAMPLE_MAP = {"prompt": "conversation", "chosen": "chosen", "rejected": "rejected"}


@pytest.fixture
def pairs(tmp_path, monkeypatch):
    """LLaMA-Factory's demo pairs in the shape the example's chat_template.default type reads: `conversation` (a
    list of role/content messages), `chosen` and `rejected` (one message each); the test runs beside them."""
    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    rows = [
        {
            "conversation": [{"role": roles[m["from"]], "content": m["value"]} for m in row["conversations"]],
            **{side: {"role": "assistant", "content": row[side]["value"]} for side in ("chosen", "rejected")},
        }
        for row in json.loads(data_file("llamafactory-dpo-en-demo.json").read_text())
    ]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.chdir(tmp_path)
    return "pairs.jsonl"


def example_with(directory, **changes) -> str:
    """The example config with some keys changed (its datasets pointed at local data), written to `directory`."""
    config = yaml.safe_load(DPO_EXAMPLE.read_text())
    config.update(changes)
    path = directory / "axolotl.yml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def local_dataset(path, **keys) -> dict:
    example = yaml.safe_load(DPO_EXAMPLE.read_text())["datasets"][0]
    return {**example, "path": path, **keys}


def test_the_dpo_example_reads_as_axolotl_reads_it():
    config = read_trainer_config(DPO_EXAMPLE)
    # By hand, from axolotl's code (067b021): rl dpo trains with DPOTrainer (core/builders/rl.py); sequence_len 4096;
    # the tokenizer is base_model's (no tokenizer_config: utils/config/__init__.py); the dataset is not a local path,
    # so it is the hub's, its train split (utils/data/shared.py, rl.py); chat_template.default reads field_messages
    # conversation, field_chosen chosen, field_rejected rejected, with role/content messages and the usual roles
    # (prompt_strategies/dpo/chat_template.py); chat_template llama3 is a template axolotl ships, not installed here.
    assert config.trainer == "axolotl"
    assert values(config) == {
        "trainer": "axolotl",
        "max_length": 4096,
        "tokenizer": "meta-llama/Meta-Llama-3-8B-Instruct",
    }
    path = "fozziethebeat/alpaca_messages_2k_dpo_test"
    assert read_as(config) == [(path, (path,), {"map": EXAMPLE_MAP, "chat_template": None, "split": "train"})]
    assert config.datasets[0].where == f"datasets[0].path {path} (the hub)"
    assert [assumption.split(":")[0] for assumption in config.assumptions] == [
        "chat_template llama3",
        "val_set_size 0.05",
    ]


def test_a_scan_from_the_config_is_the_scan_with_its_options_given_by_hand(pairs, tmp_path, capsys):
    config = example_with(tmp_path, datasets=[local_dataset(pairs)])
    from_config = json_scan(capsys, "--from-config", config, "--tokenizer", "llama")
    by_hand = json_scan(
        capsys,
        pairs,
        *("--trainer", "axolotl", "--max-length", "4096", "--tokenizer", "llama"),
        *("--map", "prompt=conversation,chosen=chosen,rejected=rejected"),
    )
    assert as_run(from_config) == as_run(by_hand)
    assert from_config["summary"]["forecast"]["options"] == {"max_length": 4096}
    assert from_config["summary"]["settings_from"] == {
        "trainer": "rl dpo",
        "max_length": "sequence_len 4096",
        "tokenizer": "command line",
        "map": "datasets[0].type chat_template.default, --map prompt=conversation,chosen=chosen,rejected=rejected",
        "chat_template": "chat_template llama3 (not installed here: the tokenizer's own)",
        "input": "datasets[0].path pairs.jsonl",
    }


def test_a_template_written_in_the_config_renders_as_the_same_template_file(pairs, tmp_path, capsys):
    config = example_with(
        tmp_path, chat_template="jinja", chat_template_jinja=CHATML_TEMPLATE, datasets=[local_dataset(pairs)]
    )
    (tmp_path / "chatml.jinja").write_text(CHATML_TEMPLATE)
    from_config = json_scan(capsys, "--from-config", config, "--tokenizer", "llama")
    by_hand = json_scan(
        capsys,
        pairs,
        *("--trainer", "axolotl", "--max-length", "4096", "--tokenizer", "llama", "--chat-template", "chatml.jinja"),
        *("--map", "prompt=conversation,chosen=chosen,rejected=rejected"),
    )
    for report in (from_config, by_hand):  # the template's file is named where the tokenizer is described
        report["tokenizer"]["source"] = report["tokenizer"]["source"].partition("; chat template")[0]
    assert as_run(from_config) == as_run(by_hand)
    assert from_config["summary"]["settings_from"]["chat_template"] == "chat_template_jinja (a template in the config)"


def test_installed_axolotl_lends_its_own_named_template(pairs, tmp_path, capsys, monkeypatch):
    """Where axolotl is installed (beside the training), `chat_template: chatml` is its chatml.jinja, found
    without importing axolotl."""
    templates = tmp_path / "site" / "axolotl" / "utils" / "chat_templates" / "templates"
    templates.mkdir(parents=True)
    (tmp_path / "site" / "axolotl" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (templates / "chatml.jinja").write_text(CHATML_TEMPLATE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    config = read_trainer_config(example_with(tmp_path, chat_template="chatml", datasets=[local_dataset(pairs)]))
    assert read_as(config)[0][2]["chat_template"] == str(templates / "chatml.jinja")
    assert not any(assumption.startswith("chat_template") for assumption in config.assumptions)


def test_datasets_with_other_chat_templates_are_scanned_one_at_a_time(pairs, tmp_path, capsys):
    datasets = [local_dataset(pairs), local_dataset(pairs, chat_template="tokenizer_default")]
    config = example_with(tmp_path, chat_template="jinja", chat_template_jinja=CHATML_TEMPLATE, datasets=datasets)
    code, _, err = run(capsys, "scan", "--from-config", config, "--tokenizer", "llama")
    assert code == 2 and err.count("\n") == 1
    assert "its datasets are read with different chat templates" in err and "or give --chat-template" in err


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rl": None}, "{config}: has no rl: axolotl then runs supervised fine-tuning"),
        ({"rl": "kto"}, "{config}: rl kto: axolotl trains it with TRL's KTOTrainer"),
        ({"rl": "simpo"}, "{config}: rl simpo: axolotl trains it with TRL's CPOTrainer"),
        ({"sequence_len": 0}, "{config}: sequence_len must be a positive integer, not 0"),
        ({"excess_length_strategy": "truncate"}, "{config}: excess_length_strategy truncate: axolotl then cuts"),
        ({"chat_template": "nonesuch"}, "{config}: chat_template 'nonesuch': axolotl has no such template"),
        ({"chat_template": "jinja"}, "{config}: chat_template jinja needs chat_template_jinja"),
        ({"datasets": []}, "{config}: names no datasets to train on"),
        ({"datasets": [{"path": "pairs.jsonl", "type": "chatml.intel"}]}, "{config}: datasets[0]: type 'chatml.intel'"),
        ({"datasets": [{"path": "pairs.jsonl"}]}, "{config}: datasets[0]: has no type"),
        (
            {"datasets": [local_dataset("pairs.jsonl", message_property_mappings={"role": "speaker"})]},
            "{config}: datasets[0]: message_property_mappings.role 'speaker': preflint reads messages whose keys",
        ),
        (
            {"datasets": [local_dataset("pairs.jsonl", roles={"user": ["customer"]})]},
            "{config}: datasets[0]: roles.user lists 'customer', which preflint reads as 'customer'",
        ),
    ],
)
def test_a_config_preflint_cannot_follow_is_one_line(pairs, tmp_path, capsys, changes, expected):
    config = example_with(tmp_path, **{"datasets": [local_dataset(pairs)], **changes})
    code, out, err = run(capsys, "scan", "--from-config", config, "--tokenizer", "llama")
    assert code == 2 and out == ""
    assert err.startswith("preflint: error: " + expected.format(config=config)) and err.count("\n") == 1


def test_the_orpo_example_is_refused():
    with pytest.raises(Exception, match="rl orpo: axolotl trains it with TRL's ORPOTrainer"):
        read_trainer_config(CONFIGS / "axolotl-mistral-qlora-orpo.yml")
