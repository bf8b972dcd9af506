"""A JSON file read in chunks and decoded one value at a time, so the items of a JSON array (LLaMA-Factory's
format, what `json.dump` writes, and the array an object holds) are read one by one: a file of a million pairs is
never one Python object, nor one string. Values are decoded by the standard library's own scanner, so they are
exactly what `json.loads` gives.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import NamedTuple, NoReturn

from preflint.errors import InputError

CHUNK = 1 << 20  # characters read at a time (more for a value longer than what is held)
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how JSON spells half of a UTF-16 pair
_NOT_SPACE = re.compile(r"[^ \t\n\r]")
_PAST_NUMBER = re.compile(r"[^0-9eE.+-]")
_SCAN = json.JSONDecoder().raw_decode
_IN_STRING = re.compile(r'\\.|"', re.S)  # what ends a string, or an escape in it
_OUT_OF_STRING = re.compile(r'["\[\]{},]')
SHOWN = 200  # characters kept of a value too large to decode


class TooLarge(NamedTuple):
    """A value passed over unread: its size in characters and its start."""

    size: int
    start: str


class JsonText:
    """The text of an open binary file, decoded as UTF-8 (a leading byte order mark skipped) as it is consumed.

    Errors are InputErrors that name the file and the place as `json.loads` on the whole text would: line and
    column, or the byte offset of a byte that is not UTF-8.
    """

    def __init__(self, handle, spec: str, limit: int | None = None):
        self.handle, self.spec, self.limit = handle, spec, limit  # limit: characters of one value decoded at most
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos = "", 0
        self.line, self.column = 1, 1  # where self.text starts in the file
        self.bytes_read, self.ended = 0, False
        self.value_line = 1  # the line on which the value `value` gave last starts
        self._counted = (0, 1)  # a position in self.text up to which newlines are counted, and its line

    def peek(self) -> str | None:
        """The next character that is not whitespace (not consumed), or None at the end of the file."""
        while True:
            found = _NOT_SPACE.search(self.text, self.pos)
            if found:
                self.pos = found.start()
                return self.text[self.pos]
            self.pos = len(self.text)
            if not self._more():
                return None

    def take(self, char: str) -> bool:
        """Consume `char` if it comes next (after whitespace)."""
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def value(self) -> tuple[object, bool]:
        """The next JSON value, and whether its text escapes a UTF-16 surrogate (only then can the value hold half
        of a pair without the other)."""
        self.peek()
        self.value_line = self._line_at(self.pos)
        while True:
            try:
                value, end = _SCAN(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.limit is not None and len(self.text) - self.pos > self.limit:
                    return self._skip(), False
                if self._more():  # the value may go on in the next chunk
                    continue
                self.fail(exc.msg, exc.pos)
            if isinstance(value, int | float) and not _PAST_NUMBER.search(self.text, end) and self._more():
                continue  # the number may go on in the next chunk: "12" of "123", "1.5" of "1.5e3"
            start, self.pos = self.pos, end
            if self.limit is not None and end - start > self.limit:  # decoded whole from what was held: not kept
                return TooLarge(end - start, self.text[start : start + SHOWN]), False
            return value, SURROGATE_ESCAPE.search(self.text, start, end) is not None

    def items(self) -> Iterator[tuple[object, bool]]:
        """The values of the array that comes next, as `value` gives them."""
        if not self.take("["):
            self.fail("Expecting '['", self.pos)
        if self.take("]"):
            return
        while True:
            yield self.value()
            if self.take("]"):
                return
            if not self.take(","):
                self.fail("Expecting ',' delimiter", self.pos)

    def keys(self) -> Iterator[str]:
        """The keys of the object that comes next. The caller consumes each key's value (with `value`, or `items`
        for an array) before it asks for the next key."""
        if not self.take("{"):
            self.fail("Expecting '{'", self.pos)
        if self.take("}"):
            return
        while True:
            if self.peek() != '"':
                self.fail("Expecting property name enclosed in double quotes", self.pos)
            key, _ = self.value()
            if not self.take(":"):
                self.fail("Expecting ':' delimiter", self.pos)
            yield key
            if self.take("}"):
                return
            if not self.take(","):
                self.fail("Expecting ',' delimiter", self.pos)

    def _skip(self) -> TooLarge:
        """Pass over the value that comes next, too large to decode, without holding more than a chunk of it more:
        its strings, escapes and nesting followed at the regular-expression engine's speed."""
        start, begun, passed, depth, in_string = self.text[self.pos : self.pos + SHOWN], self.pos, 0, 0, False
        while True:
            found = (_IN_STRING if in_string else _OUT_OF_STRING).search(self.text, self.pos)
            if found is None:  # the value goes on past what is held: drop that, read on
                passed += len(self.text) - begun
                self.pos = len(self.text)
                if not self._more():
                    self.fail("Unterminated value", self.pos)
                begun = self.pos
                continue
            char = found.group()
            if in_string:
                self.pos = found.end()
                in_string = char != '"'  # an escape (two characters) keeps the string open
                ended = not in_string and depth == 0
            elif char in "[{":
                self.pos, depth, ended = found.end(), depth + 1, False
            elif char == '"':
                self.pos, in_string, ended = found.end(), True, False
            elif depth == 0:  # a comma or bracket after a scalar: the value ended before it
                self.pos, ended = found.start(), True
            else:
                depth -= 1 if char != "," else 0
                self.pos, ended = found.end(), depth == 0
            if ended:
                return TooLarge(passed + self.pos - begun, start)

    def fail(self, message: str, pos: int) -> NoReturn:
        """Raise `message` at `pos` of the text held, placed by line and column in the whole file."""
        before = self.text[:pos]
        newlines = before.count("\n")
        line = self.line + newlines
        column = pos - before.rfind("\n") if newlines else self.column + pos
        raise InputError(
            f"{self.spec!r} is not valid JSON ({message.removesuffix(' at')} at line {line}, column {column})"
        )

    def _more(self) -> bool:
        """Read on (at least as much as is held, so a long value is not decoded again and again); False at the end."""
        if self.ended:
            return False
        self._drop_consumed()
        data = self.handle.read(max(CHUNK, len(self.text), len(codecs.BOM_UTF8)))
        self.ended = not data
        if not self.bytes_read and data.startswith(codecs.BOM_UTF8):  # offsets count from after it
            data = data[len(codecs.BOM_UTF8) :]
        pending = self.decoder.getstate()[0]
        try:
            self.text += self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            offset = self.bytes_read - len(pending) + exc.start
            raise InputError(
                f"{self.spec!r} is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {offset})"
            ) from None
        self.bytes_read += len(data)
        return True

    def _line_at(self, pos: int) -> int:
        """The line of position `pos` of the text held, at or after the last one asked (newlines counted once)."""
        counted, line = self._counted
        line += self.text.count("\n", counted, pos)
        self._counted = (pos, line)
        return line

    def _drop_consumed(self) -> None:
        line = self._line_at(self.pos)
        consumed, self.text = self.text[: self.pos], self.text[self.pos :]
        newline = consumed.rfind("\n")
        self.column = len(consumed) - newline if newline >= 0 else self.column + len(consumed)
        self.line, self.pos, self._counted = line, 0, (0, line)
