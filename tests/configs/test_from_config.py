"""--from-config whatever the trainer: `fix` and the Python API take it as `scan` does, a model the config names is
the tokenizer, what the config names is never written over, and a file that is no trainer config is one line."""

import json
import shutil

import pytest
import yaml

import preflint
import preflint.configs
from tests.conftest import data_file
from tests.test_cli import run

from . import CONFIGS


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """LLaMA-Factory's layout (its dataset_info.json and demo pairs), and a config training on the demo pairs."""
    (tmp_path / "data").mkdir()
    shutil.copy(CONFIGS / "llamafactory-dataset_info.json", tmp_path / "data" / "dataset_info.json")
    shutil.copy(data_file("llamafactory-dpo-en-demo.json"), tmp_path / "data" / "dpo_en_demo.json")
    (tmp_path / "train.yaml").write_text(
        yaml.safe_dump({"model_name_or_path": "./model", "stage": "dpo", "dataset": "dpo_en_demo", "cutoff_len": 512})
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def model(workdir, llama):
    """A model directory where the config says, holding the tokenizer (Llama 3's)."""
    llama.hf.save_pretrained(workdir / "model")
    return "./model"


def test_fix_takes_the_run_from_the_config_and_says_where_it_came_from(workdir, model, capsys):
    code, out, _ = run(capsys, "fix", "--from-config", "train.yaml", "--out", "fixed.jsonl")
    assert code == 1  # findings remain (M009: prompts cut to fit cutoff_len)
    assert "300 rows read = 295 kept + 5 dropped" in out  # LLaMA-Factory's demo data holds 5 duplicates
    assert "settings from train.yaml (LLaMA-Factory): trainer: stage dpo; max_length: cutoff_len 512;" in out
    assert "tokenizer: model_name_or_path ./model" in out
    assert len((workdir / "fixed.jsonl").read_text().splitlines()) == 295


@pytest.mark.parametrize("output", ["train.yaml", "data/dataset_info.json"])
def test_what_the_config_names_is_never_written_over(workdir, model, capsys, output):
    before = (workdir / output).read_bytes()
    code, _, err = run(capsys, "fix", "--from-config", "train.yaml", "--out", output, "--force")
    assert code == 2 and f"--out {output} is an input; preflint never writes over its input" in err
    assert (workdir / output).read_bytes() == before


def test_the_python_api_takes_a_config_for_data_on_disk_and_in_memory(workdir, model):
    fixed = preflint.fix(from_config="train.yaml")
    assert fixed.data.num_rows == 295 and fixed.summary["before"]["settings_from"]["tokenizer"].startswith("model_")
    rows = json.loads((workdir / "data" / "dpo_en_demo.json").read_text())[:20]
    report = preflint.scan(rows, from_config="train.yaml", max_length=128)
    assert report.summary["forecast"] == {**report.summary["forecast"], "trainer": "llamafactory", "pairs": 20}
    assert report.summary["forecast"]["options"] == {"max_length": 128}
    assert report.summary["settings_from"]["input"] == "argument"
    assert report.summary["settings_from"]["max_length"] == "argument"
    with pytest.raises(TypeError, match="give the data to check, or from_config="):
        preflint.scan()


def test_a_model_directory_that_is_not_there_is_one_line(workdir, capsys):
    code, _, err = run(capsys, "scan", "--from-config", "train.yaml")
    assert code == 2 and err.count("\n") == 1
    assert "train.yaml: model_name_or_path ./model: no such directory here: give --tokenizer" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "trainer config 'missing.yaml' does not exist"),
        ("stage: [dpo\n", "missing.yaml: not a YAML config (while parsing a flow sequence"),
        ("- stage: dpo\n", "missing.yaml: a trainer config is a YAML mapping of its settings"),
        ("lr: 0.1\nepochs: 3\n", "missing.yaml: cannot tell which trainer it is for: expected LLaMA-Factory's"),
        (b"stage: \xff\n", "cannot read trainer config 'missing.yaml': 'utf-8' codec can't decode"),
    ],
)
def test_a_file_that_is_no_trainer_config_is_one_line(tmp_path, monkeypatch, capsys, content, expected):
    monkeypatch.chdir(tmp_path)
    if isinstance(content, bytes):
        (tmp_path / "missing.yaml").write_bytes(content)
    elif content is not None:
        (tmp_path / "missing.yaml").write_text(content)
    code, out, err = run(capsys, "scan", "--from-config", "missing.yaml")
    assert code == 2 and out == ""
    assert err.startswith(f"preflint: error: {expected}") and err.count("\n") == 1


def test_a_directory_given_as_the_config_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "scan", "--from-config", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err


def test_a_yaml_config_is_read_as_yaml_even_where_a_comment_names_openrlhf(tmp_path):
    config = tmp_path / "dpo.yaml"
    config.write_text(
        "# was: deepspeed --module openrlhf.cli.train_dpo ...\nmodel_name_or_path: m\ndataset_name: org/x\n"
    )
    assert preflint.configs.read_trainer_config(config).trainer == "TRL"


def test_markdown_says_where_the_settings_came_from(workdir, model, capsys):
    code, out, _ = run(capsys, "scan", "--from-config", "train.yaml", "--format", "markdown")
    assert code == 1
    assert "- settings from train.yaml (LLaMA-Factory): trainer: stage dpo; max\\_length: cutoff\\_len 512;" in out
    assert "Note: train.yaml: no template: LLaMA-Factory builds one from the tokenizer's chat template" in out
