"""Keep every core busy. A scan of more than POOL_MIN_PAIRS pairs runs each batch (normalize, render, tokenize, simulate
the trainer, rules) in worker processes, one per `--jobs`, each tokenizing on one thread: the rules' Python work
then runs on every core too, which threads cannot do under the GIL. Small inputs, and `--jobs 1`, run in the
scan's own process, where the Rust tokenizer still uses its threads.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from .errors import PreflintError

# Below this many pairs a scan stays in its own process: starting the workers (imports, tokenizer) costs about
# 3.5 s of CPU, which 20,000 pairs only just repay (10.4 s in workers, 10.1 s in one process, measured here).
POOL_MIN_PAIRS = 16_000
_worker: Callable | None = None  # in a worker process: what each item is given to


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def use_jobs(jobs: int | None) -> int:
    """Apply `--jobs`: how many worker processes (or, in one process, tokenizer threads) a scan uses.

    The Rust tokenizer sizes its thread pool from RAYON_NUM_THREADS when it first tokenizes in parallel, so the
    number counts only if set before a process's first tokenization (the CLI does). TOKENIZERS_PARALLELISM stays
    on: its serial path is slower than one pool thread (22.8 s against 15.9 s for 20,000 pairs here).
    """
    jobs = jobs or available_cores()
    os.environ["RAYON_NUM_THREADS"] = str(jobs)
    return jobs


def in_workers(items: Iterator[tuple], jobs: int, min_items: int, make: Callable[..., Callable], *args: Any) -> Iterator:
    """`worker(*item)` for each item, in order, where `worker = make(*args)`, built once in each process.

    With `jobs` > 1 and at least `min_items` items, `jobs` worker processes (spawned: nothing of this
    process's threads or tokenizer state is forked) each build their own worker; at most 2 × jobs items are in
    flight, so memory does not grow with the input. Otherwise everything runs here.
    """
    head = list(itertools.islice(items, min_items))
    items = itertools.chain(head, items)
    if jobs <= 1 or len(head) < min_items:
        worker = make(*args)
        for item in items:
            yield worker(*item)
        return
    pool = ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(make, args)
    )
    pending: deque = deque()
    try:
        for item in items:
            with _caller_hidden():
                pending.append(pool.submit(_run_worker, item))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool as exc:
        raise PreflintError(
            "a worker process stopped unexpectedly (out of memory, or killed); run again with --jobs 1 to stay in "
            "one process"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _caller_hidden():
    """Keep spawned workers from running the caller's script: spawn imports the main module (by path, or by name
    under `python -m`) in each new process, so a script that calls preflint without an `if __name__ ==
    "__main__"` guard would scan again in every worker. Workers run only preflint's own code and need nothing
    from it. (Processes start while an item is submitted.)"""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _start_worker(make: Callable[..., Callable], args: tuple) -> None:
    global _worker
    os.environ["RAYON_NUM_THREADS"] = "1"  # the processes share the cores; one tokenizer thread each
    _worker = make(*args)


def _run_worker(item: tuple):
    return _worker(*item)


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
