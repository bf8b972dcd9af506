"""Keep every core busy. A scan runs each batch (normalize, render, tokenize, simulate the trainer, rules) in
worker processes, one per `--jobs`, each tokenizing on one thread: the rules' Python work then runs on every core
too, which threads cannot do under the GIL. Workers are forked from the command line's process, which costs next
to nothing (they share its imports and its tokenizer), from its second batch on; where forking is not safe (see
`worker_start`) they are spawned, which costs each worker its imports and a tokenizer, and pays off only from
POOL_MIN_PAIRS pairs. Smaller inputs run in the scan's own process,
the next batch prepared (read, rendered, tokenized: the Rust tokenizer releases the GIL and uses its own threads)
in a background thread while the rules run on this one; `--jobs 1` runs everything in one thread.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from queue import Full, Queue
from typing import Any, Protocol, TypeVar

from preflint.errors import PreflintError

T = TypeVar("T")
_DONE = object()
# Below this many pairs a scan whose workers must be spawned stays in its own process: spawning them (imports, a
# tokenizer each) costs about 2 s of CPU, which the threaded single process matches up to here (measured 2026-11-25,
# 2 cores: 10,000 pairs 4.5 s either way; 20,000: 7.2-7.6 s in workers, 7.6 s in one process; 30,000: 10.0 s
# against 10.8 s; 40,000: 13.0 s against 14.7 s). Forked workers skip the imports: from 2 batches on they are
# faster than one process (2026-11-26: 5,000 pairs 3.0-3.3 s against 3.5-4.1 s; 10,000: 4.6-5.1 s against
# 5.4-5.8 s; 20,000: 8.3-8.5 s against 10.1-10.7 s threaded and 8.9-9.8 s spawned).
POOL_MIN_PAIRS = 20_000
FORKED_POOL_MIN_BATCHES = 2
PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent ends
_worker: Worker | None = None  # in a worker process: what each item is given to
_fork_allowed = False  # set by the command line, whose process runs nothing but preflint
RARE_COLLECTIONS = (50_000, 20, 100)  # garbage collector thresholds while scanning (Python's default: 700, 10, 10)


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
    jobs = min(jobs or available_cores(), available_cores())  # more processes than cores only queue for them
    os.environ["RAYON_NUM_THREADS"] = str(jobs)
    return jobs


def allow_fork() -> None:
    """Let this process fork its workers: the command line's process is preflint's alone. A library caller's
    process may run threads or use a Rust tokenizer of its own, which a fork would copy in an unusable state."""
    global _fork_allowed
    _fork_allowed = True


def worker_start() -> str:
    """How worker processes start now: forked (nearly free) where that is safe, else spawned.

    Safe means: Linux (elsewhere fork is not the platform's way), `allow_fork` was called, no other Python thread
    runs (a lock it holds at the fork would stay held in the worker; the progress bar draws without a thread for
    this) and the Rust tokenizer's thread pool has not run here (its threads do not survive a fork). A tokenizer
    loaded but not yet used is fine: forked workers share its memory instead of loading one each."""
    from preflint.tokenizer.wrapper import tokenized_in_batches

    if sys.platform == "linux" and _fork_allowed and threading.active_count() == 1 and not tokenized_in_batches():
        return "fork"
    return "spawn"


def pool_threshold(start: str, batch_size: int) -> int:
    """From how many batches a scan is worth running in worker processes started the `start` way."""
    return FORKED_POOL_MIN_BATCHES if start == "fork" else -(-POOL_MIN_PAIRS // batch_size)


class Worker(Protocol):
    """What `in_workers` runs each item through, in two steps: `prepare` mostly waits on native code that
    releases the GIL (reading, tokenizing), `finish` is Python (the rules)."""

    def prepare(self, *item) -> Any: ...

    def finish(self, prepared) -> Any: ...


def in_workers(
    items: Iterator[tuple], jobs: int, min_items: int, make: Callable[..., Worker], *args: Any, start: str = "spawn"
) -> Iterator:
    """`worker.finish(worker.prepare(*item))` for each item, in order, where `worker = make(*args)`, built once
    in each process.

    With `jobs` > 1 and at least `min_items` items, `jobs` worker processes (started the `start` way: "spawn",
    or "fork" where `worker_start` says it is safe) each build their own worker; at most 2 × jobs items are in
    flight, so memory does not grow with the input. Otherwise everything runs here, the next item prepared in a
    background thread (with `jobs` > 1) while this one finishes.
    """
    head = list(itertools.islice(items, min_items))
    items = itertools.chain(head, items)
    if jobs <= 1 or len(head) < min_items:
        worker = make(*args)
        prepared = (worker.prepare(*item) for item in items)
        for each in prefetched(prepared) if jobs > 1 else prepared:
            yield worker.finish(each)
        return
    pool = ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context(start),
        initializer=_start_worker,
        initargs=(make, args, os.getpid()),
    )
    pending: deque = deque()
    try:
        for item in items:
            with _caller_hidden(), _frozen_heap(start == "fork" and not pending):  # processes start at the 1st
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


@contextmanager
def _frozen_heap(forking: bool):
    """While workers are forked: this process's objects set aside from garbage collection, so that a collection
    in a worker does not write to (and so copy) the memory it shares with this process."""
    if not forking:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _start_worker(make: Callable[..., Worker], args: tuple, parent: int) -> None:
    global _worker
    _die_with(parent)
    os.environ["RAYON_NUM_THREADS"] = "1"  # the processes share the cores; one tokenizer thread each
    collect_rarely()
    _worker = make(*args)


def _die_with(parent: int) -> None:
    """A worker ends when the process that started it ends, however it ends (`kill -9` included): on Linux the
    kernel sends it SIGKILL then; a parent already gone by now ends it here."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _run_worker(item: tuple):
    return _worker.finish(_worker.prepare(*item))


def collect_rarely() -> None:
    """`fewer_collections` for the rest of this process's life: a worker's, or a Ray actor's."""
    gc.set_threshold(*RARE_COLLECTIONS)


@contextmanager
def fewer_collections():
    """A scan allocates millions of short-lived token lists; at Python's default threshold (700 allocations) the
    cyclic garbage collector runs so often that it costs about a tenth of a scan. Nothing a scan builds forms
    reference cycles, so collections can be rare while it runs (and in worker processes, all their life: 4 % of
    their time at the default)."""
    before = gc.get_threshold()
    gc.set_threshold(*RARE_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
