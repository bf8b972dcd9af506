"""Datasets read through the `datasets` library: saved ones (`save_to_disk`), hub ids and data directories."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from preflint.errors import InputError, one_line
from preflint.io.formats import MAX_RECORD_BYTES, Unreadable, too_large
from preflint.io.hub import out_of_reach
from preflint.io.sources import Source

FAILED_FILE = re.compile(r"Failed to (?:read|load \w+ from) file '([^']+)'")  # datasets' log line of a bad file
HELD_OUT_SPLITS = ("test", "valid", "eval", "dev")  # how held-out splits' names start (test_prefs, validation)


def dataset_records(source: Source, dataset, batch_size: int, limit: int = MAX_RECORD_BYTES) -> Iterator[dict]:
    """The rows of a dataset `datasets` streams; its errors on the way (a data file whose columns differ from the
    others', a file that is not what its name says, a connection lost) are one-line InputErrors that name the file,
    where `datasets` says which it was (in a log line, which is kept off the terminal)."""
    rows = iter(dataset.iter(batch_size=batch_size))
    while True:
        with _logged_files() as failed:
            try:
                columns = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # datasets raises many unrelated types; the user needs the message, not the type
                where = f" (in {_shown(failed[-1], source.spec)})" if failed else ""
                raise InputError(f"cannot read dataset {source.spec!r}{where}: {one_line(exc)}") from exc
        names = list(columns)
        for values in zip(*columns.values()):
            record = dict(zip(names, values))
            yield record if (size := _size(record)) <= limit else Unreadable(f"the row is {too_large(size, limit)}")


def _size(value) -> int:
    """About how many bytes a record's values hold (its text, mostly), to keep a record over the limit out."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(len(key) + _size(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return sum(map(_size, value))
    return 8


@contextmanager
def _logged_files() -> Iterator[list[str]]:
    """The files `datasets` logs that it failed to read, while its own log lines are held back."""
    failed: list[str] = []

    class Files(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if found := FAILED_FILE.search(record.getMessage()):
                failed.append(found.group(1))

    logger = logging.getLogger("datasets")
    handlers, propagate = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [Files(logging.ERROR)], False
    try:
        yield failed
    finally:
        logger.handlers, logger.propagate = handlers, propagate


def _shown(path: str, spec: str) -> str:
    """A failed file as the user knows it: relative to the directory they named, where it is in it."""
    directory = os.path.abspath(spec)
    return os.path.join(spec, os.path.relpath(path, directory)) if path.startswith(directory + os.sep) else path


def open_dataset(source: Source, *, split, subset, held_out: bool) -> list[tuple[object, str | None]]:
    """Saved datasets (`save_to_disk`) and anything `datasets.load_dataset` reads (hub ids, data directories): the
    datasets to read, each with the name of its split (None for a saved dataset of no split)."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    local = os.path.isdir(source.spec)
    offline = out_of_reach() if source.kind == "hub" and not local else None
    try:
        if source.kind == "saved":
            loaded = datasets.load_from_disk(source.spec)
        else:  # a directory by its absolute path: datasets names a dataset after it, and "." has no name
            spec = os.path.abspath(source.spec) if local else source.spec
            loaded = datasets.load_dataset(spec, name=subset, split=split, streaming=True)
    except Exception as exc:  # datasets raises many unrelated types; the user needs the message, not the type
        why = f"{offline}; the local cache does not hold it" if offline else one_line(exc)
        raise InputError(f"cannot load dataset {source.spec!r}: {why}") from exc
    if isinstance(loaded, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return [(loaded[picked], picked) for picked in _pick_splits(list(loaded), split, source.spec, held_out)]
    if split is not None and source.kind == "saved" and loaded.split and str(loaded.split) != split:
        raise InputError(f"{source.spec!r} holds only the split {loaded.split!s}, not {split!r}")
    return [(loaded, split or (str(loaded.split) if loaded.split else None))]


def _pick_splits(splits: list[str], wanted: str | None, spec: str, held_out: bool) -> list[str]:
    """The split named, the only one, or by default: train for the data, the held-out splits for a reference."""
    if wanted is not None:
        if wanted not in splits:
            raise InputError(f"{spec!r} has no split {wanted!r} (splits: {', '.join(splits)})")
        return [wanted]
    if len(splits) == 1:
        return splits
    if held_out:
        if held := [name for name in splits if name.lower().startswith(HELD_OUT_SPLITS)]:
            return held
        raise InputError(
            f"{spec!r} has several splits ({', '.join(splits)}) and none held out (test, validation, "
            f"...); name the one to compare with: --against '{spec}[SPLIT]'"
        )
    if "train" in splits:
        return ["train"]
    raise InputError(f"{spec!r} has several splits ({', '.join(splits)}); choose one with --split")


def split_files(directory: str, split: str) -> list[str] | None:
    """The data files `datasets` reads for a split of a data directory, in the order it reads them; None where the
    directory has several subsets (which one was read is not known here) or `datasets` cannot resolve them."""
    import datasets

    try:
        if len(datasets.get_dataset_config_names(directory)) != 1:
            return None
        data_files = datasets.load_dataset_builder(directory).config.data_files or {}
    except Exception:  # datasets raises many unrelated types; without the files, annotations name the directory
        return None
    return next((list(files) for named, files in data_files.items() if str(named) == split), None)
