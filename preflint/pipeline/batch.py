"""A batch of pairs as every rule sees it, and the stages that fill it: normalize, render, tokenize.

Columns are parallel lists indexed by position in the batch; `rows[i]` is the record's 0-based index in the input.
A record that could not become a pair keeps its place with `pairs[i] = None` and a defect saying why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

from preflint.io.read import RawBatch, Unreadable
from preflint.shapes.pairs import Content, Fields, Pair, RecordDefect, normalize
from preflint.text import blank
from preflint.tokenizer.loading import Tokenizer
from preflint.trainers import TrainerRow


@dataclass
class PairBatch:
    source: str
    rows: list[int]
    pairs: list[Pair | None]
    defects: list[RecordDefect | None]
    hashes: list[str | None]
    # As the model sees them: the rendered prompt and each rendered completion ("" where pairs[i] is None).
    prompt: list[str] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    # Whether the prompt followed by each completion, as rendered here, is the whole conversation as rendered.
    follows_prompt: list[bool] = field(default_factory=list)
    prompt_ids: list[list[int]] = field(default_factory=list)
    chosen_ids: list[list[int]] = field(default_factory=list)
    rejected_ids: list[list[int]] = field(default_factory=list)
    tokenizer: Tokenizer | None = None  # the tokenizer that made the ids, for rules that decode them
    trainer: list[TrainerRow | None] = field(default_factory=list)  # filled when a selected rule needs it
    records: list = field(default_factory=list)  # the raw records, as read (what `preflint fix` rewrites)
    _comparable: list[int] | None = field(default=None, repr=False)
    _text_keys: list[tuple[int, int, int] | None] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def usable(self) -> Iterator[int]:
        """Positions of the rows that became pairs."""
        return (i for i, pair in enumerate(self.pairs) if pair is not None)

    def trained(self) -> Iterator[tuple[int, TrainerRow]]:
        """Positions and trainer rows of the pairs the trainer keeps: what the model is trained on. A row it drops
        is M002's finding; its ids (a prompt cut at max-length, say) say nothing about training."""
        return ((i, row) for i, row in enumerate(self.trainer) if row is not None and not row.dropped)

    def body_text(self, i: int, side: str) -> str:
        """A rendered completion without the chat template's end-of-turn suffix: the words the author wrote."""
        text = self.chosen[i] if side == "chosen" else self.rejected[i]
        suffix = self._suffix(i)[0]
        return text[: len(text) - len(suffix)] if suffix and text.endswith(suffix) else text

    def body_ids(self, i: int, side: str) -> list[int]:
        ids = self.chosen_ids[i] if side == "chosen" else self.rejected_ids[i]
        suffix = self._suffix(i)[1]
        return ids[: len(ids) - len(suffix)] if suffix and ids[len(ids) - len(suffix):] == suffix else ids

    def _suffix(self, i: int) -> tuple[str, list[int]]:
        if not self.pairs[i].is_chat or self.tokenizer is None:
            return "", []
        return self.tokenizer.turn_suffix, self.tokenizer.turn_suffix_ids

    def comparable(self) -> list[int]:
        """Positions of pairs whose two sides answer one prompt and both have text: the pairs worth comparing.

        Empty sides are P004's and diverging prompts M008's; comparing such sides would only repeat those findings.
        Computed once per batch (many rules ask); rendering, which can drop rows, resets it.
        """
        if self._comparable is None:
            self._comparable = [
                i for i in self.usable()
                if self.pairs[i].rejected_prompt is None
                and not blank(plain_text(self.pairs[i].chosen)) and not blank(plain_text(self.pairs[i].rejected))
            ]
        return self._comparable

    def text_keys(self, i: int) -> tuple[int, int, int]:
        """`key` of pair i's prompt, chosen and rejected as plain text: hashed once per batch for the dataset rules
        that index them (D003, D004, D005, L003)."""
        if self._text_keys is None:
            self._text_keys = [
                (key(plain_text(pair.prompt)), key(plain_text(pair.chosen)), key(plain_text(pair.rejected)))
                if pair is not None else None
                for pair in self.pairs
            ]
        return self._text_keys[i]


def key(text: str) -> int:
    """64 bits of BLAKE2b of a text: what dataset-wide indices hold instead of the text."""
    return digest(text.encode("utf-8", "surrogatepass"))


def digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def to_pairs(raw: RawBatch, fields: Fields | None) -> PairBatch:
    pairs: list[Pair | None] = []
    defects: list[RecordDefect | None] = []
    for record in raw.records:
        try:
            if isinstance(record, Unreadable):
                raise RecordDefect("S001", record.reason)
            assert fields is not None  # a readable record always has fields detected for its source
            pairs.append(normalize(record, fields))
            defects.append(None)
        except RecordDefect as defect:
            pairs.append(None)
            defects.append(defect)
    hashes = [content_hash(pair) if pair else None for pair in pairs]
    return PairBatch(raw.source, raw.rows, pairs, defects, hashes, records=raw.records)


def content_hash(pair: Pair) -> str:
    """Identity of a pair's content, stable across row order and input format."""
    parts = (pair.prompt, pair.chosen, pair.rejected)
    if pair.rejected_prompt is None and all(isinstance(part, str) for part in parts):
        # The common case, without a JSON encoding per row; lengths first, so no two pairs share a payload.
        payload = f"text {len(parts[0])} {len(parts[1])} " + "".join(parts)
    else:  # template arguments only where a row has them, so every other row keeps the hash baselines hold
        extra = [pair.template_args] if pair.template_args else []
        payload = json.dumps([*parts, pair.rejected_prompt, *extra], ensure_ascii=False, default=str)
    return hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def render(batch: PairBatch, tokenizer: Tokenizer) -> None:
    """Fill the text columns; chat rows go through the tokenizer's chat template, as a trainer renders them."""
    batch.prompt, batch.chosen, batch.rejected, batch.follows_prompt = [], [], [], []
    for i, pair in enumerate(batch.pairs):
        texts, follows = ("", "", ""), True
        if pair is not None:
            try:
                texts, follows = _render_chat(pair, tokenizer) if pair.is_chat else (_render_text(pair), True)
            except Exception as exc:  # a template is untrusted code: any failure is a finding on the row
                batch.pairs[i] = None
                batch.hashes[i] = None
                why = NO_PROMPT if pair.is_chat and not pair.prompt else f"the chat template failed on this row: {exc}"
                batch.defects[i] = RecordDefect("S005", why)
        batch.prompt.append(texts[0])
        batch.chosen.append(texts[1])
        batch.rejected.append(texts[2])
        batch.follows_prompt.append(follows)
    batch._comparable = batch._text_keys = None


NO_PROMPT = ("the conversation has no prompt, only the assistant's replies: the chat template cannot render an "
             "empty prompt, and a trainer fails on it the same way")


def _render_text(pair: Pair) -> tuple[str, str, str]:
    return pair.prompt, pair.chosen, pair.rejected


def _render_chat(pair: Pair, tokenizer: Tokenizer) -> tuple[tuple[str, str, str], bool]:
    chat = partial(tokenizer.render_chat, **pair.template_args)
    prompt = chat(pair.prompt, add_generation_prompt=True)
    rejected_prompt = chat(pair.rejected_prompt, add_generation_prompt=True) if pair.rejected_prompt else prompt
    chosen, chosen_follows = _completion(chat, pair.prompt, pair.chosen, prompt)
    rejected, rejected_follows = _completion(chat, pair.prompt_of_rejected, pair.rejected, rejected_prompt)
    return (prompt, chosen, rejected), chosen_follows and rejected_follows


def _completion(chat, prompt: list, completion: list, rendered_prompt: str) -> tuple[str, bool]:
    """The completion is what the whole conversation adds after the rendered prompt (TRL does the same), and
    whether the whole starts with the rendered prompt (a template may render a final turn differently)."""
    whole = chat(prompt + completion, add_generation_prompt=False)
    if whole.startswith(rendered_prompt):
        return whole[len(rendered_prompt):], True
    common = 0
    for a, b in zip(whole, rendered_prompt):
        if a != b:
            break
        common += 1
    return whole[common:], False


def tokenize(batch: PairBatch, tokenizer: Tokenizer) -> None:
    """Tokenize each prompt once and each completion once, all in one batched call."""
    n = len(batch)
    ids = tokenizer.encode_many(batch.prompt + batch.chosen + batch.rejected)
    batch.prompt_ids, batch.chosen_ids, batch.rejected_ids = ids[:n], ids[n : 2 * n], ids[2 * n :]
    batch.tokenizer = tokenizer


def plain_text(content: Content) -> str:
    """The words of a side, without roles: what emptiness and equality checks look at."""
    if isinstance(content, str):
        return content
    return "\n".join(message["content"] for message in content)
