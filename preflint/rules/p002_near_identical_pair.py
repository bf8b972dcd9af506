import regex
from rapidfuzz.distance import Levenshtein

from preflint.findings import DROP, Applicability, Fix, Severity
from preflint.rule import RowRule

WORD = regex.compile(r"\w+")


class NearIdenticalPair(RowRule):
    """Chosen and rejected differ by only a token or two.

    ## What it does
    Computes the Levenshtein distance between the chosen and rejected token ids (the target tokenizer's, after
    the chat template) and reports pairs within both thresholds: at most `max-distance` tokens differ, and
    that is at most `max-ratio` of the longer side. A reply too short for the ratio is reported when one word
    token is swapped, added or removed inside at least `min-shared-words` words the two sides share ("the cat sat
    on the mat" vs "the cat sat on the moon"); a short answer with little else ("Yes." vs "No.", "Paris, I think."
    vs "Rome, I think.") is left alone, and a token of punctuation or whitespace alone is P003's. Two sides the
    tokenizer makes the same ids are P001's. The message says how many tokens differ and shows the first
    difference, decoded.

    ## Why is this bad?
    When two long replies differ in one token, nearly all of the DPO gradient cancels and the rest rides on
    that token: the model learns "say Paris, not Rome" in this context at best, an annotation slip at worst.
    Short pairs ("Yes." vs "No.") are real preferences, which is why the relative threshold exists too.

    ## Example
    ```jsonl
    {"prompt": "Capital of France?", "chosen": "The capital of France is Paris, a city on the Seine.",
     "rejected": "The capital of France is Lyon, a city on the Seine."}
    ```

    ## Fix safety
    Unsafe: the row can be dropped, but a one-token difference may be the whole point (a factual correction).
    """

    code = "P002"
    name = "near-identical-pair"
    family = "pair"
    severity = Severity.WARNING
    fix = Fix(Applicability.UNSAFE, "drop the row: the two sides differ too little to teach a preference", DROP)
    options = {"max-distance": 3, "max-ratio": 0.1, "min-shared-words": 4}

    def check(self, batch):
        limit, ratio = self.settings["max-distance"], self.settings["max-ratio"]
        for i in batch.comparable():
            chosen, rejected = batch.chosen_ids[i], batch.rejected_ids[i]
            longer = max(len(chosen), len(rejected))
            if abs(len(chosen) - len(rejected)) > limit or chosen == rejected:
                continue
            distance = Levenshtein.distance(chosen, rejected, score_cutoff=limit)
            if distance > limit:
                continue
            if distance / longer <= ratio or (distance == 1 and self._word_swap_in_context(batch, i)):
                yield self.finding(batch.rows[i], _message(batch, chosen, rejected, distance, longer))

    def _word_swap_in_context(self, batch, i) -> bool:
        """Whether the replies (without the end of turn) differ in one token holding a word, amid at least
        `min-shared-words` words both have."""
        chosen, rejected = batch.body_ids(i, "chosen"), batch.body_ids(i, "rejected")
        ops = [op for op in Levenshtein.opcodes(chosen, rejected) if op.tag != "equal"]
        if len(ops) != 1:
            return False
        op, decode = ops[0], batch.tokenizer.decode
        changed = decode(chosen[op.src_start : op.src_end]) + decode(rejected[op.dest_start : op.dest_end])
        shared = decode(chosen[: op.src_start]) + " " + decode(chosen[op.src_end :])
        return bool(WORD.search(changed)) and len(WORD.findall(shared)) >= self.settings["min-shared-words"]


def _message(batch, chosen, rejected, distance, longer) -> str:
    """Counts, and the first run of differing tokens on each side (adjacent edits together), decoded."""
    ops = Levenshtein.opcodes(chosen, rejected)
    start = next(k for k, op in enumerate(ops) if op.tag != "equal")
    end = next((k for k in range(start, len(ops)) if ops[k].tag == "equal"), len(ops))
    first, last = ops[start], ops[end - 1]
    decode = batch.tokenizer.decode
    return (
        f"chosen and rejected differ by {distance} of {longer} tokens ({distance / longer:.1%}); first difference at "
        f"token {first.src_start}: chosen {decode(chosen[first.src_start : last.src_end][:8])!r} vs rejected "
        f"{decode(rejected[first.dest_start : last.dest_end][:8])!r}"
    )
