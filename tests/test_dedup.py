"""What near-duplicate prompts are compared on: their lowercased words, in 3-gram shingles."""

from preflint.dedup import shingles, words


def test_words_are_the_lowercased_whitespace_separated_words():
    assert words("  Write a POEM\n\tabout  the Sea ") == ["write", "a", "poem", "about", "the", "sea"]
    assert words("Straße ÜBER") == ["strasse", "über"]
    assert shingles(words("One two three four")) == ["one two three", "two three four"]
    assert shingles(words("Hi  there")) == ["hi there"]
