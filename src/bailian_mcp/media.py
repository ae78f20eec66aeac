"""Result files: streamed, size-capped, checksummed downloads saved atomically; image probes and previews.

Pillow is imported inside the functions that need it, so the server starts without it.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from bailian_mcp.dashscope.client import RetryPolicy
from bailian_mcp.errors import BailianError
from bailian_mcp.lazy_modules import httpx

CHUNK = 64 * 1024
# Pillow work (probes, previews) two at a time: a large image decodes to tens of MB, and every extra worker
# thread doing it would hold its own share of the peak (and its own malloc arena afterwards).
IMAGE_WORKERS = anyio.CapacityLimiter(2)


class DownloadError(BailianError):
    """A result file could not be fetched; the task and its URL are still on record."""


@dataclass(frozen=True)
class SavedFile:
    path: Path
    size: int
    sha256: str
    mime_type: str


def suffix_for(url: str, default: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix and len(suffix) <= 5 else default


def _host() -> str:
    return socket.gethostname().replace(".", "_")


PART_OWNER = f"{_host()}-{os.getpid()}"
"""Who writes a download's `.part` file (host and process): a restart removes those of processes gone."""
STALE_PART_SECONDS = 3600  # a `.part` of another machine, untouched this long, is a download that died


def part_path(dest: Path) -> Path:
    """Where `dest` is written until it is complete: a hidden `.part` file naming its writer."""
    return dest.with_name(f".{dest.name}.{PART_OWNER}.{uuid.uuid4().hex[:8]}.part")


