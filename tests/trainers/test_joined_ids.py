"""Trainer ids are built from the ids of each text joined at the boundary; they must equal tokenizing the whole."""

import pytest

from preflint.config import Settings
from preflint.read import resolve_sources
from preflint.trainers import make_profile
from tests.conftest import shared

from . import pair_batches

FILES = ["hh-rlhf-harmless-test.jsonl", "llamafactory-dpo-en-demo.json", "llamafactory-dpo-zh-demo.json",
         "torchtune-stack-exchange-paired-tiny.json"]


@pytest.mark.parametrize("tokenizer_name", ["llama", "sentencepiece"])
@pytest.mark.parametrize("trainer", ["plain", "trl"])
def test_joined_ids_equal_whole_tokenization_on_real_data(request, tokenizer_name, trainer):
    tokenizer = request.getfixturevalue(tokenizer_name)
    profile = make_profile(trainer)
    joined_pairs = 0
    for name in FILES:
        for batch, _ in pair_batches(resolve_sources([str(shared(name))]), Settings(), {}, tokenizer):
            joined = profile._joined(batch, tokenizer)
            assert joined == profile._tokenized(batch, list(joined), tokenizer)
            joined_pairs += len(joined)
    assert joined_pairs >= 600  # the LLaMA-Factory and torchtune rows at least take the joined path


@pytest.mark.parametrize(
    "left, right",
    [("Say hello", "world"), ("Assistant:", " Sure."), ("Q: 2+2=", "4"), ("line\n\n", "Next"), ("end ", " space"),
     ("", "only right"), ("only left", ""), ("日本", "語です"), ("a" * 40, "a" * 40)],
)
def test_join_ids_is_tokenizing_the_concatenation(llama, sentencepiece, left, right):
    for tokenizer in (llama, sentencepiece):
        left_ids, right_ids, whole = tokenizer.encode_many([left, right, left + right])
        assert tokenizer.join_ids([(left, left_ids, right, right_ids)]) == [whole]
