"""Config discovery, validation and CLI overrides."""

from pathlib import Path

import pytest

from preflint.cli import main
from preflint.config import Settings, load_settings
from preflint.errors import ConfigError


def test_pyproject_table_is_found_from_a_subdirectory(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.preflint]\ntokenizer = "gpt2"\nselect = ["P"]\n')
    (tmp_path / "data" / "nested").mkdir(parents=True)
    settings = load_settings(start=tmp_path / "data" / "nested")
    assert (settings.tokenizer, settings.select) == ("gpt2", ("P",))
    assert settings.base_dir == tmp_path


def test_paths_in_the_config_are_relative_to_it(tmp_path, monkeypatch, capsys, write_jsonl):
    """Run from a subdirectory, a scan reads the reference set and tokenizer the config names next to itself."""
    row = {"prompt": "What is the capital of France today?", "chosen": "Paris.", "rejected": "Rome."}
    write_jsonl([row], "data.jsonl")
    (tmp_path / "eval").mkdir()
    write_jsonl([row], "eval/test.jsonl")
    (tmp_path / "tok").mkdir()
    (tmp_path / "sub").mkdir()
    config = '[tool.preflint]\nselect = ["D005"]\ntokenizer = "./tok"\ncache-dir = "cache"\n'
    (tmp_path / "pyproject.toml").write_text(
        config + '[tool.preflint.rules.reference-overlap]\nagainst = ["eval/*.jsonl"]\n'
    )
    monkeypatch.chdir(tmp_path / "sub")
    settings = load_settings()
    assert (settings.references, settings.tokenizer) == (["../eval/*.jsonl"], "../tok")
    assert settings.cache_dir == str(tmp_path / "cache")
    assert main(["scan", "../data.jsonl", "--tokenizer", "llama", "--no-cache"]) == 1
    assert "the prompt is also in ../eval/test.jsonl" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text(config + '[tool.preflint.rules.D005]\nagainst = ["org/test-set"]\n')
    assert load_settings().references == ["org/test-set"]  # nothing of that name here: a hub id
    (tmp_path / "pyproject.toml").write_text(
        config + '[tool.preflint.rules.D005]\nagainst = ["eval[test]", "org/evals[test]"]\n'
    )
    settings = load_settings()  # a directory's split stays named; the files read are the directory's
    assert (settings.rules["D005"]["against"], settings.references) == (
        ["../eval[test]", "org/evals[test]"],
        ["../eval", "org/evals"],
    )


def test_a_chat_template_in_the_config_is_relative_to_it(tmp_path, monkeypatch, capsys, write_jsonl):
    write_jsonl(
        [
            {
                "prompt": [{"role": "user", "content": "Q?"}],
                "chosen": [{"role": "assistant", "content": "A."}],
                "rejected": [{"role": "assistant", "content": "B."}],
            }
        ],
        "data.jsonl",
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "plain.jinja").write_text(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "preflint.toml").write_text('chat-template = "templates/plain.jinja"\n')
    monkeypatch.chdir(tmp_path / "sub")
    assert load_settings().chat_template == "../templates/plain.jinja"
    assert main(["scan", "../data.jsonl", "--no-cache"]) == 0
    assert "chat template ../templates/plain.jinja;" in capsys.readouterr().out


def test_closest_file_wins_and_preflint_toml_beats_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.preflint]\ntokenizer = "outer"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[tool.preflint]\ntokenizer = "pyproject"\n')
    (inner / "preflint.toml").write_text('tokenizer = "own"\n')
    assert load_settings(start=inner).tokenizer == "own"
    # a pyproject.toml without [tool.preflint] does not stop the search
    (inner / "preflint.toml").unlink()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(start=inner).tokenizer == "outer"


def test_no_config_gives_defaults(tmp_path):
    assert load_settings(start=tmp_path) == Settings()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('tokenizr = "llama"\n', "unknown key 'tokenizr'"),
        ("select = 3\n", "select must be a list of strings"),
        ("batch-size = 0\n", "batch-size must be a positive integer"),
        ("select = [\n", "invalid TOML"),
        ("[rules]\nD005 = 3\n", "rules.D005 must be a table of the rule's options"),
        ("map = {prompt = 3}\n", "map.prompt must be a string"),
    ],
)
def test_invalid_config(tmp_path, toml, message):
    (tmp_path / "preflint.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(start=tmp_path)


def test_cli_overrides_config_and_rule_options_are_validated(tmp_path, monkeypatch, capsys, write_jsonl):
    data = write_jsonl(
        [{"prompt": "Q", "chosen": "same", "rejected": "same"}, {"prompt": "Q", "chosen": "", "rejected": "x"}]
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "preflint.toml").write_text('ignore = ["P001"]\n')
    assert main(["scan", str(data), "--format", "jsonl"]) == 1
    assert [line for line in capsys.readouterr().out.splitlines() if "P001" in line] == []
    assert main(["scan", str(data), "--format", "jsonl", "--select", "P001", "--ignore", "S"]) == 1
    assert '"P001"' in capsys.readouterr().out
    (tmp_path / "preflint.toml").write_text("[rules.identical-pair]\nthreshold = 2\n")
    assert main(["scan", str(data)]) == 2
    assert "rule P001 (identical-pair) has no option 'threshold'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[rules.near-identical-pair]\nmax-distance = "two"\n', "rule P002 option 'max-distance' must be int"),
        ("[rules.P002]\nmax-ratio = true\n", "rule P002 option 'max-ratio' must be float"),
        ('[rules.W001]\npolicy = "sometimes"\n', "option 'policy' must be 'boundary' or 'strip'"),
        ('[rules.reference-overlap]\nagainst = "test.jsonl"\n', "rule D005 option 'against' must be list"),
        ("[rules.D005]\nagainst = [3]\n", "rule D005 option 'against' must be a list of strings"),
    ],
)
def test_rule_option_types_are_checked(tmp_path, monkeypatch, capsys, write_jsonl, table, message):
    data = write_jsonl([{"prompt": "Q", "chosen": "a", "rejected": "b"}])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "preflint.toml").write_text(table)
    assert main(["scan", str(data)]) == 2
    assert message in capsys.readouterr().err


def test_a_config_from_a_pipe_is_read_and_a_directory_is_refused(tmp_path):
    """`--config <(generate-config)` hands over a pipe, not a regular file."""
    import os

    read, write = os.pipe()
    os.write(write, b'select = ["P"]\n')
    os.close(write)
    try:
        assert load_settings(Path(f"/dev/fd/{read}")).select == ("P",)
    finally:
        os.close(read)
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)
