"""Whether an image a row names can be opened, as a trainer opens it: the file exists, is a file, and Pillow reads
it as an image. Paths come from untrusted data: they are only ever read (never written), only regular files are
opened (a FIFO or a device would block or never end), and Pillow's decompression-bomb limit (Image.MAX_IMAGE_PIXELS)
bounds what a header may claim; `verify()` checks the file without decoding its pixels."""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path

from preflint.errors import one_line
from preflint.shapes.images import image_bytes, image_location

REMOTE = ("http://", "https://", "ftp://", "s3://", "gs://", "hf://", "data:")  # not checked offline


def pillow_available() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def image_problem(image, directories: list[Path]) -> str | None:
    """What keeps an image from opening (None: it opens, or it is remote and not checked): a path is looked for as
    given (absolute) or in each of `directories` in turn."""
    data = image_bytes(image)
    if data is not None:
        return _decoding_problem(data)
    location = image_location(image)
    if location is None:
        return f"is {_what(image)}, not a path, URL or image bytes"
    if location.lower().startswith(REMOTE):
        return None
    path = Path(location.removeprefix("file://")).expanduser()
    candidates = [path] if path.is_absolute() else [directory / path for directory in directories]
    found = next((candidate for candidate in candidates if candidate.exists()), None)
    if found is None:
        places = [str(directory) if str(directory) != "." else "the working directory" for directory in directories]
        return f"does not exist (looked in {', '.join(places)})"
    try:
        stat = found.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not found.is_file():
        return f"is not a file ({found})"
    return _file_problem(str(found), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=1 << 16)
def _file_problem(path: str, size: int, modified: int) -> str | None:
    """A file's problem, once per version of the file (rows often share an image)."""
    if not pillow_available():
        return None
    try:
        with open(path, "rb") as handle:
            return _decoding_problem(handle)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or one_line(exc)})"


def _decoding_problem(source) -> str | None:
    if not pillow_available():
        return None
    from PIL import Image, UnidentifiedImageError

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                image.verify()
    except Image.DecompressionBombError as exc:
        return f"is refused by Pillow as a decompression bomb ({one_line(exc)})"
    except UnidentifiedImageError:
        return "is not an image (Pillow recognizes no image format in it)"
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds on a broken file; each is the finding
        return f"cannot be opened as an image ({one_line(exc)})"
    return None


def _what(value) -> str:
    if isinstance(value, dict):
        return "an object with neither bytes nor a path"
    return f"a {type(value).__name__}"
