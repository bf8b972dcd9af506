"""The images of a vision pair, and where its text asks for them.

A row's images come from an `images` (or `image`) column, as TRL's vision DPO and LLaMA-Factory's multimodal pairs
give them: paths, URLs, or `{"bytes": ..., "path": ...}` as `datasets`' Image feature stores them. The text asks
for them with placeholders: `{"type": "image"}` content parts (TRL, transformers' processors), kept by the
reader under a message's `media`, or placeholder tokens in the text (`<image>`, LLaMA-Factory's and LLaVA's).
A part that names its own image (`{"type": "image", "image": "a.png"}`, OpenAI's `image_url`) carries it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

# Image tokens as data writes them in text: LLaMA-Factory's IMAGE_PLACEHOLDER and LLaVA's, Qwen2-VL's pad (inside
# <|vision_start|>...<|vision_end|>), Llama 3.2 Vision's, Gemma 3's.
TEXT_PLACEHOLDERS = ("<image>", "<|image_pad|>", "<|image|>", "<start_of_image>")
IMAGE_PARTS = ("image", "image_url", "input_image")
PAYLOAD_KEYS = ("image", "url", "path", "image_url", "base64", "value")  # where a part names its own image


@dataclass(frozen=True)
class Slots:
    """Where one stretch of content (a prompt, a reply) asks for images."""

    parts: int = 0  # image parts that take the next image of the row's images column
    carried: tuple = ()  # the images that image parts name themselves
    text: int = 0  # placeholder tokens written in the text

    def __add__(self, other: Slots) -> Slots:
        return Slots(self.parts + other.parts, self.carried + other.carried, self.text + other.text)

    @property
    def placeholders(self) -> int:
        """How many of the row's images this content asks for."""
        return self.parts + self.text


def slots(content) -> Slots:
    """The image slots of text or of a message list (as the reader keeps them)."""
    if isinstance(content, str):
        return Slots(text=placeholder_count(content))
    found = Slots()
    for message in content:
        parts = [part for part in message.get("media", ()) if part.get("type") in IMAGE_PARTS]
        carried = tuple(payload for part in parts if (payload := carried_image(part)) is not None)
        found += Slots(len(parts) - len(carried), carried, placeholder_count(message["content"]))
    return found


def placeholder_count(text: str) -> int:
    return sum(text.count(token) for token in TEXT_PLACEHOLDERS)


def placeholder_offsets(text: str) -> list[tuple[int, str]]:
    """Where each placeholder token starts in `text`, in order, and which it is."""
    found = []
    for token in TEXT_PLACEHOLDERS:
        start = text.find(token)
        while start >= 0:
            found.append((start, token))
            start = text.find(token, start + len(token))
    return sorted(found)


def carried_image(part: Mapping):
    """The image a part names itself (a path, a URL, bytes), or None where it takes one from the images column."""
    for key in PAYLOAD_KEYS:
        value = part.get(key)
        if isinstance(value, Mapping) and key == "image_url":  # OpenAI: {"image_url": {"url": ...}}
            value = value.get("url")
        if value:
            return value
    return None


def as_images(value) -> list | None:
    """A row's images column as a list: one image (text, or a mapping) is a list of one; null is none."""
    if value is None:
        return None
    if isinstance(value, str | Mapping | bytes):
        return [value]
    return list(value) if isinstance(value, list | tuple) else None


def image_location(image) -> str | None:
    """Where an image is read from, where it names a place: a path or a URL (None for bytes alone)."""
    if isinstance(image, str):
        return image
    if isinstance(image, Mapping):
        if image.get("bytes"):
            return None
        path = image.get("path")
        return path if isinstance(path, str) and path else None
    return None


def image_bytes(image) -> bytes | None:
    """The encoded image a value holds itself (`datasets`' {"bytes": ...}), if it does."""
    if isinstance(image, bytes | bytearray):
        return bytes(image)
    data = image.get("bytes") if isinstance(image, Mapping) else None
    return bytes(data) if isinstance(data, bytes | bytearray) else None


def image_key(image) -> str:
    """One image's identity: where it is read from, or a digest of its bytes."""
    data = image_bytes(image)
    if data is not None:
        return "bytes:" + hashlib.blake2b(data, digest_size=8).hexdigest()
    return str(image_location(image) if image_location(image) is not None else image)


def images_suffix(pair) -> str:
    """What sets a vision pair's prompt apart from the same text with other images, for the keys that compare
    prompts (duplicates, contradictions): its images' keys; "" for a pair without images."""
    seen = [*(pair.images or ()), *(image for side in pair.side_images or () for image in side)]
    return "".join("\x1f" + image_key(image) for image in seen)


def describe_image(image) -> str:
    """An image in a finding: its path or URL, else what it is."""
    location = image_location(image)
    if location is not None:
        return repr(location if len(location) <= 80 else location[:77] + "...")
    data = image_bytes(image)
    return f"an image of {len(data):,} bytes" if data is not None else f"a {type(image).__name__}"
