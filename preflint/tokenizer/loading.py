"""Resolve `--tokenizer` to one fast tokenizer: an alias, a local directory, a tokenizer.json, or a hub model id.

Nothing a tokenizer ships runs as code: `trust_remote_code` is always off, and chat templates are rendered by
transformers in jinja2's immutable sandbox, under a time limit (the sandbox bounds ranges, not loops over them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from preflint.errors import TokenizerError, one_line
from preflint.io.hub import out_of_reach
from preflint.tokenizer.llama3 import llama3_tokenizer
from preflint.tokenizer.watchdog import render_watch
from preflint.tokenizer.wrapper import Tokenizer

# The files a tokenizer's vocabulary is read from, by transformers' names: a directory with none of them has none
# (transformers then builds an empty tokenizer from a tokenizer_config.json alone, which encodes text to nothing).
VOCABULARY_FILES = ("tokenizer.json", "*.model", "vocab.*", "merges.txt", "*.tiktoken")
VOCABULARY_PROBE = "The quick brown fox."


@dataclass(frozen=True)
class Alias:
    hub_id: str
    builtin: str | None = None  # a tokenizer a registry package ships, used instead of the hub (works offline)
    note: str = ""


ALIASES: dict[str, Alias] = {
    "llama": Alias("meta-llama/Meta-Llama-3-8B-Instruct", "llama3", "Llama 3 / 3.1 / 3.2 / 3.3 vocabulary"),
    "llama3": Alias("meta-llama/Meta-Llama-3-8B-Instruct", "llama3", "same as llama"),
    "mistral": Alias("mistralai/Mistral-7B-Instruct-v0.3"),
    "qwen": Alias("Qwen/Qwen2.5-7B-Instruct"),
    "qwen3": Alias("Qwen/Qwen3-8B"),
    "gemma": Alias("google/gemma-2-9b-it"),
    "gemma3": Alias("google/gemma-3-12b-it"),
    "phi": Alias("microsoft/Phi-3.5-mini-instruct"),
    "gpt2": Alias("openai-community/gpt2"),
}


def load_tokenizer(spec: str, *, cache_dir: Path | None = None) -> Tokenizer:
    """The tokenizer `spec` names, loaded once per process: a `fix` scans several times, and a scan's worker
    processes each load their own. A local tokenizer whose files changed since is loaded again."""
    if not spec.strip():  # Path("") is the current directory
        raise TokenizerError("no tokenizer named: give an alias (llama), a path or a hub id")
    render_watch.install()  # here, in the main thread as a rule: threads that render later cannot install it
    return _load(spec, cache_dir, _files_fingerprint(Path(spec).expanduser()))


def _files_fingerprint(path: Path) -> tuple | None:
    """Name, size and modification time of a local tokenizer's files (None for an alias or hub id)."""
    if not path.exists():
        return None
    files = sorted(path.iterdir()) if path.is_dir() else [path, *sorted(path.parent.glob("tokenizer_config.json"))]
    return tuple(
        (str(file), stat.st_size, stat.st_mtime_ns) for file in files if file.is_file() for stat in [file.stat()]
    )


@lru_cache(maxsize=2)
def _load(spec: str, cache_dir: Path | None, fingerprint: tuple | None) -> Tokenizer:
    alias = ALIASES.get(spec.lower())
    if alias and alias.builtin:
        return Tokenizer(
            spec, f"{alias.hub_id} vocabulary, shipped by llama-models (offline)", llama3_tokenizer(cache_dir)
        )
    path = Path(spec).expanduser()
    if path.exists():
        return Tokenizer(spec, str(path.resolve()), _from_path(path))
    if alias is None and names_a_path(spec):
        raise TokenizerError(f"no such tokenizer directory or file: {spec!r}")
    hub_id = alias.hub_id if alias else spec
    return Tokenizer(spec, f"{hub_id} (Hugging Face hub or local cache)", _from_hub(spec, hub_id))


def names_a_path(spec: str) -> bool:
    """Whether `spec` can only be a path, never a hub id (`org/name`): it starts with `.`, `/` or `~`, has more than
    one `/` or a backslash, or its first part is a directory here. Such a spec that does not exist is not looked up
    on the hub."""
    return (
        spec.startswith((".", "/", "~"))
        or "\\" in spec
        or spec.count("/") > 1
        or ("/" in spec and Path(spec).parent.is_dir())
    )


def _from_path(path: Path):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    where = str(path)
    if path.is_dir() and not any(next(path.glob(pattern), None) for pattern in VOCABULARY_FILES):
        present = sorted(child.name for child in path.iterdir())
        has = f"it holds only {', '.join(present[:5])}{', …' if len(present) > 5 else ''}" if present else "it is empty"
        raise TokenizerError(
            f"cannot load a tokenizer from {where!r}: it has no vocabulary file (tokenizer.json, "
            f"tokenizer.model, vocab.json with merges.txt, or vocab.txt); {has}"
        )
    try:
        if path.is_dir():
            tokenizer = AutoTokenizer.from_pretrained(where, trust_remote_code=False, use_fast=True)
        elif path.name == "tokenizer.json" and (path.parent / "tokenizer_config.json").exists():
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), trust_remote_code=False, use_fast=True)
        else:
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=where)
    except Exception as exc:  # transformers raises OSError, ValueError, JSON and Rust errors alike
        why = f"{one_line(exc)} is missing" if isinstance(exc, KeyError) else one_line(exc)  # a file it lacks
        if path.is_file():  # a data file or a model's other file, given by mistake
            detail = f" ({why})" if path.suffix.lower() == ".json" else ""
            raise TokenizerError(
                f"cannot load a tokenizer from {where!r}: it is not a tokenizer.json{detail}; --tokenizer takes a "
                "model directory, its tokenizer.json, an alias (llama) or a hub id"
            ) from exc
        raise TokenizerError(f"cannot load a tokenizer from {where!r}: {why}") from exc
    tokenizer = _require_fast(tokenizer, where)
    if not tokenizer.backend_tokenizer.encode(VOCABULARY_PROBE, add_special_tokens=False).ids:
        raise TokenizerError(
            f"cannot load a tokenizer from {where!r}: its vocabulary is empty (it encodes text to no tokens at all)"
        )
    return tokenizer


def _from_hub(spec: str, hub_id: str):
    from transformers import AutoTokenizer

    offline = out_of_reach()
    try:
        tokenizer = AutoTokenizer.from_pretrained(hub_id, trust_remote_code=False, use_fast=True)
    except Exception as exc:
        why = f"{offline}; the local cache does not hold it" if offline else one_line(exc)
        if hub_id != spec:  # an alias of a hub model
            raise TokenizerError(
                f"tokenizer {spec!r} is {hub_id!r}, which could not be loaded from the Hugging Face hub or its local "
                f"cache ({why}); `llama` works offline"
            ) from exc
        known = ", ".join(ALIASES)
        raise TokenizerError(
            f"unknown tokenizer {spec!r}: not an alias ({known}), not a local path, and {hub_id!r} could not be "
            f"loaded from the Hugging Face hub or its local cache ({why})"
        ) from exc
    return _require_fast(tokenizer, hub_id)


def _require_fast(tokenizer, where: str):
    if not getattr(tokenizer, "is_fast", False):
        raise TokenizerError(f"{where!r} has no fast (Rust) tokenizer; preflint needs one")
    return tokenizer
