from preflint.findings import Severity
from preflint.reasoning import reply_parts
from preflint.rule import RowRule
from preflint.text import quantity, quoted_start

SHOWN = 40


class ReasoningOrAnswerOnly(RowRule):
    """Chosen and rejected differ only in their reasoning, or only in their answer.

    ## What it does
    Splits each reply of a reasoning model into its reasoning (`<think>…</think>` before the answer, the text
    before a lone `</think>`, or a message's `reasoning_content`) and its answer, and reports pairs where one part
    is the same on both sides (whitespace aside) and the other is not: the same answer reached by different
    reasoning (or with reasoning on one side only), or the same reasoning ending in different answers. Pairs
    without reasoning, and pairs the same in both parts (P001, P003), are left alone.

    ## Why is this bad?
    It may be what the data means, but it is worth knowing which: a preference between two reasonings that reach
    the same answer trains the thinking (often graded by a judge that only read the answers, so the label is
    noise), one between two answers after the same reasoning trains the model that this reasoning leads to the
    chosen answer and not the rejected one, though it led to both. A dataset of such pairs prefers one part
    while the loss is spread over both.

    ## Example
    ```jsonl
    {"prompt": "2+2?", "chosen": "<think>2 and 2 is 4.</think>4", "rejected": "<think>Count: 1, 2, 3, 4</think>4"}
    ```

    ## Fix safety
    No fix: which part the preference should be on is the dataset's decision.
    """

    code = "P006"
    name = "reasoning-or-answer-only"
    family = "pair"
    severity = Severity.INFO

    def check(self, batch):
        for i in batch.comparable():
            pair = batch.pairs[i]
            chosen, rejected = reply_parts(pair.chosen), reply_parts(pair.rejected)
            if chosen.reasoning is None and rejected.reasoning is None:
                continue
            same_reasoning = _words(chosen.reasoning) == _words(rejected.reasoning)
            same_answer = _words(chosen.answer) == _words(rejected.answer)
            if same_reasoning == same_answer:  # the same (P001's) or different throughout: a whole preference
                continue
            if same_answer:
                lone = "chosen" if rejected.reasoning is None else "rejected" if chosen.reasoning is None else None
                start = (
                    f"only the {lone} reply has reasoning" if lone else "chosen and rejected differ only in reasoning"
                )
                message = (
                    f"{start}; their answers are the same ({quoted_start(chosen.answer.strip(), SHOWN)}): the "
                    "preference is on the thinking, not the answer"
                )
            else:
                message = (
                    f"chosen and rejected differ only in their answers; their reasoning is the same "
                    f"({quantity(len(chosen.reasoning.strip()), 'character')}): the preference is on the answer, "
                    "after reasoning that led to both"
                )
            yield self.finding(batch.rows[i], message)


def _words(text: str | None) -> list[str] | None:
    return None if text is None else text.split()
