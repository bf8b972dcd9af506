"""Run selected rules over a stream of batches; the engine knows rules only through their two scopes.

`examine` is the part that needs the batch (row rules, and each dataset rule's partial state for it) and may run in
a worker process; `absorb` folds its result in, in batch order, in the scan's own process.
"""

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

    def examine(self, batch: PairBatch) -> tuple[list[Finding], list]:
        """The batch's row findings, and each dataset rule's state for this batch alone."""
        hashes = dict(zip(batch.rows, batch.hashes))
        findings = [
            replace(finding, row_hash=hashes.get(finding.row)) for rule in self.row_rules for finding in rule.check(batch)
        ]
        return findings, [rule.update(rule.start(), batch) for rule in self.dataset_rules]

    def absorb(self, findings: list[Finding], partial_states: list) -> None:
        self.findings.extend(findings)
        self.states = [rule.merge(state, part) for rule, state, part in zip(self.dataset_rules, self.states, partial_states)]

    def feed(self, batch: PairBatch) -> None:
        self.absorb(*self.examine(batch))

    def finish(self) -> list[Finding]:
        for rule, state in zip(self.dataset_rules, self.states):
            self.findings.extend(rule.finish(state))
        return sorted(self.findings, key=Finding.sort_key)
