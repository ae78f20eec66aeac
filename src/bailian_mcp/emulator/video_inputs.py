"""Input files of the video models: pictures, audio and video clips, read and checked.

Pictures go through `image_inputs.load_image` (format, sides, size; a small preview is kept)
and, where the model says so, an aspect-ratio check (1:8 to 8:1). Audio (``audio_url``,
``driving_audio``, ``reference_voice``) must be WAV or MP3 (`audio.probe`) of the documented
length and size; it is given by URL or ``oss://`` key only (no ``data:`` URI). Video clips
(``first_clip``, ``reference_video``, videos in ``reference_urls``) must be MP4 or MOV: the
ISO-BMFF box tree is walked for the movie duration (``mvhd``) and the size of the video
track (``tkhd`` of the ``vide`` track), which are checked against the model's rules.

Every refusal is a `ServiceError` 400 ``InvalidParameter`` naming the field (``url error,
please check url！`` for a reference that cannot be used or fetched); the wan2.7 planners
turn them into failed tasks.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .audio import probe
from .envelope import ServiceError, invalid_parameter
from .image_inputs import ImageRules, load_image
from .sources import URL_ERROR, Sources, Unreadable
from .video_models import AudioRules, VideoRules


@dataclass(frozen=True)
class Picture:
    """A checked input picture."""

    width: int
    height: int
    preview: bytes
    """A small PNG (see `images.preview_png`)."""


@dataclass(frozen=True)
class Sound:
    """A checked audio input."""

    format: str
    seconds: float


@dataclass(frozen=True)
class Clip:
    """A checked video input: its container, visible size and length."""

    format: str
    width: int
    height: int
    seconds: float
    has_sound: bool
    digest: bytes
    """A hash of the file, standing in for its pictures."""


@dataclass(frozen=True)
class VideoInfo:
    format: str
    """``mp4`` or ``mov``."""
    width: int
    height: int
    seconds: float
    has_sound: bool


def _mb(limit: int) -> int:
    return limit // (1024 * 1024)


def _number(value: float) -> str:
    return f"{value:g}"


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each ISO-BMFF box in ``data[start:end]``."""
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1:
            if position + 16 > end:
                return
            size = struct.unpack(">Q", data[position + 8 : position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        yield kind, position + header, position + size
        position += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((first, last) for found, first, last in _boxes(data, start, end) if found == kind), None)


def _track(data: bytes, start: int, end: int) -> tuple[bytes, int, int] | None:
    """(handler type, width, height) of a ``trak`` box."""
    tkhd, mdia = _child(data, start, end, b"tkhd"), _child(data, start, end, b"mdia")
    hdlr = None if mdia is None else _child(data, *mdia, b"hdlr")
    if tkhd is None or hdlr is None or hdlr[1] - hdlr[0] < 12:
        return None
    body = data[tkhd[0] : tkhd[1]]
    offset = 88 if body[:1] == b"\x01" else 76  # version 1 has 64-bit times and duration
    if len(body) < offset + 8:
        return None
    width, height = struct.unpack(">II", body[offset : offset + 8])
    return data[hdlr[0] + 8 : hdlr[0] + 12], width >> 16, height >> 16


_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
"""Boxes an MP4 (``ftyp``) or a QuickTime movie (which may start with any of these) opens with."""


def probe_video(data: bytes) -> VideoInfo | None:
    """Container, length and picture size of an MP4 or MOV file; ``None`` when it is neither."""
    top = list(_boxes(data, 0, len(data)))
    kinds = [kind for kind, _, _ in top]
    if not kinds or kinds[0] not in _FIRST_BOXES or b"moov" not in kinds:
        return None
    container = "mov"
    if kinds[0] == b"ftyp":
        first, _ = next((first, last) for kind, first, last in top if kind == b"ftyp")
        container = "mov" if data[first : first + 4] == b"qt  " else "mp4"
    _, moov_start, moov_end = next(box for box in top if box[0] == b"moov")
    mvhd = _child(data, moov_start, moov_end, b"mvhd")
    if mvhd is None:
        return None
    body = data[mvhd[0] : mvhd[1]]
    if body[:1] == b"\x01" and len(body) >= 32:
        scale, duration = struct.unpack(">IQ", body[20:32])
    elif len(body) >= 20:
        scale, duration = struct.unpack(">II", body[12:20])
    else:
        return None
    if scale == 0:
        return None
    tracks = [_track(data, first, last) for kind, first, last in _boxes(data, moov_start, moov_end) if kind == b"trak"]
    video = next((track for track in tracks if track is not None and track[0] == b"vide"), None)
    if video is None:
        return None
    sound = any(track is not None and track[0] == b"soun" for track in tracks)
    return VideoInfo(container, video[1], video[2], duration / scale, sound)


async def _read(sources: Sources, ref: object, max_bytes: int, field: str, *, allow_data: bool) -> tuple[str, bytes]:
    checked = sources.check(ref, allow_data=allow_data)
    try:
        return checked, await sources.read(checked, max_bytes)
    except Unreadable as error:
        if error.too_large:
            raise invalid_parameter(f"The size of {field} exceeds the limit of {_mb(max_bytes)}MB.") from None
        raise invalid_parameter(error.message) from None


def _check_aspect(field: str, width: int, height: int, max_aspect: float | None) -> None:
    if max_aspect is not None and max(width, height) > max_aspect * min(width, height):
        raise invalid_parameter(
            f"The aspect ratio of {field} is invalid: it must be between 1:{max_aspect:g} and {max_aspect:g}:1, "
            f"got {width}*{height}."
        )


async def load_picture(
    sources: Sources, ref: object, rules: ImageRules, field: str, max_aspect: float | None = None
) -> Picture:
    """A picture input, checked as `image_inputs` does (and its aspect ratio when ``max_aspect``)."""
    image = await load_image(sources, ref, rules, field)
    _check_aspect(field, image.width, image.height, max_aspect)
    return Picture(image.width, image.height, image.preview)


async def load_sound(sources: Sources, ref: object, rules: AudioRules, field: str) -> Sound:
    """An audio input: WAV or MP3 of the allowed length and size."""
    _, data = await _read(sources, ref, rules.max_bytes, field, allow_data=False)
    info = probe(data)
    if info is None:
        raise invalid_parameter(f"The format of {field} is not supported, supported formats: wav, mp3.")
    seconds = info.duration_ms / 1000
    low, high = rules.seconds
    if not low <= seconds <= high:
        raise invalid_parameter(
            f"The duration of {field} must be in [{_number(low)}, {_number(high)}] seconds, got {_number(seconds)}."
        )
    return Sound("mp3" if info.format == "mp3" else "wav", seconds)


def check_clip(data: bytes, rules: VideoRules, field: str) -> Clip:
    """The video in ``data``, checked against ``rules``."""
    info = probe_video(data)
    if info is None:
        raise invalid_parameter(f"The format of {field} is not supported, supported formats: mp4, mov.")
    low, high = rules.seconds
    if not low <= info.seconds <= high:
        raise invalid_parameter(
            f"The duration of {field} must be in [{_number(low)}, {_number(high)}] seconds, "
            f"got {_number(round(info.seconds, 3))}."
        )
    small, large = rules.sides
    if not (small <= info.width <= large and small <= info.height <= large):
        raise invalid_parameter(
            f"The resolution of {field} is invalid: width and height must each be in [{small}, {large}] pixels, "
            f"got {info.width}*{info.height}."
        )
    _check_aspect(field, info.width, info.height, rules.max_aspect)
    digest = hashlib.sha256(data[:65536]).digest()[:8]
    return Clip(info.format, info.width, info.height, info.seconds, info.has_sound, digest)


async def load_clip(sources: Sources, ref: object, rules: VideoRules, field: str) -> Clip:
    """A video input: MP4 or MOV of the allowed length, sides, aspect and size."""
    _, data = await _read(sources, ref, rules.max_bytes, field, allow_data=False)
    return check_clip(data, rules, field)


async def load_reference(
    sources: Sources, ref: object, image_rules: ImageRules, video_rules: VideoRules, field: str
) -> Picture | Clip:
    """One entry of wan2.6-r2v ``reference_urls``: a video when the file is MP4/MOV, else a picture."""
    _, data = await _read(sources, ref, max(image_rules.max_bytes, video_rules.max_bytes), field, allow_data=False)
    if probe_video(data) is not None:
        return check_clip(data, video_rules, field)
    if len(data) > image_rules.max_bytes:
        raise invalid_parameter(f"The size of {field} exceeds the limit of {_mb(image_rules.max_bytes)}MB.")
    # Already read: hand the bytes to the picture checks as a data: URI rather than fetch them again.
    inline = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    return await load_picture(sources, inline, image_rules, field)


def download_failure(error: ServiceError, ref: object) -> str:
    """The wan2.7 wording of a reference that could not be fetched; other refusals keep theirs."""
    if error.message == URL_ERROR:
        shown = str(ref)
        return f"Failed to download {shown if len(shown) <= 256 else shown[:256] + '...'}"
    return error.message
