"""Pictures, recordings and MP3 frames for the tests, made in memory or written to disk, and MP4 facts read back.

The one place test images and audio come from: one colour per picture (`COLOR` unless a test needs another), any
format Pillow writes, and WAV recordings of an exact number of frames whose samples vary (so that a test comparing
bytes notices chunks out of order).
"""

from __future__ import annotations

import base64
import io
import random
import struct
import wave
from pathlib import Path

from PIL import Image

Color = tuple[int, int, int]

COLOR: Color = (200, 40, 40)
WHITE: Color = (255, 255, 255)


def png_bytes(
    width: int = 400, height: int = 400, color: Color = COLOR, *, kind: str = "PNG", noise: bool = False
) -> bytes:
    """An encoded picture of one colour, `width`×`height` (PNG, or `kind`: JPEG, WEBP, GIF, BMP, TIFF, ICO...).

    With `noise`, random (seeded) pixels instead: a picture that does not compress."""
    if noise:
        image = Image.frombytes("RGB", (width, height), random.Random(7).randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def write_png(path: Path, size: tuple[int, int] = (600, 600), color: Color = COLOR, *, kind: str = "PNG") -> Path:
    """`png_bytes` of `size` saved at `path` (its folder made if need be)."""
    return _write(path, png_bytes(*size, color, kind=kind))


def wav_bytes(seconds: float = 0.5, rate: int = 16000, *, channels: int = 1, sample_width: int = 2) -> bytes:
    """A WAV recording of `seconds` (rounded to whole frames) at `rate` Hz, 16-bit mono unless told otherwise."""
    size = round(seconds * rate) * channels * sample_width
    pattern = bytes(range(256))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(sample_width)
        out.setframerate(rate)
        out.writeframes((pattern * (size // len(pattern) + 1))[:size])
    return buffer.getvalue()


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000, *, channels: int = 1, sample_width: int = 2) -> Path:
    """`wav_bytes` saved at `path` (its folder made if need be)."""
    return _write(path, wav_bytes(seconds, rate, channels=channels, sample_width=sample_width))


def mp3_bytes(frames: int = 40) -> bytes:
    """Constant-bitrate MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes each)."""
    return (b"\xff\xfb\x90\x64" + b"\x00" * 413) * frames


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------- MP4, read back

MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf"}


def mp4_boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, bytes]:
    """Top-level boxes of ``data`` (and, flattened, the boxes inside the container boxes)."""
    found: dict[bytes, bytes] = {}
    position, end = start, len(data) if end is None else end
    while position < end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        assert size >= 8 and position + size <= end, (kind, size)
        found[kind] = data[position + 8 : position + size]
        if kind in MP4_CONTAINERS:
            found.update(mp4_boxes(data, position + 8, position + size))
        position += size
    assert position == end
    return found


def mp4_facts(data: bytes) -> dict[str, object]:
    """Duration (s), size and sample count as the ``mvhd``, ``tkhd`` and ``stsz`` boxes state them."""
    found = mp4_boxes(data)
    assert data[4:8] == b"ftyp" and set(found) >= {b"moov", b"mdat"}
    scale, duration = struct.unpack(">II", found[b"mvhd"][12:20])
    width, height = struct.unpack(">II", found[b"tkhd"][76:84])
    (frames,) = struct.unpack(">I", found[b"stsz"][8:12])
    return {"seconds": duration / scale, "size": (width >> 16, height >> 16), "frames": frames}
