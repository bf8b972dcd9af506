"""The hooks of .pre-commit-hooks.yaml, run by real pre-commit on a real git repository: a defective dataset
blocks the commit; after `preflint fix` it goes through.

The hooks are used as published (id, entry, files, serial) but as `repo: local` hooks running the preflint
installed here, so the test does not build pre-commit's own environment from the network."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, read_jsonl

DEFECTIVE = [
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},
    {"prompt": "Name a color.", "chosen": " Blue.", "rejected": " The sky is blue, usually."},
]


@pytest.fixture
def repository(tmp_path):
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the pre-commit hooks")
    repo = tmp_path / "data-repo"
    repo.mkdir()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }

    def sh(*argv, check=True):
        done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv} failed:\n{done.stdout}\n{done.stderr}")
        return done

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    local = [{**hook, "language": "system", "args": ["--no-progress"]} for hook in hooks]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": local}]}))
    sh("git", "init", "-q")
    sh(str(Path(bin_dir) / "pre-commit"), "install")
    return repo, sh


def test_defective_data_blocks_the_commit_until_fixed(repository):
    repo, sh = repository
    data = repo / "prefs.jsonl"
    data.write_text("".join(__import__("json").dumps(row) + "\n" for row in DEFECTIVE))
    sh("git", "add", "-A")
    blocked = sh("git", "commit", "-qm", "add data", check=False)
    assert blocked.returncode != 0
    output = blocked.stdout + blocked.stderr
    assert "P001" in output and output.count("Failed") == 2, output  # both hooks ran and failed on the pair

    fixed = repo / "fixed.jsonl"
    sh("preflint", "fix", "prefs.jsonl", "--out", str(fixed), "--no-progress", check=False)
    fixed.replace(data)
    assert len(read_jsonl(data)) == 1
    sh("git", "add", "-A")
    passed = sh("git", "commit", "-qm", "add repaired data", check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert (passed.stdout + passed.stderr).count("Passed") == 2


def test_the_hooks_match_every_format_preflint_reads():
    from preflint.read import COMPRESSIONS, FORMATS

    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()):
        names = [f"data{suffix}" for suffix in FORMATS] + [f"data.jsonl{suffix}" for suffix in COMPRESSIONS]
        assert [name for name in names if not re.search(hook["files"], name)] == [], hook["id"]


def test_json_that_is_never_preference_data_is_not_scanned(repository):
    """A baseline, dataset metadata or a tokenizer's files beside the data: the hooks pass them by."""
    repo, sh = repository
    (repo / "data").mkdir()
    (repo / "data" / "train.jsonl").write_text('{"prompt": "2+2?", "chosen": "4", "rejected": "5"}\n')
    for name in (".preflint-baseline.json", "dataset_info.json", "data/dataset_dict.json", "tokenizer_config.json"):
        (repo / name).write_text('{"version": 1}')
    sh("git", "add", "-A")
    passed = sh("git", "commit", "-qm", "data and metadata", check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_the_hooks_leave_out_only_metadata_names():
    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()):
        data_names = ["train.json", "data/prefs.jsonl", "my_config_prefs.json", "tokenizer_prefs.json", "state.jsonl"]
        assert [name for name in data_names if re.search(hook["exclude"], name)] == [], hook["id"]

