"""The tokenizer every later stage sees: a transformers fast tokenizer plus where it came from, with the batched
encoding, the joined ids trainers build, and chat rendering under a time limit."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cached_property

from preflint.errors import TemplateError
from preflint.tokenizer import sandbox
from preflint.tokenizer.templates import plain_chat
from preflint.tokenizer.watchdog import TimeUp, render_watch

JOIN_WINDOW = 4  # tokens each side of a join that are tokenized again to check it
WIDE_WINDOW = 16  # tokens each side tokenized again where a token merges across the join
RENDER_SECONDS = 10.0  # one chat takes well under a millisecond to render: a template past this loops (or attacks)
RENDERS_STOPPED = 3  # stopped this often, a template is not run again in the process: every row would wait as long


@dataclass
class Tokenizer:
    """The tokenizer every later stage sees: a transformers fast tokenizer plus where it came from."""

    name: str
    source: str
    hf: object  # transformers.PreTrainedTokenizerFast
    template_chosen: bool = False  # the chat template was given (--chat-template), not the one the tokenizer ships
    renders_stopped: int = field(default=0, compare=False)  # renders stopped at the time limit, in this process

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.hf, "chat_template", None))

    @cached_property
    def _backend(self):
        return self.hf.backend_tokenizer

    def encode_many(self, texts: list[str], *, add_special_tokens: bool = False) -> list[list[int]]:
        """Ids of many texts in one call, so the Rust tokenizer uses every core; each distinct text is tokenized
        once (repeated rows, a prompt shared by several pairs, a response given on both sides), and every text
        gets its own list.

        Without added special tokens by default: the text as written (special-token text in it still becomes
        special ids, as in transformers). `add_special_tokens=True` is `tokenizer(text)` (BOS for Llama).
        """
        backend = self._backend
        if backend.truncation is not None:  # left behind by a transformers call with truncation=True
            backend.no_truncation()
        if backend.padding is not None:
            backend.no_padding()
        slots: dict[str, int] = {}
        positions = [slots.setdefault(text, len(slots)) for text in texts]
        _batched_here()
        encodings = backend.encode_batch_fast(list(slots), add_special_tokens=add_special_tokens)
        distinct = [encoding.ids for encoding in encodings]
        if len(distinct) == len(texts):
            return distinct
        ids, given = [], [False] * len(distinct)
        for slot in positions:
            ids.append(distinct[slot].copy() if given[slot] else distinct[slot])
            given[slot] = True
        return ids

    def join_ids(self, pieces: list[tuple[str, list[int], str, list[int]]]) -> list[list[int]]:
        """Ids of `left + right` for each (left, its ids, right, its ids), without tokenizing the whole text.

        Tokenizing a concatenation changes tokens only near the join, so a window of tokens each side of it is
        tokenized again: when the first and last JOIN_WINDOW tokens of the window come out as they were (or the
        window reaches the text's start or end), whatever changed stayed inside it, and the whole is the left ids
        before the window, the window's new ids and the right ids after it. A window of JOIN_WINDOW tokens a side
        is tried first (it settles almost every join: nothing merges); where a token merges across the join, one
        of WIDE_WINDOW tokens a side. Anything else (a change reaching the window's edges, a window whose tokens do
        not decode to the text, as with SentencePiece's leading "▁") is tokenized whole, so the result is always
        what tokenizing `left + right` gives.
        """
        joined: list[list[int] | None] = [None] * len(pieces)
        for k, (left, left_ids, right, right_ids) in enumerate(pieces):
            if not left or not right:
                joined[k] = left_ids + right_ids
        for width in (JOIN_WINDOW, WIDE_WINDOW):
            pending = [k for k, ids in enumerate(joined) if ids is None]
            for k, ids in zip(pending, self._rejoined([pieces[k] for k in pending], width)):
                joined[k] = ids
        whole = [k for k, ids in enumerate(joined) if ids is None]
        for k, ids in zip(whole, self.encode_many([pieces[k][0] + pieces[k][2] for k in whole])):
            joined[k] = ids
        return joined

    def _rejoined(self, pieces: list[tuple[str, list[int], str, list[int]]], width: int) -> list[list[int] | None]:
        """`join_ids` through windows of `width` tokens a side; None where the window cannot settle the join."""
        tails = [left_ids[-width:] for _, left_ids, _, _ in pieces]
        heads = [right_ids[:width] for _, _, _, right_ids in pieces]
        _batched_here()
        decoded = self._backend.decode_batch(tails + heads, skip_special_tokens=False)
        checks = []
        for k, (left, left_ids, right, right_ids) in enumerate(pieces):
            tail, head = decoded[k], decoded[len(pieces) + k]
            # A window of a whole text must decode to all of it: SentencePiece decodes a text's first "▁" to
            # nothing, and what is left is still a suffix ("  " decodes as " ").
            whole_left, whole_right = len(tails[k]) == len(left_ids), len(heads[k]) == len(right_ids)
            if (
                tail
                and head
                and (tail == left if whole_left else left.endswith(tail))
                and (head == right if whole_right else right.startswith(head))
            ):
                checks.append((k, tail + head))
        joined: list[list[int] | None] = [None] * len(pieces)
        for (k, _), ids in zip(checks, self.encode_many([window for _, window in checks])):
            left_ids, right_ids, tail, head = pieces[k][1], pieces[k][3], tails[k], heads[k]
            if ids == tail + head:  # nothing merged: the usual case
                joined[k] = left_ids + right_ids
                continue
            keep_left = JOIN_WINDOW if len(tail) < len(left_ids) else 0  # a window from the text's start may change
            keep_right = JOIN_WINDOW if len(head) < len(right_ids) else 0
            if (
                len(ids) >= keep_left + keep_right
                and ids[:keep_left] == tail[:keep_left]
                and (ids[len(ids) - keep_right :] == head[len(head) - keep_right :])
            ):
                joined[k] = left_ids[: len(left_ids) - len(tail)] + ids + right_ids[len(head) :]
        return joined

    @cached_property
    def special_affixes(self) -> tuple[list[int], list[int]] | None:
        """What `add_special_tokens=True` puts before and after a text's ids (Llama 3: BOS, nothing), if constant."""
        plain, full = self.encode_many(["a"])[0], self.encode_many(["a"], add_special_tokens=True)[0]
        for start in range(len(full) - len(plain) + 1):
            if full[start : start + len(plain)] == plain:
                return full[:start], full[start + len(plain) :]
        return None

    @cached_property
    def separate_eos(self) -> str | None:
        """The EOS text when it is an added token (so it is tokenized apart from the text around it)."""
        eos = getattr(self.hf, "eos_token", None)
        return eos if eos and eos in self.hf.added_tokens_encoder else None

    @cached_property
    def separate_eos_ids(self) -> list[int]:
        return self.encode_many([self.separate_eos])[0] if self.separate_eos else []

    @cached_property
    def turn_suffix(self) -> str:
        """What the chat template writes after an assistant message's content (Llama 3: '<|eot_id|>')."""
        if not self.has_chat_template:
            return ""
        sentinel = "PREFLINT-SENTINEL"
        chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": sentinel}]
        try:
            rendered = self.render_chat(chat, add_generation_prompt=False)
        except TemplateError:  # a template that rejects even this chat has no suffix we can learn
            return ""
        return rendered[rendered.rfind(sentinel) + len(sentinel) :] if sentinel in rendered else ""

    @cached_property
    def turn_suffix_ids(self) -> list[int]:
        return self.encode_many([self.turn_suffix])[0] if self.turn_suffix else []

    @cached_property
    def special_ids(self) -> frozenset[int]:
        return frozenset(i for i, token in self.hf.added_tokens_decoder.items() if token.special)

    @cached_property
    def special_token_pattern(self) -> re.Pattern | None:
        """Matches the text of any special token (longest first), as it would appear inside content."""
        texts = {token.content for token in self.hf.added_tokens_decoder.values() if token.special}
        texts |= set(self.hf.all_special_tokens)
        texts.discard("")
        if not texts:
            return None
        return re.compile("|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True)))

    @cached_property
    def unknown_id(self) -> int | None:
        """The unknown token's id, where the vocabulary has one (byte-level ones, like Llama 3's, have none)."""
        return getattr(self.hf, "unk_token_id", None)

    def unknown_pieces(self, text: str) -> list[str]:
        """The pieces of `text` that become the unknown token, in order: characters the vocabulary lacks."""
        encoding = self._backend.encode(text, add_special_tokens=False)
        return [
            text[start:end] for token, (start, end) in zip(encoding.ids, encoding.offsets) if token == self.unknown_id
        ]

    def decode(self, ids: list[int]) -> str:
        return self._backend.decode(ids, skip_special_tokens=False)

    def render_chat(self, messages: list[dict], *, add_generation_prompt: bool, **template_args) -> str:
        """The chat as the model sees it: through the chat template (given a row's tools and other arguments, as
        TRL gives them: `Pair.template_args`), or as `plain_chat` when there is none. A template still running
        after RENDER_SECONDS is stopped, and the row's rendering fails as if the template had raised."""
        if not self.has_chat_template:
            return plain_chat(messages, add_generation_prompt=add_generation_prompt)
        if self.renders_stopped >= RENDERS_STOPPED:
            raise TemplateError(
                f"not run again after it was stopped at {RENDER_SECONDS:g} s on {RENDERS_STOPPED} "
                "earlier renders (a loop that does not end?)"
            )
        sandbox.install()  # before transformers compiles the template
        thread = render_watch.start(RENDER_SECONDS)
        try:
            try:
                return self.hf.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=add_generation_prompt, **template_args
                )
            finally:
                render_watch.end(thread)
        except TimeUp:  # raised in the render, or just after it
            render_watch.end(thread)
            self.renders_stopped += 1
            raise TemplateError(f"stopped after running for {RENDER_SECONDS:g} s (a loop that does not end?)") from None
        except Exception as exc:  # Jinja's errors, the template's own raise_exception, transformers' checks
            raise TemplateError(str(exc).strip() or type(exc).__name__) from exc

    def with_chat_template(self, template: str, name: str = "(custom)") -> Tokenizer:
        """The same vocabulary rendering chats with another template (a copy; this one is unchanged)."""
        hf = copy.copy(self.hf)
        hf.chat_template = template
        return Tokenizer(self.name, f"{self.source}; chat template {name}", hf, template_chosen=True)

    def describe(self) -> dict:
        return {"name": self.name, "source": self.source, "vocab_size": len(self.hf)}


_batched = False  # whether this process has tokenized in batches, on the Rust tokenizer's thread pool


def _batched_here() -> None:
    global _batched
    _batched = True


def tokenized_in_batches() -> bool:
    """Whether the Rust tokenizer's thread pool has run in this process: a process forked after that gets a pool
    it cannot use (speed.worker_start)."""
    return _batched
