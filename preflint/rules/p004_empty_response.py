from preflint.findings import Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import DROP_ROW, RowRule
from preflint.text import blank


class EmptyResponse(RowRule):
    """A response (chosen or rejected) is empty or only whitespace.

    ## What it does
    Reports pairs where either side has no text. For dialogues with an implicit prompt this is the dialogue
    that ends at its assistant marker (`...\\n\\nAssistant:` and nothing after it).

    ## Why is this bad?
    An empty completion has no tokens whose log-probability the loss can move (or only an EOS), so the pair
    teaches the model that "say nothing" is preferred, or rejected, for that prompt.

    ## Example
    ```jsonl
    {"chosen": "\\n\\nHuman: Hi\\n\\nAssistant:", "rejected": "\\n\\nHuman: Hi\\n\\nAssistant: Hello!"}
    ```

    ## Fix safety
    Safe: the row is dropped; it carries no usable preference signal.
    """

    code = "P004"
    name = "empty-response"
    family = "pair"
    severity = Severity.ERROR
    fix = DROP_ROW

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            empty = [
                side
                for side, content in (("chosen", pair.chosen), ("rejected", pair.rejected))
                if blank(plain_text(content))
            ]
            if not empty:
                continue
            if len(empty) == 2:  # the same (empty) completion on both sides: nothing to prefer
                same = batch.chosen[i] == batch.rejected[i] and not batch.unpaired_training
                yield self.finding(batch.rows[i], "both responses are empty", no_signal=same)
            else:
                side = empty[0]
                content = plain_text(pair.chosen if side == "chosen" else pair.rejected)
                what = "empty" if not content else f"whitespace only ({content!r})"
                yield self.finding(batch.rows[i], f"the {side} response is {what}")
