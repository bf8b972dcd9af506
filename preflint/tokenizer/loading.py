"""Resolve `--tokenizer` to one fast tokenizer: an alias, a local directory, a tokenizer.json, or a hub model id.

Nothing a tokenizer ships runs as code: `trust_remote_code` is always off, and chat templates are rendered by
transformers in jinja2's immutable sandbox, under a time limit (the sandbox bounds ranges, not loops over them).
"""

from __future__ import annotations

import atexit
import copy
import ctypes
import hashlib
import os
import re
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")  # "PyTorch was not found" is noise here
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")  # else transformers may switch it off

from preflint.errors import ConfigError, TemplateError, TokenizerError, one_line  # noqa: E402
from preflint.io.hub import out_of_reach  # noqa: E402

# Meta-Llama-3-8B-Instruct's chat template (tokenizer_config.json), the one the shipped Llama 3 vocabulary
# was released with.
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


JOIN_WINDOW = 4  # tokens each side of a join that are tokenized again to check it
WIDE_WINDOW = 16  # tokens each side tokenized again where a token merges across the join
RENDER_SECONDS = 10.0  # one chat takes well under a millisecond to render: a template past this loops (or attacks)
RENDERS_STOPPED = 3  # stopped this often, a template is not run again in the process: every row would wait as long
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


