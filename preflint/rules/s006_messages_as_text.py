import ast
import json
import re

from preflint.defects import RowDefect
from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.shapes.pairs import as_content

# A list of messages, or one message, as JSON or Python's repr writes it: `[{"role": ...` or `{'from': ...`.
WRITTEN_OUT = re.compile(r"\s*(?:\[\s*)?\{\s*['\"](?:role|from|content|value|messages)['\"]\s*:")
PARSED_UP_TO = 1_000_000  # characters: longer text is reported from its start alone
UNREADABLE = "not readable back, e.g. numpy's repr of an array"


class MessagesAsText(RowRule):
    """A prompt or response is a message list written out as text (JSON or Python's repr).

    ## What it does
    Reports text fields that hold a conversation's messages as a string: `[{'role': 'user', 'content': ...}]`, as
    pandas writes list columns to CSV, or `"[{\"role\": ...}]"`, as a JSON Lines writer leaves a list that was
    dumped to a string first. Text counts when it starts like a list of messages, or one message, and (where it
    can be read back, as JSON or as a Python literal, never run as code) holds nothing but messages.

    ## Why is this bad?
    Every trainer reads such a field as the text it is: the model is trained on brackets, quotes and the words
    `'role': 'assistant'`, without the chat template, and learns that the preferred answer is the one written as
    a Python list. Nothing fails: the loss simply goes down on the wrong thing.

    ## Example
    ```csv
    prompt,chosen,rejected
    Hi?,"[{'role': 'assistant', 'content': 'Hi.'}]","[{'role': 'assistant', 'content': 'No.'}]"
    ```

    ## Fix safety
    No automatic fix: reading the text back as messages changes the column's type, for every row or none (the
    message says how). A reply that is meant to be JSON of messages (an answer about chat formats) is
    reported too; ignore the rule for such data.
    """

    code = "S006"
    name = "messages-as-text"
    family = "structure"
    severity = Severity.ERROR

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            if pair.is_chat:
                continue
            sides = {
                side: written_as(text)
                for side, text in (("prompt", pair.prompt), ("chosen", pair.chosen), ("rejected", pair.rejected))
            }
            found = {side: how for side, how in sides.items() if how}
            if found:
                yield self.finding(batch.rows[i], _message(found))


def written_as(text: str) -> str | None:
    """How a text writes out messages ('JSON', "Python's repr", or UNREADABLE), or None when it is not messages."""
    if not WRITTEN_OUT.match(text):
        return None
    if len(text) > PARSED_UP_TO:
        return UNREADABLE
    for how, read in (("JSON", json.loads), ("Python's repr", ast.literal_eval)):
        try:
            value = read(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        try:
            return how if isinstance(as_content(value, "text"), list) else None
        except RowDefect:
            return None  # a list of dicts, but not of messages
    return UNREADABLE  # numpy's repr of an array of dicts (no commas), or cut short


def _message(found: dict[str, str]) -> str:
    sides = list(found)
    named = sides[0] if len(sides) == 1 else ", ".join(sides[:-1]) + " and " + sides[-1]
    hows = sorted(set(found.values()))
    verb = "is" if len(sides) == 1 else "are"
    remedy = (
        f"read {'it' if len(sides) == 1 else 'them'} back as messages (json.loads, or ast.literal_eval for "
        "Python's repr) before training"
        if UNREADABLE not in hows
        else "write the data again from where it came, keeping the lists (Parquet or JSON Lines, not CSV)"
    )
    return (
        f"{named} {verb} messages written out as text ({' and '.join(hows)}): the trainer trains on the brackets "
        f"and quotes, without the chat template; {remedy}"
    )
