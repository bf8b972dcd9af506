"""Markdown: a report to paste where people read it, a dataset card or a CI job's summary
(`preflint scan data --format markdown >> "$GITHUB_STEP_SUMMARY"`).

The summary, a table of rules with findings, and each rule's first rows in a collapsed `<details>` block. Text
from the data is escaped, so a `<|eot_id|>` or a `|` in a reply shows as written and cannot break the table.
"""

from __future__ import annotations

import re
from typing import TextIO

from preflint.findings import fix_labels
from preflint.forecast import describe
from preflint.report.fix_text import (
    accounting_line,
    fix_per_rule,
    forecast_before_line,
    remaining_line,
    written_data,
)
from preflint.report.text import (
    STATISTICS_COLUMNS,
    baseline_line,
    by_rule,
    findings_line,
    notes_of,
    rule_statistics,
    settings_line,
    source_line,
)
from preflint.text import printable, quantity

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # inline markup (a line never starts with data, so "#", "-" are safe)
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def write_markdown(result, stream: TextIO, *, limit: int = 10, **_options) -> None:
    summary = result.summary
    stream.write(f"## preflint: {_headline(summary)}\n\n")
    stream.writelines(f"**Warning:** {_escape(warning)}\n\n" for warning in summary.get("misread", []))
    stream.write(f"{_escape(describe(summary['forecast']))}\n\n")
    _version_note(stream, summary)
    if "baseline" in summary:
        stream.write(f"{_escape(baseline_line(summary['baseline']))}\n\n")
    labels = fix_labels(result.findings)
    statistics = rule_statistics(result, labels)
    if statistics:
        stream.write("| " + " | ".join(STATISTICS_COLUMNS) + " |\n|---:|---:|---|---|---|---|\n")
        stream.writelines("| " + " | ".join(map(_escape, line)) + " |\n" for line in statistics)
        stream.write("\n")
    _rule_blocks(stream, result.findings, limit)
    _inputs(stream, summary, result.tokenizer)


def write_fix_markdown(result, stream: TextIO, limit: int = 10) -> None:
    """The fix report (`--report report.md`): the accounting, the forecast, per rule what was found, dropped,
    fixed and is left, and the findings left in the output."""
    data = result.to_dict()
    stream.write(f"## preflint fix: {accounting_line(data['accounting'])}\n\n")
    stream.write(f"{_escape(forecast_before_line(data['before']))}\n\n")
    _version_note(stream, data["before"])
    columns = ("code", "name", "severity", "fix", "before", "dropped", "fixed", "remaining", "dropped_elsewhere")
    rows = fix_per_rule(result, data)
    if rows:
        header = [*columns[:-1], "on rows dropped by another rule"]
        stream.write("| " + " | ".join(header) + " |\n|---|---|---|---|---:|---:|---:|---:|---:|\n")
        for row in rows:
            cells = [_escape(row[name]) if isinstance(row[name], str) else f"{row[name]:,}" for name in columns]
            stream.write("| " + " | ".join(cells) + " |\n")
        stream.write("\n")
    stream.write(f"{_escape(remaining_line(result))}\n\n")
    _rule_blocks(stream, result.remaining, limit)
    stream.writelines(f"- wrote {_escape(written)}\n" for written in written_data(result))
    _inputs(stream, data["before"], data["tokenizer"])


def _version_note(stream: TextIO, summary: dict) -> None:
    for note in notes_of(summary):
        stream.write(f"Note: {_escape(note)}\n\n")


def _rule_blocks(stream: TextIO, findings, limit: int) -> None:
    """Each rule's findings, its first `limit` rows shown, in a collapsed block."""
    for code, found, shown in by_rule(findings, limit):
        stream.write(f"<details><summary>{_escape(f'{code} {found[0].name}')}: {len(found):,}</summary>\n\n")
        for finding in shown:
            stream.write(f"- {finding.where}: {_escape(finding.message)}\n")
        if len(found) > len(shown):
            stream.write(f"- … and {len(found) - len(shown):,} more\n")
        stream.write("\n</details>\n\n")


def _inputs(stream: TextIO, summary: dict, tokenizer: dict) -> None:
    for source in summary["sources"]:
        stream.write(f"- {_escape(source_line(source))}\n")
        if "trainer_note" in source:
            stream.write(f"  - note: {_escape(source['trainer_note'])}\n")
    if settings := settings_line(summary):
        stream.write(f"- {_escape(settings)}\n")
    stream.write(f"- tokenizer {_escape(tokenizer['name'])}: {_escape(tokenizer['source'])}\n")


def _headline(summary: dict) -> str:
    return findings_line(summary) if summary["findings"] else f"all checks passed on {quantity(summary['rows'], 'row')}"


def _escape(text: str) -> str:
    """Text shown as written: markup characters backslash-escaped, HTML's as entities, on one line."""
    text = printable(" ".join(str(text).splitlines()))
    return "".join(_HTML.get(char, char) for char in _SPECIAL.sub(r"\\\1", text))
