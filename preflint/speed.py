"""Keep both cores busy: the Rust tokenizer's own threads, and a thread that prepares the next batch (read,
render, tokenize) while the rules run on this one. The tokenizer releases the GIL, so its work overlaps the
rules' Python work instead of waiting for it.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from queue import Full, Queue
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def use_jobs(jobs: int | None) -> int:
    """Apply `--jobs`: how many threads tokenize, and whether batches are prepared in a background thread.

    The Rust tokenizer sizes its thread pool from RAYON_NUM_THREADS when it first tokenizes in parallel, so the
    number counts only if set before a process's first tokenization (the CLI does). TOKENIZERS_PARALLELISM stays
    on: its serial path is slower than one pool thread (22.8 s against 15.9 s for 20,000 pairs here).
    """
    jobs = jobs or available_cores()
    os.environ["RAYON_NUM_THREADS"] = str(jobs)
    return jobs


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items` as produced by a background thread at most `depth` ahead; its errors are raised here, in order."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put((_DONE, exc))

    thread = threading.Thread(target=produce, name="preflint-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()  # the producer always ends with _DONE, its error attached if it failed
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


@contextmanager
def fewer_collections():
    """A scan allocates millions of short-lived token lists; at Python's default threshold (700 allocations) the
    cyclic garbage collector runs so often that it costs about a tenth of a scan. Nothing a scan builds forms
    reference cycles, so collections can be rare while it runs."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
