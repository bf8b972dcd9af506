"""Remember scan results, so a second scan of unchanged data is near-instant (pre-commit runs the same files
again and again).

A result is keyed by everything it depends on: the content of every input file (and of `--against` reference
data), the tokenizer's identity (the content of its files, or the hub commit it resolved to), preflint's version
and source, rule plugins' source, and every setting that can change a finding. Anything whose identity cannot be
known without loading it (a hub dataset, a hub tokenizer not in the local cache) is not cached, nor is a scan of
vision pairs (the image files their rows name are read too). Entries are JSON,
never pickle: a cache directory is as untrusted as any other file, and a damaged entry is a miss.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from preflint.config import default_cache_dir
from preflint.findings import Applicability, Finding, Fix, Severity
from preflint.io.outputs import atomic_write
from preflint.io.sources import resolve_sources
from preflint.pipeline.plan import RunPlan
from preflint.pipeline.scan import ScanResult, scan
from preflint.tokenizer.llama3 import llama3_model_file
from preflint.tokenizer.loading import ALIASES
from preflint.version import __version__

MAX_ENTRY_BYTES = 1 << 30  # a stored result larger than this once decompressed is not read (a gzip bomb, say)
KEEP_ENTRIES = 64  # the most recently used results kept; older ones are removed
TOKENIZER_FILES = (".json", ".model", ".jinja", ".txt", ".tiktoken", ".vocab", ".merges")
# Settings that change how fast a scan runs or where it looks for the cache, never what it finds.
NOT_IN_KEY = ("jobs", "engine", "ray_address", "cache", "cache_dir", "batch_size", "base_dir", "source", "baseline")


def cached_scan(inputs: Sequence[str], plan: RunPlan, progress: Callable[[int], None] | None = None):
    """`scan(inputs, plan)`, answered from the cache when an identical scan has run before."""
    settings = plan.settings
    if not settings.cache or plan.given_tokenizer is not None:  # a tokenizer object has no identity to key by
        return scan(inputs, plan, progress=progress)
    directory = Path(settings.cache_dir).expanduser() if settings.cache_dir else default_cache_dir()
    before = _file_states(inputs, plan)
    key = scan_key(inputs, plan)
    if key is None:
        return scan(inputs, plan, progress=progress)
    entry = directory / "scans" / f"{key}.json.gz"
    stored = _load(entry)
    if stored is not None:
        try:
            return ScanResult(
                inputs=stored["input"],
                tokenizer=stored["tokenizer"],
                summary={**stored["summary"], "cached": True},
                findings=[_finding(item) for item in stored["findings"]],
                rules=[plan.registry.get(code) for code in stored["summary"]["rules"]],
                distributions=stored["distributions"],
            )
        except Exception:  # noqa: BLE001 - written by another version, damaged or forged: a miss, and replaced
            pass
    result = scan(inputs, plan, progress=progress)
    # the bytes read are the bytes the key describes (a vision pair's image files are not among them)
    if _file_states(inputs, plan) == before and not result.summary.get("vision_pairs"):
        _store(entry, {**result.to_dict(), "distributions": result.distributions})
    return result


def _file_states(inputs: Sequence[str], plan: RunPlan) -> list[tuple]:
    """Size, modification time and inode of every file the scan reads: a file changed while it was read (or
    between hashing and reading) makes the result one of no content the key describes, and it is not stored."""
    states = []
    for group in (list(inputs), plan.settings.references):
        for source in resolve_sources(group) if group else ():
            path = Path(source.location)
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                with contextlib.suppress(OSError):
                    stat = file.stat()
                    states.append((str(file), stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return states


def scan_key(inputs: Sequence[str], plan: RunPlan) -> str | None:
    """The identity of a scan's result, or None when some part of it cannot be known without running it."""
    settings = plan.settings
    digest = hashlib.blake2b(digest_size=16)

    def add(*parts: str) -> None:
        for part in parts:
            digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")

    add("preflint", __version__, _source_digest())
    options = {k: v for k, v in dataclasses.asdict(settings).items() if k not in NOT_IN_KEY}
    add(json.dumps(options, sort_keys=True, default=str))
    add(plan.profile.version_note() or "")  # the summary says which trainer version is installed
    tokenizer = tokenizer_identity(settings.tokenizer)
    if tokenizer is None:
        return None
    add(tokenizer)
    if plan.chat_template is not None:
        add(plan.chat_template)
    for group in (list(inputs), settings.references):
        for source in resolve_sources(group) if group else ():
            if source.kind == "hub" and not Path(source.spec).is_dir():
                return None
            add(source.spec, source.kind, _content_digest(Path(source.location)))
    for plugin in settings.plugins:
        add(plugin, _content_digest(Path(settings.base_dir) / plugin))
    return digest.hexdigest()


def tokenizer_identity(spec: str) -> str | None:
    """What the tokenizer `spec` is, from its files, without loading it: None when that cannot be known."""
    alias = ALIASES.get(spec.lower())
    if alias and alias.builtin:
        return "builtin:" + _content_digest(llama3_model_file())
    path = Path(spec).expanduser()
    if path.exists():
        return "path:" + _content_digest(path, suffixes=TOKENIZER_FILES)
    hub_id = alias.hub_id if alias else spec
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(hub_id, "tokenizer_config.json")
    except Exception:  # noqa: BLE001 - not a valid repository id, or no hub cache: then not cacheable
        return None
    if not isinstance(config, str):
        return None
    return "hub:" + _content_digest(Path(config).parent, suffixes=TOKENIZER_FILES)  # snapshots/<commit>/


def _content_digest(path: Path, suffixes: tuple[str, ...] | None = None) -> str:
    """BLAKE2b of a file's bytes, or of a directory's files (names and bytes; only `suffixes` when given)."""
    digest = hashlib.blake2b(digest_size=16)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if suffixes and path.is_dir() and not file.name.endswith(suffixes):
            continue
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode() + b"\x00")
        with open(file, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "blake2b").digest())
    return digest.hexdigest()


def _source_digest() -> str:
    """preflint's own code, so an edited checkout never reuses results of the code before the edit."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    for file in sorted(package.rglob("*.py")):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _finding(item: dict) -> Finding:
    fix = item["fix"]
    return Finding(
        item["code"],
        item["name"],
        Severity(item["severity"]),
        item["row"],
        item["message"],
        Fix(Applicability(fix["applicability"]), fix["description"]) if fix else None,
        item["hash"],
        no_signal=item.get("no_signal", False),
        about=item.get("about"),
    )


def _load(entry: Path) -> dict | None:
    """A stored result, or None for a miss: no entry, or one that is not a regular file (a pipe would block),
    damaged, or larger once decompressed than MAX_ENTRY_BYTES (a cache directory is as untrusted as the data)."""
    try:
        if not entry.is_file():
            return None
        with gzip.open(entry, "rb") as handle:
            data = handle.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            return None
        stored = json.loads(data)
        os.utime(entry)  # recently used: kept longest
        return stored if isinstance(stored, dict) and stored.get("version") == __version__ else None
    except (OSError, EOFError, ValueError, RecursionError, MemoryError):
        return None


def _store(entry: Path, result: dict) -> None:
    """Write atomically; a cache that cannot be written (read-only home, full disk) is no error."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        if entry.exists() and not entry.is_file():  # a pipe put in its place would be written to, and block
            entry.unlink()
        with atomic_write(entry) as raw, gzip.open(raw, "wt", encoding="utf-8") as handle:
            json.dump(result, handle, ensure_ascii=False)
        entries = sorted(entry.parent.glob("*.json.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
