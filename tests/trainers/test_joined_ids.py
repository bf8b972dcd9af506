"""Trainer ids are built from the ids of each text joined at the boundary; they must equal tokenizing the whole."""

import json

import pytest

from preflint.config import Settings
from preflint.io.sources import resolve_sources
from preflint.trainers import make_profile
from tests.conftest import data_file

from . import pair_batches

FILES = [
    "hh-rlhf-harmless-test.jsonl",
    "llamafactory-dpo-en-demo.json",
    "llamafactory-dpo-zh-demo.json",
    "torchtune-stack-exchange-paired-tiny.json",
]


def as_trl_reads_it(name: str, write_jsonl) -> str:
    """A test data file as TRL takes it: LLaMA-Factory's replies are single messages, on which TRL raises, so they
    become lists of one message, as a TRL user would write them (TRL's `prompt` column holding the conversation)."""
    if not name.startswith("llamafactory"):
        return str(data_file(name))
    records = json.loads(data_file(name).read_text(encoding="utf-8"))
    return str(
        write_jsonl(
            [{"prompt": r["conversations"], "chosen": [r["chosen"]], "rejected": [r["rejected"]]} for r in records],
            name=name + "l",
        )
    )


@pytest.mark.parametrize("tokenizer_name", ["llama", "sentencepiece"])
@pytest.mark.parametrize("trainer", ["plain", "trl"])
def test_joined_ids_equal_whole_tokenization_on_real_data(request, tokenizer_name, trainer, write_jsonl):
    tokenizer = request.getfixturevalue(tokenizer_name)
    profile = make_profile(trainer)
    joined_pairs = 0
    for name in FILES:
        path = as_trl_reads_it(name, write_jsonl) if trainer == "trl" else str(data_file(name))
        for batch, _ in pair_batches(resolve_sources([path]), Settings(), tokenizer):
            joined = profile._joined(batch, tokenizer)
            assert joined == profile._tokenized(batch, list(joined), tokenizer)
            joined_pairs += len(joined)
    assert joined_pairs >= 600  # the LLaMA-Factory and torchtune rows at least take the joined path


@pytest.mark.parametrize(
    "left, right",
    [
        ("Say hello", "world"),
        ("Assistant:", " Sure."),
        ("Q: 2+2=", "4"),
        ("line\n\n", "Next"),
        ("end ", " space"),
        ("", "only right"),
        ("only left", ""),
        ("日本", "語です"),
        ("a" * 40, "a" * 40),
        # SentencePiece decodes a text's first "▁" to nothing: a window from the start must not lose that space
        ("  ", "Assistant:"),
        (" Hi", "there"),
        ("   ", " x"),
        ("x", "  "),
        (" ", "\n"),
    ],
)
def test_join_ids_is_tokenizing_the_concatenation(llama, sentencepiece, left, right):
    for tokenizer in (llama, sentencepiece):
        left_ids, right_ids, whole = tokenizer.encode_many([left, right, left + right])
        assert tokenizer.join_ids([(left, left_ids, right, right_ids)]) == [whole]


@pytest.mark.parametrize("name", ["llamafactory-dpo-en-demo.json", "llamafactory-dpo-zh-demo.json"])
def test_join_ids_where_tokens_merge_across_the_join(llama, sentencepiece, name):
    """LLaMA-Factory's turns written as text pairs (as a user flattening them would): a prompt ending "part." and a
    response starting "That" merge into one token, the case the wide window re-tokenizes locally."""
    records = json.loads(data_file(name).read_text(encoding="utf-8"))
    pairs = [
        ("\n".join(turn["value"] for turn in r["conversations"]), r[side]["value"])
        for r in records
        for side in ("chosen", "rejected")
    ]
    for tokenizer in (llama, sentencepiece):
        lefts = tokenizer.encode_many([left for left, _ in pairs])
        rights = tokenizer.encode_many([right for _, right in pairs])
        wholes = tokenizer.encode_many([left + right for left, right in pairs])
        pieces = [
            (left, left_ids, right, right_ids) for (left, right), left_ids, right_ids in zip(pairs, lefts, rights)
        ]
        assert tokenizer.join_ids(pieces) == wholes
        merged = sum(whole != left + right for whole, left, right in zip(wholes, lefts, rights))
        assert merged >= 10  # the data does merge across the join
