"""Input files (images, audio): a URL, a `data:` URI, or a local path inside the allowed roots.

`confine` is the one place that decides whether a local path may be read: it must be
absolute, resolve (after symlinks) inside one of BAILIAN_INPUT_ROOTS, and contain no hidden
part below that root. A local file becomes a `LocalFile` placeholder in the request body,
validated here and uploaded to DashScope's temporary storage by the runner just before the
request is sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import mimetypes
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bailian_mcp.catalog import InputImageRule
from bailian_mcp.errors import InputError

AUDIO_SUFFIXES = frozenset(
    {
        ".aac",
        ".amr",
        ".avi",
        ".flac",
        ".flv",
        ".m4a",
        ".mkv",
        ".mov",
        ".mp3",
        ".mp4",
        ".mpeg",
        ".ogg",
        ".opus",
        ".wav",
        ".webm",
        ".wma",
        ".wmv",
    }
)
MAX_AUDIO_BYTES = 2 * 1024 * 1024 * 1024
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]|^\\\\")
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,(?P<data>.*)$", re.S)


@dataclass(frozen=True)
class LocalFile:
    """A validated local file, standing in a request body until it is uploaded (becoming `oss://...`).

    `sha256` is None for audio and video files (up to GBs): they are hashed when uploaded, once the upload policy
    has said the file fits, on a worker thread (see dashscope.uploads)."""

    path: Path
    sha256: str | None
    size: int
    mime_type: str
    param: str  # the parameter it was given as, for errors found when it is uploaded

    def __str__(self) -> str:
        return self.path.as_uri()


def confine(value: str, roots: Sequence[Path], *, param: str) -> Path:
    """The real path of a local file the caller may use, or an InputError saying why not."""
    try:
        return _confine(value, roots, param=param)
    except (ValueError, OSError) as exc:  # NUL bytes, names too long, malformed file: URIs
        if isinstance(exc, InputError):
            raise
        raise InputError(param, value, f"this is not a usable file path ({exc})") from None


def _confine(value: str, roots: Sequence[Path], *, param: str) -> Path:
    text = value.strip()
    if text.startswith("file://"):
        text = unquote(urlsplit(text).path)
    if _WINDOWS_PATH.match(text) and os.name != "nt":
        raise InputError(
            param,
            value,
            "this is a Windows path, but the server runs on a POSIX system; give a path on the server's machine",
        )
    candidate = Path(os.path.expanduser(text))
    if not candidate.is_absolute():
        raise InputError(param, value, "give an absolute path (or an http(s) URL, or a data: URI)")
    real = candidate.resolve()
    allowed = [root.resolve() for root in roots]
    containing = [root for root in allowed if real != root and real.is_relative_to(root)]
    visible = [root for root in containing if not any(p.startswith(".") for p in real.relative_to(root).parts)]
    if not visible:
        if containing:
            raise InputError(param, value, "hidden files and folders (names starting with '.') are never read")
        shown = ", ".join(str(r) for r in allowed) or "(none configured)"
        raise InputError(param, value, f"local files must be inside BAILIAN_INPUT_ROOTS: {shown}")
    if not real.is_file():
        raise InputError(param, value, "no such file")
    return real


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_size(size: int, rule: InputImageRule, *, param: str, value: str) -> None:
    if size > rule.max_bytes:
        raise InputError(param, value, f"the image is {size / 1048576:.1f} MB; allowed: {rule.describe()}")


def _decoded_size(data_uri: str) -> int:
    """About how many bytes a data: URI's base64 decodes to, from its length alone (at most, but for whitespace)."""
    encoded = len(data_uri) - data_uri.find(",") - 1
    return encoded * 3 // 4 - data_uri[-2:].count("=")


def _check_image(data: bytes, rule: InputImageRule, *, param: str, value: str) -> None:
    from PIL import Image, UnidentifiedImageError

    _check_size(len(data), rule, param=param, value=value)
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, width, height = image.format or "", image.width, image.height
    except Image.DecompressionBombError:
        raise InputError(param, value, f"the image has far too many pixels; allowed: {rule.describe()}") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise InputError(param, value, f"this is not an image; allowed: {rule.describe()}") from None
    if fmt not in rule.formats:
        raise InputError(param, value, f"the image is {fmt}; allowed: {rule.describe()}")
    if not all(rule.min_side <= side <= rule.max_side for side in (width, height)):
        raise InputError(param, value, f"the image is {width}×{height}; allowed: {rule.describe()}")


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.width, image.height


def _public_url(value: str, param: str) -> str:
    """An http(s) URL with any non-ASCII characters percent-encoded (DashScope refuses raw Chinese in URLs)."""
    try:
        parts = urlsplit(value.strip())
    except ValueError as exc:
        raise InputError(param, value, f"this is not a valid URL ({exc})") from None
    if not parts.netloc:
        raise InputError(param, value, "the URL has no host")
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="=&%:/?@!$'()*+,;-._~")
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def _decode_data_uri(value: str, param: str) -> bytes:
    match = _DATA_URI.match(value.strip())
    if not match:
        raise InputError(param, value, "a data URI must look like data:image/png;base64,<data>")
    try:
        return base64.b64decode(match["data"], validate=False)
    except (binascii.Error, ValueError):
        raise InputError(param, value, "the base64 data of the data URI does not decode") from None


