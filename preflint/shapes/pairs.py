"""Normalize any record shape to one pair: prompt, chosen, rejected (text or chat messages), plus scores.

Shapes, told apart by which columns exist and by the type of their values:
  text            `prompt`/`chosen`/`rejected` strings (or their aliases, `instruction`+`input`, ...)
  implicit        `chosen`/`rejected` each hold the whole dialogue (HH-RLHF); the prompt is cut at a turn boundary
  conversational  message lists (OpenAI `{role, content}` or ShareGPT `{from, value}`), TRL's and
                  LLaMA-Factory's preference formats included, explicit or implicit prompt
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from preflint.defects import Defect, RowDefect
from preflint.errors import InputError
from preflint.shapes.fields import INDEXED, Fields, column_of, detect_fields
from preflint.shapes.images import as_images

Message = dict  # {"role": str, "content": str}, and the tool keys a chat template renders (TOOL_KEYS)
Content = str | list  # text, or a list of messages


# Where an assistant turn starts in a rendered dialogue; the implicit prompt ends right after the last one.
ASSISTANT_MARKERS = (
    "\n\nAssistant:",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|im_start|>assistant\n",
    "<start_of_turn>model\n",
    "[/INST]",
    "### Response:",
    "\nAssistant:",
)
MEDIA_PARTS = ("image", "image_url", "input_image", "audio", "input_audio", "video", "video_url")
TOOL_KEYS = ("tool_calls", "tool_call_id", "name")  # OpenAI's: an assistant's calls, the call a tool result answers
# Rendered by templates too, so kept as given: an assistant's reasoning apart from its content (Qwen3's, vLLM's).
PASSED_KEYS = (*TOOL_KEYS, "reasoning_content")
MESSAGE_KEYS = frozenset(
    ("role", "from", "content", "value")
)  # any of them makes an object a message (or a broken one)
ROLE_NAMES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "function_call": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}


@dataclass
class Pair:
    kind: str  # text | implicit | conversational
    prompt: Content
    chosen: Content
    rejected: Content
    rejected_prompt: Content | None = None  # set only when it differs from `prompt` (M008)
    scores: dict[str, float] = field(default_factory=dict)
    tools: list | None = None  # function definitions the chat template renders (conversations only, as in TRL)
    template_kwargs: dict | None = None  # the row's chat_template_kwargs (conversations only, as in TRL)
    # The prompt column as given, where the pair's prompt is not that column's messages: text beside message
    # responses, or a column beside dialogues that hold their own prompt (UltraFeedback). TRL uses it as it is.
    prompt_column: Content | None = None
    # The pair as a trainer that ignores a `system` column reads it (TRL), where preflint put that column's text
    # first in the prompt.
    without_system_column: Pair | None = None
    # How a conversational row gave its prompt, chosen and rejected: "text", "message" (one, as LLaMA-Factory
    # does), "messages" (a list). preflint reads any mix; each trainer takes fewer (TRL one format for all three).
    formats: tuple[str, str, str] | None = None
    generators: tuple[str, str] | None = None  # the models that wrote chosen and rejected, where the data names them
    # A vision row's images (shapes/images.py): the images column's (empty where it is null), each side's own where
    # the data gives them apart, and whether some message of the row gave its content as typed parts (TRL then
    # places no images itself). None where the row has no images column.
    images: list | None = None
    side_images: tuple[list, list] | None = None
    typed_content: bool = False

    @property
    def replies_given_as(self) -> str | None:
        """Beside a prompt of messages, how a reply that is not a list of messages was given: 'text' (axolotl's
        chat_template.default), 'one message' (LLaMA-Factory's)."""
        if self.formats is None or self.formats[0] != "messages":
            return None
        odd = next((given for given in self.formats[1:] if given != "messages"), None)
        return FORMAT_NAMES[odd] if odd else None

    @property
    def is_chat(self) -> bool:
        return isinstance(self.prompt, list)

    @property
    def without_system(self) -> Pair:
        """The pair as a trainer that reads no `system` column reads it (the pair itself where there is none)."""
        return self.without_system_column or self

    @property
    def prompt_of_rejected(self) -> Content:
        """The rejected side's prompt: its own where it differs (M008, even when empty), else the pair's."""
        return self.prompt if self.rejected_prompt is None else self.rejected_prompt

    @property
    def template_args(self) -> dict:
        """What TRL passes to the chat template with this row's messages, besides the generation prompt."""
        return {**({"tools": self.tools} if self.tools else {}), **(self.template_kwargs or {})}


def own_shape(record: Mapping) -> tuple[Pair, Fields] | None:
    """A record of an input whose other records have other columns, read by its own columns: the pair and those
    fields, if they make it a whole dialogue (an implicit prompt, as in HH-RLHF) rather than a pair with a field
    missing."""
    try:
        fields = _fields_of(tuple(record))
        pair = normalize(record, fields)
    except (InputError, RowDefect):
        return None
    return (pair, fields) if pair.kind == "implicit" and pair.prompt else None


@lru_cache(maxsize=64)
def _fields_of(columns: tuple[str, ...]) -> Fields:
    return detect_fields(columns, {}, "")


def normalize(record: Mapping, fields: Fields) -> Pair:
    """One record -> one Pair, or RowDefect saying what is wrong with it."""
    pair = _normalize(record, fields)
    if fields.images or fields.side_images:
        pair.images = _images(record, fields.images) if fields.images else []
        if fields.side_images:
            pair.side_images = tuple(_images(record, column) for column in fields.side_images)
        given = [_value(record, name) for name in (fields.chosen, fields.rejected, *fields.prompt)]
        pair.typed_content = any(_typed(value) for value in given)
    return pair


def _images(record: Mapping, column: str) -> list:
    """A vision row's images: a list of them, one image alone, or none (null)."""
    value = record.get(column)
    images = as_images(value)
    if images is None and value is not None:
        raise RowDefect(Defect.INVALID_TYPE, f"{column} is {_describe(value)}, not a list of images")
    return images or []


def _typed(value) -> bool:
    """Whether a prompt or reply as given holds a message whose content is a list of typed parts."""
    messages = value.get("messages", [value]) if isinstance(value, Mapping) else value
    return isinstance(messages, list) and any(
        isinstance(message, Mapping) and isinstance(message.get("content", message.get("value")), list)
        for message in messages
    )


def _normalize(record: Mapping, fields: Fields) -> Pair:
    needed = [column_of(name) for name in (fields.chosen, fields.rejected, *fields.prompt)]
    missing = [name for name in dict.fromkeys(needed) if name not in record]
    if missing:
        raise RowDefect(Defect.MISSING_FIELD, f"missing field {', '.join(map(repr, missing))}")
    chosen = as_content(_value(record, fields.chosen), fields.chosen)
    rejected = as_content(_value(record, fields.rejected), fields.rejected)
    prompt = _prompt(record, fields)
    system = _system(record, fields)
    scores = _scores(record, fields)
    if fields.history is not None:  # earlier turns make the pair a conversation, as the trainers that read them do
        prompt = [*_history(record.get(fields.history)), *_as_messages(prompt or "", "user")]

    if isinstance(chosen, str) and isinstance(rejected, str) and not isinstance(prompt, list) and not system:
        if prompt is None:
            pair = _split_implicit_text(chosen, rejected, scores)
        else:
            pair = Pair("text", prompt, chosen, rejected, scores=scores)
        pair.generators = _generators(record, fields)
        return pair

    chosen_msgs, rejected_msgs = _as_messages(chosen, "assistant"), _as_messages(rejected, "assistant")
    carries_prompt = any(m["role"] != "assistant" for m in chosen_msgs + rejected_msgs)
    if prompt is None or carries_prompt:
        pair = _split_implicit_messages(chosen_msgs, rejected_msgs, scores)
    else:
        pair = Pair("conversational", _as_messages(prompt, "user"), chosen_msgs, rejected_msgs, scores=scores)
        if fields.history is None:  # how the row gave its parts (a history makes them messages, whatever they were)
            pair.formats = (
                _format(prompt),
                _format(_value(record, fields.chosen)),
                _format(_value(record, fields.rejected)),
            )
    if system and not (pair.prompt and pair.prompt[0]["role"] == "system"):
        pair.prompt = [{"role": "system", "content": system}, *pair.prompt]
        if pair.rejected_prompt is not None:
            pair.rejected_prompt = [{"role": "system", "content": system}, *pair.rejected_prompt]
        pair.without_system_column = normalize(record, replace(fields, system=None))
    given_as_messages = not (
        isinstance(chosen, str) and isinstance(rejected, str)
    )  # not text joined to a system column
    if (
        given_as_messages
        and prompt is not None
        and (carries_prompt or isinstance(prompt, str))
        and fields.prompt != ("messages",)
    ):
        pair.prompt_column = prompt  # `messages` beside full dialogues is one of them (UltraFeedback), not a prompt
    pair.tools = _tools(record, fields)
    pair.template_kwargs = _template_kwargs(record, fields)
    pair.generators = _generators(record, fields)
    return pair


def _generators(record: Mapping, fields: Fields) -> tuple[str, str] | None:
    """The models that wrote chosen and rejected, where the record names both."""
    named = tuple(record.get(column) for column in fields.generators or ())
    return tuple(map(str, named)) if named and all(name is not None for name in named) else None


FORMAT_NAMES = {"text": "text", "message": "one message", "messages": "a list of messages"}  # Pair.formats in words


def _format(value) -> str:
    """How a prompt or reply is given: 'text', 'message' (one, a mapping) or 'messages' (a list)."""
    if isinstance(value, str):
        return "text"
    return "message" if isinstance(value, Mapping) else "messages"


def _value(record: Mapping, spec: str):
    """A field's value: a column's, or (`output[0]`) an item of a list column."""
    indexed = INDEXED.match(spec)
    if indexed is None:
        return record[spec]
    values, index = record[indexed["column"]], int(indexed["index"])
    if not isinstance(values, list | tuple) or len(values) <= index:
        raise RowDefect(
            Defect.INVALID_TYPE, f"{indexed['column']} is {_describe(values)}, not a list with an item {index}"
        )
    return values[index]


def _history(value) -> list[Message]:
    """Alpaca-style earlier turns, [[user, assistant], ...], as messages (none for a null or empty history)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise RowDefect(Defect.INVALID_TYPE, f"history is {_describe(value)}, not a list of [user, assistant] turns")
    turns = []
    for index, turn in enumerate(value):
        if not (isinstance(turn, list | tuple) and len(turn) == 2 and all(isinstance(text, str) for text in turn)):
            raise RowDefect(Defect.INVALID_TYPE, f"history[{index}] is {_describe(turn)}, not [user, assistant] text")
        turns += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    return turns


def _prompt(record: Mapping, fields: Fields) -> Content | None:
    if not fields.prompt:
        return None
    if len(fields.prompt) == 1:
        return as_content(record[fields.prompt[0]], fields.prompt[0])
    parts = []
    for name in fields.prompt:
        value = record[name]
        if value is None:
            continue
        if not isinstance(value, str):
            raise RowDefect(Defect.INVALID_TYPE, f"{name} is {_describe(value)}, not text")
        if value:
            parts.append(value)
    return "\n".join(parts)


def _system(record: Mapping, fields: Fields) -> str:
    value = record.get(fields.system) if fields.system else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RowDefect(Defect.INVALID_TYPE, f"{fields.system} is {_describe(value)}, not text")
    return value


def _tools(record: Mapping, fields: Fields) -> list | None:
    """The row's tool definitions, as TRL reads them: a list, or JSON text of one (json.loads); none if empty."""
    value = record.get(fields.tools) if fields.tools else None
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError:
            raise RowDefect(
                Defect.INVALID_TYPE, f"{fields.tools} is text that is not JSON, not a list of tool definitions"
            ) from None
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise RowDefect(Defect.INVALID_TYPE, f"{fields.tools} is {_describe(value)}, not a list of tool definitions")
    return value


def _template_kwargs(record: Mapping, fields: Fields) -> dict | None:
    """The row's chat_template_kwargs, a mapping (TRL spreads it into the template's arguments); none if empty."""
    value = record.get(fields.template_kwargs) if fields.template_kwargs else None
    if not value:
        return None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise RowDefect(
            Defect.INVALID_TYPE, f"{fields.template_kwargs} is {_describe(value)}, not a mapping of template arguments"
        )
    return {key: item for key, item in value.items() if item is not None}  # Arrow fills absent struct fields with None


def _scores(record: Mapping, fields: Fields) -> dict[str, float]:
    scores = {}
    for role, column in fields.scores.items():
        value = record.get(column)
        if value is None or value == "":
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or math.isnan(number):
            raise RowDefect(Defect.INVALID_TYPE, f"{column} is {_describe(value)}, not a number")
        scores[role] = number
    return scores


def as_content(value, name: str) -> Content:
    """Text stays text; a message, a list of messages or `{messages: [...]}` becomes a message list."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "messages" in value:
            return as_content(value["messages"], name)
        if MESSAGE_KEYS.isdisjoint(value):  # {"text": ...}: no message either
            raise RowDefect(Defect.INVALID_TYPE, f"{name} is {_describe(value)}, not text or messages")
        return [_as_message(value, name)]
    if isinstance(value, list):
        return [_as_message(item, f"{name}[{index}]") for index, item in enumerate(value)]
    raise RowDefect(Defect.INVALID_TYPE, f"{name} is {_describe(value)}, not text or messages")


def _as_message(item, where: str) -> Message:
    """One message, named `where` in what is said of it (`chosen[1]`, or `chosen` for a lone message)."""
    if not isinstance(item, Mapping):
        raise RowDefect(Defect.INVALID_TYPE, f"{where} is {_describe(item)}, not a message")
    role = item.get("role", item.get("from"))
    content = item.get("content", item.get("value"))
    if not isinstance(role, str):
        raise RowDefect(Defect.INVALID_TYPE, f"{where} has no role (expected a 'role' or 'from' key)")
    extra = {}
    if isinstance(content, list):  # content parts: OpenAI's, LLaMA-Factory v1's
        content, extra = _parts(content, where)
    if content is None and role in ("assistant", "gpt") and item.get("tool_calls"):
        content = ""
    if not isinstance(content, str):
        raise RowDefect(Defect.INVALID_TYPE, f"{where} content is {_describe(content)}, not text")
    tools = {key: item[key] for key in PASSED_KEYS if item.get(key)}  # rendered by templates that know them
    return {"role": ROLE_NAMES.get(role.lower(), role), "content": content, **tools, **extra}


def _parts(parts: list, where: str) -> tuple[str, dict]:
    """A message's content given as typed parts: its text (`text` or, as LLaMA-Factory v1 writes it, `value`),
    reasoning as `reasoning_content` (which reasoning models' templates render), tool calls as the tagged text
    LLaMA-Factory renders, and media (images, audio, video) kept under `media` for the rules that count them, with
    where each stands in the text under `media_at`. A
    part of another type is a defect of the record, never an empty reply."""
    texts, reasoning, media, media_at = [], [], [], []
    for index, part in enumerate(parts):
        kind = part.get("type", "text") if isinstance(part, Mapping) else None
        value = part.get("text", part.get("value")) if isinstance(part, Mapping) else None
        if kind in MEDIA_PARTS:
            media.append(part)
            media_at.append(sum(map(len, texts)))  # where it stands in the message's text
        elif kind in ("text", "reasoning", "tool_call") and isinstance(value, str):
            if kind == "reasoning":
                reasoning.append(value)
            else:
                texts.append(value if kind == "text" else f"<tool_call>\n{value}\n</tool_call>")
        else:
            what = f"of type {kind!r} with {_describe(value)}" if isinstance(part, Mapping) else _describe(part)
            raise RowDefect(Defect.INVALID_TYPE, f"{where} content part {index} is {what}, which preflint cannot read")
    extra = {"reasoning_content": "\n".join(reasoning)} if reasoning else {}
    return "".join(texts), {**extra, **({"media": media, "media_at": media_at} if media else {})}


def _as_messages(content: Content, role: str) -> list[Message]:
    return content if isinstance(content, list) else [{"role": role, "content": content}]


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and math.isnan(value):  # JSON's NaN, which Python reads
        return "NaN"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"{value[:20]!r}"
    if isinstance(value, bytes | bytearray):  # a binary column: text the writer did not decode
        return f"bytes ({bytes(value[:20])!r})"
    if isinstance(value, Mapping):
        return f"an object with keys {', '.join(map(repr, list(value)[:5]))}{', …' if len(value) > 5 else ''}"
    return f"a {type(value).__name__}"


def _split_implicit_text(chosen: str, rejected: str, scores: dict[str, float]) -> Pair:
    """Cut each dialogue after its last assistant-turn marker; never in mid-word as a character prefix would."""
    marker = next((m for m in ASSISTANT_MARKERS if m in chosen and m in rejected), None)
    if marker is None:
        return Pair("implicit", "", chosen, rejected, scores=scores)
    cut = chosen.rfind(marker) + len(marker), rejected.rfind(marker) + len(marker)
    return _split_at("implicit", chosen, rejected, cut, scores)


def _split_implicit_messages(chosen: list[Message], rejected: list[Message], scores: dict[str, float]) -> Pair:
    """The prompt is everything before the final run of assistant messages, on each side."""
    cut = _completion_start(chosen), _completion_start(rejected)
    return _split_at("implicit", chosen, rejected, cut, scores)


def _split_at(kind: str, chosen, rejected, cut: tuple[int, int], scores: dict[str, float]) -> Pair:
    """Each side's prompt is what comes before its cut; the pair keeps the rejected one only when it differs."""
    prompt, rejected_prompt = chosen[: cut[0]], rejected[: cut[1]]
    return Pair(
        kind,
        prompt,
        chosen[cut[0] :],
        rejected[cut[1] :],
        rejected_prompt=None if rejected_prompt == prompt else rejected_prompt,
        scores=scores,
    )


def _completion_start(messages: list[Message]) -> int:
    index = len(messages)
    while index > 0 and messages[index - 1]["role"] == "assistant":
        index -= 1
    return index


def plain_text(content: Content) -> str:
    """The words of a side, without roles: what emptiness and equality checks look at."""
    if isinstance(content, str):
        return content
    return "\n".join(message["content"] for message in content)
