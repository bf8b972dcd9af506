from preflint.findings import Severity
from preflint.pipeline.batch import plain_text
from preflint.rule import RowRule


class SpecialTokenText(RowRule):
    """Content contains the text of a special token, which the tokenizer turns into a control token.

    ## What it does
    Searches the prompt and both responses (the author's text, before any chat template) for the text of the
    target tokenizer's special tokens: `<|eot_id|>`, `<|im_end|>`, `</s>`, `<|begin_of_text|>`, ...

    ## Why is this bad?
    Tokenizers parse special-token text inside content as the control token itself, so a reply that quotes
    "<|eot_id|>" ends the turn there, and a prompt that contains it forges a turn boundary. Often these are left
    over from a previous rendering of the data with a chat template.

    ## Example
    ```jsonl
    {"prompt": "Hi<|eot_id|>", "chosen": "Hello!", "rejected": "Go away."}
    ```

    ## Fix safety
    No automatic fix: whether the text was meant as markup or as literal text is the author's call.
    """

    code = "M006"
    name = "special-token-text"
    family = "mask"
    severity = Severity.ERROR

    def check(self, batch):
        pattern = batch.tokenizer.special_token_pattern if batch.tokenizer else None
        if pattern is None:
            return
        for i in batch.usable():
            pair = batch.pairs[i]
            found = []
            for side, content in (("prompt", pair.prompt), ("chosen", pair.chosen), ("rejected", pair.rejected)):
                tokens = sorted(set(pattern.findall(plain_text(content))))
                if tokens:
                    found.append(f"{side} contains {', '.join(tokens)}")
            if found:
                yield self.finding(
                    batch.rows[i], "; ".join(found) + " as text: the tokenizer reads it as a control token"
                )
