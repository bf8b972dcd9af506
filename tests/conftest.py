import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # no test may reach a hub; the code paths that would are tested locally
os.environ["PREFLINT_TRACEBACK"] = "1"  # a bug in preflint fails a test with its traceback, not the CLI's one line


@pytest.fixture(scope="session", autouse=True)
def _own_cache_dir(tmp_path_factory):
    """Scan results and converted tokenizers are cached in a directory of the test session's own, never ~/.cache."""
    os.environ["PREFLINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("preflint-cache"))


ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"  # real public preference data, with provenance and licenses in its README.md


@pytest.fixture(scope="session")
def llama():
    from preflint.tokenizer.loading import load_tokenizer

    return load_tokenizer("llama")


@pytest.fixture
def write_jsonl(tmp_path):
    def write(rows, name="data.jsonl"):
        path = tmp_path / name
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        return path

    return write


def data_file(name: str) -> Path:
    """A real data file kept in tests/data."""
    return DATA / name


@pytest.fixture(scope="session")
def sentencepiece(tmp_path_factory):
    """A real SentencePiece tokenizer: Mistral 7B's v1 model as mistral-common ships it, loaded as a model
    directory holding tokenizer.model (the path a user's local Llama-2-style checkpoint takes)."""
    import shutil

    import mistral_common

    from preflint.tokenizer.loading import load_tokenizer

    directory = tmp_path_factory.mktemp("sentencepiece")
    shutil.copy(Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1", directory / "tokenizer.model")
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "LlamaTokenizer",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "add_bos_token": True,
                "legacy": False,
            }
        )
    )
    return load_tokenizer(str(directory))


@pytest.fixture(scope="session")
def unknown_sentencepiece(tmp_path_factory):
    """A real SentencePiece tokenizer without byte fallback (T5's kind, and DeBERTa-v3's): a unigram model trained
    here on the first 600 HH-RLHF dialogues, laid out as T5's (pad 0, EOS 1, <unk> 2) and loaded as a model
    directory. A character its training text lacks (Chinese, most emoji, '{') becomes <unk>, and T5's normalizer
    turns newlines into spaces."""
    import io

    import sentencepiece

    from preflint.tokenizer.loading import load_tokenizer

    lines = DATA.joinpath("hh-rlhf-harmless-test.jsonl").read_text(encoding="utf-8").splitlines()[:600]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(json.loads(line)["chosen"] for line in lines),
        model_writer=model,
        vocab_size=1000,
        model_type="unigram",
        byte_fallback=False,
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
    )
    directory = tmp_path_factory.mktemp("unknown-sentencepiece")
    (directory / "tokenizer.model").write_bytes(model.getvalue())
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "T5Tokenizer",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "pad_token": "<pad>",
                "extra_ids": 0,
            }
        )
    )
    return load_tokenizer(str(directory))


# ChatML, Qwen's template: it does not trim replies, and its rendering ends in whitespace ('<|im_end|>\n').
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture(scope="session")
def chatml(llama, tmp_path_factory):
    """A tokenizer of Qwen's shape, built here: the Llama 3 vocabulary with ChatML's <|im_start|> and <|im_end|> as
    special tokens, <|im_end|> as EOS, and a ChatML template, which does not trim replies and ends a turn with
    '<|im_end|>\\n'. Saved and loaded as a model directory, as a user's checkpoint would be."""
    import copy

    from preflint.tokenizer.loading import load_tokenizer

    hf = copy.deepcopy(llama.hf)
    hf.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    hf.eos_token = "<|im_end|>"
    hf.chat_template = CHATML_TEMPLATE
    directory = tmp_path_factory.mktemp("chatml")
    hf.save_pretrained(directory)
    return load_tokenizer(str(directory))


def read_jsonl(path):
    """The records of a JSON Lines file, for comparing outputs."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _llama_vocabulary_as(llama, directory, template: str, special: list[str], eos: str, bos: str | None = None):
    """A model family's tokenizer built on the Llama 3 vocabulary: its turn markers added as special tokens, its
    EOS (and BOS), saved and loaded as a model directory, as a user's checkpoint would be, with its real chat
    template from tests/data/templates given as --chat-template gives a file. `<think>` and `</think>` are added
    tokens, not special ones, as in DeepSeek-R1's and Qwen3's vocabularies."""
    import copy

    from preflint.tokenizer.loading import load_tokenizer
    from preflint.tokenizer.templates import read_chat_template

    hf = copy.deepcopy(llama.hf)
    hf.add_special_tokens({"additional_special_tokens": special})
    hf.add_tokens(["<think>", "</think>"])
    hf.eos_token = eos
    if bos is not None:
        hf.bos_token = bos
    hf.save_pretrained(directory)
    path = DATA / "templates" / template
    return load_tokenizer(str(directory)).with_chat_template(read_chat_template(str(path)), path.name)


@pytest.fixture(scope="session")
def deepseek_r1(llama, tmp_path_factory):
    """DeepSeek-R1-Distill's shape: its template drops each assistant turn's reasoning (everything up to
    '</think>') and ends the generation prompt with '<think>\\n'; EOS '<｜end▁of▁sentence｜>' ends each turn."""
    return _llama_vocabulary_as(
        llama,
        tmp_path_factory.mktemp("deepseek-r1"),
        "deepseek-r1-distill.jinja",
        ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"],
        eos="<｜end▁of▁sentence｜>",
        bos="<｜begin▁of▁sentence｜>",
    )


@pytest.fixture(scope="session")
def qwen3(llama, tmp_path_factory):
    """Qwen3's shape: ChatML turns ending '<|im_end|>\\n' ('<|im_end|>' is EOS), and a template that renders the
    final reply's reasoning as '<think>\\n…\\n</think>\\n\\n' (an empty block where it has none) and drops the
    reasoning of turns before the last user message."""
    return _llama_vocabulary_as(
        llama, tmp_path_factory.mktemp("qwen3"), "qwen3.jinja", ["<|im_start|>", "<|im_end|>"], eos="<|im_end|>"
    )


@pytest.fixture(scope="session")
def qwen3_base(llama, tmp_path_factory):
    """Qwen3's template on a base model's tokenizer: EOS is '<|endoftext|>', not the turn's '<|im_end|>'."""
    return _llama_vocabulary_as(
        llama,
        tmp_path_factory.mktemp("qwen3-base"),
        "qwen3.jinja",
        ["<|im_start|>", "<|im_end|>", "<|endoftext|>"],
        eos="<|endoftext|>",
    )


@pytest.fixture(scope="session")
def phi3(llama, tmp_path_factory):
    """Phi-3's shape: turns end '<|end|>\\n', EOS is '<|endoftext|>', which the template writes after the last
    turn of a conversation (not after the generation prompt)."""
    return _llama_vocabulary_as(
        llama,
        tmp_path_factory.mktemp("phi3"),
        "phi3.jinja",
        ["<|user|>", "<|assistant|>", "<|system|>", "<|end|>", "<|endoftext|>"],
        eos="<|endoftext|>",
    )


@pytest.fixture(scope="session")
def gemma(llama, tmp_path_factory):
    """Gemma's shape: turns end '<end_of_turn>\\n', EOS is '<eos>', the template trims each message."""
    return _llama_vocabulary_as(
        llama,
        tmp_path_factory.mktemp("gemma"),
        "gemma.jinja",
        ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"],
        eos="<eos>",
        bos="<bos>",
    )
