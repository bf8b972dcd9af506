"""Compact keys and a near-duplicate index for dataset-level rules: they hold 64-bit hashes, never rows.

`batch.key(...)` hashes text to an int (8 bytes of BLAKE2b); `loose` is the text D002 hashes. `PromptIndex` finds
near-duplicate prompts with MinHash LSH (rensa): Jaccard similarity of word 3-gram shingles of the lowercased
prompt, at a documented threshold. It is a leader clustering: a prompt joins the first earlier representative it is
similar to, and only representatives are indexed, so memory grows with the number of distinct prompt clusters and
queries stay short even when thousands of prompts are variants of one. `ContainedIndex` finds reference texts
inside longer ones by their runs of consecutive words.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import rensa

from preflint.pipeline.batch import plain_text

NUM_PERM = 64
BANDS = 16  # 4 rows per band: pairs at Jaccard 0.8 become candidates with probability 0.9998, then are verified
SEED = 1234
SHINGLE = 3
FEW_CANDIDATES = 4  # compared one by one; more at once, in one numpy comparison

_ASCII_SPACES = bytes(code for code in range(128) if chr(code).isspace())  # str.split's, \x1c-\x1f included
_TO_SPACE = bytes.maketrans(_ASCII_SPACES, b" " * len(_ASCII_SPACES))
_SPACE_RUN = re.compile(b"  +")
_NFKC_SPACES = "\x85\u1680\u2028\u2029"  # the whitespace beyond ASCII that NFKC keeps (it maps the rest to " ")


def loose(text: str) -> bytes:
    """What D002 compares, as UTF-8: NFKC, case-folded, whitespace collapsed to single spaces and stripped, i.e.
    `normalized(NFKC(text), whitespace=True, case=True)`. Collapsed on bytes, at C speed, where `str.split` would
    build a string per word; case folding maps no character to or from whitespace, so it can come first."""
    if text.isascii():
        data = text.encode("ascii").lower()
    else:
        if not unicodedata.is_normalized("NFKC", text):  # a quick check, at C speed
            text = unicodedata.normalize("NFKC", text)
        text = text.casefold()
        if any(space in text for space in _NFKC_SPACES):  # whitespace beyond ASCII: str.split knows it
            return " ".join(text.split()).encode("utf-8", "surrogatepass")
        data = text.encode("utf-8", "surrogatepass")
    return _SPACE_RUN.sub(b" ", data.translate(_TO_SPACE)).strip(b" ")


def prompt_text(pair) -> str:
    return plain_text(pair.prompt)


def words(text: str) -> list[str]:
    """The lowercased words of a text, what near-duplicate prompts are compared on."""
    return (text.lower() if text.isascii() else text.casefold()).split()


def shingles(text_words: list[str]) -> list[str]:
    if len(text_words) < SHINGLE:
        return [" ".join(text_words)]
    return list(map(" ".join, zip(*(text_words[i:] for i in range(SHINGLE)))))


def signatures(word_lists: list[list[str]]) -> list:
    """MinHash signatures of the word 3-gram shingles of each text (given as its `words`)."""
    return rensa.RMinHash.from_token_sets([shingles(text_words) for text_words in word_lists], NUM_PERM, SEED)


class PromptIndex:
    """Representatives of near-duplicate prompt clusters; `match` finds the one a signature belongs to.

    Their digests are kept as rows of one numpy array (256 bytes each): rensa's own signature objects would be
    ~410 bytes each, 150 MiB more at a million distinct prompts."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.lsh = rensa.RMinHashLSH(threshold, NUM_PERM, BANDS)
        self.digests = np.zeros((1024, NUM_PERM), dtype=np.uint32)
        self.labels: list[int] = []  # what each representative stands for (a row, or a reference position)

    def match(self, signature) -> int | None:
        """The label of the earliest representative whose estimated Jaccard similarity reaches the threshold."""
        candidates = self.lsh.query(signature)
        if not candidates:
            return None
        digest, needed = np.array(signature.digest(), dtype=np.uint32), self.threshold * NUM_PERM
        if len(candidates) <= FEW_CANDIDATES:  # the usual case: the first one matches
            for slot in sorted(candidates):
                if np.count_nonzero(self.digests[slot] == digest) >= needed:
                    return self.labels[slot]
            return None
        slots = np.sort(np.array(candidates))  # variants of one short prompt can each be a representative: many
        similar = np.flatnonzero(np.count_nonzero(self.digests[slots] == digest, axis=1) >= needed)
        return self.labels[slots[similar[0]]] if len(similar) else None

    def add(self, signature, label: int) -> None:
        slot = len(self.labels)
        if slot == len(self.digests):
            self.digests = np.concatenate([self.digests, np.zeros_like(self.digests)])
        self.digests[slot] = signature.digest()
        self.labels.append(label)
        self.lsh.insert(slot, signature)


