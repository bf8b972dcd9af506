"""Apply a fix's swap or text edit to a raw record, in place, so its columns and shape stay as the author made them.

The edit runs where the pair's text lives in the record: the response columns (or, with `where="all"`, the prompt
and system columns too); inside message lists, on the content of the messages; in an implicit-prompt dialogue
(HH-RLHF), on the response part after the prompt only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from preflint.findings import Edit
from preflint.shapes.fields import Fields
from preflint.shapes.pairs import Pair

Transform = Callable[[str], str]


def swap_sides(record: dict, fields: Fields) -> dict:
    """Chosen becomes rejected and back; scores follow their responses and a margin changes sign."""
    record = dict(record)
    record[fields.chosen], record[fields.rejected] = record[fields.rejected], record[fields.chosen]
    chosen_score, rejected_score = fields.scores.get("score_chosen"), fields.scores.get("score_rejected")
    if chosen_score and rejected_score:
        record[chosen_score], record[rejected_score] = record.get(rejected_score), record.get(chosen_score)
    margin = fields.scores.get("margin")
    if margin and isinstance(record.get(margin), (int, float)) and not isinstance(record[margin], bool):
        record[margin] = -record[margin]
    return record


def apply_edit(record: dict, fields: Fields, pair: Pair, edit: Edit) -> dict:
    """The record with `edit` applied (the same object when nothing changed)."""
    changed = dict(record)
    for column, response in ((fields.chosen, pair.chosen), (fields.rejected, pair.rejected)):
        changed[column] = _edit_response(record[column], response, edit.transform, whole=edit.where == "all")
    if edit.where == "all":
        for column in (*fields.prompt, *([fields.system] if fields.system else [])):
            if column in record:
                changed[column] = _edit_content(record[column], edit.transform)
    return record if changed == record else changed


def edit_candidates(record: dict, fields, sample, positions: tuple[int, ...], edit: Edit) -> dict:
    """A sample's record with `edit` applied to the candidates at `positions` (its pair view's), where they are in
    the record (a column, or an item of a list column), and with `where="all"` to its prompt and system columns."""
    changed = record
    for k in positions:
        candidate = sample.candidates[k]
        value = _at(record, candidate.path)
        edited = _edit_response(value, candidate.reply, edit.transform, whole=edit.where == "all")
        if edited != value:
            changed = _with(changed, candidate.path, edited)
    if edit.where == "all":
        for column in (*fields.prompt, *([fields.system] if fields.system else [])):
            if column in record and (edited := _edit_content(record[column], edit.transform)) != record[column]:
                changed = _with(changed, (column,), edited)
    return changed


def _at(record, path: tuple):
    for key in path:
        record = record[key]
    return record


def _with(record, path: tuple, value):
    """A copy of `record` with the value at `path` replaced (each container on the way copied, none changed)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = list(record) if isinstance(record, list) else dict(record)
    copy[head] = _with(record[head], rest, value)
    return copy


def _edit_response(value, response, transform: Transform, *, whole: bool):
    """Edit the response part of a column: the column itself, or its tail when it also holds the prompt."""
    if whole:
        return _edit_content(value, transform)
    if isinstance(value, str):
        if isinstance(response, str) and len(response) < len(value) and value.endswith(response):
            return value[: len(value) - len(response)] + transform(response)  # an implicit-prompt dialogue
        return transform(value)
    if isinstance(value, Mapping) and "messages" in value and isinstance(response, list):
        return {**value, "messages": _edit_response(value["messages"], response, transform, whole=False)}
    if isinstance(value, list) and isinstance(response, list):
        start = len(value) - len(response)  # the completion is the trailing assistant messages
        return value[:start] + [_edit_message(message, transform) for message in value[start:]]
    return _edit_content(value, transform)


def _edit_content(value, transform: Transform):
    """Text, a message, a list of messages or {"messages": [...]}, as `shapes.as_content` reads them."""
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, list):
        return [_edit_message(item, transform) for item in value]
    if isinstance(value, Mapping):
        if "messages" in value:
            return {**value, "messages": _edit_content(value["messages"], transform)}
        return _edit_message(value, transform)
    return value


def _edit_message(message, transform: Transform):
    if not isinstance(message, Mapping):
        return message
    key = "content" if "content" in message else "value"
    content = message.get(key)
    if isinstance(content, str):
        return {**message, key: transform(content)}
    if isinstance(content, list):  # OpenAI content parts
        parts = [
            {**part, "text": transform(part["text"])}
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
        return {**message, key: parts}
    return message
