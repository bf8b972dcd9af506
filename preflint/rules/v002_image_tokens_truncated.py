from preflint.findings import Severity
from preflint.rule import EVERY_ROW_FAILS, UNTRAINABLE, RowRule


class ImageTokensTruncated(RowRule):
    """The trainer's truncation cuts an image's tokens.

    ## What it does
    Counts each image of a vision pair as the tokens its processor expands it to (`--image-tokens N`, else known
    from the tokenizer's name: 576 for LLaVA-1.5, 256 for PaliGemma 224 px and Gemma 3, at least 4 for
    Qwen2-VL; else 1, the least; the summary says which), finds where each image stands in the prompt, and
    applies the trainer profile's truncation to the prompt so expanded: TRL's vision collator keeps the start
    of prompt + reply up to max_length, LLaMA-Factory's cutoff_len keeps the start of the prompt after the
    reply's share, plain's `--max-prompt-length` and `keep_end` keep its end. Reports the images whose tokens
    are not all kept, and rows of a trainer that refuses vision data with these options (TRL raises before
    training on `truncation_mode='keep_end'`).

    ## Why is this bad?
    The image's features no longer match the image tokens left in the input: the model raises "Image features
    and image tokens do not match" and the run stops, or, where a trainer cuts quietly, the model answers an
    image it never saw. Several large images in one prompt reach a 1,024 or 2,048-token limit quickly.

    ## Example
    Four images at 576 tokens each (LLaVA-1.5) under `--trainer llamafactory --max-length 2048`: the fourth is cut.

    ## Fix safety
    Safe: the row is dropped (the rejects keep it); raise the length limit, keep the start, or use fewer or
    smaller images to have it trained. Display-only where the trainer refuses every vision row with these options.
    """

    code = "V002"
    name = "image-tokens-truncated"
    family = "vision"
    severity = Severity.ERROR
    fix = UNTRAINABLE
    needs_trainer = True

    def check(self, batch):
        for i, row in enumerate(batch.trainer):
            use = row.images if row is not None else None
            if use is None:
                continue
            if use.refused:
                yield self.finding(batch.rows[i], use.refused, EVERY_ROW_FAILS)
            elif use.cut:
                cuts = list(use.cut.items())
                if len(cuts) == 2 and cuts[0][1] == cuts[1][1]:
                    cuts = [("both sides", cuts[0][1])]
                said = "; ".join(f"{_images(lost)} on {_side(side)}" for side, lost in cuts)
                yield self.finding(
                    batch.rows[i],
                    f"the truncation cuts the tokens of {said} (the prompt is {use.expanded:,} tokens with its "
                    "images): the model gets image features without their tokens",
                )


def _images(lost: list[int]) -> str:
    numbers = [str(k + 1) for k in lost]
    return f"image {numbers[0]}" if len(numbers) == 1 else f"images {', '.join(numbers[:-1])} and {numbers[-1]}"


def _side(side: str) -> str:
    return side if side == "both sides" else f"the {side} side"
