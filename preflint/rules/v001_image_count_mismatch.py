from preflint.findings import Severity
from preflint.rule import UNTRAINABLE, RowRule
from preflint.shapes.images import slots
from preflint.text import quantity


class ImageCountMismatch(RowRule):
    """The text asks for a different number of images than the row has.

    ## What it does
    For each pair with an `images` column (or image content parts), counts the image placeholders each side's
    prompt and reply hold, `{"type": "image"}` parts (TRL's vision form) and image tokens written in the text
    (`<image>`, as LLaMA-Factory's multimodal data writes them; `<|image_pad|>`, `<|image|>`,
    `<start_of_image>`), and reports sides whose count differs from the row's images (each side's own, where the
    data gives them apart). A part that names its own image (`{"type": "image", "image": "a.png"}`) brings it
    along. TRL places the images itself before the first user message of a conversation given as plain text
    (`--trainer trl`); any other shape needs its placeholders.

    ## Why is this bad?
    The processor expands each placeholder into the image's tokens and the model fills them with the image
    features: a mismatch stops training on the row (LLaMA-Factory: "The number of images does not match the
    number of <image> tokens"; TRL: "Number of images provided (2) does not match number of image
    placeholders (1)"; the model: "Image features and image tokens do not match"). A text prompt with no
    placeholder gives 0 image tokens for N images.

    ## Example
    ```jsonl
    {"images": ["cat.png", "dog.png"], "prompt": "<image>Which one?", "chosen": "A cat.", "rejected": "A dog."}
    ```

    ## Fix safety
    Safe: the row is dropped (the trainer stops on it as it is; the rejects keep it); whether an image or a
    placeholder is missing, and where it goes, is for the data's author to correct before adding it back.
    """

    code = "V001"
    name = "image-count-mismatch"
    family = "vision"
    severity = Severity.ERROR
    fix = UNTRAINABLE
    needs_trainer = True  # whether the trainer places the images itself

    def check(self, batch):
        for i in batch.usable():
            pair, row = batch.pairs[i], batch.trainer[i] if batch.trainer else None
            use = row.images if row is not None else None
            if use is None or use.placed:
                continue
            wrong = []
            for k, (side, prompt, reply) in enumerate(
                (("chosen", pair.prompt, pair.chosen), ("rejected", pair.prompt_of_rejected, pair.rejected))
            ):
                images = pair.side_images[k] if pair.side_images else pair.images or []
                asked = slots(prompt) + slots(reply)
                if asked.placeholders != len(images):
                    wrong.append((side, asked.placeholders, len(images)))
            if not wrong:
                continue
            if len(wrong) == 2 and wrong[0][1:] == wrong[1][1:]:
                wrong = [("prompt", *wrong[0][1:])]
            said = "; ".join(_mismatch(pair, *found) for found in wrong)
            yield self.finding(batch.rows[i], f"{said}: the trainer stops on this row (images and tokens do not match)")


def _mismatch(pair, where: str, placeholders: int, images: int) -> str:
    asked = quantity(placeholders, "image placeholder") if placeholders else "no image placeholder"
    where = "the prompt" if where == "prompt" else f"the {where} side's prompt and reply"
    given = quantity(images, "image") if images else "no image"
    if not placeholders and not pair.is_chat:
        return f"{given} but {where} is text with no image placeholder (<image>), so it gets no image tokens"
    return f"{given} but {asked} in {where}"
