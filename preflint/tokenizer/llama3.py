"""The built-in `llama` tokenizer: Meta's Llama 3 tiktoken model from the llama-models wheel, converted to a fast
tokenizer once and cached as JSON."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from preflint.config import default_cache_dir
from preflint.io.outputs import atomic_write
from preflint.tokenizer.templates import LLAMA3_CHAT_TEMPLATE


def llama3_model_file() -> Path:
    """Meta's Llama 3 tiktoken model, as the llama-models wheel ships it."""
    import llama_models.llama3 as llama3_package

    return Path(llama3_package.__file__).parent / "tokenizer.model"


@lru_cache(maxsize=2)
def llama3_tokenizer(cache_dir: Path | None):
    """Meta's Llama 3 tiktoken model from the llama-models wheel, converted once and cached as tokenizer.json. The
    cache is a convenience, never trusted: a cached file that does not load is converted again, and a cache that
    cannot be written (read-only, full) only costs the conversion next time."""
    from tokenizers import Tokenizer as RustTokenizer
    from transformers import PreTrainedTokenizerFast

    model_file = llama3_model_file()
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:16]
    cached = (cache_dir or default_cache_dir()) / "tokenizers" / f"llama3-{digest}.json"
    converted = None
    if cached.is_file():
        try:
            converted = RustTokenizer.from_file(str(cached))
        except Exception:  # noqa: BLE001 - damaged or replaced: converted again below
            converted = None
    if converted is None:
        converted = _convert_llama3(model_file)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(cached, text=True) as stream:
                stream.write(converted.to_str())
        except OSError:
            pass
    return PreTrainedTokenizerFast(
        tokenizer_object=converted,
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
