"""Helpers for the tests of reading trainers' own configs (--from-config)."""

import json

from tests.conftest import DATA
from tests.test_cli import run

CONFIGS = DATA / "configs"  # example configs copied from the trainers' own repositories (see tests/data/README.md)
PROVENANCE = ("trainer_config", "settings_from", "assumptions")  # what only a scan from a config reports


def json_scan(capsys, *argv) -> dict:
    """`preflint scan --format json` of these arguments, scanned afresh."""
    code, out, err = run(capsys, "scan", "--format", "json", "--no-cache", *argv)
    assert code in (0, 1), err
    return json.loads(out)


def as_run(report: dict) -> dict:
    """A JSON report without what differs between two scans of one run: timing, and where settings came from."""
    summary = {key: value for key, value in report["summary"].items() if key not in ("seconds", *PROVENANCE)}
    return {**report, "summary": summary}


def values(config) -> dict:
    """A TrainerConfig's settings, as values."""
    return {key: value.value for key, value in config.settings.items()}


def read_as(config) -> list[tuple]:
    """Each dataset of a TrainerConfig: its name, inputs and how it is read, as values."""
    return [
        (dataset.name, dataset.inputs, {key: value.value for key, value in dataset.reading.items()})
        for dataset in config.datasets
    ]
