"""The on-demand profilers in benchmarks/ still run against the package (their figures are not checked here)."""

from benchmarks import dataset_rules, stages
from preflint.config import Settings
from preflint.pipeline.steps import PREPARE
from preflint.registry import Registry


def test_stage_profile_times_every_stage_and_every_default_rule():
    timings = stages.profile(300)
    rules = {f"rule {rule.code}" for rule in Registry.load().select(Settings().select)}
    assert set(timings) == {"read", *(step.name for step in PREPARE)} | rules  # the scan's own steps


def test_dataset_rules_benchmark_finds_the_duplicates_and_contradictions_it_plants():
    result = dataset_rules.run(300)  # every 50th row repeats the one before it, every 97th swaps its sides
    assert result["rows"] == 300
    assert result["findings"]["D001"] >= 5 and result["findings"]["D003"] >= 3