@dataclass
class Tokenizer:
    """The tokenizer every later stage sees: a transformers fast tokenizer plus where it came from."""

    name: str
    source: str
    hf: object  # transformers.PreTrainedTokenizerFast
    template_chosen: bool = False  # the chat template was given (--chat-template), not the one the tokenizer ships
    renders_stopped: int = field(default=0, compare=False)  # renders stopped at the time limit, in this process

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.hf, "chat_template", None))

    @cached_property
    def _backend(self):
        return self.hf.backend_tokenizer

    def encode_many(self, texts: list[str], *, add_special_tokens: bool = False) -> list[list[int]]:
        """Ids of many texts in one call, so the Rust tokenizer uses every core; each distinct text is tokenized
        once (repeated rows, a prompt shared by several pairs, a response given on both sides), and every text
        gets its own list.

        Without added special tokens by default: the text as written (special-token text in it still becomes
        special ids, as in transformers). `add_special_tokens=True` is `tokenizer(text)` (BOS for Llama).
        """
        backend = self._backend
        if backend.truncation is not None:  # left behind by a transformers call with truncation=True
            backend.no_truncation()
        if backend.padding is not None:
            backend.no_padding()
        slots: dict[str, int] = {}
        positions = [slots.setdefault(text, len(slots)) for text in texts]
        _batched_here()
        encodings = backend.encode_batch_fast(list(slots), add_special_tokens=add_special_tokens)
        distinct = [encoding.ids for encoding in encodings]
        if len(distinct) == len(texts):
            return distinct
        ids, given = [], [False] * len(distinct)
        for slot in positions:
            ids.append(distinct[slot].copy() if given[slot] else distinct[slot])
            given[slot] = True
        return ids

    def join_ids(self, pieces: list[tuple[str, list[int], str, list[int]]]) -> list[list[int]]:
        """Ids of `left + right` for each (left, its ids, right, its ids), without tokenizing the whole text.

        Tokenizing a concatenation changes tokens only near the join, so a window of tokens each side of it is
        tokenized again: when the first and last JOIN_WINDOW tokens of the window come out as they were (or the
        window reaches the text's start or end), whatever changed stayed inside it, and the whole is the left ids
        before the window, the window's new ids and the right ids after it. A window of JOIN_WINDOW tokens a side
        is tried first (it settles almost every join: nothing merges); where a token merges across the join, one
        of WIDE_WINDOW tokens a side. Anything else (a change reaching the window's edges, a window whose tokens do
        not decode to the text, as with SentencePiece's leading "▁") is tokenized whole, so the result is always
        what tokenizing `left + right` gives.
        """
        joined: list[list[int] | None] = [None] * len(pieces)
        for k, (left, left_ids, right, right_ids) in enumerate(pieces):
            if not left or not right:
                joined[k] = left_ids + right_ids
        for width in (JOIN_WINDOW, WIDE_WINDOW):
            pending = [k for k, ids in enumerate(joined) if ids is None]
            for k, ids in zip(pending, self._rejoined([pieces[k] for k in pending], width)):
                joined[k] = ids
        whole = [k for k, ids in enumerate(joined) if ids is None]
        for k, ids in zip(whole, self.encode_many([pieces[k][0] + pieces[k][2] for k in whole])):
            joined[k] = ids
        return joined

    def _rejoined(self, pieces: list[tuple[str, list[int], str, list[int]]], width: int) -> list[list[int] | None]:
        """`join_ids` through windows of `width` tokens a side; None where the window cannot settle the join."""
        tails = [left_ids[-width:] for _, left_ids, _, _ in pieces]
        heads = [right_ids[:width] for _, _, _, right_ids in pieces]
        _batched_here()
        decoded = self._backend.decode_batch(tails + heads, skip_special_tokens=False)
        checks = []
        for k, (left, left_ids, right, right_ids) in enumerate(pieces):
            tail, head = decoded[k], decoded[len(pieces) + k]
            # A window of a whole text must decode to all of it: SentencePiece decodes a text's first "▁" to
            # nothing, and what is left is still a suffix ("  " decodes as " ").
            whole_left, whole_right = len(tails[k]) == len(left_ids), len(heads[k]) == len(right_ids)
            if tail and head and (tail == left if whole_left else left.endswith(tail)) and (
                head == right if whole_right else right.startswith(head)
            ):
                checks.append((k, tail + head))
        joined: list[list[int] | None] = [None] * len(pieces)
        for (k, _), ids in zip(checks, self.encode_many([window for _, window in checks])):
            left_ids, right_ids, tail, head = pieces[k][1], pieces[k][3], tails[k], heads[k]
            if ids == tail + head:  # nothing merged: the usual case
                joined[k] = left_ids + right_ids
                continue
            keep_left = JOIN_WINDOW if len(tail) < len(left_ids) else 0  # a window from the text's start may change
            keep_right = JOIN_WINDOW if len(head) < len(right_ids) else 0
            if len(ids) >= keep_left + keep_right and ids[:keep_left] == tail[:keep_left] and (
                ids[len(ids) - keep_right:] == head[len(head) - keep_right:]
            ):
                joined[k] = left_ids[: len(left_ids) - len(tail)] + ids + right_ids[len(head):]
        return joined

    @cached_property
    def special_affixes(self) -> tuple[list[int], list[int]] | None:
        """What `add_special_tokens=True` puts before and after a text's ids (Llama 3: BOS, nothing), if constant."""
        plain, full = self.encode_many(["a"])[0], self.encode_many(["a"], add_special_tokens=True)[0]
        for start in range(len(full) - len(plain) + 1):
            if full[start : start + len(plain)] == plain:
                return full[:start], full[start + len(plain):]
        return None

    @cached_property
    def separate_eos(self) -> str | None:
        """The EOS text when it is an added token (so it is tokenized apart from the text around it)."""
        eos = getattr(self.hf, "eos_token", None)
        return eos if eos and eos in self.hf.added_tokens_encoder else None

    @cached_property
    def separate_eos_ids(self) -> list[int]:
        return self.encode_many([self.separate_eos])[0] if self.separate_eos else []

    @cached_property
    def turn_suffix(self) -> str:
        """What the chat template writes after an assistant message's content (Llama 3: '<|eot_id|>')."""
        if not self.has_chat_template:
            return ""
        sentinel = "PREFLINT-SENTINEL"
        chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": sentinel}]
        try:
            rendered = self.render_chat(chat, add_generation_prompt=False)
        except TemplateError:  # a template that rejects even this chat has no suffix we can learn
            return ""
        return rendered[rendered.rfind(sentinel) + len(sentinel):] if sentinel in rendered else ""

    @cached_property
    def turn_suffix_ids(self) -> list[int]:
        return self.encode_many([self.turn_suffix])[0] if self.turn_suffix else []

    @cached_property
    def special_ids(self) -> frozenset[int]:
        return frozenset(i for i, token in self.hf.added_tokens_decoder.items() if token.special)

    @cached_property
    def special_token_pattern(self) -> re.Pattern | None:
        """Matches the text of any special token (longest first), as it would appear inside content."""
        texts = {token.content for token in self.hf.added_tokens_decoder.values() if token.special}
        texts |= set(self.hf.all_special_tokens)
        texts.discard("")
        if not texts:
            return None
        return re.compile("|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True)))

    def decode(self, ids: list[int]) -> str:
        return self._backend.decode(ids, skip_special_tokens=False)

    def render_chat(self, messages: list[dict], *, add_generation_prompt: bool, **template_args) -> str:
        """The chat as the model sees it: through the chat template (given a row's tools and other arguments, as
        TRL gives them: `Pair.template_args`), or as `plain_chat` when there is none. A template still running
        after RENDER_SECONDS is stopped, and the row's rendering fails as if the template had raised."""
        if not self.has_chat_template:
            return plain_chat(messages, add_generation_prompt=add_generation_prompt)
        if self.renders_stopped >= RENDERS_STOPPED:
            raise TemplateError(f"not run again after it was stopped at {RENDER_SECONDS:g} s on {RENDERS_STOPPED} "
                                "earlier renders (a loop that does not end?)")
        thread = _render_watch.start(RENDER_SECONDS)
        try:
            try:
                return self.hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt, **template_args)
            finally:
                _render_watch.end(thread)
        except _TimeUp:  # raised in the render, or just after it
            _render_watch.end(thread)
            self.renders_stopped += 1
            raise TemplateError(f"stopped after running for {RENDER_SECONDS:g} s (a loop that does not end?)") from None
        except Exception as exc:  # Jinja's errors, the template's own raise_exception, transformers' checks
            raise TemplateError(str(exc).strip() or type(exc).__name__) from exc

    def with_chat_template(self, template: str, name: str = "(custom)") -> Tokenizer:
        """The same vocabulary rendering chats with another template (a copy; this one is unchanged)."""
        hf = copy.copy(self.hf)
        hf.chat_template = template
        return Tokenizer(self.name, f"{self.source}; chat template {name}", hf, template_chosen=True)

    def describe(self) -> dict:
        return {"name": self.name, "source": self.source, "vocab_size": len(self.hf)}


