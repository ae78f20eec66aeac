"""Result files: streamed, size-capped, checksummed downloads saved atomically; image probes and previews.

Pillow is imported inside the functions that need it, so the server starts without it.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx

from bailian_mcp.dashscope.client import RetryPolicy
from bailian_mcp.errors import BailianError

CHUNK = 64 * 1024


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


async def _fetch_once(http: httpx.AsyncClient, url: str, dest: Path, max_bytes: int) -> SavedFile:
    part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
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
        return await anyio.to_thread.run_sync(_image_info, path)
    except Exception:
        return None


def _preview(path: Path, max_side: int, max_bytes: int) -> bytes | None:
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (max_side, max_side))
        picture = image.convert("RGB")
    side = max_side
    while side >= 64:
        thumb = picture.copy()
        thumb.thumbnail((side, side))
        for quality in (80, 65, 50):
            buffer = io.BytesIO()
            thumb.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return buffer.getvalue()
        side //= 2
    return None


async def preview_jpeg(path: Path, *, max_side: int, max_bytes: int) -> bytes | None:
    """A JPEG thumbnail of at most `max_side` px and `max_bytes` bytes, or None if none fits."""
    if max_bytes <= 0:
        return None
    try:
        return await anyio.to_thread.run_sync(_preview, path, max_side, max_bytes)
    except Exception:
        return None
