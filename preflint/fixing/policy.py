"""Which findings' fixes `preflint fix` applies: the fixable rules, by applicability, with ruff's per-rule overrides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from preflint.findings import Applicability, Finding
from preflint.pipeline.plan import RunPlan


@dataclass(frozen=True)
class FixPolicy:
    fixable: frozenset[str]
    promoted: frozenset[str]  # unsafe fixes treated as safe (extend-safe-fixes)
    demoted: frozenset[str]  # safe fixes treated as unsafe (extend-unsafe-fixes)
    unsafe: bool

    @classmethod
    def from_plan(cls, plan: RunPlan, unsafe: bool) -> FixPolicy:
        settings = plan.settings

        def codes(selectors: Sequence[str]) -> frozenset[str]:
            return frozenset(rule.code for rule in plan.registry.select(selectors)) if selectors else frozenset()

        fixable = codes(settings.fixable) - codes(settings.unfixable)
        return cls(fixable, codes(settings.extend_safe_fixes), codes(settings.extend_unsafe_fixes), unsafe)

    def applicability(self, finding: Finding) -> Applicability | None:
        """How this finding's fix counts here; None when it has nothing to apply (display-only or no fix)."""
        if finding.fix is None or finding.fix.action is None:
            return None
        declared = finding.fix.applicability
        if declared is Applicability.UNSAFE and finding.code in self.promoted:
            return Applicability.SAFE
        if declared is Applicability.SAFE and finding.code in self.demoted:
            return Applicability.UNSAFE
        return declared

    def applies(self, finding: Finding) -> bool:
        if finding.row is None or finding.code not in self.fixable:
            return False
        applicability = self.applicability(finding)
        return applicability is Applicability.SAFE or (applicability is Applicability.UNSAFE and self.unsafe)
