"""The run plan: settings are resolved once per run, whatever the run does with them."""

import json

import pytest

from preflint.cli import main
from preflint.registry import Registry
from preflint.trainers import Profile

DATA = [
    {"prompt": "Name a color", "chosen": "Red. ", "rejected": "Red."},  # W002, then P001 on the second pass
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},  # P001
    {"prompt": "Good?", "chosen": "Yes, quite.", "rejected": "No."},
]


@pytest.fixture
def built(monkeypatch):
    """How many rule registries and trainer profiles the run builds."""
    counts = {"registries": 0, "profiles": 0}
    registry_init, profile_init = Registry.__init__, Profile.__init__

    def registry(self, *args, **kwargs):
        counts["registries"] += 1
        registry_init(self, *args, **kwargs)

    def profile(self, *args, **kwargs):
        counts["profiles"] += 1
        profile_init(self, *args, **kwargs)

    monkeypatch.setattr(Registry, "__init__", registry)
    monkeypatch.setattr(Profile, "__init__", profile)
    return counts


@pytest.mark.parametrize("command", [["scan", "--no-cache", "--format", "json"], ["fix", "--out", "{tmp}/out.jsonl"]])
def test_a_run_builds_its_registry_and_profile_once(command, built, write_jsonl, tmp_path, capsys):
    data = write_jsonl(DATA)
    argv = [command[0], str(data), "--trainer", "trl", *(arg.format(tmp=tmp_path) for arg in command[1:])]
    assert main([*argv, "--jobs", "1", "--no-progress"]) == (1 if command[0] == "scan" else 0)
    if command[0] == "fix":
        assert "(2 passes)" in capsys.readouterr().out  # both passes took the one plan
    assert built == {"registries": 1, "profiles": 1}


def test_rules_from_a_subdirectory_lists_the_configs_local_plugins(tmp_path, monkeypatch, capsys):
    """A config's plugin paths are relative to the config file, for `preflint rules` as for a scan."""
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "house.py").write_text(
        "from preflint.findings import Severity\n"
        "from preflint.rule import RowRule\n\n\n"
        "class HouseStyle(RowRule):\n"
        '    """Replies in the house style."""\n\n'
        '    code, name, family, severity = "H001", "house-style", "house", Severity.WARNING\n\n'
        "    def check(self, batch):\n"
        "        return []\n"
    )
    (tmp_path / "preflint.toml").write_text('plugins = ["checks/house.py"]\n')
    (tmp_path / "data" / "train").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "data" / "train")
    assert main(["rules", "--format", "json"]) == 0
    assert "H001" in [rule["code"] for rule in json.loads(capsys.readouterr().out)]
    assert main(["rule", "house-style"]) == 0
    assert "Replies in the house style." in capsys.readouterr().out
