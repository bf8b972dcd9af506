"""What `preflint fix --diff` shows: each dropped row with its reasons, each changed row as a unified diff of its
record, pretty-printed, with characters a terminal would not show escaped."""

from __future__ import annotations

import difflib
import json

import regex

from preflint.io.outputs import to_json

# Characters a terminal shows as nothing or as a plain space; --diff escapes them ("\u200b"), so a W004 change can
# be seen: format and control characters, line and paragraph separators, and every space but the plain one.
# (Not the newlines between JSON's lines.)
HIDDEN = regex.compile(r"(?!\n)[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def pretty(record) -> str:
    """A record as --diff shows it: indented JSON, hidden characters escaped."""
    return HIDDEN.sub(lambda match: json.dumps(match.group())[1:-1], to_json(record, indent=2))


def diff_lines(
    place: str, dropped: list[str] | None, before: str | None, after: str | None, codes: list[str]
) -> list[str]:
    """One row's lines: `place: dropped` and its reasons, or the diff of its record before and after (its fixes'
    codes named)."""
    if dropped is not None:
        return [f"{place}: dropped", *(f"    {message}" for message in dropped)]
    fixes = ", ".join(dict.fromkeys(codes))
    return list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), place, f"fixed ({fixes})", lineterm="", n=1)
    )
