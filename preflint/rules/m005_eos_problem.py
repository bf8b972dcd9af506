import contextlib

from preflint.findings import Severity
from preflint.rule import RowRule


class EosProblem(RowRule):
    """A completion does not end with the end-of-sequence token the trainer expects, or has one inside it.

    ## What it does
    Looks at each completion as the trainer profile tokenizes it, before truncation. A completion should end with
    EOS (text rows: the tokenizer's EOS; conversations: the chat template's end of turn; axolotl: the end of turn
    without trailing whitespace, then EOS unless that is it), and should not contain one before its end. Rows the
    trainer drops are left to M002.

    ## Why is this bad?
    Without a final EOS the model never learns to stop after a preferred answer. An EOS inside the completion
    (often the text of one, like "<|eot_id|>", left in the data) teaches it to stop in mid-answer, and the tokens
    after it are trained on as if the turn had not ended.

    ## Example
    ```jsonl
    {"prompt": "Say hi.", "chosen": "Hi!<|eot_id|> How can I help?", "rejected": "Hello."}
    ```

    ## Fix safety
    No automatic fix: the tokens after an inner EOS may be wanted or not.
    """

    code = "M005"
    name = "eos-problem"
    family = "mask"
    severity = Severity.ERROR
    needs_trainer = True

    def cannot_check(self, tokenizer):
        if tokenizer.hf.eos_token_id is None:
            return "the tokenizer has no EOS token, so how text replies end is not checked"
        return None

    def check(self, batch):
        tokenizer = batch.tokenizer
        if tokenizer is None:
            return
        suffix = tokenizer.turn_suffix_ids
        eos = [tokenizer.hf.eos_token_id] if tokenizer.hf.eos_token_id is not None else []
        stops = {*eos, *(token for token in suffix if token in tokenizer.special_ids)}
        for i, row in batch.trained():
            ending = row.ending if row.ending is not None else suffix if batch.is_chat(i) and suffix else eos
            problems = []
            for side, inputs in row.sides():
                joint, start, end = inputs.joint_ids, inputs.completion_start, len(inputs.joint_ids)
                if end <= start or inputs.altered:  # no completion to end (M002's), or not the data's reply (M010's)
                    continue
                if not ending:  # no EOS to end a text reply with (see cannot_check)
                    pass
                elif end - start >= len(ending) and joint[end - len(ending) :] == ending:
                    end -= len(ending)
                elif _ends_as_text(tokenizer, joint, start, ending):  # a plain-text end of turn merged with the reply
                    end = max(start, end - len(ending) - 1)
                else:
                    problems.append(f"the {side} completion does not end with {tokenizer.decode(ending)!r}")
                inner = _first_of(stops, joint, start, end)
                if inner is not None:
                    problems.append(
                        f"the {side} completion has {tokenizer.decode([joint[inner]])!r} at token {inner - start}, "
                        "before its end"
                    )
            if problems:
                yield self.finding(batch.rows[i], "; ".join(problems))


def _ends_as_text(tokenizer, ids: list[int], start: int, ending: list[int]) -> bool:
    """Whether the completion's text ends with the ending's text although its ids do not: an end of turn that is
    plain text ('<|im_end|>' in a vocabulary without it) merges with the reply's last characters ('.<')."""
    window = ids[max(start, len(ids) - len(ending) - 1) :]
    return bool(ending) and tokenizer.decode(window).endswith(tokenizer.decode(ending))


def _first_of(tokens: set[int], ids: list[int], start: int, end: int) -> int | None:
    """Where the first of `tokens` is in ids[start:end] (searched at C speed, one token at a time)."""
    found = []
    for token in tokens:
        with contextlib.suppress(ValueError):
            found.append(ids.index(token, start, end))
    return min(found, default=None)