class _TimeUp(BaseException):
    """Raised in a render at its time limit; a BaseException, so no `except Exception` in a library swallows it."""


class _RenderWatch:
    """Stops chat template renders that run past their deadline, in whichever thread they run (scans render in a
    prefetch thread below 20,000 pairs). While renders happen SIGALRM fires every second, and its handler, which
    Python runs in the main thread, raises `_TimeUp` in each late render's thread: its own, or another through
    PyThreadState_SetAsyncExc. A render costs a dict entry; the handler disarms the timer once none runs.

    Only where SIGALRM is preflint's: `install` takes it from the main thread (`load_tokenizer` does) when nothing
    else handles it, since its default ends the process; a program using the API with its own handler keeps it,
    and renders without a limit."""

    def __init__(self):
        self.deadlines: dict[int, float] = {}  # thread id -> when its render is late
        self.sent: set[int] = set()  # threads sent a _TimeUp, which may not have been raised yet
        self.ending = threading.Lock()  # held while a render ends, so no _TimeUp is sent to it then
        self.armed = False
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)
        atexit.register(self._disarm)  # at exit Python gives SIGALRM back its default, which ends the process

    def _disarm(self) -> None:
        if self.armed:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _forked(self) -> None:  # a child has neither the parent's timer nor its other threads (nor their locks)
        self.deadlines.clear()
        self.sent.clear()
        self.ending = threading.Lock()
        self.armed = False

    def install(self) -> bool:
        if not hasattr(signal, "setitimer"):
            return False
        handler = signal.getsignal(signal.SIGALRM)
        if handler is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGALRM, handler := self._stop_late)
        return handler == self._stop_late

    def start(self, seconds: float) -> int | None:
        """Watch this thread's render; what `end` takes (None: no limit here)."""
        if not self.install():
            return None
        thread = threading.get_ident()
        self.deadlines[thread] = time.monotonic() + seconds
        if not self.armed:
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)
        return thread

    def end(self, thread: int | None) -> None:
        if thread is None:
            return
        with self.ending:
            self.deadlines.pop(thread, None)
            if thread in self.sent:  # a _TimeUp sent to the render may still be pending: take it back
                self.sent.discard(thread)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), None)

    def _stop_late(self, signum, frame) -> None:
        if not self.deadlines:
            self._disarm()
            if not self.deadlines:  # else a render started meanwhile, and saw the timer armed: arm it again
                return
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)
        if not self.ending.acquire(blocking=False):  # a render is ending, in this very thread maybe: next tick
            return
        try:
            now, main = time.monotonic(), threading.main_thread().ident
            late = [thread for thread, deadline in self.deadlines.items() if deadline <= now]
            for thread in late:
                if thread != main:
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(_TimeUp))
                    self.sent.add(thread)
        finally:
            self.ending.release()
        if main in late:
            raise _TimeUp


