"""What a rule reports: a finding, its severity and the fix it proposes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from preflint.forecast import gives_no_signal


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class Applicability(str, Enum):
    """How far a fix can be trusted, as in ruff: safe fixes are applied by default, unsafe ones on request."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display-only"


DROP = "drop"  # remove the row from the output; it goes to the rejects with the finding's message
SWAP = "swap"  # exchange chosen and rejected (and their scores)


@dataclass(frozen=True)
class Edit:
    """Rewrite the row's text: `transform` runs on every text of the pair (`where="all"`), or on the responses only
    (`where="responses"`), in place in the record so its columns and shape stay as they were."""

    transform: Callable[[str], str]
    where: str = "responses"  # responses | all


@dataclass(frozen=True)
class Fix:
    """What a finding proposes: how far it can be trusted, in words, and what `preflint fix` does (no action:
    display-only)."""

    applicability: Applicability
    description: str
    action: str | Edit | None = None  # DROP, SWAP or an Edit

    def to_dict(self) -> dict:
        return {"applicability": self.applicability.value, "description": self.description}


@dataclass(frozen=True, slots=True)  # slots: a large dataset has hundreds of thousands of findings
class Finding:
    code: str
    name: str
    severity: Severity
    row: int | None  # None for dataset-level findings
    message: str
    fix: Fix | None = None
    row_hash: str | None = None  # content hash of the row's normalized pair: identity that survives reordering
    no_signal: bool | None = None  # the pair gives DPO no signal (None: as the rule's code says, see forecast.py)
    # What a finding without a row is about, as content rather than row numbers (the hashes of a cluster's texts,
    # the feature a bias is in), so that it is the same finding wherever the rows it is about move.
    about: str | None = None

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "row": self.row,
            "hash": self.row_hash,
            "message": self.message,
            "fix": self.fix.to_dict() if self.fix else None,
            **({"no_signal": True} if gives_no_signal(self) else {}),
            **({"about": self.about} if self.about else {}),
        }

    @property
    def identity(self) -> tuple[str, str]:
        """What the finding is across runs, wherever its rows move: its code and the row's content hash, or what a
        finding about the dataset is about (its message where it says nothing else). Baselines count findings by
        it; GitLab reports fingerprint it."""
        if self.row_hash:
            return self.code, self.row_hash
        return self.code, f"about:{self.about}" if self.about else f"message:{self.message}"

    @property
    def where(self) -> str:
        """Where the finding is, as reports name it: 'row 86', or 'dataset' for the data as a whole."""
        return f"row {self.row}" if self.row is not None else "dataset"

    def sort_key(self) -> tuple:
        return (self.row is None, self.row if self.row is not None else 0, self.code)


def fix_labels(findings: Iterable[Finding]) -> dict[str, str]:
    """For each rule code, how its findings' fixes apply, in one label: 'safe', 'display-only or safe'; '' for
    none. A rule can propose different fixes for different rows (W004, M003)."""
    kinds: dict[str, set[str]] = {}
    for finding in findings:
        kinds.setdefault(finding.code, set()).update([finding.fix.applicability.value] if finding.fix else [])
    return {code: " or ".join(sorted(found)) for code, found in kinds.items()}


def finding_counts(findings: list[Finding]) -> dict:
    """The summary's counts of findings: in all, rows with any, per code and per severity."""
    return {
        "findings": len(findings),
        "rows_with_findings": len({finding.row for finding in findings if finding.row is not None}),
        "findings_by_code": dict(sorted(Counter(f.code for f in findings).items())),
        "findings_by_severity": dict(Counter(f.severity.value for f in findings)),
    }