def remove_stale_parts(folder: Path) -> int:
    """Remove the `.part` files under `folder` that no live download writes: those of processes of this host that
    have ended, and those of other hosts untouched for STALE_PART_SECONDS. How many were removed."""
    host = _host()
    removed = 0
    for part in folder.glob("**/.*.part"):
        owner = part.name.rsplit(".", 3)[-3] if part.name.count(".") >= 4 else ""
        owner_host, _, pid = owner.rpartition("-")
        try:
            if owner_host == host and pid.isdigit():
                stale = not _alive(int(pid))
            else:
                stale = time.time() - part.stat().st_mtime > STALE_PART_SECONDS
            if stale:
                part.unlink()
                removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _fetch_once(http: httpx.AsyncClient, url: str, dest: Path, max_bytes: int) -> SavedFile:
    part = part_path(dest)
    digest = hashlib.sha256()
    size = 0
    try:
        async with http.stream("GET", url) as response:
            if response.status_code in (403, 404):
                raise DownloadError(
                    f"The result URL answered {response.status_code}: it has expired (DashScope keeps results "
                    f"24 h) or was never valid: {url.split('?')[0]}"
                )
            response.raise_for_status()
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise DownloadError(f"The result is {declared} bytes, over the {max_bytes}-byte download cap.")
            with part.open("wb") as out:
                async for chunk in response.aiter_bytes(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(f"The result is over the {max_bytes}-byte download cap.")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            # Content-Length counts the bytes on the wire (compressed, if the reply was), not the file's.
            if declared and response.num_bytes_downloaded != declared:
                raise httpx.ReadError(f"truncated download: {response.num_bytes_downloaded} of {declared} bytes")
            mime = (response.headers.get("content-type") or "").split(";")[0].strip()
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    mime = mime or mimetypes.guess_type(dest.name)[0] or "application/octet-stream"
    return SavedFile(path=dest, size=size, sha256=digest.hexdigest(), mime_type=mime)


async def download(
    http: httpx.AsyncClient, url: str, dest: Path, *, max_bytes: int, retry: RetryPolicy | None = None
) -> SavedFile:
    """Stream `url` into `dest` (never a half-written file there), retrying transient failures.

    The request carries no credentials: result URLs are pre-signed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    policy = retry or RetryPolicy(attempts=4)
    attempt = 0
    while True:
        try:
            return await _fetch_once(http, url, dest, max_bytes)
        except DownloadError:
            raise
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            attempt += 1
            if attempt >= policy.attempts:
                raise DownloadError(f"Could not download {url.split('?')[0]}: {exc}") from exc
            await anyio.sleep(policy.delay(attempt - 1))


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int


def _image_info(path: Path) -> ImageInfo:
    from PIL import Image

    with Image.open(path) as image:
        return ImageInfo(width=image.width, height=image.height)


async def image_info(path: Path) -> ImageInfo | None:
    """Width and height of a saved image, or None if it is not an image Pillow can read."""
    try:
        return await anyio.to_thread.run_sync(_image_info, path, limiter=IMAGE_WORKERS)
    except Exception:
        return None


def _preview(path: Path, max_side: int, max_bytes: int) -> bytes | None:
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (max_side, max_side))  # JPEG decodes straight to a small size
        image.thumbnail((max_side, max_side), reducing_gap=2.0)  # in place: never a full-size copy
        picture = image.convert("RGB")
    side = max_side
    while side >= 64:
        if max(picture.size) > side:
            picture.thumbnail((side, side))
        for quality in (80, 65, 50):
            buffer = io.BytesIO()
            picture.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue()
        side //= 2
    return None


async def preview_jpeg(path: Path, *, max_side: int, max_bytes: int) -> bytes | None:
    """A JPEG thumbnail of at most `max_side` px and `max_bytes` bytes, or None if none fits."""
    if max_bytes <= 0:
        return None
    try:
        return await anyio.to_thread.run_sync(_preview, path, max_side, max_bytes, limiter=IMAGE_WORKERS)
    except Exception:
        return None


def _wav_duration(data: bytes, size: int) -> float | None:
    """Seconds of a WAV file of `size` bytes; a streamed header may carry a placeholder data length."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position, byte_rate = 12, 0
    while position + 8 <= len(data):
        chunk, length = data[position : position + 4], int.from_bytes(data[position + 4 : position + 8], "little")
        if chunk == b"fmt ":
            byte_rate = int.from_bytes(data[position + 16 : position + 20], "little")
        elif chunk == b"data":
            available = size - (position + 8)
            length = length if 0 < length <= available else available
            return round(length / byte_rate, 3) if byte_rate else None
        position += 8 + length + (length & 1)
    return None


def _mp4_duration(data: bytes) -> float | None:
    """Duration from the `mvhd` box (inside `moov`) of an MP4 file."""
    index = data.find(b"mvhd")
    if index < 4 or len(data) < index + 36:
        return None
    version = data[index + 4]
    if version == 1:
        timescale = int.from_bytes(data[index + 24 : index + 28], "big")
        duration = int.from_bytes(data[index + 28 : index + 36], "big")
    else:
        timescale = int.from_bytes(data[index + 16 : index + 20], "big")
        duration = int.from_bytes(data[index + 20 : index + 24], "big")
    return round(duration / timescale, 3) if timescale else None


_MP3_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def _mp3_duration(data: bytes, size: int) -> float | None:
    """Estimate from the first MPEG-1 Layer III frame's bitrate (exact for constant bitrate)."""
    start = 0
    if data[:3] == b"ID3":  # skip the ID3v2 tag: its size is four 7-bit ("syncsafe") bytes
        start = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(data[6:10]))
    for position in range(start, min(len(data) - 4, start + 4096)):
        if data[position] == 0xFF and data[position + 1] & 0xFE == 0xFA:
            bitrate = _MP3_BITRATES_KBPS[data[position + 2] >> 4] if data[position + 2] >> 4 < 15 else 0
            return round((size - position) * 8 / (bitrate * 1000), 3) if bitrate else None
    return None


def media_duration(path: Path) -> float | None:
    """Seconds of audio or video in a WAV, MP3 or MP4 file; None when the format is not recognised."""
    try:
        size = path.stat().st_size
        with path.open("rb") as stream:
            head = stream.read(1 << 20)
    except OSError:
        return None
    suffix = path.suffix.lower()
    if suffix == ".wav":
        return _wav_duration(head, size)
    if suffix == ".mp3":
        return _mp3_duration(head, size)
    if suffix in (".mp4", ".mov", ".m4a"):
        with path.open("rb") as stream:
            return _mp4_duration(stream.read())
    return None