RUN = 8  # words: what ContainedIndex looks for, a length that rarely repeats by chance outside boilerplate
COMMON_RUN = 50  # references: a run that more of them share is boilerplate ("answer the following question ...")
_RUN_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def word_runs(text_words: list[str]) -> np.ndarray:
    """The distinct hashes of every run of RUN consecutive words (none for a shorter text). Words hash with
    Python's `hash`, seeded per process: the hashes never leave the process that made them."""
    if len(text_words) < RUN:
        return np.empty(0, dtype=np.uint64)
    hashes = np.fromiter(map(hash, text_words), dtype=np.int64, count=len(text_words)).view(np.uint64)
    count = len(hashes) - RUN + 1
    runs = hashes[:count].copy()
    for offset in range(1, RUN):  # a polynomial hash of the run, wrapping at 64 bits
        runs *= _RUN_MULTIPLIER
        runs += hashes[offset : offset + count]
    return np.unique(runs)


class ContainedIndex:
    """Reference texts of at least RUN words, to be found inside longer texts: a text contains one when it holds
    at least a `share` of the reference's distinct word runs. Held as sorted run hashes with their owners (12
    bytes a run), not texts."""

    def __init__(self):
        self._chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.sizes = np.empty(0)  # distinct runs per reference, boilerplate left out
        self.labels: list[str] = []
        self.runs = np.empty(0, dtype=np.uint64)
        self.owners = np.empty(0, dtype=np.uint32)

    def add(self, text_words: list[str], label: str) -> None:
        runs = word_runs(text_words)
        if len(runs):
            self._chunks.append((runs, np.full(len(runs), len(self.labels), dtype=np.uint32)))
            self.labels.append(label)

    def freeze(self) -> ContainedIndex:
        """Sort what was added, leaving out boilerplate (runs of more than COMMON_RUN references: they say nothing
        of which reference a text holds, and would make every query that has them look at all those references);
        call once, after the last `add`."""
        if self._chunks:
            runs, owners = (np.concatenate(column) for column in zip(*self._chunks))
            order = np.argsort(runs, kind="stable")
            runs, owners, self._chunks = runs[order], owners[order], []
            count = np.unique(runs, return_counts=True)[1]  # per distinct run, in the sorted order of `runs`
            rare = np.repeat(count <= COMMON_RUN, count)
            self.runs, self.owners = runs[rare], owners[rare]
        self.sizes = np.bincount(self.owners, minlength=len(self.labels)).astype(np.float64)
        return self

    def containing(self, text_words: list[str], share: float) -> tuple[str, float] | None:
        """The label of the reference this text holds the largest share of runs of, and that share, if it is at
        least `share`."""
        runs = word_runs(text_words)
        if not len(runs) or not len(self.runs):
            return None
        where = np.searchsorted(self.runs, runs).clip(max=len(self.runs) - 1)
        found = runs[self.runs[where] == runs]
        if not len(found):
            return None
        starts, ends = np.searchsorted(self.runs, found, "left"), np.searchsorted(self.runs, found, "right")
        owners, counts = np.unique(
            np.concatenate([self.owners[start:end] for start, end in zip(starts, ends)]), return_counts=True
        )
        held = counts / self.sizes[owners]  # a reference with a run found has at least that one: no zero
        best = int(held.argmax())
        return (self.labels[owners[best]], float(held[best])) if held[best] >= share else None


class FirstSeen:
    """First row per key, and every later occurrence, kept as numpy columns: 8 bytes of key, 8 of row and one
    payload number per row (about 24 bytes a row, against ~150 for a dict entry). Merging appends; the first
    occurrence is the lowest row of its key, so results do not depend on how rows were split into batches."""

    def __init__(self):
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.pending: tuple[list[int], list[int], list[int]] = ([], [], [])

    def see(self, key_: int, row: int, payload: int = 0) -> None:
        keys, rows, payloads = self.pending
        keys.append(key_)
        rows.append(row)
        payloads.append(payload)

    def _seal(self) -> None:
        if self.pending[0]:
            keys, rows, payloads = self.pending
            self.chunks.append(
                (np.array(keys, dtype=np.uint64), np.array(rows, dtype=np.int64), np.array(payloads, dtype=np.uint64))
            )
            self.pending = ([], [], [])

    def merge(self, other: FirstSeen) -> FirstSeen:
        self._seal()
        other._seal()
        self.chunks += other.chunks
        return self

    def groups(self):
        """(first row, first payload, [(row, payload) of later occurrences in row order]) per repeated key,
        in order of first row."""
        self._seal()
        if not self.chunks:
            return
        keys, rows, payloads = (np.concatenate(column) for column in zip(*self.chunks))
        self.chunks = []
        order = np.lexsort((rows, keys))
        keys, rows, payloads = keys[order], rows[order], payloads[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        repeated = [(int(rows[s]), int(s), int(n)) for s, n in zip(starts[sizes > 1], sizes[sizes > 1])]
        for first, start, size in sorted(repeated):
            later = [(int(rows[j]), int(payloads[j])) for j in range(start + 1, start + size)]
            yield first, int(payloads[start]), later