@dataclass(frozen=True)
class InputImage:
    """A checked image input: what to put in the request, and its bytes when known locally."""

    reference: str | LocalFile
    data: bytes | None


def image_input(value: str, rule: InputImageRule, roots: Sequence[Path], *, param: str) -> InputImage:
    """Check an image input against `rule`; local files are read and checked completely."""
    text = value.strip()
    if not text:
        raise InputError(param, value, "give an image URL, a data: URI or a local file path")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return InputImage(_public_url(text, param), None)
    if lowered.startswith("oss://"):
        return InputImage("oss://" + text[6:], None)
    if lowered.startswith("data:"):
        estimate = _decoded_size(text)
        if estimate > rule.max_bytes + rule.max_bytes // 16:  # far too big: refused before decoding
            _check_size(estimate, rule, param=param, value=value)
        data = _decode_data_uri(text, param)
        _check_image(data, rule, param=param, value=value)
        return InputImage(text, data)
    path = confine(text, roots, param=param)
    _check_size(path.stat().st_size, rule, param=param, value=value)  # before a byte is read: files may be huge
    data = path.read_bytes()
    _check_image(data, rule, param=param, value=value)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return InputImage(LocalFile(path=path, sha256=_hash(data), size=len(data), mime_type=mime, param=param), data)


def audio_input(value: str, roots: Sequence[Path], *, param: str, max_bytes: int = MAX_AUDIO_BYTES) -> str | LocalFile:
    """A recording to transcribe: an http(s)/oss URL as is, or a local audio or video file (checked) to upload."""
    return media_input(
        value,
        roots,
        param=param,
        suffixes=AUDIO_SUFFIXES,
        max_bytes=max_bytes,
        what=f"an audio or video file DashScope transcribes ({', '.join(sorted(AUDIO_SUFFIXES))})",
        no_data_uri="DashScope's transcription takes URLs or files, not data: URIs; save the audio to a file and "
        "pass its path",
    )


def media_input(
    value: str,
    roots: Sequence[Path],
    *,
    param: str,
    suffixes: frozenset[str],
    max_bytes: int,
    what: str,
    no_data_uri: str | None = None,
) -> str | LocalFile:
    """An audio or video input: an http(s)/oss URL as is, or a local file of one of `suffixes`, at most `max_bytes`
    (checked, hashed) to upload. data: URIs are refused: DashScope takes audio and clips by URL."""
    text = value.strip()
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return _public_url(text, param)
    if lowered.startswith("oss://"):
        return "oss://" + text[6:]
    if lowered.startswith("data:"):
        raise InputError(param, value, no_data_uri or f"give {what} as a URL or a local file, not a data: URI")
    path = confine(text, roots, param=param)
    if path.suffix.lower() not in suffixes:
        raise InputError(param, value, f"this is not {what}")
    size = path.stat().st_size
    if size == 0 or size > max_bytes:
        raise InputError(param, value, f"the file has {size} bytes; allowed: 1 byte to {_megabytes(max_bytes)}")
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not looks_like(path.suffix.lower(), head):
        raise InputError(param, value, f"its content is not {what} (the file's first bytes say otherwise)")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return LocalFile(path=path, sha256=None, size=size, mime_type=mime, param=param)


HEAD_BYTES = 64


def looks_like(suffix: str, head: bytes) -> bool:
    """Whether a file's first bytes fit the container its suffix names (a suffix without a known signature fits).
    Read before anything else of a file that may be GBs, so that a misnamed file is refused before it is uploaded."""
    mpeg_audio = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # an MP3 frame or an ADTS header
    signatures = {
        ".wav": head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE",
        ".avi": head[:4] == b"RIFF" and head[8:12] == b"AVI ",
        ".mp3": head[:3] == b"ID3" or mpeg_audio,
        ".aac": head[:4] == b"ADIF" or head[:3] == b"ID3" or mpeg_audio,
        ".flac": head[:4] == b"fLaC" or head[:3] == b"ID3",
        ".ogg": head[:4] == b"OggS",
        ".opus": head[:4] == b"OggS",
        ".amr": head[:5] == b"#!AMR",
        ".webm": head[:4] == b"\x1a\x45\xdf\xa3",
        ".mkv": head[:4] == b"\x1a\x45\xdf\xa3",
        ".flv": head[:3] == b"FLV",
        ".wma": head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
        ".wmv": head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
        ".mpeg": head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"),
    }
    iso_media = head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")
    for family in (".mp4", ".m4a", ".mov"):
        signatures[family] = iso_media
    return signatures.get(suffix, True)


def _megabytes(size: int) -> str:
    return f"{size / 1024**3:g} GB" if size >= 1024**3 else f"{size / 1024**2:g} MB"