_render_watch = _RenderWatch()


def read_chat_template(path: str) -> str:
    """A Jinja chat template file's text (`--chat-template`), checked to parse as it will render: in jinja2's
    sandbox, with the loop controls transformers enables."""
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"chat template {path!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read chat template {path!r}: {exc.strerror}") from None
    try:
        ImmutableSandboxedEnvironment(extensions=["jinja2.ext.loopcontrols"]).parse(text)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"chat template {path!r} is not valid Jinja: {exc.message} (line {exc.lineno})") from None
    return text


def plain_chat(messages: list[dict], *, add_generation_prompt: bool) -> str:
    """For tokenizers without a chat template: `role: content` paragraphs."""
    text = "".join(f"{m['role']}: {m['content']}\n\n" for m in messages)
    return text + ("assistant: " if add_generation_prompt else "")


def load_tokenizer(spec: str, *, cache_dir: Path | None = None) -> Tokenizer:
    """The tokenizer `spec` names, loaded once per process: a `fix` scans several times, and a scan's worker
    processes each load their own. A local tokenizer whose files changed since is loaded again."""
    if not spec.strip():  # Path("") is the current directory
        raise TokenizerError("no tokenizer named: give an alias (llama), a path or a hub id")
    _render_watch.install()  # here, in the main thread as a rule: threads that render later cannot install it
    return _load(spec, cache_dir, _files_fingerprint(Path(spec).expanduser()))


def _files_fingerprint(path: Path) -> tuple | None:
    """Name, size and modification time of a local tokenizer's files (None for an alias or hub id)."""
    if not path.exists():
        return None
    files = sorted(path.iterdir()) if path.is_dir() else [path, *sorted(path.parent.glob("tokenizer_config.json"))]
    return tuple((str(file), stat.st_size, stat.st_mtime_ns) for file in files if file.is_file() for stat in [file.stat()])


_batched = False  # whether this process has tokenized in batches, on the Rust tokenizer's thread pool


def _batched_here() -> None:
    global _batched
    _batched = True


def tokenized_in_batches() -> bool:
    """Whether the Rust tokenizer's thread pool has run in this process: a process forked after that gets a pool
    it cannot use (speed.worker_start)."""
    return _batched


