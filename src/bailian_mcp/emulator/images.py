"""Result pictures: deterministic PNGs of the exact requested size.

A generated picture is a two-colour gradient with a few shapes, all derived from a hash of
(prompt, seed), so the same request always yields the same bytes and different seeds visibly
differ. An edited picture is the caller's input re-rendered at the output size with a visible,
hash-derived change (a tint and a frame for instruction edits; per-function effects for the
wanx2.1 image editor: outpainting around the original, upscaling, colourising, line art, …).
Inputs are kept as small previews (`preview_png`), so a pending job holds little memory.

Pillow is imported on first use only; a 1440*1440 PNG renders in about 60 ms, and recent
renders are cached.
"""

from __future__ import annotations

import functools
import hashlib
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

PREVIEW_SIDE = 512
"""Longest side of the preview kept of an input picture."""


def _digest(prompt: str, seed: int) -> bytes:
    return hashlib.sha256(f"{prompt}\0{seed}".encode()).digest()


def _generated(prompt: str, seed: int, width: int, height: int) -> Image.Image:
    from PIL import Image, ImageDraw

    digest = _digest(prompt, seed)
    top = Image.new("RGB", (width, height), (digest[0], digest[1], digest[2]))
    bottom = Image.new("RGB", (width, height), (digest[3], digest[4], digest[5]))
    mask = Image.linear_gradient("L").rotate(90 * (digest[6] % 4)).resize((width, height))
    picture = Image.composite(bottom, top, mask)
    draw = ImageDraw.Draw(picture)
    unit = min(width, height)
    for shape in range(5):
        b = digest[7 + 5 * shape : 12 + 5 * shape]
        x, y = b[0] * width // 256, b[1] * height // 256
        r = (b[2] % 64 + 32) * unit // 512
        colour = (b[3], b[4], b[0] ^ b[1])
        if shape % 2:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    return picture


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


@functools.lru_cache(maxsize=32)
def render_png(prompt: str, seed: int, width: int, height: int) -> bytes:
    return _png(_generated(prompt, seed, width, height))


def preview_png(data: bytes) -> bytes:
    """A PNG of an input picture (its first frame) no larger than `PREVIEW_SIDE` on a side."""
    picture = _open(data)
    picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return _png(picture)


def _tinted(picture: Image.Image, colour: tuple[int, int, int], alpha: float) -> Image.Image:
    from PIL import Image

    return Image.blend(picture, Image.new("RGB", picture.size, colour), alpha)


def _framed(picture: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    from PIL import ImageDraw

    width, height = picture.size
    draw = ImageDraw.Draw(picture)
    border = max(4, min(width, height) // 40)
    draw.rectangle((0, 0, width - 1, height - 1), outline=colour, width=border)
    draw.line((0, height - 1, width - 1, 0), fill=colour, width=max(2, border // 2))
    return picture


@functools.lru_cache(maxsize=16)
def render_edit_png(previews: tuple[bytes, ...], prompt: str, seed: int, width: int, height: int) -> bytes:
    """An instruction edit: the last input at the output size, tinted and framed, the other
    inputs as thumbnails in the top-left corner."""
    digest = _digest(prompt, seed)
    colour = (digest[0], digest[1], digest[2])
    picture = _tinted(_open(previews[-1]).resize((width, height)), colour, 0.35)
    margin = max(4, min(width, height) // 40)
    x = margin
    for other in previews[:-1]:
        thumb = _open(other)
        thumb.thumbnail((max(1, width // 5), max(1, height // 5)))
        picture.paste(thumb, (x, margin))
        x += thumb.width + margin
    return _png(_framed(picture, (255 - colour[0], 255 - colour[1], 255 - colour[2])))


@functools.lru_cache(maxsize=16)
def render_function_png(
    function: str,
    base: bytes,
    mask: bytes | None,
    prompt: str,
    seed: int,
    size: tuple[int, int],
    placement: tuple[int, int, int, int],
    strength: float,
) -> bytes:
    """A wanx2.1-imageedit result: ``base`` re-rendered at ``size`` with the function's effect.
    ``placement`` is the (left, top, right, bottom) box of the original inside the output
    (the whole output but for outpainting, where a generated backdrop fills the rest)."""
    from PIL import Image, ImageFilter, ImageOps

    digest = _digest(f"{function}\0{prompt}", seed)
    colour = (digest[0], digest[1], digest[2])
    width, height = size
    left, top, right, bottom = placement
    original = _open(base).resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    if function in ("colorization", "doodle"):
        grey = original.convert("L")
        if function == "doodle":
            grey = ImageOps.invert(grey.filter(ImageFilter.FIND_EDGES))
        edited = ImageOps.colorize(grey, black=(colour[0] // 4, colour[1] // 4, colour[2] // 4), white=colour)
    elif function == "remove_watermark":
        edited = original.filter(ImageFilter.GaussianBlur(2))
    elif function == "super_resolution":
        edited = original.filter(ImageFilter.SHARPEN)
    elif function in ("stylization_all", "stylization_local", "control_cartoon_feature"):
        edited = _tinted(ImageOps.posterize(original, 3), colour, 0.15 + 0.4 * strength)
    elif function == "description_edit_with_mask" and mask is not None:
        area = _open(mask).convert("L").resize(original.size)
        edited = Image.composite(_tinted(original, colour, 0.6), original, area)
    elif function == "expand":
        edited = original
    else:
        edited = _tinted(original, colour, 0.15 + 0.4 * strength)
    if (left, top, right, bottom) == (0, 0, width, height):
        return _png(edited)
    canvas = _generated(prompt, seed, width, height)
    canvas.paste(edited, (left, top))
    return _png(canvas)


def render_yuv420(prompt: str, seed: int, width: int, height: int) -> tuple[bytes, bytes, bytes]:
    """The generated picture as video samples: limited-range (BT.601) Y, then Cb and Cr at half
    resolution, each plane row by row."""
    from PIL import Image

    luma_range = [16 + value * 219 // 255 for value in range(256)]
    chroma_range = [16 + value * 224 // 255 for value in range(256)]
    y, cb, cr = _generated(prompt, seed, width, height).convert("YCbCr").split()
    half = (width // 2, height // 2)
    return (
        y.point(luma_range).tobytes(),
        cb.resize(half, Image.Resampling.BOX).point(chroma_range).tobytes(),
        cr.resize(half, Image.Resampling.BOX).point(chroma_range).tobytes(),
    )
