from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.text import quantity

SHOWN = 5  # distinct pieces named in a message


class UnknownToken(RowRule):
    """Text the tokenizer cannot represent: it becomes the unknown token (`<unk>`).

    ## What it does
    Looks for the tokenizer's unknown token in the prompt and both responses as the model sees them, and names
    the characters that became it. Vocabularies without byte fallback give it for any character they lack: T5's
    and DeBERTa-v3's SentencePiece models, WordPiece vocabularies (Chinese, emoji, a `{` in code). Byte-level
    vocabularies (Llama 3, GPT-2, Qwen) and SentencePiece with byte fallback (Llama 2, Mistral) represent every
    character, so with them there is nothing to find.

    ## Why is this bad?
    The model sees one id for every character it cannot represent: "猫" and "狗" are the same token to it, so two
    replies that differ only there are identical as trained (P001 and M003 compare ids, and report them), and a
    reply the tokenizer mostly cannot read teaches the model to write `<unk>`. The preference the annotator saw is
    not the one the model gets.

    ## Example
    ```jsonl
    {"prompt": "How do you write cat in Chinese?", "chosen": "It is 猫.", "rejected": "It is 狗."}
    ```
    with a T5 tokenizer: both replies are `It is <unk>.`

    ## Fix safety
    No automatic fix: train with a tokenizer that represents the text, or drop or rewrite the rows.
    """

    code = "W006"
    name = "unknown-token"
    family = "whitespace"
    severity = Severity.WARNING

    def check(self, batch):
        tokenizer = batch.tokenizer
        unknown = tokenizer.unknown_id if tokenizer is not None else None
        if unknown is None:
            return
        for i in batch.usable():
            parts = (
                ("prompt", batch.prompt[i], batch.prompt_ids[i]),
                ("chosen response", batch.chosen[i], batch.chosen_ids[i]),
                ("rejected response", batch.rejected[i], batch.rejected_ids[i]),
            )
            found = [(name, tokenizer.unknown_pieces(text)) for name, text, ids in parts if unknown in ids]
            if found:
                unk = tokenizer.decode([unknown])
                yield self.finding(
                    batch.rows[i],
                    "; ".join(f"the {name} has {_pieces(pieces)}" for name, pieces in found)
                    + f": the tokenizer cannot represent them, and the model reads each as {unk!r}",
                )


def _pieces(pieces: list[str]) -> str:
    distinct = list(dict.fromkeys(pieces))
    named = ", ".join(repr(piece) for piece in distinct[:SHOWN]) + (", …" if len(distinct) > SHOWN else "")
    return f"{quantity(len(pieces), 'unknown character')} ({named})"
