"""Compact keys and a near-duplicate index for dataset-level rules: they hold 64-bit hashes, never rows.

`key(...)` hashes text to an int (8 bytes of BLAKE2b). `PromptIndex` finds near-duplicate prompts with MinHash
LSH (rensa): Jaccard similarity of word 3-gram shingles of the lowercased, whitespace-collapsed prompt, at a
documented threshold. It is a leader clustering: a prompt joins the first earlier representative it is similar
to, and only representatives are indexed, so memory grows with the number of distinct prompt clusters and
queries stay short even when thousands of prompts are variants of one.
"""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import rensa

from .batch import plain_text
from .text import normalized

NUM_PERM = 64
BANDS = 16  # 4 rows per band: pairs at Jaccard 0.8 become candidates with probability 0.9998, then are verified
SEED = 1234
SHINGLE = 3


def key(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def loose(text: str) -> str:
    """What D002 compares: NFKC, case-folded, whitespace collapsed."""
    return normalized(unicodedata.normalize("NFKC", text), whitespace=True, case=True)


def prompt_text(pair) -> str:
    return plain_text(pair.prompt)


def shingles(text: str) -> list[str]:
    words = normalized(text, whitespace=True, case=True).split(" ")
    if len(words) < SHINGLE:
        return [" ".join(words)]
    return [" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)]


def signatures(texts: list[str]) -> list:
    return rensa.RMinHash.from_token_sets([shingles(text) for text in texts], NUM_PERM, SEED)


class PromptIndex:
    """Representatives of near-duplicate prompt clusters; `match` finds the one a signature belongs to."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.lsh = rensa.RMinHashLSH(threshold, NUM_PERM, BANDS)
        self.digests = np.zeros((1024, NUM_PERM), dtype=np.uint32)
        self.labels: list[int] = []  # what each representative stands for (a row, or a reference position)

    def match(self, signature) -> int | None:
        """The label of the earliest representative whose estimated Jaccard similarity reaches the threshold."""
        candidates = sorted(self.lsh.query(signature))
        if not candidates:
            return None
        digest = np.asarray(signature.digest(), dtype=np.uint32)
        similarity = (self.digests[candidates] == digest).mean(axis=1)
        hits = [c for c, s in zip(candidates, similarity) if s >= self.threshold]
        return self.labels[hits[0]] if hits else None

    def add(self, signature, label: int) -> None:
        slot = len(self.labels)
        if slot == len(self.digests):
            self.digests = np.concatenate([self.digests, np.zeros_like(self.digests)])
        self.digests[slot] = signature.digest()
        self.labels.append(label)
        self.lsh.insert(slot, signature)


class FirstSeen:
    """First row per key, and every later occurrence; merging two keeps the lowest row as first, so results
    do not depend on how rows were split into batches."""

    def __init__(self):
        self.first: dict[int, tuple[int, object]] = {}
        self.later: list[tuple[int, int, object]] = []  # (row, key, payload)

    def see(self, key_: int, row: int, payload: object = None) -> None:
        seen = self.first.get(key_)
        if seen is None:
            self.first[key_] = (row, payload)
        elif row < seen[0]:
            self.first[key_] = (row, payload)
            self.later.append((seen[0], key_, seen[1]))
        else:
            self.later.append((row, key_, payload))

    def merge(self, other: FirstSeen) -> FirstSeen:
        for key_, (row, payload) in other.first.items():
            self.see(key_, row, payload)
        self.later += other.later
        return self

    def groups(self):
        """(first row, first payload, [(row, payload) of later occurrences in row order]) per repeated key."""
        by_key: dict[int, list] = {}
        for row, key_, payload in sorted(self.later, key=lambda item: item[0]):
            by_key.setdefault(key_, []).append((row, payload))
        for key_, later in by_key.items():
            yield (*self.first[key_], later)
