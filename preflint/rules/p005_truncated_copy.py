from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.rule import RowRule

SENTENCE_ENDS = ".!?…。！？"
CLOSERS = "\"'”’»)]}」』"


class TruncatedCopy(RowRule):
    """One side is a cut-off copy of the other: its tokens are a strict prefix of the other side's.

    ## What it does
    Reports pairs where the shorter side's tokens start the longer side (the last token may differ when the cut
    fell inside a word) and the shorter text starts the longer one. A shorter side of at least `min-prefix-tokens`
    tokens is reported as it is; a shorter one only when it is cut off in mid-sentence: at least two words, no
    closing punctuation at its end (`.`, `!`, `?`, `…`, `。`, a closing quote or bracket after one), and the
    longer side going on after a space ("It is the" vs "It is the capital of France."). A short complete answer
    ("No." vs "No. Because …"), a lone word ("Paris" vs "Paris is the capital.") and a number that starts a
    longer one ("The answer is 12" vs "The answer is 125") are not cut-off copies. For conversations the chat
    template's end-of-turn suffix is left out of the comparison.

    ## Why is this bad?
    A truncated copy usually comes from a generation that hit its length limit, not from a judgement. The pair
    teaches "stop here" or "go on", and every shared token contributes nothing.

    ## Example
    ```jsonl
    {"prompt": "Explain DNS.", "chosen": "DNS maps names to addresses. A resolver asks root servers, then",
     "rejected": "DNS maps names to addresses. A resolver"}
    ```

    ## Fix safety
    Unsafe: the row can be dropped, but a complete answer preferred over its cut-off is sometimes intended.
    """

    code = "P005"
    name = "truncated-copy"
    family = "pair"
    severity = Severity.WARNING
    fix = Fix(Applicability.UNSAFE, "drop the row: one side is a cut-off copy of the other", DROP)
    options = {"min-prefix-tokens": 5}

    def check(self, batch):
        minimum = self.settings["min-prefix-tokens"]
        for i in batch.comparable():
            sides = [(side, batch.body_ids(i, side), batch.body_text(i, side)) for side in ("chosen", "rejected")]
            (short_name, short_ids, short_text), (long_name, long_ids, long_text) = sorted(
                sides, key=lambda s: len(s[1])
            )
            if len(short_ids) == len(long_ids):
                continue
            whole = short_ids[:-1] == long_ids[: len(short_ids) - 1]
            if not whole or not long_text.startswith(short_text.rstrip()) or short_text.strip() == long_text.strip():
                continue
            if len(short_ids) >= minimum or _cut_in_mid_sentence(short_text, long_text):
                yield self.finding(
                    batch.rows[i],
                    f"{short_name} is {long_name} cut off: its {len(short_ids)} tokens start "
                    f"{long_name}'s {len(long_ids)}",
                )


def _cut_in_mid_sentence(short: str, long: str) -> bool:
    """A short side of two words or more that ends without closing punctuation, where the longer side goes on
    after a space: the cut fell between two words of one sentence."""
    body = short.rstrip()
    last = body.rstrip(CLOSERS)[-1:]
    ended = bool(last) and last in SENTENCE_ENDS
    return len(body.split()) >= 2 and not ended and long[len(body) : len(body) + 1].isspace()
