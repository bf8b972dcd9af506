"""What a rule is: metadata declared on the class, documentation in its docstring, and one of two scopes.

Row rules see one batch at a time and report on its rows. Dataset rules see every batch through a small
map/merge/finish interface, so they can run over batches in any order, in parallel workers, or on a
distributed engine: `update` folds a batch into a state, `merge` joins two states, `finish` reports.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from preflint.defects import Defect
from preflint.errors import ConfigError
from preflint.findings import DROP, Applicability, Finding, Fix, Severity

if TYPE_CHECKING:
    from preflint.pipeline.batch import PairBatch

FAMILIES = {
    "S": "structure",
    "P": "pair",
    "W": "whitespace",
    "D": "dataset",
    "L": "labels",
    "M": "mask",
    "C": "candidates",
    "V": "vision",
}


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case
    family: ClassVar[str]
    severity: ClassVar[Severity]
    fix: ClassVar[Fix | None] = None
    options: ClassVar[dict[str, Any]] = {}
    scope: ClassVar[str]
    needs_trainer: ClassVar[bool] = False  # reads batch.trainer: the pair as the trainer profile feeds it

    def __init__(self, **settings: Any):
        unknown = sorted(set(settings) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ConfigError(f"rule {self.code} ({self.name}) has no option {unknown[0]!r} (options: {known})")
        for key, value in settings.items():
            default = self.options[key]
            expected = (int, float) if isinstance(default, float) else type(default)
            if isinstance(value, bool) is not isinstance(default, bool) or not isinstance(value, expected):
                raise ConfigError(f"rule {self.code} option {key!r} must be {type(default).__name__}, got {value!r}")
            if isinstance(value, list) and not all(isinstance(item, str) for item in value):
                raise ConfigError(f"rule {self.code} option {key!r} must be a list of strings, got {value!r}")
        self.settings = {**self.options, **settings}

    def finding(
        self,
        row: int | None,
        message: str,
        fix: Fix | None = None,
        *,
        no_signal: bool | None = None,
        about: str | None = None,
    ) -> Finding:
        """A finding of this rule; `fix` describes this row's change when it differs from the rule's default;
        `no_signal`: the pair gives DPO no signal (the ln 2 forecast counts it; None: as the code says); `about`: for
        a finding without a row, what it is about as content (the hashes of the texts concerned), never row numbers."""
        return Finding(
            self.code, self.name, self.severity, row, message, fix or self.fix, no_signal=no_signal, about=about
        )

    def cannot_check(self, tokenizer) -> str | None:
        """What this rule cannot check with this tokenizer, in words for the scan's summary (None: it checks all
        it checks). A tokenizer without an EOS token, say, leaves nothing to find at the end of a text reply."""
        return None

    @classmethod
    def summary(cls) -> str:
        return cls.documentation().splitlines()[0]

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def fix_label(cls) -> str:
        return cls.fix.applicability.value if cls.fix else "none"


class RowRule(Rule):
    scope = "row"

    def check(self, batch: PairBatch) -> Iterable[Finding]:
        raise NotImplementedError


class DatasetRule(Rule):
    scope = "dataset"

    def start(self) -> Any:
        raise NotImplementedError

    def update(self, state: Any, batch: PairBatch) -> Any:
        """Fold one batch into the state and return it."""
        raise NotImplementedError

    def merge(self, state: Any, other: Any) -> Any:
        raise NotImplementedError

    def finish(self, state: Any) -> Iterable[Finding]:
        raise NotImplementedError


class DefectRule(RowRule):
    """Reports the records the pipeline could not turn into a pair because of one kind of defect (`defect`)."""

    defect: ClassVar[Defect]

    def check(self, batch: PairBatch) -> Iterable[Finding]:
        for row, found in zip(batch.rows, batch.defects):
            if found is not None and found.kind is self.defect:
                yield self.finding(row, found.message)


DROP_ROW = Fix(Applicability.SAFE, "drop the row: it carries no preference signal", DROP)
NOT_A_PAIR = Fix(Applicability.SAFE, "drop the record: it is not a preference pair", DROP)
UNTRAINABLE = Fix(Applicability.SAFE, "drop the row: the trainer cannot train it as it is", DROP)
EVERY_ROW_FAILS = Fix(Applicability.DISPLAY, "keep the row: every row like it fails; change what the message says")
