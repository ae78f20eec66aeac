"""Input files named in a request: ``http(s)://`` URLs, ``data:`` URIs and ``oss://`` upload keys.

Checks that need no download happen first (`Sources.check`, 400 ``InvalidParameter``):

* a URL must be a string of ASCII characters without spaces (the service cannot fetch URLs with
  Chinese characters) with an accepted scheme, else ``url error, please check url！``; ``oss://``
  keys keep whatever characters the uploaded file's name had;
* ``oss://`` keys need the header ``X-DashScope-OssResourceResolve: enable``, else
  ``The provided URL does not appear to be valid. Ensure it is correctly formatted.``

Reading (`Sources.read`) raises `Unreadable` when a URL does not answer 2xx in time, an
``oss://`` key is unknown or older than ``upload_ttl_seconds``, a ``data:`` URI is not valid
base64, or the content exceeds the caller's byte limit. Each service decides what that means
for it (a 400 for images, a failed subtask for audio). httpx is imported on first download.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from starlette.requests import Request

from .envelope import invalid_parameter
from .state import emulator_state
from .upload_store import UploadStore

URL_ERROR = "url error, please check url！"
UNRESOLVED_OSS = "The provided URL does not appear to be valid. Ensure it is correctly formatted."
OSS_SCHEME = "oss://"

_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*;base64,(.*)", re.DOTALL)


class Unreadable(Exception):
    """An input could not be read; ``message`` says why in the service's words."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True)
class Sources:
    """Where one request's input files come from."""

    uploads: UploadStore | None
    resolve_oss: bool
    now: float
    """Monotonic instant of the request, for upload expiry."""
    timeout: float

    def check(self, ref: object, *, allow_data: bool = True) -> str:
        """The reference, if it is one this request may use; 400 ``InvalidParameter`` if not."""
        if not isinstance(ref, str) or not ref.strip():
            raise invalid_parameter(URL_ERROR)
        lowered = ref.lower()
        if lowered.startswith(OSS_SCHEME) and len(ref) > len(OSS_SCHEME):
            if not self.resolve_oss:
                raise invalid_parameter(UNRESOLVED_OSS)
            return ref  # an upload key: any characters its file name had
        if not ref.isascii() or any(char.isspace() for char in ref):
            raise invalid_parameter(URL_ERROR)
        if lowered.startswith(("http://", "https://")) and len(ref) > len("https://"):
            return ref
        if allow_data and lowered.startswith("data:"):
            return ref
        raise invalid_parameter(URL_ERROR)

    async def read(self, ref: str, max_bytes: int) -> bytes:
        """The referenced bytes (a `check`-ed reference); raises `Unreadable`."""
        if ref.lower().startswith(OSS_SCHEME):
            stored = None if self.uploads is None else self.uploads.get(ref[len(OSS_SCHEME) :], self.now)
            if stored is None:
                raise Unreadable(URL_ERROR)
            data = stored.data
        elif ref.lower().startswith("data:"):
            data = _decode_data_uri(ref)
        else:
            data = await _download(ref, max_bytes, self.timeout)
        if len(data) > max_bytes:
            raise Unreadable(f"The file size exceeds the limit of {max_bytes // (1024 * 1024)}MB.", too_large=True)
        return data


OFFLINE = Sources(uploads=None, resolve_oss=False, now=0.0, timeout=10.0)
"""For calls built outside a request: URLs and ``data:`` URIs only."""


def sources_for(request: Request) -> Sources:
    state = emulator_state(request)
    resolve = request.headers.get("x-dashscope-ossresourceresolve", "").strip().lower() == "enable"
    return Sources(state.uploads, resolve, state.now(), state.config.fetch_timeout_seconds)


def _decode_data_uri(ref: str) -> bytes:
    match = _DATA_URI.fullmatch(ref)
    if match is None:
        raise Unreadable("The data URI must look like data:{MIME_type};base64,{data}.")
    try:
        return base64.b64decode(match.group(3), validate=True)
    except (binascii.Error, ValueError):
        raise Unreadable("The base64 data of the data URI is invalid.") from None


async def _download(url: str, max_bytes: int, timeout: float) -> bytes:
    import httpx

    chunks: list[bytes] = []
    size = 0
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True, trust_env=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise Unreadable(URL_ERROR)
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise Unreadable(
                        f"The file size exceeds the limit of {max_bytes // (1024 * 1024)}MB.", too_large=True
                    )
                chunks.append(chunk)
    except (httpx.HTTPError, ValueError):
        raise Unreadable(URL_ERROR) from None
    return b"".join(chunks)
