"""A baseline: the findings a dataset already had when it was adopted, so only new ones fail.

Each entry is a rule code and the row's content hash (the hash of its normalized prompt, chosen and rejected),
so an entry still matches after rows are reordered, inserted or deleted; findings on the dataset as a whole
(no row) are matched by their message. Entries are counted: two identical rows with the same finding need two
entries. Entries that match nothing any more are reported as stale (the problem was fixed, or the row removed),
so the baseline can be rewritten with `--write-baseline`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from preflint.errors import ConfigError
from preflint.findings import Finding, finding_counts
from preflint.version import __version__

FORMAT = 1


@dataclass
class Baseline:
    entries: Counter  # (code, row hash or "message:…") -> how many findings it covers

    @classmethod
    def of(cls, findings: list[Finding]) -> Baseline:
        return cls(Counter(finding.identity for finding in findings))

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown baseline format {data.get('format')!r}")
            return cls(Counter({(item["code"], item["key"]): int(item["count"]) for item in data["entries"]}))
        except FileNotFoundError:
            raise ConfigError(f"baseline {str(path)!r} does not exist (create it with --write-baseline)") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"baseline {str(path)!r} is not a preflint baseline: {exc}") from None

    def to_json(self) -> str:
        entries = [{"code": code, "key": key, "count": count} for (code, key), count in sorted(self.entries.items())]
        return (
            json.dumps({"format": FORMAT, "preflint": __version__, "entries": entries}, indent=1, ensure_ascii=False)
            + "\n"
        )

    def apply(self, result) -> None:
        """Remove the findings this baseline covers from `result`; its summary says what was covered and what is
        stale."""
        budget = Counter(self.entries)
        kept = []
        for finding in result.findings:
            entry = finding.identity
            if budget[entry] > 0:
                budget[entry] -= 1
            else:
                kept.append(finding)
        stale = [
            {"code": code, "key": key, "count": count} for (code, key), count in sorted(budget.items()) if count > 0
        ]
        result.findings = kept
        result.summary.update(
            finding_counts(kept),
            baseline={"covered": sum(self.entries.values()) - sum(budget.values()), "stale": stale},
        )
