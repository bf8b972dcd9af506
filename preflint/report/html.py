"""The fix report as one self-contained HTML file: no script, no CDN, plots as inline SVG drawn by matplotlib."""

from __future__ import annotations

import io
from typing import TextIO

from jinja2 import Environment, PackageLoader, select_autoescape

from preflint.forecast import describe
from preflint.report.fix_text import fix_per_rule
from preflint.text import printable, quantity

COLORS = {"bars": "#4c72b0", "ratio": "#55a868", "findings": "#c44e52"}


def write_html(result, stream: TextIO) -> None:
    """Render a FixResult: accounting, the ln 2 forecast, counts per rule, plots and token-level samples."""
    data = result.to_dict()
    rules = {rule.code: rule for rule in result.before.rules}
    per_rule = fix_per_rule(result, data)
    distributions = data["distributions"]
    plots = {
        "edit-distance": _bar_chart(
            distributions["token_edit_distance"],
            "Token edit distance between chosen and rejected",
            "tokens that differ",
            COLORS["bars"],
        ),
        "length-ratio": _bar_chart(
            distributions["length_ratio"],
            "Length ratio: chosen tokens / rejected tokens",
            "ratio",
            COLORS["ratio"],
        ),
        "findings-per-rule": _bar_chart(
            {row["code"]: row["before"] for row in per_rule},
            "Findings per rule (before fixing)",
            "rule",
            COLORS["findings"],
        ),
    }
    environment = Environment(
        loader=PackageLoader("preflint", "report/templates"), autoescape=select_autoescape(["html"])
    )
    environment.filters["quantity"] = quantity
    page = environment.get_template("fix.html").render(
        data=data,
        per_rule=per_rule,
        plots=plots,
        forecast=describe(data["before"]["forecast"]),
        names={code: rule.name for code, rule in rules.items()},
        remaining=data["remaining"]["items"][:200],
    )
    stream.write(printable(page, keep_lines=True))  # the data's control characters shown, never written raw


def _bar_chart(counts: dict[str, int], title: str, xlabel: str, color: str) -> str:
    """An SVG bar chart, its text kept as text (searchable, scalable), with stable ids for identical reports."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels, values = list(counts), list(counts.values())
    figure = Figure(figsize=(9, 2.8), layout="constrained")
    axes = figure.add_subplot()
    bars = axes.bar(range(len(labels)), values, color=color)
    axes.bar_label(bars, labels=[f"{v:,}" if v else "" for v in values], fontsize=8)
    axes.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 8 else 0, fontsize=8)
    axes.set_title(title, fontsize=11)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("pairs" if "rule" not in xlabel else "findings")
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "preflint"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
