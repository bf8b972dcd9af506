"""What `preflint fix` prints: the changes (with --diff), the accounting, what was written, and what remains."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from rich.markup import escape

from preflint.forecast import describe
from preflint.io.outputs import STDOUT
from preflint.report.text import Terminal, notes_of, settings_line
from preflint.text import quantity


def write_fix_summary(result, stream: TextIO, *, color: bool = False) -> None:
    console = Terminal(stream, color)
    for line in result.changes:
        style = (
            "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "bold"
            if not line.startswith(" ")
            else ""
        )
        console.print(f"[{style}]{escape(line)}[/]" if style else escape(line))
    if result.changes:
        console.print()
    accounting = result.accounting()
    names = {rule.code: rule.name for rule in result.before.rules}
    if "binarize" in accounting:
        for line in binarize_lines(accounting):
            console.print(f"[bold]{escape(line)}[/]")
    console.print(
        f"[bold]{accounting_line(accounting)}[/]" + (f" ({result.passes} passes)" if result.passes > 1 else "")
    )
    for code, count in accounting["dropped_by_reason"].items():
        console.print(f"  dropped {count:>7,}  {code} {names.get(code, '')}")
    for code, count in accounting["rows_fixed_by_code"].items():
        console.print(f"  fixed   {count:>7,}  {code} {names.get(code, '')}")
    if not result.settled:
        console.print("[yellow]edits were still changing rows when the pass limit was reached; run fix again[/]")
    written = written_data(result) + ([str(result.outputs.report)] if result.outputs.report else [])
    if written:
        console.print("wrote " + ", ".join(written))
    elif not result.changes:
        console.print("nothing to change")
    console.print(forecast_before_line(result.before.summary))
    for note in notes_of(result.before.summary):
        console.print(f"[yellow]note: {escape(note)}[/]")
    if settings := settings_line(result.before.summary):
        console.print(f"[dim]{escape(settings)}[/]")
    console.print(remaining_line(result))
    if result.remaining:
        console.print(
            "  to accept some as they are: `preflint scan --write-baseline` on the fixed data records them "
            "(later scans report only new findings), or `ignore` their rule in the config"
        )


def written_data(result) -> list[str]:
    """The data files the fix wrote, each with its rows: 'clean.parquet (2,308 rows)'."""
    accounting = result.accounting()
    outputs = ((result.outputs.out, accounting["rows_kept"]), (result.outputs.rejects, accounting["rows_dropped"]))
    return [
        f"{'standard output' if path == STDOUT else path} ({quantity(rows, 'row')})" for path, rows in outputs if path
    ]


def forecast_before_line(summary: dict) -> str:
    return describe(summary["forecast"]).replace(" forecast (", " forecast before fixing (", 1)


def accounting_line(accounting: dict) -> str:
    """'2,312 rows read = 2,305 kept + 7 dropped'; with --binarize, the pairs made, kept and dropped."""
    if "binarize" in accounting:
        return (
            f"{quantity(accounting['binarize']['pairs_made'], 'pair')} made = {accounting['rows_kept']:,} kept + "
            f"{accounting['pairs_dropped']:,} dropped"
        )
    return (
        f"{quantity(accounting['rows_read'], 'row')} read = {accounting['rows_kept']:,} kept + "
        f"{accounting['rows_dropped']:,} dropped"
    )


def binarize_lines(accounting: dict) -> list[str]:
    """What --binarize made of the input: its rows, with pairs or not (why), and its candidates, used or not (why)."""
    made = accounting["binarize"]
    without = ", ".join(f"{code} {n:,}" for code, n in made["rows_without_pairs_by_reason"].items())
    unused = ", ".join(f"{why} {n:,}" for why, n in made["candidates_unused_by_reason"].items())
    return [
        f"binarized {made['strategy']}"
        + (f" (seed {made['seed']})" if made["strategy"] == "best-vs-random" else "")
        + f": {quantity(accounting['rows_read'], 'row')} read = {made['rows_with_pairs']:,} with pairs + "
        f"{made['rows_without_pairs']:,} without" + (f" ({without})" if without else ""),
        f"  {quantity(made['candidates_read'], 'candidate')} read = {made['candidates_used']:,} used + "
        f"{made['candidates_unused']:,} unused" + (f" ({unused})" if unused else ""),
    ]


def remaining_line(result) -> str:
    """What is left in the output, by rule, and what can be done about it."""
    if not result.remaining:
        return "remaining: no findings"
    kinds = result.remaining_by_kind()
    by_code = ", ".join(f"{code} {n:,}" for code, n in sorted(Counter(f.code for f in result.remaining).items()))
    parts = []  # only the kinds there are: "0 unsafe fixes available" tells nothing
    if kinds["unsafe_fix_available"]:
        parts.append(f"{quantity(kinds['unsafe_fix_available'], 'unsafe fix')} available with --unsafe-fixes")
    if kinds["no_fix"]:
        parts.append(f"{kinds['no_fix']:,} for a person to judge (preflint scan shows them)")
    return f"remaining: {quantity(len(result.remaining), 'finding')} ({by_code}): " + ", ".join(parts)


def fix_per_rule(result, data: dict) -> list[dict]:
    """Per rule with findings before or after: its findings before, rows dropped and fixed, findings remaining
    (`data` is `result.to_dict()`); the fix reports' table."""
    before = Counter(data["before"]["findings_by_code"])
    remaining = Counter(data["remaining"]["by_code"])
    rules = {rule.code: rule for rule in result.before.rules}
    return [
        {
            "code": code,
            "name": rules[code].name if code in rules else "",
            "severity": rules[code].severity.value if code in rules else "",
            "fix": result.fix_labels.get(code) or (rules[code].fix_label() if code in rules else "none"),
            "before": before[code],
            "dropped": data["accounting"]["dropped_by_reason"].get(code, 0),
            "fixed": data["accounting"]["rows_fixed_by_code"].get(code, 0),
            "remaining": remaining[code],
            "dropped_elsewhere": data["accounting"]["findings_on_rows_dropped_by_another_rule"].get(code, 0),
        }
        for code in sorted(set(before) | set(remaining))
    ]
