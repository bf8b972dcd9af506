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
