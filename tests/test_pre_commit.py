"""The hooks of .pre-commit-hooks.yaml, run by real pre-commit on a real git repository: a defective dataset
blocks the commit; after `preflint fix` it goes through.

The hooks are used as published (id, entry, files, serial) but as `repo: local` hooks running the preflint
installed here, so the test does not build pre-commit's own environment from the network."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, read_jsonl

README = ROOT / "README.md"

DEFECTIVE = [
    {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Paris."},
    {"prompt": "Name a color.", "chosen": " Blue.", "rejected": " The sky is blue, usually."},
]


def git_repository(path: Path, hooks: list[dict] | None = None):
    """A git repository at `path` and a function that runs commands in it; with `hooks`, pre-commit installed and
    configured with them as local hooks."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the pre-commit hooks")
    path.mkdir(parents=True)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ["PATH"],
        "PRE_COMMIT_HOME": str(path.parent / "pre-commit"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }

    def sh(*argv, check=True):
        done = subprocess.run(argv, cwd=path, env=env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv} failed:\n{done.stdout}\n{done.stderr}")
        return done

    sh("git", "init", "-q", "-b", "main")
    if hooks is not None:
        (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}))
        sh(str(Path(bin_dir) / "pre-commit"), "install")
    return sh


def published_hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def as_local(hook: dict) -> dict:
    """A hook as published, run by the preflint installed here (not in an environment pre-commit builds)."""
    return {**hook, "language": "system", "args": [*hook.get("args", []), "--no-progress"]}


@pytest.fixture
def repository(tmp_path):
    repo = tmp_path / "data-repo"
    return repo, git_repository(repo, [as_local(hook) for hook in published_hooks().values()])


def readme_block(kind: str) -> str:
    """The first ```kind block of the README's pre-commit section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## pre-commit\n") :]
    start = section.index(f"```{kind}\n") + len(f"```{kind}\n")
    return section[start : section.index("```", start)]


def test_defective_data_blocks_the_commit_until_fixed(repository):
    repo, sh = repository
    data = repo / "prefs.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in DEFECTIVE))
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
    from preflint.io.sources import COMPRESSIONS, FORMATS

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


def test_the_readme_walk_through_ends_in_a_passing_commit(tmp_path):
    """The README's hook configuration and its commands after a blocked commit, run as written: data with a safe
    fix (an identical pair) and findings a repair cannot settle (a punctuation-only difference, an unsafe fix)."""
    snippet = yaml.safe_load(readme_block("yaml"))["repos"][0]
    published = published_hooks()
    hooks = [as_local({**published[hook["id"]], **hook}) for hook in snippet["hooks"]]
    repo = tmp_path / "data-repo"
    sh = git_repository(repo, hooks)
    (repo / "data").mkdir()
    rows = [*DEFECTIVE, {"prompt": "Thanks!", "chosen": " You're welcome.", "rejected": " You're welcome!"}]
    (repo / "data" / "prefs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    commands = [line[2:] for line in readme_block("console").splitlines() if line.startswith("$ ")]
    outcomes = []
    for command in commands:
        done = sh("bash", "-c", command, check=False)
        outcomes.append((command.split("#")[-1].strip(), done.returncode))
        if "#" not in command:
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    blocked = [code for comment, code in outcomes if comment.startswith("blocked")]
    assert len(blocked) == 2 and all(code != 0 for code in blocked), outcomes
    assert outcomes[-1] == ("passes", 0), outcomes
    assert sh("git", "log", "--oneline").stdout.count("\n") == 1
    assert len(read_jsonl(repo / "data" / "prefs.jsonl")) == 2  # the identical pair went; the P003 pair is kept


def test_the_readme_rev_is_pinned_to_a_commit_by_autoupdate(tmp_path):
    """The README's `rev` resolves in a repository with no tags: `pre-commit autoupdate --bleeding-edge --freeze`
    (as the README says) finds the hooks it names there and pins the newest commit."""
    source = tmp_path / "preflint"
    in_source = git_repository(source)
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", source / ".pre-commit-hooks.yaml")
    in_source("git", "add", "-A")
    in_source("git", "commit", "-qm", "hooks")
    head = in_source("git", "rev-parse", "HEAD").stdout.strip()
    assert in_source("git", "rev-parse", yaml.safe_load(readme_block("yaml"))["repos"][0]["rev"]).stdout.strip() == head

    repo = tmp_path / "data-repo"
    sh = git_repository(repo)
    config = yaml.safe_load(readme_block("yaml"))
    config["repos"][0]["repo"] = str(source)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    sh(pre_commit, "validate-config", ".pre-commit-config.yaml")
    sh(pre_commit, "autoupdate", "--bleeding-edge", "--freeze")
    assert yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["rev"] == head
