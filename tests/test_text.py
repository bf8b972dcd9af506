import pytest

from preflint import text


@pytest.mark.parametrize(
    "sample",
    ["Hello,  World!", "a+b=c (x) $5 ^~|", "  tabs\tand\nnewlines  ", "You're welcome.", "e.g. -- [ok]"],
)
@pytest.mark.parametrize(
    "flags", [{"whitespace": True}, {"punctuation": True}, {"whitespace": True, "case": True, "punctuation": True}]
)
def test_ascii_fast_path_agrees_with_the_unicode_path(sample, flags):
    # the same text with one non-ASCII character appended takes the regex path; the results must agree
    assert text.normalized(sample, **flags) + "é" == text.normalized(sample + "é", **flags).replace(" é", "é")


def test_describe_whitespace():
    assert text.describe_whitespace("") == "nothing"
    assert text.describe_whitespace(" ") == "a space"
    assert text.describe_whitespace("\n\n ") == "2 newlines + a space"
    assert text.describe_whitespace("\u00a0") == "a U+00A0 (NO-BREAK SPACE)"


def test_excerpts_show_short_texts_whole_and_long_ones_around_the_difference():
    assert text.excerpts("Hi.", "Hi!") == ("'Hi.'", "'Hi!'")
    a, b = text.excerpts("x" * 100 + "A" + "y" * 100, "x" * 100 + "B" + "y" * 100)
    assert a.startswith("'…") and "A" in a and "B" in b and len(a) < 60


def test_blank_is_empty_or_whitespace_only_as_strip_sees_it():
    for sample in ["", " ", "\n\t \r", "\u3000\u00a0", "\u200b", " a ", "x"]:
        assert text.blank(sample) == (not sample.strip()), repr(sample)


@pytest.mark.parametrize(
    "sample",
    [
        "  ...Hello",
        "¿Qué tal?",
        "ßa",
        "— dash",
        "$5 off",
        "!!! ",
        "",
        "\u3000Ａbc",
        "\u212a kelvin",
        "Σίσυφος",
        "'quoted'",
        "\t\n(1) first",
        "«Bonjour»",
    ],
)
def test_first_kept_is_the_first_character_of_the_fully_normalized_text(sample):
    assert text.first_kept(sample) == text.normalized(sample, whitespace=True, case=True, punctuation=True)[:1]
