"""A batch of pairs (and samples) as every rule sees it, and the stages that fill it: normalize, render, tokenize.

Columns are parallel lists indexed by position in the batch; `rows[i]` is the record's 0-based index in the input.
A record that could not become a pair keeps its place with `pairs[i] = None` and a defect saying why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from preflint.defects import RowDefect
from preflint.shapes.images import images_suffix
from preflint.shapes.pairs import Pair, plain_text
from preflint.text import blank
from preflint.tokenizer.wrapper import Tokenizer


@dataclass
class PairBatch:
    source: str
    rows: list[int]
    pairs: list[Pair | None]
    defects: list[RowDefect | None]
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
    # The trainer's preprocessing of each pair (a preflint.trainers.TrainerRow, None for a row that is no pair),
    # filled by the `simulate` step when a selected rule needs it.
    trainer: list = field(default_factory=list)
    # Whether that trainer trains each reply as an example of its own (KTO) rather than pairs: two equal sides then
    # pin nothing at ln 2, so the rules that find them do not mark them `no_signal` (see preflint.forecast).
    unpaired_training: bool = False
    records: list = field(default_factory=list)  # the raw records, as read (what `preflint fix` rewrites)
    # Each row's Sample where the input holds labelled pairs, ranked candidates or unpaired rows (empty for an input
    # of pairs): `pairs[i]` is then its pair view, None for a tie or an unpaired row. Its candidates' replies as
    # rendered after the prompt, and their ids (None for a row that is no sample).
    samples: list = field(default_factory=list)
    candidates: list[list[str] | None] = field(default_factory=list)
    candidate_ids: list[list[list[int]] | None] = field(default_factory=list)
    _comparable: list[int] | None = field(default=None, repr=False)
    _text_keys: list[tuple[int, int, int] | None] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def usable(self) -> Iterator[int]:
        """Positions of the rows that became pairs (a sample's pair view included)."""
        return (i for i, pair in enumerate(self.pairs) if pair is not None)

    def sample(self, i: int):
        """Row i's Sample, or None where it is a pair (or not readable)."""
        return self.samples[i] if self.samples else None

    def view(self, i: int) -> tuple[int, int] | None:
        """The two candidates of sample row i that its pair view holds (best, worst), if it has one: the pair rules
        see them, so the candidate rules leave them be."""
        sample = self.sample(i)
        return sample.extremes() if sample is not None and self.pairs[i] is not None else None

    def candidate_body_ids(self, i: int, k: int) -> list[int]:
        """Candidate k's ids without the chat template's end-of-turn suffix, as `body_ids` for a side."""
        ids = self.candidate_ids[i][k]
        suffix = self.tokenizer.turn_suffix_ids if self.samples[i].is_chat and self.tokenizer is not None else []
        return ids[: len(ids) - len(suffix)] if suffix and ids[len(ids) - len(suffix) :] == suffix else ids

    def is_chat(self, i: int) -> bool:
        sample = self.sample(i)
        return sample.is_chat if sample is not None else self.pairs[i].is_chat

    def contents(self, i: int) -> list:
        """Row i's texts or message lists: a pair's prompt, chosen and rejected, or a sample's prompt and replies."""
        if self.pairs[i] is not None:
            return [self.pairs[i].prompt, self.pairs[i].chosen, self.pairs[i].rejected]
        candidates = self.samples[i].candidates
        return [candidates[0].prompt, *(candidate.reply for candidate in candidates)]

    def with_samples(self) -> Iterator[int]:
        """Positions of the rows read as samples."""
        return (i for i, sample in enumerate(self.samples) if sample is not None)

    @property
    def same_sides_no_signal(self) -> bool | None:
        """How a rule marks a pair whose two sides are the same: as its code says (DPO leaves it at ln 2), or not
        `no_signal` where the trainer trains each reply alone (KTO pushes one example up, the other down)."""
        return False if self.unpaired_training else None

    def trained(self) -> Iterator[tuple]:
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
        return ids[: len(ids) - len(suffix)] if suffix and ids[len(ids) - len(suffix) :] == suffix else ids

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
                i
                for i in self.usable()
                if self.pairs[i].rejected_prompt is None
                and not blank(plain_text(self.pairs[i].chosen))
                and not blank(plain_text(self.pairs[i].rejected))
            ]
        return self._comparable

    def text_keys(self, i: int) -> tuple[int, int, int]:
        """`key` of pair i's prompt (with its images, if any), chosen and rejected as plain text: hashed once per
        batch for the dataset rules that index them (D003, D004, D005, L003)."""
        if self._text_keys is None:
            self._text_keys = [
                (
                    key(plain_text(pair.prompt) + images_suffix(pair)),
                    key(plain_text(pair.chosen)),
                    key(plain_text(pair.rejected)),
                )
                if pair is not None
                else None
                for pair in self.pairs
            ]
        return self._text_keys[i]


def key(text: str) -> int:
    """64 bits of BLAKE2b of a text: what dataset-wide indices hold instead of the text."""
    return digest(text.encode("utf-8", "surrogatepass"))


def digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
