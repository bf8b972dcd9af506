from preflint.findings import Severity
from preflint.rule import RowRule
from preflint.shapes.images import image_key, slots


class SidesSeeDifferentImages(RowRule):
    """Chosen and rejected are shown different images.

    ## What it does
    Compares the images each side of a vision pair sees: the images its own column gives (`chosen_images`,
    `rejected_images`), and the images that image parts name themselves in its prompt and reply (chosen and
    rejected given as whole conversations, each with its own image parts). Reports pairs where the two
    differ, in which images or in their order.

    ## Why is this bad?
    DPO compares two answers to one input. With different images the two answers respond to different
    questions: the preference says which image got the better answer, not which answer is better, and the
    model learns from the difference between the images.

    ## Example
    ```jsonl
    {"chosen": [{"role": "user", "content": [{"type": "image", "image": "cat.png"}, {"type": "text", "text": "?"}]},
                {"role": "assistant", "content": "A cat."}],
     "rejected": [{"role": "user", "content": [{"type": "image", "image": "dog.png"}, {"type": "text", "text": "?"}]},
                  {"role": "assistant", "content": "A cat."}]}
    ```

    ## Fix safety
    No automatic fix: which image the pair is about is for the data's author.
    """

    code = "V004"
    name = "sides-see-different-images"
    family = "vision"
    severity = Severity.ERROR

    def check(self, batch):
        for i in batch.usable():
            pair = batch.pairs[i]
            chosen, rejected = (
                _seen(pair, k, prompt, reply)
                for k, (prompt, reply) in enumerate(
                    ((pair.prompt, pair.chosen), (pair.prompt_of_rejected, pair.rejected))
                )
            )
            if chosen != rejected:
                yield self.finding(batch.rows[i], _difference(chosen, rejected))


def _seen(pair, side: int, prompt, reply) -> list[str]:
    """The images one side sees, in order: its own column's, then those its image parts name."""
    own = pair.side_images[side] if pair.side_images else []
    return [image_key(image) for image in (*own, *(slots(prompt) + slots(reply)).carried)]


def _difference(chosen: list[str], rejected: list[str]) -> str:
    if sorted(chosen) == sorted(rejected):
        return (
            f"the two sides see the same images in another order: chosen {_names(chosen)}, rejected {_names(rejected)}"
        )
    only_chosen = [key for key in chosen if key not in rejected]
    only_rejected = [key for key in rejected if key not in chosen]
    said = [f"only chosen sees {_names(only_chosen)}"] if only_chosen else []
    said += [f"only rejected sees {_names(only_rejected)}"] if only_rejected else []
    if not said:  # the same images, some more often on one side
        said = [f"chosen sees {_names(chosen)}, rejected {_names(rejected)}"]
    return "the two sides see different images: " + "; ".join(said)


def _names(keys: list[str]) -> str:
    shown = ", ".join(repr(key) if not key.startswith("bytes:") else f"image bytes {key[6:]}" for key in keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
