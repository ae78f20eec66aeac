"""Result pictures: a deterministic PNG of the exact requested size.

The picture is a two-colour gradient with a few shapes, all derived from a
hash of (prompt, seed), so the same request always yields the same bytes and
different seeds visibly differ. Pillow is imported on first use only; a
1440*1440 PNG renders in about 60 ms, and recent renders are cached.
"""

from __future__ import annotations

import functools
import hashlib
import io


@functools.lru_cache(maxsize=32)
def render_png(prompt: str, seed: int, width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(f"{prompt}\0{seed}".encode()).digest()
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
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()
