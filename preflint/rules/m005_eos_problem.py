import contextlib

from preflint.findings import Severity
from preflint.rule import RowRule

SHOWN = 3  # the last tokens of a completion shown where it does not end as it should


class EosProblem(RowRule):
    """A completion does not end with the end-of-sequence token the trainer expects, or has one inside it.

    ## What it does
    Looks at each completion as the trainer profile tokenizes it, before truncation. A completion should end with
    what the trainer ends a reply with (text rows: the tokenizer's EOS, which TRL appends; conversations: the chat
    template's end of turn; axolotl and OpenRLHF: the end of turn without trailing whitespace, then EOS unless
    that is it; LLaMA-Factory renders text rows as conversations, so their end of turn), and should not contain a
    stop token (EOS, or the special token that ends a turn) before its end. The message names the tokens that end
    the reply as trained: where a template's end of turn is not the tokenizer's EOS (Phi-3's `<|end|>` beside
    `<|endoftext|>`, Gemma's `<end_of_turn>` beside `<eos>`, ChatML's `<|im_end|>` beside a base model's
    `<|endoftext|>`), both are named when the trainer appends EOS after it. Rows the trainer drops are left to M002.

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
                    last = tokenizer.decode(joint[max(start, end - SHOWN) : end])
                    problems.append(
                        f"the {side} completion ends {last!r}, not with {tokenizer.decode(ending)!r} (what the trainer "
                        "ends a reply with)"
                    )
                inner = _first_of(stops, joint, start, end)
                if inner is not None:
                    problems.append(
                        f"the {side} completion has {tokenizer.decode([joint[inner]])!r} at token {inner - start}, "
                        f"before the {tokenizer.decode(ending)!r} that ends it"
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
