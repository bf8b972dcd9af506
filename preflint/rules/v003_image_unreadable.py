from pathlib import Path

from preflint.findings import Severity
from preflint.io.images import image_problem, pillow_available
from preflint.io.locations import input_directory
from preflint.rule import UNTRAINABLE, RowRule
from preflint.shapes.images import describe_image, image_key, slots

SHOWN = 3  # the problems a finding names; it counts the rest


class ImageUnreadable(RowRule):
    """An image the row names does not exist or cannot be opened.

    ## What it does
    Checks every image of a vision pair, in its `images` column (each side's own too) and in its image content
    parts: a path is looked for in `media-dir` if set (LLaMA-Factory's `media_dir`), then beside the data file (or
    in the data directory), then in the working directory, as given if absolute; the file must be an image Pillow
    opens (`verify()`, without decoding its pixels, within Pillow's decompression-bomb limit). Image bytes (as
    `datasets` stores them) are checked the same way. URLs are not fetched. Files are only ever read.

    ## Why is this bad?
    The trainer opens each image when it builds the batch: a missing or broken file stops the run there, hours
    in, or (LLaMA-Factory, a path not in media_dir) is looked for elsewhere and not found.

    ## Example
    ```jsonl
    {"images": ["mllm_demo_data/1.jpg"], "prompt": "<image>Who is this?", "chosen": "...", "rejected": "..."}
    ```
    where `mllm_demo_data/1.jpg` is not beside the data file.

    ## Fix safety
    Safe: the row is dropped (the trainer stops when it loads the image; the rejects keep the row); put the
    image where the data says, or correct the path, to have it trained.
    """

    code = "V003"
    name = "image-unreadable"
    family = "vision"
    severity = Severity.ERROR
    fix = UNTRAINABLE
    options = {"media-dir": ""}

    def cannot_check(self, tokenizer):
        return None if pillow_available() else "Pillow is not installed: images are checked to exist, not opened"

    def check(self, batch):
        directories = [Path(self.settings["media-dir"])] if self.settings["media-dir"] else []
        if (own := input_directory(batch.source)) is not None:
            directories.append(own)
        directories.append(Path("."))
        directories = list({directory.resolve(): directory for directory in reversed(directories)}.values())[::-1]
        for i in batch.usable():
            pair = batch.pairs[i]
            named = _images(pair)
            if not named:
                continue
            problems = [
                f"{describe_image(image)} {problem}"
                for image in named
                if (problem := image_problem(image, directories)) is not None
            ]
            if problems:
                more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
                yield self.finding(batch.rows[i], "; ".join(problems[:SHOWN]) + more)


def _images(pair) -> list:
    """Each image the pair names once, in order: its images column, each side's own, and image parts' own."""
    named = [*(pair.images or ()), *(image for side in pair.side_images or () for image in side)]
    for content in (pair.prompt, pair.chosen, pair.rejected, pair.rejected_prompt):
        if content is not None:
            named += slots(content).carried
    return list({image_key(image): image for image in reversed(named)}.values())[::-1]