@lru_cache(maxsize=2)
def _load(spec: str, cache_dir: Path | None, fingerprint: tuple | None) -> Tokenizer:
    alias = ALIASES.get(spec.lower())
    if alias and alias.builtin:
        return Tokenizer(spec, f"{alias.hub_id} vocabulary, shipped by llama-models (offline)", _llama3(cache_dir))
    path = Path(spec).expanduser()
    if path.exists():
        return Tokenizer(spec, str(path.resolve()), _from_path(path))
    if alias is None and _names_a_path(spec):
        raise TokenizerError(f"no such tokenizer directory or file: {spec!r}")
    hub_id = alias.hub_id if alias else spec
    return Tokenizer(spec, f"{hub_id} (Hugging Face hub or local cache)", _from_hub(spec, hub_id))


def _names_a_path(spec: str) -> bool:
    """Whether `spec` can only be a path, never a hub id (`org/name`): it starts with `.`, `/` or `~`, has more than
    one `/` or a backslash, or its first part is a directory here. Such a spec that does not exist is not looked up
    on the hub."""
    return (spec.startswith((".", "/", "~")) or "\\" in spec or spec.count("/") > 1
            or ("/" in spec and Path(spec).parent.is_dir()))


def _from_path(path: Path):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    where = str(path)
    if path.is_dir() and not any(next(path.glob(pattern), None) for pattern in VOCABULARY_FILES):
        present = sorted(child.name for child in path.iterdir())
        has = f"it holds only {', '.join(present[:5])}{', …' if len(present) > 5 else ''}" if present else "it is empty"
        raise TokenizerError(f"cannot load a tokenizer from {where!r}: it has no vocabulary file (tokenizer.json, "
                             f"tokenizer.model, vocab.json with merges.txt, or vocab.txt); {has}")
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
        raise TokenizerError(f"cannot load a tokenizer from {where!r}: its vocabulary is empty (it encodes text to "
                             "no tokens at all)")
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


def llama3_model_file() -> Path:
    """Meta's Llama 3 tiktoken model, as the llama-models wheel ships it."""
    import llama_models.llama3 as llama3_package

    return Path(llama3_package.__file__).parent / "tokenizer.model"


@lru_cache(maxsize=2)
def _llama3(cache_dir: Path | None):
    """Meta's Llama 3 tiktoken model from the llama-models wheel, converted once and cached as tokenizer.json."""
    from transformers import PreTrainedTokenizerFast

    model_file = llama3_model_file()
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:16]
    cached = (cache_dir or default_cache_dir()) / "tokenizers" / f"llama3-{digest}.json"
    if not cached.exists():
        _write_atomically(cached, _convert_llama3(model_file).to_str())
    return PreTrainedTokenizerFast(
        tokenizer_file=str(cached),
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        chat_template=LLAMA3_CHAT_TEMPLATE,
        model_max_length=8192,
    )


def _convert_llama3(model_file: Path):
    from llama_models.llama3.tokenizer import Tokenizer as MetaTokenizer
    from tokenizers import processors
    from transformers.convert_slow_tokenizer import TikTokenConverter

    meta = MetaTokenizer(model_file)
    specials = sorted(meta.special_tokens, key=meta.special_tokens.get)
    converted = TikTokenConverter(
        vocab_file=str(model_file), pattern=MetaTokenizer.pat_str, extra_special_tokens=specials
    ).converted()
    bos = ("<|begin_of_text|>", meta.special_tokens["<|begin_of_text|>"])
    converted.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{bos[0]} $A", pair=f"{bos[0]} $A {bos[0]} $B", special_tokens=[bos]),
        ]
    )
    return converted


def default_cache_dir() -> Path:
    root = os.environ.get("PREFLINT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "preflint"
    )
    return Path(root)


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        tmp.write(text)
    os.replace(tmp.name, target)

