"""What near-duplicate prompts are compared on: their lowercased words, in 3-gram shingles."""

import sys
import unicodedata

import pytest

from preflint.rules._dedup import (
    _NFKC_SPACES,
    COMMON_RUN,
    FEW_CANDIDATES,
    RUN,
    ContainedIndex,
    PromptIndex,
    loose,
    shingles,
    signatures,
    words,
)
from preflint.text import normalized


def test_words_are_the_lowercased_whitespace_separated_words():
    assert words("  Write a POEM\n\tabout  the Sea ") == ["write", "a", "poem", "about", "the", "sea"]
    assert words("Straße ÜBER") == ["strasse", "über"]
    assert shingles(words("One two three four")) == ["one two three", "two three four"]
    assert shingles(words("Hi  there")) == ["hi there"]


def test_a_prompt_joins_the_earliest_similar_representative_among_many_candidates():
    """Variants of one short prompt that are not similar enough to each other all become representatives and
    share LSH bands, so a later prompt gets many candidates: it must still join the earliest similar one."""
    base = "please write a short poem about the sea at night with rhymes"
    variants = [f"{base} variant {n} of {n} and {n}" for n in range(3 * FEW_CANDIDATES)]
    index = PromptIndex(0.8)
    for label, signature in enumerate(signatures([words(text) for text in variants])):
        if index.match(signature) is None:
            index.add(signature, label)
    assert len(index.labels) > FEW_CANDIDATES
    later = signatures([words(variants[-1]), words(variants[5]), words("what is the capital of france today")])
    index.add(later[1], 99)  # a second representative identical to variant 5, added after all the others
    assert min(len(index.lsh.query(later[0])), len(index.lsh.query(later[1]))) > FEW_CANDIDATES
    assert index.match(later[0]) == len(variants) - 1
    assert index.match(later[1]) == 5
    assert index.match(later[2]) is None


def test_a_text_contains_the_reference_it_holds_the_largest_share_of():
    """Runs of words shared by several references (boilerplate) count for each of them; a text shorter than a
    run neither is found nor finds anything."""
    boilerplate = "please answer the following question in one short sentence:"
    index = ContainedIndex()
    index.add(words(f"{boilerplate} what is the boiling point of water at sea level?"), "a.jsonl")
    index.add(words(f"{boilerplate} who wrote the novel war and peace, and when?"), "b.jsonl")
    index.add(words("a short one"), "c.jsonl")
    index.freeze()
    asked = words(f"You are a helpful assistant. {boilerplate} who wrote the novel war and peace, and when? Thanks")
    assert index.containing(asked, 0.8) == ("b.jsonl", 1.0)
    other = words(f"{boilerplate} what is two plus two?")
    assert index.containing(other, 0.8) is None
    # the boilerplate's 2 runs are in both; the 2 runs reaching on to "what is" in a's only: 4 of its 12
    assert index.containing(other, 0.3) == ("a.jsonl", pytest.approx(4 / 12))
    assert index.containing(words("a short one"), 0.5) is None
    assert len(words("a short one")) < RUN
    assert ContainedIndex().freeze().containing(asked, 0.8) is None


def test_boilerplate_shared_by_many_references_finds_none_of_them_alone():
    """A run in more than COMMON_RUN references is left out: holding the boilerplate is holding no reference, and
    a reference held whole is found by its own runs."""
    boilerplate = "please answer the following question in one short sentence:"
    index = ContainedIndex()
    questions = [f"what is {n} plus {n} and {n} times {n}, and why?" for n in range(COMMON_RUN + 1)]
    for question in questions:
        index.add(words(f"{boilerplate} {question}"), question)
    index.freeze()
    assert index.containing(words(f"{boilerplate} who wrote war and peace, and in what year?"), 0.1) is None
    assert index.containing(words(f"Hi. {boilerplate} {questions[7]} Thanks."), 0.8) == (questions[7], 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \t\n ",
        "Plain  ASCII\r\n\ttext ",
        "sep\x1carated\x1dby\x1e\x1finformation separators",
        "Straße\u00a0\u3000Ｆｕｌｌ width",
        "line\u2028sep\x85next\u1680ogham",
        "lone \ud800 surrogate",
        "İstanbul ΣΑΣ ǅ",
        "ﬁ ligature and zero\u200bwidth",
        "a" + " " * 999 + "b",
        "\u2029",
    ],
)
def test_loose_is_nfkc_case_folded_and_whitespace_collapsed(text):
    """D002's bytes path gives the UTF-8 of the definition: NFKC, then whitespace collapsed, then case folded."""
    expected = normalized(unicodedata.normalize("NFKC", text), whitespace=True, case=True)
    assert loose(text) == expected.encode("utf-8", "surrogatepass")


def test_the_only_whitespace_beyond_ascii_that_nfkc_keeps_is_handed_to_str_split():
    kept = {
        char
        for char in map(chr, range(128, sys.maxunicode + 1))
        if char.isspace() and unicodedata.normalize("NFKC", char) == char
    }
    assert kept == set(_NFKC_SPACES)
