"""What a video task shows, and its MP4: the output geometry and the still picture.

Geometry: models that take ``size`` (or ``resolution`` + ``ratio``) get exactly that size;
models that follow an input picture or clip (image-to-video, keyframes, a wan2.7 first frame)
scale its aspect ratio to the pixel count of the resolution tier's 16:9 size and round each
side down to a multiple of 16 (`fit_tier`: 750*1000 at 720P gives 816*1104, as in the
image-to-video FAQ).

The picture is a `Scene`: generated from the prompt and seed (text- and reference-to-video,
a wan2.7 continuation), or an input frame at the output size (image-to-video, keyframes), with
small previews of the other inputs (reference pictures, the last frame) in a corner. `render`
turns it into an MP4 (`mp4.write_mp4`) of the output size (sides that are not whole
macroblocks are cropped from the next multiple of 16), ``seconds`` long at 30 fps. A still
picture costs nothing per frame: a 15-second 1920*1080 clip is written in about 0.2 s, at
about 3 MB. Pillow is imported on first use; recent videos are cached.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .images import render_png
from .mp4 import pcm_macroblocks, write_mp4
from .video_models import TIER_SIZES

if TYPE_CHECKING:
    from PIL import Image

FPS = 30


def fit_tier(width: int, height: int, tier: str) -> tuple[int, int]:
    """The output size for an input of ``width*height`` at ``tier``: its aspect at the tier's area,
    each side rounded down to a multiple of 16."""
    tier_width, tier_height = TIER_SIZES[tier]
    scale = math.sqrt(tier_width * tier_height / (width * height))
    return max(16, int(width * scale) // 16 * 16), max(16, int(height * scale) // 16 * 16)


@dataclass(frozen=True)
class Scene:
    """A still picture, described by hashable parts (so renders are cached)."""

    prompt: str
    seed: int
    base: bytes | None = None
    """An input frame (a preview PNG) shown at the output size; else a picture generated from the prompt."""
    insets: tuple[bytes, ...] = ()
    """Other inputs as small pictures in the top-left corner: preview PNGs, or digests of video clips."""


def _open(data: bytes) -> Image.Image:
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def _inset(part: bytes) -> Image.Image:
    """A preview PNG, or (for a video clip) a tile coloured from its digest."""
    from PIL import Image

    if part.startswith(b"\x89PNG"):
        return _open(part)
    digest = hashlib.sha256(part).digest()
    return Image.new("RGB", (160, 90), (digest[0], digest[1], digest[2]))


def _picture(scene: Scene, width: int, height: int) -> Image.Image:
    from PIL import Image

    if scene.base is not None:
        picture = _open(scene.base).resize((width, height), Image.Resampling.BILINEAR)
    else:
        picture = _open(render_png(scene.prompt, scene.seed, width, height))
    margin = max(4, min(width, height) // 40)
    x = margin
    for part in scene.insets:
        thumb = _inset(part)
        thumb.thumbnail((max(1, width // 6), max(1, height // 6)))
        if x + thumb.width > width:
            break
        picture.paste(thumb, (x, margin))
        x += thumb.width + margin
    return picture


def _yuv420(picture: Image.Image) -> tuple[bytes, bytes, bytes]:
    """Limited-range (BT.601) Y, then Cb and Cr at half resolution, each plane row by row."""
    from PIL import Image

    luma_range = [16 + value * 219 // 255 for value in range(256)]
    chroma_range = [16 + value * 224 // 255 for value in range(256)]
    y, cb, cr = picture.convert("YCbCr").split()
    half = (picture.width // 2, picture.height // 2)
    return (
        y.point(luma_range).tobytes(),
        cb.resize(half, Image.Resampling.BOX).point(chroma_range).tobytes(),
        cr.resize(half, Image.Resampling.BOX).point(chroma_range).tobytes(),
    )


@functools.lru_cache(maxsize=4)
def render(scene: Scene, width: int, height: int, seconds: int) -> bytes:
    """The task's MP4: ``scene`` at ``width*height`` (even sides), ``seconds`` at `FPS`."""
    from PIL import Image

    coded_width, coded_height = -(-width // 16) * 16, -(-height // 16) * 16
    picture = _picture(scene, width, height)
    if (coded_width, coded_height) != (width, height):  # pad by repeating the last rows and columns
        padded = picture.resize((coded_width, coded_height), Image.Resampling.NEAREST)
        padded.paste(picture, (0, 0))
        picture = padded
    planes = _yuv420(picture)
    blocks = pcm_macroblocks(*planes, coded_width, coded_height)
    return write_mp4(coded_width, coded_height, blocks, seconds, FPS, display=(width, height))
