"""Markdown: a report to paste where people read it, a dataset card or a CI job's summary
(`preflint scan data --format markdown >> "$GITHUB_STEP_SUMMARY"`).

The summary, a table of rules with findings, and each rule's first rows in a collapsed `<details>` block. Text
from the data is escaped, so a `<|eot_id|>` or a `|` in a reply shows as written and cannot break the table.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TextIO

from ..findings import fix_labels
from ..forecast import describe
from ..text import quantity
from .text import STATISTICS_COLUMNS, baseline_line, findings_line, rule_statistics, source_line

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # inline markup (a line never starts with data, so "#", "-" are safe)
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def write_markdown(result, stream: TextIO, *, limit: int = 10, **_options) -> None:
    summary = result.summary
    stream.write(f"## preflint: {_headline(summary)}\n\n{_escape(describe(summary['forecast']))}\n\n")
    if "baseline" in summary:
        stream.write(f"{_escape(baseline_line(summary['baseline']))}\n\n")
    labels = fix_labels(result.findings)
    statistics = rule_statistics(result, labels)
    if statistics:
        stream.write("| " + " | ".join(STATISTICS_COLUMNS) + " |\n|---:|---:|---|---|---|---|\n")
        stream.writelines("| " + " | ".join(map(_escape, line)) + " |\n" for line in statistics)
        stream.write("\n")
    by_code = defaultdict(list)
    for finding in result.findings:
        by_code[finding.code].append(finding)
    for code, findings in sorted(by_code.items()):
        shown = findings if limit <= 0 else findings[:limit]
        stream.write(f"<details><summary>{_escape(f'{code} {findings[0].name}')}: {len(findings):,}</summary>\n\n")
        for finding in shown:
            where = f"row {finding.row}" if finding.row is not None else "dataset"
            stream.write(f"- {where}: {_escape(finding.message)}\n")
        if len(findings) > len(shown):
            stream.write(f"- … and {len(findings) - len(shown):,} more\n")
        stream.write("\n</details>\n\n")
    for source in summary["sources"]:
        stream.write(f"- {_escape(source_line(source))}\n")
        if "trainer_note" in source:
            stream.write(f"  - note: {_escape(source['trainer_note'])}\n")
    tokenizer = result.tokenizer
    stream.write(f"- tokenizer {_escape(tokenizer['name'])}: {_escape(tokenizer['source'])}\n")


def _headline(summary: dict) -> str:
    return findings_line(summary) if summary["findings"] else f"all checks passed on {quantity(summary['rows'], 'row')}"


def _escape(text: str) -> str:
    """Text shown as written: markup characters backslash-escaped, HTML's as entities, on one line."""
    text = " ".join(str(text).splitlines())
    return "".join(_HTML.get(char, char) for char in _SPECIAL.sub(r"\\\1", text))
