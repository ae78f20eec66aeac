"""Input pictures: read one reference (URL, ``data:`` URI, ``oss://`` key) and check it.

Every refusal is a 400 ``InvalidParameter`` naming the field: a reference that cannot be
used or downloaded (``url error, please check url！``, see `sources`), a file over the
size limit (``The size of image exceeds the limit of 10MB.``), a file Pillow cannot read
or in a format outside the service's list (``The format of image is not supported, …``),
or a width or height outside the service's range (``The resolution of image is invalid:
width and height must each be in [384, 3072] pixels, got 200*300.``). Pillow runs on a
worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import anyio.to_thread

from .envelope import invalid_parameter
from .images import preview_png
from .sources import Sources, Unreadable

MAX_BYTES = 10 * 1024 * 1024
_FORMAT_NAMES = {"JPEG": "JPG, JPEG", "PNG": "PNG", "BMP": "BMP", "TIFF": "TIFF", "WEBP": "WEBP", "GIF": "GIF"}


@dataclass(frozen=True)
class ImageRules:
    formats: tuple[str, ...]
    """Pillow format names the service takes (``JPEG``, ``PNG``, …)."""
    side_range: tuple[int, int]
    max_bytes: int = MAX_BYTES


@dataclass(frozen=True)
class InputImage:
    width: int
    height: int
    format: str
    preview: bytes
    """A small PNG of the picture (see `images.preview_png`)."""


def _inspect(data: bytes, rules: ImageRules) -> tuple[str, int, int, bytes] | None:
    """Format, size and (when the picture is acceptable) a preview; ``None`` if unreadable."""
    from PIL import Image, UnidentifiedImageError

    low, high = rules.side_range
    try:
        with Image.open(io.BytesIO(data)) as picture:
            kind, (width, height) = picture.format or "", picture.size
        acceptable = kind in rules.formats and low <= width <= high and low <= height <= high
        return kind, width, height, preview_png(data) if acceptable else b""
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


async def load_image(sources: Sources, ref: object, rules: ImageRules, field: str) -> InputImage:
    """The picture ``ref`` names, checked against ``rules``; 400 ``InvalidParameter`` if unusable."""
    checked = sources.check(ref)
    try:
        data = await sources.read(checked, rules.max_bytes)
    except Unreadable as error:
        if error.too_large:
            raise invalid_parameter(
                f"The size of {field} exceeds the limit of {rules.max_bytes // (1024 * 1024)}MB."
            ) from None
        raise invalid_parameter(error.message) from None
    inspected = await anyio.to_thread.run_sync(_inspect, data, rules)
    if inspected is None or inspected[0] not in rules.formats:
        names = ", ".join(_FORMAT_NAMES[name] for name in rules.formats)
        raise invalid_parameter(f"The format of {field} is not supported, supported formats: {names}.")
    kind, width, height, preview = inspected
    low, high = rules.side_range
    if not (low <= width <= high and low <= height <= high):
        raise invalid_parameter(
            f"The resolution of {field} is invalid: width and height must each be in [{low}, {high}] pixels, "
            f"got {width}*{height}."
        )
    return InputImage(width, height, kind, preview)
