"""Run selected rules over a stream of batches; the engine knows rules only through their two scopes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .batch import PairBatch
from .findings import Finding
from .rule import DatasetRule, RowRule, Rule


class Engine:
    def __init__(self, rules: Iterable[Rule]):
        rules = list(rules)
        self.row_rules = [rule for rule in rules if isinstance(rule, RowRule)]
        self.dataset_rules = [rule for rule in rules if isinstance(rule, DatasetRule)]
        self.states = [rule.start() for rule in self.dataset_rules]
        self.findings: list[Finding] = []

    def feed(self, batch: PairBatch) -> None:
        hashes = dict(zip(batch.rows, batch.hashes))
        for rule in self.row_rules:
            self.findings.extend(replace(finding, row_hash=hashes.get(finding.row)) for finding in rule.check(batch))
        # Each batch folds into a fresh partial state that is merged in: the same path a worker pool takes.
        self.states = [
            rule.merge(state, rule.update(rule.start(), batch)) for rule, state in zip(self.dataset_rules, self.states)
        ]

    def finish(self) -> list[Finding]:
        for rule, state in zip(self.dataset_rules, self.states):
            self.findings.extend(rule.finish(state))
        return sorted(self.findings, key=Finding.sort_key)
