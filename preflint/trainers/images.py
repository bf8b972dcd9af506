"""What a trainer does with a vision row's images: how many tokens each image becomes, whether the trainer places
the images in the prompt itself, and which images its truncation cuts.

An image placeholder becomes as many tokens as the model's processor says: a fixed number for most processors, one
that grows with the image's size for others (Qwen2-VL, LLaVA-NeXT, Idefics3's tiles). preflint has no processor
offline: `--image-tokens N` says it; else the tokenizer's name picks a known processor below; else each image is
taken as one token (the least it can be). Where the number is a least or a guess, the summary says so, and a cut
found with it is found with any larger number too (a longer prompt only loses more).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from preflint.errors import TemplateError
from preflint.shapes.images import IMAGE_PARTS, placeholder_offsets, slots

if TYPE_CHECKING:
    from preflint.pipeline.batch import PairBatch
    from preflint.tokenizer.wrapper import Tokenizer
    from preflint.trainers import Profile, TrainerRow

# (the tokenizer's name matches, tokens per image, whether that is only the least, the processor's fact)
KNOWN_PROCESSORS = (
    (r"paligemma.*-448", 1024, False, "PaliGemma at 448 px: 32 × 32 patches"),
    (r"paligemma.*-896", 4096, False, "PaliGemma at 896 px: 64 × 64 patches"),
    (r"paligemma", 256, False, "PaliGemma at 224 px: 16 × 16 patches"),
    (r"llava-1\.5|llava-v1\.5|bakllava", 576, False, "LLaVA-1.5: a 336 px image in 14 px patches, 24 × 24"),
    (r"llava-v1\.6|llava-next|llava-onevision", 576, True, "LLaVA-NeXT: the base image's 576, more for each tile"),
    (r"gemma-?3", 256, False, "Gemma 3: 256 soft tokens per image"),
    (r"qwen2(\.5)?-vl|qwen2_5_vl", 4, True, "Qwen2-VL: one token per 28 × 28 pixels, 4 for the smallest image"),
    (r"idefics2", 64, True, "Idefics2: 64 per image, more with image splitting"),
    (r"idefics3|smolvlm", 64, True, "Idefics3 / SmolVLM: 64 or more per tile, several tiles for a large image"),
    (
        r"llama-3\.2-.*vision|mllama",
        1,
        False,
        "Llama 3.2 Vision: one <|image|> token; cross-attention reads the image",
    ),
)
SENTINEL = "\ue000"  # marks an image part's place in a rendered prompt (a private-use character)


@dataclass(frozen=True)
class ImageTokens:
    """How many tokens each image is taken to become, and what that rests on (said in the summary)."""

    count: int
    basis: str

    @classmethod
    def resolve(cls, given: int | None, tokenizer_name: str) -> ImageTokens:
        if given is not None:
            return cls(given, f"{given} tokens (--image-tokens)")
        for pattern, count, least, fact in KNOWN_PROCESSORS:
            if re.search(pattern, tokenizer_name, re.IGNORECASE):
                return cls(count, f"{'at least ' if least else ''}{count} tokens ({fact}; --image-tokens N sets it)")
        return cls(
            1,
            f"1 token, the least (no known processor for tokenizer {tokenizer_name!r}): set --image-tokens N (576 "
            "for LLaVA-1.5, 256 for PaliGemma 224 px and Gemma 3)",
        )


@dataclass
class ImageUse:
    """One vision row as the trainer uses its images."""

    placed: bool = False  # the trainer puts the row's images before the first user message itself (TRL)
    refused: str | None = None  # the trainer refuses vision data with these options, and says so
    cut: dict[str, list[int]] = field(default_factory=dict)  # each side's images (0-based) its truncation cuts
    expanded: int = 0  # the prompt's length with each image as its tokens


def is_vision(pair) -> bool:
    """A row with an images column, or with image parts in its prompt's messages. An `<image>` in the text of a
    row without images is text (a question about HTML, say), not a placeholder."""
    if pair.images is not None:
        return True
    found = slots(pair.prompt)
    return bool(found.parts or found.carried)


def image_use(profile: Profile, batch: PairBatch, i: int, row: TrainerRow, tokenizer: Tokenizer) -> ImageUse:
    pair = batch.pairs[i]
    prompt_slots = slots(pair.prompt)
    use = ImageUse(refused=profile.refuses_images())
    use.placed = bool(
        profile.places_images and pair.is_chat and not pair.typed_content and pair.images and not prompt_slots.text
    )
    if row.failure or use.refused:
        return use
    try:
        anchors = _anchors(pair, batch.prompt[i], tokenizer, len(pair.images) if use.placed else 0)
    except TemplateError:
        return use
    if not anchors:
        return use
    count = profile.image_tokens.count
    before = tokenizer.encode_many([text for text, _ in anchors] + [own for _, own in anchors if own])
    own_lengths = iter(map(len, before[len(anchors) :]))
    starts, grown = [], 0
    for (_, own), ids in zip(anchors, before):
        starts.append(len(ids) + grown)
        grown += count - (next(own_lengths) if own else 0)
    prompt_length = row.chosen.completion_start
    use.expanded = prompt_length + grown
    replies = [len(side.joint_ids) - side.completion_start for _, side in row.sides()]
    kept = profile.kept_positions(use.expanded, *replies)
    if kept is None:
        return use
    for name, side in kept.sides():
        prompt_kept = side.input_ids[: side.prompt_kept]
        low, high = (prompt_kept[0], prompt_kept[-1] + 1) if prompt_kept else (0, 0)
        if lost := [k for k, start in enumerate(starts) if start < low or start + count > high]:
            use.cut[name] = lost
    return use


def _anchors(pair, rendered: str, tokenizer: Tokenizer, placed: int) -> list[tuple[str, str]]:
    """Each image's place in the rendered prompt, in order: the prompt's text before it, and the placeholder's own
    text where the text holds one ("" for an image part, or an image the trainer places)."""
    if pair.is_chat:
        messages = [_marked(message) for message in pair.prompt]
        if placed:
            first = next(k for k, message in enumerate(messages) if message["role"] == "user")
            messages[first] = {**messages[first], "content": SENTINEL * placed + messages[first]["content"]}
        rendered = tokenizer.render_chat(messages, add_generation_prompt=True, **pair.template_args)
    marks = sorted(
        [(at, SENTINEL) for at, char in enumerate(rendered) if char == SENTINEL] + placeholder_offsets(rendered)
    )
    return [(rendered[:at].replace(SENTINEL, ""), "" if token == SENTINEL else token) for at, token in marks]


def _marked(message: dict) -> dict:
    """A message with a sentinel where each of its image parts stands."""
    spots = [
        at for part, at in zip(message.get("media", ()), message.get("media_at", ())) if part.get("type") in IMAGE_PARTS
    ]
    if not spots:
        return message
    content = message["content"]
    for at in sorted(spots, reverse=True):
        content = content[:at] + SENTINEL + content[at:]
    return {**message, "content": content}
