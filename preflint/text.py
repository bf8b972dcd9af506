"""Small text helpers shared by rules and reports: whitespace at the edges, normalization for comparisons, short
excerpts, counts of things."""

from __future__ import annotations

import itertools
import re
import unicodedata

import regex

_WHITESPACE_NAMES = {" ": "space", "\n": "newline", "\t": "tab", "\r": "carriage return"}
_PUNCTUATION = regex.compile(r"\p{P}+")
_ASCII_PUNCTUATION = str.maketrans(
    {char: " " for char in map(chr, range(128)) if unicodedata.category(char).startswith("P")}
)


def blank(text: str) -> bool:
    """Empty or whitespace only: `not text.strip()` without copying the text."""
    return not text or text.isspace()


def leading_whitespace(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def trailing_whitespace(text: str) -> str:
    return text[len(text.rstrip()) :]


def describe_whitespace(whitespace: str) -> str:
    """'' -> 'nothing', ' ' -> 'a space', '\\n\\n ' -> '2 newlines + a space'."""
    if not whitespace:
        return "nothing"
    parts = []
    for char, run in itertools.groupby(whitespace):
        count = len(list(run))
        name = _WHITESPACE_NAMES.get(char) or f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')})"
        parts.append(f"a {name}" if count == 1 else f"{count} {name}s")
    return " + ".join(parts)


def normalized(text: str, *, whitespace: bool = False, case: bool = False, punctuation: bool = False) -> str:
    if text.isascii() and (whitespace or punctuation):  # the common case, at C speed (str.translate, str.split)
        if punctuation:
            text = text.translate(_ASCII_PUNCTUATION)
        text = " ".join(text.split())
        return text.lower() if case else text
    if punctuation:
        text = _PUNCTUATION.sub(" ", text)
    if whitespace or punctuation:
        text = " ".join(text.split())  # str.split knows the same Unicode whitespace as \s, at C speed
    if case:
        text = text.casefold()
    return text


def first_kept(text: str) -> str:
    """The first character that normalizing whitespace, case and punctuation keeps, case-folded ('' if none):
    texts equal after that normalization start with the same one, and finding it takes a character or two."""
    for char in text:
        if not char.isspace() and not _PUNCTUATION.match(char):
            return char.casefold()[:1]
    return ""


def excerpts(a: str, b: str, width: int = 24) -> tuple[str, str]:
    """The two texts around their first difference, quoted, for a finding message (whole when short)."""
    if max(len(a), len(b)) <= 2 * width:
        return repr(a), repr(b)
    start = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    begin = max(0, start - width // 2)

    def cut(text: str) -> str:
        piece = text[begin : start + width]
        return ("…" if begin else "") + repr(piece)[1:-1] + ("…" if start + width < len(text) else "")

    return f"'{cut(a)}'", f"'{cut(b)}'"


def quoted_start(text: str, width: int) -> str:
    """The text quoted for a finding message, cut after `width` characters with a "…" outside the quotes."""
    return repr(text) if len(text) <= width else repr(text[:width]) + "…"


def ending(text: str, width: int) -> str:
    """The last `width` characters or so of a text, for context: when cut, from the start of a word (in text with
    spaces near the cut) with a "…" before it, never in mid-word."""
    if len(text) <= width:
        return text
    piece = text[-width:]
    space = next((i for i, char in enumerate(piece[: width // 4]) if char.isspace()), None)
    return "…" + (piece[space:].lstrip() if space is not None else piece)


# Characters that steer a terminal or a log rather than show (C0 and C1 controls, DEL), line and paragraph
# separators, and the bidirectional overrides that reorder what is shown (Trojan Source). `printable` escapes them
# where text from data or file names is printed; newline and carriage return too, unless kept for a format that
# encodes them itself.
CONTROLS = "\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[{CONTROLS}\n\r]")
_CONTROLS_BUT_LINES = re.compile(f"[{CONTROLS}]")


def printable(text: str, *, keep_lines: bool = False) -> str:
    """`text` safe to print: every character that would steer a terminal or a CI log, shown escaped (`\x1b`,
    `\n`, `\u202e`) instead; tabs stay."""
    pattern = _CONTROLS_BUT_LINES if keep_lines else _CONTROLS
    return pattern.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def quantity(number: int, noun: str) -> str:
    """`number` `noun`s, or one `noun`: "1 row", "2,312 rows", "3 unsafe fixes"."""
    return f"{number:,} {noun}{'es' if noun.endswith('x') and number != 1 else 's' if number != 1 else ''}"
