"""A reply's reasoning and its answer, as reasoning models write them: `<think>…</think>` before the answer (or the
reasoning alone before `</think>`, where the generation prompt opened the block, as DeepSeek-R1's does), or a
message's `reasoning_content` beside its content (Qwen3's templates, vLLM's output)."""

from __future__ import annotations

from typing import NamedTuple

OPEN, CLOSE = "<think>", "</think>"


class Parts(NamedTuple):
    reasoning: str | None  # None: the reply has no reasoning
    answer: str


def split_reasoning(text: str) -> Parts:
    close = text.find(CLOSE)
    if close < 0:
        return Parts(None, text)
    head = text[:close]
    start = head.find(OPEN)
    return Parts(head[start + len(OPEN) :] if start >= 0 else head, text[close + len(CLOSE) :])


def reply_parts(reply) -> Parts:
    """The reasoning and answer of a reply given as text or as messages (its assistant messages', joined)."""
    if isinstance(reply, str):
        return split_reasoning(reply)
    reasonings, answers = [], []
    for message in reply:
        if message["role"] != "assistant":
            continue
        parts = split_reasoning(message["content"])
        given = message.get("reasoning_content")
        reasoning = given if isinstance(given, str) and given.strip() else parts.reasoning
        if reasoning is not None:
            reasonings.append(reasoning)
        answers.append(parts.answer)
    return Parts("\n".join(reasonings) if reasonings else None, "\n".join(answers))
