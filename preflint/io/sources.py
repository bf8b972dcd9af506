"""What the user named as input, classified: a data file (by its name), a saved dataset, a dataset directory or hub
id, standard input, or a glob of them; and the checks on them made before anything is read."""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from preflint.errors import InputError
from preflint.io.scratch import scratch_path

COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".xz": "xz", ".bz2": "bzip2"}
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".arrow": "arrow",
}
STDIN, STDIN_NAME = "-", "<stdin>"
STDIN_MAGIC = (  # what standard input's first bytes say it is; anything else must be JSON or JSON Lines
    (b"PAR1", "parquet", None),
    (b"ARROW1", "arrow", None),
    (b"\xff\xff\xff\xff", "arrow", None),  # an Arrow IPC stream
    (b"\x1f\x8b", "json", "gzip"),
    (b"\x28\xb5\x2f\xfd", "json", "zstd"),
    (b"\xfd7zXZ\x00", "json", "xz"),
    (b"BZh", "json", "bzip2"),
)
DATASET_KINDS = ("saved", "hub")  # read through `datasets`
SAVED_DATASET_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
DATASETS_READER = {  # the `datasets` builder that reads each format: one builder per directory
    "jsonl": "JSON",
    "json": "JSON",
    "csv": "CSV",
    "tsv": "CSV",
    "parquet": "Parquet",
    "arrow": "Arrow",
}
# JSON beside the data that is no data: dataset and model metadata, preflint's baseline, tool configs.
METADATA_JSON = re.compile(
    r"^(\.preflint-baseline|dataset_infos?|dataset_dict|state|config|generation_config|tokenizer|tokenizer_config|"
    r"special_tokens_map|added_tokens|vocab|package|package-lock|tsconfig)\.json$"
)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
SPLIT_SUFFIX = re.compile(r"^(?P<spec>.+)\[(?P<split>[\w.-]+)\]$")  # a reference's split: org/evals[test]
SPLIT_READ = re.compile(r"^(?P<spec>.+) \[(?P<split>[^\]]+)\]$")  # how batches name a dataset's split: "data [train]"


@dataclass(frozen=True)
class Source:
    """One input: a file, a saved dataset directory, or a dataset for `datasets.load_dataset`."""

    spec: str  # as the user named it; what messages say
    kind: str  # jsonl | json | parquet | csv | tsv | arrow | saved | hub
    compression: str | None = None
    path: str | None = None  # where it is read from, when not `spec` (standard input's copy)

    @property
    def display(self) -> str:
        return self.spec

    @property
    def location(self) -> str:
        return self.path or self.spec

    def __fspath__(self) -> str:  # where it is read from: what a check that no output replaces it needs
        return self.location


def input_name(spec: str | Source) -> str:
    """What reports call an input: as the user named it."""
    return spec.spec if isinstance(spec, Source) else spec


def resolve_sources(specs: Sequence[str | Source]) -> list[Source]:
    """Expand globs and classify each input, in the order given (a Source, as the Python API makes for data in
    memory, is taken as it is)."""
    sources: list[Source] = []
    for spec in specs:
        if isinstance(spec, Source):
            sources.append(spec)
        elif not os.path.exists(spec) and glob.has_magic(spec):  # a path that exists is a path, brackets and all
            matches = expand(spec)
            if not matches:
                raise InputError(f"no files match {spec!r}")
            sources.extend(classify(m) for m in matches if os.path.isfile(m))
        else:
            sources.append(classify(spec))
    if not sources:
        raise InputError("no input given")
    return sources


def _one_format(directory: Path, spec: str) -> None:
    """A directory of data files is read as the hub reads a repository, by `datasets`, which reads the files of one
    format and skips the others without a word: a directory that holds several is refused, naming them."""
    kinds: dict[str, list[str]] = {}
    for path in sorted(directory.rglob("*")):
        parts = path.relative_to(directory).parts
        if any(part.startswith((".", "__")) for part in parts) or METADATA_JSON.match(path.name) or not path.is_file():
            continue
        suffixes = [suffix.lower() for suffix in path.suffixes]
        if suffixes and suffixes[-1] in COMPRESSIONS:
            suffixes = suffixes[:-1]
        if suffixes and (kind := FORMATS.get(suffixes[-1])):
            kinds.setdefault(DATASETS_READER[kind], []).append(str(Path(*parts)))
    if len(kinds) > 1:
        listed = "; ".join(
            f"{kind}: {', '.join(files[:3])}{', …' if len(files) > 3 else ''}" for kind, files in kinds.items()
        )
        raise InputError(
            f"{spec!r} holds data files of several formats ({listed}); read as a dataset, only one format would be "
            "read and the others skipped: give each format as its own input (a glob such as "
            f"'{spec.rstrip('/')}/**/*.jsonl'), or keep one format per directory"
        )


def expand(spec: str) -> list[str]:
    """What a spec names on disk: itself where it exists (`data[1].jsonl` is a file, not a pattern), else the
    files a glob matches, in order."""
    if os.path.exists(spec) or not glob.has_magic(spec):
        return [spec]
    return sorted(glob.glob(spec, recursive=True))


