"""Run selected rules over a stream of batches; the engine knows rules only through their two scopes.

`examine` is the part that needs the batch (row rules, and each dataset rule's partial state for it) and may run in
a worker process; `absorb` folds its result in, in batch order, in the scan's own process.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from preflint.errors import PreflintError, RuleError, one_line
from preflint.findings import Finding
from preflint.pipeline.batch import PairBatch
from preflint.rule import DatasetRule, RowRule, Rule


class Engine:
    def __init__(self, rules: Iterable[Rule]):
        rules = list(rules)
        self.row_rules = [rule for rule in rules if isinstance(rule, RowRule)]
        self.dataset_rules = [rule for rule in rules if isinstance(rule, DatasetRule)]
        self.states = [_started(rule) for rule in self.dataset_rules]
        self.findings: list[Finding] = []

    def examine(self, batch: PairBatch) -> tuple[list[Finding], list]:
        """The batch's row findings, and each dataset rule's state for this batch alone."""
        hashes = dict(zip(batch.rows, batch.hashes))
        findings: list[Finding] = []
        for rule in self.row_rules:
            with _failures_of(rule):
                findings.extend(replace(finding, row_hash=hashes.get(finding.row)) for finding in rule.check(batch))
        states = []
        for rule in self.dataset_rules:
            with _failures_of(rule):
                states.append(rule.update(rule.start(), batch))
        return findings, states

    def absorb(self, findings: list[Finding], partial_states: list) -> None:
        self.findings.extend(findings)
        merged = []
        for rule, state, part in zip(self.dataset_rules, self.states, partial_states):
            with _failures_of(rule):
                merged.append(rule.merge(state, part))
        self.states = merged

    def feed(self, batch: PairBatch) -> None:
        self.absorb(*self.examine(batch))

    def finish(self) -> list[Finding]:
        for rule, state in zip(self.dataset_rules, self.states):
            with _failures_of(rule):
                self.findings.extend(rule.finish(state))
        return sorted(self.findings, key=Finding.sort_key)


def _started(rule: DatasetRule):
    with _failures_of(rule):
        return rule.start()


@contextmanager
def _failures_of(rule: Rule) -> Iterator[None]:
    """A rule that raises (a bug in it) stops the run with one line naming the rule, the error and where it was
    raised, not a traceback."""
    try:
        yield
    except PreflintError:
        raise
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        ours = type(rule).__module__.startswith("preflint.")
        raise RuleError(
            f"rule {rule.code} ({rule.name}) failed: {type(exc).__name__}: {one_line(exc)} "
            f"(at {frame.filename}, line {frame.lineno}){'; a bug in preflint: please report it' if ours else ''}"
        ) from exc
