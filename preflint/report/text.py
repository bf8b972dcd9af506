"""Human output: findings grouped by rule, a summary line, and optional statistics (like `ruff --statistics`)."""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from preflint.findings import fix_labels
from preflint.forecast import describe
from preflint.text import printable, quantity

STATISTICS_COLUMNS = ("count", "% rows", "code", "name", "severity", "fix")
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class Terminal(Console):
    """A console for reports whose text comes from data and file names: nothing it prints can steer the terminal
    or a CI log (escape sequences, a newline that starts a log command, bidirectional overrides)."""

    def __init__(self, stream: TextIO, color: bool):
        super().__init__(file=stream, force_terminal=color, no_color=not color, highlight=False, soft_wrap=True)

    def print(self, *objects, **options) -> None:
        super().print(*(printable(item) if isinstance(item, str) else item for item in objects), **options)


def write_text(result, stream: TextIO, *, color: bool = False, statistics: bool = False, limit: int = 10) -> None:
    console = Terminal(stream, color)
    labels = fix_labels(result.findings)
    for warning in result.summary.get("misread", []):  # first: the findings below may be the misreading's
        console.print(f"[bold red]warning: {escape(warning)}[/]")
    for code, findings, shown in by_rule(result.findings, limit):
        first = findings[0]
        style = SEVERITY_STYLE[first.severity.value]
        fix = f", fix: {labels[code]}" if labels[code] else ""
        console.print(f"[{style}]{code}[/] [bold]{first.name}[/] ({first.severity.value}{fix}): {len(findings)}")
        for finding in shown:
            console.print(f"  [dim]{finding.where}:[/] {escape(finding.message)}")
        if len(findings) > len(shown):
            console.print(f"  [dim]... and {len(findings) - len(shown)} more (--limit 0 shows all)[/]")
    if statistics:
        _statistics(console, result, labels)
    _summary(console, result)


def by_rule(findings, limit: int) -> list[tuple[str, list, list]]:
    """Each rule's findings, by code: its code, all its findings and the first `limit` of them (all for 0)."""
    grouped = defaultdict(list)
    for finding in findings:
        grouped[finding.code].append(finding)
    return [(code, found, found if limit <= 0 else found[:limit]) for code, found in sorted(grouped.items())]


def rule_statistics(result, labels: dict[str, str]) -> list[tuple[str, ...]]:
    """Per rule with findings: count, share of rows, code, name, severity, fix (`--statistics`, markdown's table)."""
    rows = result.summary["rows"] or 1
    rules = {rule.code: rule for rule in result.rules}
    lines = []
    for code, count in result.summary["findings_by_code"].items():
        rule = rules.get(code)
        lines.append(
            (
                f"{count:,}",
                f"{100 * count / rows:.2f}%",
                code,
                rule.name if rule else "",
                rule.severity.value if rule else "",
                labels.get(code) or (rule.fix_label() if rule else ""),
            )
        )
    return lines


def _statistics(console: Console, result, labels: dict[str, str]) -> None:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    for column in STATISTICS_COLUMNS:
        table.add_column(column, justify="right" if column in ("count", "% rows") else "left")
    for line in rule_statistics(result, labels):
        table.add_row(*line)
    console.print()
    console.print(table)


def baseline_line(baseline: dict) -> str:
    """What the baseline covered, and its entries no longer found."""
    stale = sum(entry["count"] for entry in baseline["stale"])
    return f"{baseline['covered']:,} finding(s) covered by the baseline {baseline['path']}" + (
        f"; {stale:,} baseline entr{'y' if stale == 1 else 'ies'} no longer found (fixed or removed: refresh with "
        "--write-baseline)"
        if stale
        else ""
    )


def notes_of(summary: dict) -> list[str]:
    """What the summary notes: that another version of the simulated trainer is installed, what rules could not
    check with this tokenizer, what was assumed where the trainer's config could not be followed."""
    version = [summary["trainer_version_note"]] if "trainer_version_note" in summary else []
    return version + summary.get("notes", []) + summary.get("assumptions", [])


def settings_line(summary: dict) -> str | None:
    """Where the settings of a run checked from the trainer's own config (--from-config) came from."""
    if "trainer_config" not in summary:
        return None
    config = summary["trainer_config"]
    settings = "; ".join(f"{key}: {where}" for key, where in summary["settings_from"].items())
    return f"settings from {config['path']} ({config['trainer']}): {settings}"


def findings_line(summary: dict) -> str:
    """'3 findings (2 errors, 1 warning) in 3 of 3 rows', or, when every finding is about the whole dataset (near
    duplicates, label bias), '6 findings (6 warnings) about the dataset of 2,312 rows'."""
    by_severity = summary["findings_by_severity"]
    counts = ", ".join(quantity(by_severity[s], s) for s in ("error", "warning", "info") if s in by_severity)
    where = f"in {summary['rows_with_findings']:,} of" if summary["rows_with_findings"] else "about the dataset of"
    return f"{quantity(summary['findings'], 'finding')} ({counts}) {where} {quantity(summary['rows'], 'row')}"


def samples_line(samples: dict) -> str:
    """What the rows read as samples hold: '1,200 candidates, 290 pairs (best against worst), 10 ties', or a KTO
    file's labels."""
    parts = [quantity(samples["candidates"], "candidate")]
    if samples["pairs"]:
        parts.append(f"{quantity(samples['pairs'], 'pair')} (best against worst)")
    if samples.get("ties"):
        parts.append(quantity(samples["ties"], "tie"))
    if "desirable" in samples or "undesirable" in samples:
        parts.append(f"{samples.get('desirable', 0):,} desirable, {samples.get('undesirable', 0):,} undesirable")
    return "samples: " + ", ".join(parts)


def source_line(source: dict) -> str:
    """An input of the summary: its name, rows, shape and columns."""
    columns = f" [{source['columns']}]" if "columns" in source else ""
    return f"{source['input']}: {quantity(source['rows'], 'row')}, {source['shape']}{columns}"


def _summary(console: Console, result) -> None:
    summary = result.summary
    console.print()
    console.print(f"[bold]{escape(describe(summary['forecast']))}[/]")
    for note in notes_of(summary):
        console.print(f"[yellow]note: {escape(note)}[/]")
    if summary["findings"]:
        console.print(f"[bold]Found {escape(findings_line(summary))}.[/]")
    else:
        console.print(f"[bold green]All checks passed[/] on {quantity(summary['rows'], 'row')}.")
    if "baseline" in summary:
        console.print(f"[dim]{escape(baseline_line(summary['baseline']))}[/]")
    for source in summary["sources"]:
        console.print(f"[dim]{escape(source_line(source))}[/]")
        if "trainer_note" in source:
            console.print(f"[yellow]note: {escape(source['trainer_note'])}[/]")
    if "samples" in summary:
        console.print(f"[dim]{escape(samples_line(summary['samples']))}[/]")
    if settings := settings_line(summary):
        console.print(f"[dim]{escape(settings)}[/]")
    tokenizer = result.tokenizer
    tokens = summary["mean_tokens"]
    sides = (
        f"prompt {tokens.get('prompt', 0)}, chosen {tokens.get('chosen', 0)}, rejected {tokens.get('rejected', 0)}"
        if tokens
        else f"candidate {summary.get('samples', {}).get('mean_candidate_tokens', 0)}"
    )
    console.print(
        f"[dim]tokenizer {escape(tokenizer['name'])}: {escape(tokenizer['source'])}; mean tokens {sides}; "
        f"{summary['seconds']}s{' (cached result of an identical earlier scan)' if summary.get('cached') else ''}[/]"
    )