def classify(spec: str) -> Source:
    if spec == STDIN:
        if sys.stdin is None:  # started without one (a service, pythonw)
            raise InputError("'-' reads standard input, and this process has none")
        return _standard_input(sys.stdin.buffer)
    path = Path(spec)
    if path.is_dir():
        if any((path / marker).exists() for marker in SAVED_DATASET_MARKERS):
            return Source(spec, "saved")
        _one_format(path, spec)
        return Source(spec, "hub")  # a directory of data files, read the way the hub reads a repository
    if path.exists():
        kind, compression = _format_of(path, spec)
        if not path.is_file():  # a named pipe or a device: it can be read once only
            return _piped(spec, kind, compression)
        if _is_lfs_pointer(path):
            raise InputError(f"{spec!r} is a Git LFS pointer, not the data: fetch the data with `git lfs pull`")
        return Source(spec, kind, compression)
    if HUB_ID.match(spec) and "/" in spec and Path(spec).suffix.lower() not in FORMATS:
        return Source(spec, "hub")
    raise InputError(f"no such file: {spec!r}")


def _format_of(path: Path, spec: str) -> tuple[str, str | None]:
    """A data file's format and compression, from its name."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    kind = FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise InputError(f"cannot tell the format of {spec!r} from its name (expected one of {known})")
    if compression and kind == "parquet":  # Parquet compresses its own pages
        raise InputError(f"{spec!r} is Parquet compressed as a whole, which is not read: decompress it first")
    return kind, compression


@lru_cache(maxsize=1)
def _standard_input(stream) -> Source:
    """`-`: standard input, copied once to a temporary file (removed at exit), its format told from its first
    bytes, before anything more is copied."""
    if stream.isatty():
        raise InputError("'-' reads standard input, which is a terminal here: pipe the data in (`cat data.jsonl |`)")
    return _copied(stream, STDIN_NAME, "stdin")


@lru_cache(maxsize=16)
def _piped(spec: str, kind: str, compression: str | None) -> Source:
    """A named pipe (or a device) read once per process, however often it is named."""
    with open(spec, "rb") as stream:
        return _copied(stream, spec, Path(spec).name, kind, compression)


def _copied(stream, spec: str, name: str, kind: str | None = None, compression: str | None = None) -> Source:
    """A stream that can be read only once (standard input, a named pipe), copied to a temporary file removed at
    exit, and read from there by every pass over the data (`fix` makes two) and by the cache, which hashes it.
    Without a format from its name, its first bytes tell it: data that is none of the formats read (the zeros of
    /dev/zero, say) is an error before more than its first MiB is read."""
    head = stream.read(1 << 20)
    if kind is None:
        told = ((kind, compression) for magic, kind, compression in STDIN_MAGIC if head.startswith(magic))
        kind, compression = next(told, ("json", None))
        if kind == "json" and compression is None and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"[", b"{"):
            raise InputError(
                f"cannot tell the format of {'standard input' if spec == STDIN_NAME else repr(spec)}: it takes JSON, "
                "JSON Lines (also gzip, zstd, xz or bzip2 compressed), Parquet or Arrow"
                + (" (it is empty)" if not head else "; name a CSV file instead")
            )
    directory = scratch_path("stdin")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    copy = os.path.join(directory, name)  # a fixed name, so the cache knows the same data again
    with open(copy, "wb") as handle:
        handle.write(head)
        shutil.copyfileobj(stream, handle, 1 << 20)
    return Source(spec, kind, compression, copy)


def _is_lfs_pointer(path: Path) -> bool:
    """Whether Git LFS left a pointer in place of the file (a clone without `git lfs pull`, as dataset repositories
    on the hub often are): three short lines naming the object, which would read as three broken records."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(LFS_POINTER)) == LFS_POINTER
    except OSError:  # reading it will say what is wrong
        return False


def check_dataset_options(specs: Sequence[str], *, split: str | None, subset: str | None) -> None:
    """A split or subset asked on the command line of inputs that have none is an error, not an option silently
    ignored. (One set in a config file is a default for the datasets among the inputs, if any.)"""
    if split is None and subset is None:
        return
    sources = resolve_sources(specs)
    options = (
        (
            "--split",
            split,
            DATASET_KINDS,
            "a dataset (a hub id, a saved dataset or a directory of data files) has splits",
        ),
        ("--subset", subset, ("hub",), "a hub dataset or a directory of data files has subsets"),
    )
    for option, value, kinds, which in options:
        if value is not None and not any(source.kind in kinds for source in sources):
            names = ", ".join(repr(source.display) for source in sources[:3]) + (", …" if len(sources) > 3 else "")
            raise InputError(f"{option} {value!r} does nothing for {names}: only {which}; drop {option}")


def reference_spec(spec: str) -> tuple[str, str | None]:
    """A reference input and the split it names: `org/evals[test]` is the test split of `org/evals` (a path that
    exists as written is a path, brackets and all)."""
    named = SPLIT_SUFFIX.match(spec)
    if named is None or os.path.exists(spec):
        return spec, None
    return named["spec"], named["split"]
