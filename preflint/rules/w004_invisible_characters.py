import re
import unicodedata
from collections import Counter

import regex

from preflint.findings import Applicability, Edit, Fix, Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import RowRule

# Zero-width joiners are letters' business in many scripts and in emoji: only flag them beside ASCII or an edge.
_INVISIBLE = regex.compile(
    r"[\u200b\u2060\ufeff\u180e\u00ad\u00a0\u202f\u2007\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]"
    r"|(?<![^\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f])"
)
# Mojibake needs a UTF-8 lead byte read as Latin-1 (Â..ô) followed by a continuation byte read as Windows-1252;
# ftfy (slow) only looks at texts that have such a sequence.
_MOJIBAKE_HINT = regex.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
REPLACEMENT = "\ufffd"
_NO_BREAK_SPACES = {"\u00a0", "\u202f", "\u2007"}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Any character W004 could report, as one plain class: a fast gate before the detailed scan above.
_SUSPECT = re.compile(
    "[\u200b\u2060\ufeff\u180e\u00ad\u00a0\u202f\u2007\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200c\u200d\ufffd]"
)


def remove_invisible(text: str) -> str:
    """What the safe fix does: drop what `_INVISIBLE` matches except control characters; no-break spaces become
    plain spaces."""
    if not _SUSPECT.search(text):
        return text
    return _INVISIBLE.sub(_replacement, text)


def _replacement(match) -> str:
    char = match.group()
    if _CONTROL.match(char):
        return char
    return " " if char in _NO_BREAK_SPACES else ""


SAFE_FIX = Fix(
    Applicability.SAFE,
    "remove zero-width and bidi characters, soft hyphens and lone surrogates; replace no-break spaces with spaces",
    Edit(remove_invisible, where="all"),
)
MOJIBAKE_FIX = Fix(Applicability.DISPLAY, "repair the encoding with ftfy.fix_encoding, after reviewing the result")
LOST_FIX = Fix(Applicability.DISPLAY, "restore the lost characters from the source data")
CONTROL_FIX = Fix(
    Applicability.DISPLAY, "restore what the control characters stand for (often a backslash escape, as \\f in \\frac)"
)


class InvisibleCharacters(RowRule):
    """Invisible or broken characters: zero-width, BOM, no-break spaces, bidi and control characters, mojibake, U+FFFD.

    ## What it does
    Looks through the prompt and both responses for zero-width characters (U+200B, U+2060, BOM), soft hyphens,
    no-break spaces, bidirectional controls, C0/C1 control characters, lone surrogates, U+FFFD replacement
    characters (bytes lost when the text was decoded), and text that is UTF-8 decoded as Windows-1252
    ("fiancÃ©"), detected with ftfy and reported only when ftfy can repair it. Zero-width joiners inside words
    and emoji are left alone. Reports each kind of character with its count and where it is.

    ## Why is this bad?
    Invisible characters become tokens of their own, often rare ones, so the two sides differ where no annotator
    could see a difference, and a model can learn to emit them. Mojibake teaches the model broken text.

    ## Example
    ```jsonl
    {"prompt": "Capital\\u00a0of France?", "chosen": "Paris.\\u200b", "rejected": "Rome."}
    ```

    ## Fix safety
    Safe for invisible characters: zero-width and bidi characters, soft hyphens and lone surrogates are removed,
    no-break spaces become spaces. Control characters are display-only: they are often an escape gone wrong
    (a form feed where LaTeX had `\\frac`, a backspace for `\\beta`), and removing them would leave "rac".
    Mojibake is display-only: `ftfy.fix_encoding` usually repairs it, but a person should check (its stray C1
    controls belong to the repair). Lost characters (U+FFFD) cannot be recovered from the row: display-only.
    """

    code = "W004"
    name = "invisible-characters"
    family = "whitespace"
    severity = Severity.WARNING
    fix = SAFE_FIX

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            found, mojibake, lost, removable = [], [], [], False
            for side, content in (("prompt", pair.prompt), ("chosen", pair.chosen), ("rejected", pair.rejected)):
                text = plain_text(content)
                if counts := _invisible(text):
                    removable = removable or any(not _CONTROL.match(char) for char in counts)
                    found.append(f"{side}: " + ", ".join(f"{n}× {_name(char)}" for char, n in counts.most_common()))
                if text.isascii():  # neither U+FFFD nor mojibake can be there (a stored flag: no scan)
                    continue
                if REPLACEMENT in text:
                    lost.append(
                        f"{side}: {text.count(REPLACEMENT)}× U+FFFD (REPLACEMENT CHARACTER: bytes lost in decoding)"
                    )
                if _MOJIBAKE_HINT.search(text) and _repairable_mojibake(text):
                    mojibake.append(side)
            if mojibake:
                found.append(f"mojibake (UTF-8 read as Windows-1252) in {', '.join(mojibake)}")
            if found or lost:
                fix = MOJIBAKE_FIX if mojibake else SAFE_FIX if removable else CONTROL_FIX if found else LOST_FIX
                yield self.finding(batch.rows[i], "; ".join(found + lost), fix)


def _repairable_mojibake(text: str) -> bool:
    """ftfy's verdict, imported on first use (most datasets never get here; the import takes ~30 ms a process).
    `is_bad` alone flags clean CJK text, so ftfy must also be able to repair it."""
    from ftfy import fix_encoding
    from ftfy.badness import is_bad

    return is_bad(text) and fix_encoding(text) != text


def _invisible(text: str) -> Counter | None:
    if not _SUSPECT.search(text):
        return None  # the usual case; even an empty Counter costs more than the search
    return Counter(match.group() for match in _INVISIBLE.finditer(text))


def _name(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"U+{code:04X} (lone surrogate)"
    return f"U+{code:04X} ({unicodedata.name(char, 'control character')})"
