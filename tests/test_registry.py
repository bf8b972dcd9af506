"""Rule discovery (built in, entry points, local modules), selection, and the dataset-rule seam."""

import textwrap

import pytest

from preflint.config import Settings
from preflint.errors import ConfigError
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import scan
from preflint.registry import Registry

LOCAL_RULES = textwrap.dedent(
    '''
    from preflint.findings import Severity
    from preflint.rule import DatasetRule


    class RepeatedPrompt(DatasetRule):
        """A prompt that occurs in more than one row (a dataset repository's own check).

        ## What it does
        Counts prompts across all batches.
        ## Why is this bad?
        This repository wants one pair per prompt.
        ## Example
        Two rows asking "Q".
        ## Fix safety
        None.
        """

        code = "X001"
        name = "repeated-prompt"
        family = "local"
        severity = Severity.WARNING

        def start(self):
            return {}

        def update(self, state, batch):
            for i in batch.usable():
                state.setdefault(batch.prompt[i], []).append(batch.rows[i])
            return state

        def merge(self, state, other):
            for prompt, rows in other.items():
                state.setdefault(prompt, []).extend(rows)
            return state

        def finish(self, state):
            for prompt, rows in state.items():
                if len(rows) > 1:
                    yield self.finding(None, f"prompt {prompt!r} occurs in rows {sorted(rows)}")
    '''
)


def test_selection_by_code_prefix_name_and_all():
    registry = Registry.load()
    codes = lambda rules: [rule.code for rule in rules]  # noqa: E731
    assert codes(registry.select(["P001"])) == ["P001"]
    assert codes(registry.select(["P"])) == ["P001", "P002", "P003", "P004", "P005", "P006"]
    assert codes(registry.select(["empty-response"])) == ["P004"]
    assert codes(registry.select(["ALL"], ignore=["S", "M", "W", "L", "D", "C", "V", "P00"])) == []
    assert codes(registry.select(["P001"], extend_select=["M008"])) == ["M008", "P001"]
    with pytest.raises(ConfigError, match="unknown rule selector"):
        registry.select(["Q"])


@pytest.mark.parametrize("batch_size", [1, 2, 5, 1000])
def test_local_dataset_rule_sees_every_batch(tmp_path, write_jsonl, llama, batch_size):
    (tmp_path / "checks.py").write_text(LOCAL_RULES)
    rows = [{"prompt": p, "chosen": "a", "rejected": "b"} for p in ["Q", "R", "Q", "S", "Q"]]
    settings = Settings(select=("X001",), plugins=("checks.py",), base_dir=tmp_path, batch_size=batch_size)
    result = scan([str(write_jsonl(rows))], RunPlan.build(settings, llama))
    assert [(f.code, f.row, f.message) for f in result.findings] == [
        ("X001", None, "prompt 'Q' occurs in rows [0, 2, 4]")
    ]


def test_entry_point_plugins_are_registered(tmp_path, monkeypatch):
    package = tmp_path / "site"
    (package / "acme_rules").mkdir(parents=True)
    (package / "acme_rules" / "__init__.py").write_text(LOCAL_RULES)
    dist = package / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[preflint.rules]\nacme = acme_rules\n")
    monkeypatch.syspath_prepend(str(package))
    assert Registry.load().get("X001").name == "repeated-prompt"


def test_duplicate_codes_and_missing_plugins_are_config_errors(tmp_path):
    (tmp_path / "clash.py").write_text(LOCAL_RULES.replace('"X001"', '"P001"'))
    with pytest.raises(ConfigError, match="two rules claim code P001"):
        Registry.load(["clash.py"], tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        Registry.load(["nope.py"], tmp_path)
    (tmp_path / "rules.yaml").write_text("code: X001\n")
    with pytest.raises(ConfigError, match="rule plugin '.*rules.yaml' is not a Python file"):
        Registry.load(["rules.yaml"], tmp_path)


def test_a_mistyped_rule_gets_a_suggestion(capsys):
    from preflint.cli import main

    registry = Registry.load()
    with pytest.raises(ConfigError, match="unknown rule selector 'empty-respons'; did you mean empty-response\\?"):
        registry.select(["empty-respons"])
    with pytest.raises(ConfigError, match="unknown rule selector 'Q' \\(a code"):  # nothing close: no guess
        registry.select(["Q"])
    assert main(["rule", "emtpy-response"]) == 2
    assert "no rule 'emtpy-response'; did you mean empty-response?" in capsys.readouterr().err
