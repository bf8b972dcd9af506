"""A trainer profile transcribes one version of its trainer; where another is installed, the report says so."""

import pytest

from preflint.config import Settings
from preflint.pipeline.cache import scan_key
from preflint.pipeline.plan import RunPlan
from tests.test_cli import run

ROW = {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}


@pytest.fixture
def installed(monkeypatch):
    """The trainer distributions this test says are installed, by name: version."""
    packages: dict[str, str] = {}
    monkeypatch.setattr("preflint.trainers.installed_version", packages.get)
    return packages


def test_another_minor_version_of_the_trainer_gets_a_note(installed, write_jsonl, capsys, tmp_path):
    data = str(write_jsonl([ROW]))
    installed["trl"] = "0.19.1"
    code, out, _ = run(capsys, "scan", data, "--trainer", "trl", "--no-cache")
    assert code == 0
    assert (
        "note: trl 0.19.1 is installed here, but preflint simulates trl 1.16's preprocessing: where the two "
        "differ, findings may not match what your training does"
    ) in out
    code, out, _ = run(capsys, "scan", data, "--trainer", "trl", "--no-cache", "--format", "markdown")
    assert "Note: trl 0.19.1 is installed here" in out
    report = tmp_path / "report.md"
    code, out, _ = run(
        capsys, "fix", data, "--trainer", "trl", "--out", str(tmp_path / "out.jsonl"), "--report", str(report)
    )
    assert "note: trl 0.19.1 is installed here" in out  # fix decides by the same simulation
    assert "Note: trl 0.19.1 is installed here" in report.read_text(encoding="utf-8")
    installed["axolotl"] = "0.12.2"
    code, out, _ = run(capsys, "scan", data, "--trainer", "axolotl", "--no-cache")
    assert "note: axolotl 0.12.2 is installed here, but preflint simulates axolotl 0.18's preprocessing" in out


@pytest.mark.parametrize(
    ("packages", "trainer"),
    [
        ({"trl": "1.16.3"}, "trl"),  # a patch release of the version simulated
        ({}, "trl"),  # not installed: preflint runs apart from training (CI, pre-commit)
        ({"trl": "0.19.1"}, "plain"),  # preflint's own split simulates no trainer's version
    ],
)
def test_no_note_for_the_version_simulated_or_none_installed(installed, packages, trainer, write_jsonl, capsys):
    installed.update(packages)
    code, out, _ = run(capsys, "scan", str(write_jsonl([ROW])), "--trainer", trainer, "--no-cache")
    assert code == 0 and "note:" not in out


def test_a_cached_scan_is_not_reused_once_the_installed_trainer_changes(installed, write_jsonl):
    """The note is part of the result, so the cache key follows the installed version."""
    data, settings = [str(write_jsonl([ROW]))], Settings(trainer="trl")
    installed["trl"] = "1.16.0"
    before = scan_key(data, RunPlan.build(settings))
    installed["trl"] = "1.17.0"
    assert scan_key(data, RunPlan.build(settings)) != before
