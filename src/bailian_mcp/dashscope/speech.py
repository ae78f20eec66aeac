"""Sambert speech synthesis over DashScope's WebSocket API (`/api-ws/v1/inference`, Beijing only).

One session is one task (`spec/dashscope-protocol.md` §8.1):

    client ── run-task (text frame, streaming "out", all the text) ──────────────► server
    client ◄── task-started ───────────────────────────────────────────────────── server
    client ◄── binary audio chunks, interleaved with result-generated events ──── server
    client ◄── task-finished (usage.characters)  |  task-failed (error_code) ──── server

The audio is streamed straight into a temporary file beside the destination (never held
in memory) and renamed into place only once `task-finished` has arrived, so a failed,
dropped, timed-out or cancelled session leaves no file behind.

`websockets` is imported when a session starts, not with this module: the server's cold
start does not pay for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio

from bailian_mcp import __version__
from bailian_mcp.dashscope import errors

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

CONNECT_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0  # no frame at all for this long: the session is given up
CLOSE_TIMEOUT = 2.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
PROGRESS_EVERY = 64 * 1024  # report progress each time this many more audio bytes arrived
BEIJING_ONLY = "Sambert runs only in the Beijing (cn-beijing) region, so it needs a key created there"

# Headers that describe an HTTP body; meaningless on a WebSocket handshake.
_HTTP_ONLY_HEADERS = frozenset({"accept", "content-type", "user-agent"})

ProgressHook = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class SpeechResult:
    """A finished synthesis: the saved file and what the service reported about it."""

    path: Path
    size: int
    sha256: str
    task_id: str
    characters: int | None  # billed characters (task-finished usage); None if the service did not say
    request_uuid: str | None
    sentences: tuple[Mapping[str, Any], ...] = ()  # result-generated `output.sentence` entries (timestamps)


def run_task_message(task_id: str, model: str, text: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The `run-task` frame: all the text at once (`streaming: "out"`), as the SDK and docs send it."""
    return {
        "header": {"action": "run-task", "task_id": task_id, "streaming": "out"},
        "payload": {
            "task_group": "audio",
            "task": "tts",
            "function": "SpeechSynthesizer",
            "model": model,
            "parameters": dict(parameters),
            "input": {"text": text},
        },
    }


_STATUS_BY_CODE = {
    "InvalidApiKey": 401,
    "AccessDenied": 403,
    "Model.AccessDenied": 403,
    "Workspace.AccessDenied": 403,
    "ModelNotFound": 404,
    "NotFound": 404,
    "WorkSpaceNotFound": 404,
    "SERVER_ERROR": 500,
    "SystemError": 500,
    "ModelServiceFailed": 500,
    "ModelServingError": 503,
    "ModelUnavailable": 503,
}


def _status_for(code: str) -> int:
    """The HTTP status DashScope gives `code` on its HTTP endpoints, to pick the error family."""
    if code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[code]
    if code.startswith("AccessDenied."):
        return 403
    if code.startswith("Throttling"):
        return 429
    if code.startswith("InternalError"):
        return 500
    return 400  # InvalidParameter, CLIENT_ERROR, ClientDisconnect, DataInspectionFailed, ...


def task_failed_error(code: str | None, message: str | None, request_id: str | None) -> errors.DashScopeError:
    """The typed error for a `task-failed` event (InvalidParameter → InvalidRequestError, ...)."""
    code = code or "Unknown"
    service_message = message or ""
    status = _status_for(code)
    reply = errors.from_reply(status, code, service_message, request_id, region_hint=BEIJING_ONLY)
    # from_reply words it "DashScope <status> <code>: <message> — <advice> (request_id ...)"; a WebSocket
    # event has no HTTP status, so keep the advice and say where the error came from instead.
    prefix = f"DashScope {status} {code}: {service_message}".rstrip(": ")
    advice = str(reply)[len(prefix) :] if str(reply).startswith(prefix) else f" — {reply}"
    text = f"Speech synthesis failed: DashScope task-failed {code}: {service_message or 'no message'}{advice}"
    return type(reply)(text, code=code, request_id=request_id, service_message=service_message)


def _handshake_error(status: int, body: bytes | bytearray | None, request_id: str | None) -> errors.DashScopeError:
    code: str | None = None
    message: str | None = None
    try:
        reply = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        reply = None
    if isinstance(reply, dict):
        code = str(reply.get("code") or "") or None
        message = str(reply.get("message") or reply.get("msg") or "") or None
        request_id = request_id or reply.get("request_id")
    elif body:
        message = body.decode("utf-8", "replace").strip()[:200] or None
    if status in (401, 403):
        return errors.AuthenticationError(
            f"DashScope refused the speech WebSocket handshake (HTTP {status}{' ' + code if code else ''}): the "
            f"API key is wrong, or it belongs to another region. {BEIJING_ONLY}: check DASHSCOPE_API_KEY. "
            "Nothing was synthesized or charged.",
            status=status,
            code=code or "InvalidApiKey",
            request_id=request_id,
            service_message=message,
        )
    return errors.from_reply(status, code or "Unknown", message, request_id, region_hint=BEIJING_ONLY)


_QUIET_LOGGER = logging.getLogger("bailian_mcp.websocket")
_QUIET_LOGGER.setLevel(logging.WARNING)
_QUIET_LOGGER.propagate = False


async def _open(url: str, headers: Mapping[str, str], connect_timeout: float) -> ClientConnection:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException

    user_agent = next((v for k, v in headers.items() if k.lower() == "user-agent"), f"bailian-mcp/{__version__}")
    extra = {k: v for k, v in headers.items() if k.lower() not in _HTTP_ONLY_HEADERS}
    try:
        return await connect(
            url,
            additional_headers=extra,
            user_agent_header=user_agent,
            open_timeout=connect_timeout,
            close_timeout=CLOSE_TIMEOUT,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            logger=_QUIET_LOGGER,  # websockets logs the handshake, key included, at DEBUG
        )
    except InvalidStatus as exc:
        response = exc.response
        raise _handshake_error(response.status_code, response.body, response.headers.get("x-request-id")) from None
    except InvalidURI as exc:
        raise errors.DashScopeConnectionError(
            f"The speech WebSocket URL {url} is not valid: {exc}", request_sent=False
        ) from None
    except TimeoutError:
        raise errors.DashScopeConnectionError(
            f"DashScope's speech WebSocket at {url} did not accept the connection within {connect_timeout:g} s. "
            "Nothing was sent.",
            request_sent=False,
        ) from None
    except (OSError, WebSocketException) as exc:
        raise errors.DashScopeConnectionError(
            f"Could not open the speech WebSocket at {url}: {type(exc).__name__} {exc}. Nothing was sent.",
            request_sent=False,
        ) from None


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (events are read leniently)."""
    return value if isinstance(value, dict) else {}


class _Session:
    """Reads one task's events and audio; writes the audio into `out` as it arrives."""

    def __init__(self, task_id: str, out: IO[bytes], on_progress: ProgressHook | None, progress_every: int) -> None:
        self.task_id = task_id
        self.out = out
        self.on_progress = on_progress
        self.progress_every = max(1, progress_every)
        self.digest = hashlib.sha256()
        self.size = 0
        self.next_report = self.progress_every
        self.started = False
        self.characters: int | None = None
        self.request_uuid: str | None = None
        self.sentences: list[Mapping[str, Any]] = []

    async def audio(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)
        if self.on_progress is not None and self.size >= self.next_report:
            self.next_report = (self.size // self.progress_every + 1) * self.progress_every
            await self.on_progress(self.size)

    def event(self, text: str) -> bool:
        """Handle one JSON event; True once the task has finished."""
        try:
            message = json.loads(text)
        except ValueError:
            raise errors.DashScopeConnectionError(
                f"DashScope sent a text frame that is not JSON: {text[:120]!r}", request_sent=True
            ) from None
        header = _object(_object(message).get("header"))
        if not header:
            return False
        if header.get("task_id") not in (None, self.task_id):
            return False  # another task's event on a shared connection: not ours
        payload = _object(_object(message).get("payload"))
        self.request_uuid = _object(header.get("attributes")).get("request_uuid") or self.request_uuid
        characters = _object(payload.get("usage")).get("characters")
        if isinstance(characters, int) and not isinstance(characters, bool):
            self.characters = characters
        event = header.get("event")
        if event == "task-started":
            self.started = True
        elif event == "result-generated":
            sentence = _object(payload.get("output")).get("sentence")
            if isinstance(sentence, dict) and sentence:
                self.sentences.append(sentence)
        elif event == "task-failed":
            raise task_failed_error(header.get("error_code"), header.get("error_message"), self.request_uuid)
        elif event == "task-finished":
            return True
        return False


async def synthesize(
    url: str,
    headers: Mapping[str, str],
    *,
    model: str,
    text: str,
    parameters: Mapping[str, Any],
    dest: Path,
    connect_timeout: float = CONNECT_TIMEOUT,
    idle_timeout: float = IDLE_TIMEOUT,
    on_progress: ProgressHook | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> SpeechResult:
    """Run one Sambert task and save its audio at `dest` (atomically); raise a typed DashScope error otherwise.

    `headers` carries `Authorization: Bearer <key>` (and optionally a User-Agent); `parameters` is the
    run-task `parameters` object (text_type, format, sample_rate, volume, rate, pitch). `on_progress`
    is called with the audio bytes received so far, every `progress_every` bytes.

    Errors: handshake 401/403 → AuthenticationError; other handshake statuses → their family;
    `task-failed` → its family (InvalidParameter → InvalidRequestError); no connection, or no frame
    for `idle_timeout` seconds, or the connection dropping before `task-finished` →
    DashScopeConnectionError (`request_sent` True once run-task went out). Never leaves a partial file.
    """
    from websockets.exceptions import ConnectionClosed

    task_id = uuid.uuid4().hex
    frame = json.dumps(run_task_message(task_id, model, text, parameters), ensure_ascii=False)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        connection = await _open(url, headers, connect_timeout)
        try:
            with part.open("wb") as out:
                session = _Session(task_id, out, on_progress, progress_every)
                try:
                    await connection.send(frame)
                except ConnectionClosed as exc:
                    raise errors.DashScopeConnectionError(
                        f"The speech WebSocket closed before the request could be sent ({exc}). Nothing was sent.",
                        request_sent=False,
                    ) from None
                while True:
                    try:
                        with anyio.fail_after(idle_timeout):
                            message = await connection.recv()
                    except TimeoutError:
                        raise errors.DashScopeConnectionError(
                            f"DashScope sent nothing for {idle_timeout:g} s during speech synthesis "
                            f"({'after' if session.started else 'before'} the task started, {session.size} audio "
                            "bytes received); the session was abandoned and no file was kept.",
                            request_sent=True,
                        ) from None
                    except ConnectionClosed as exc:
                        raise errors.DashScopeConnectionError(
                            f"The speech WebSocket closed before the task finished ({exc}; {session.size} audio "
                            "bytes received). The request reached DashScope and may be billed; no file was kept.",
                            request_sent=True,
                        ) from None
                    if isinstance(message, bytes):
                        await session.audio(message)
                    elif session.event(message):
                        break
                out.flush()
                os.fsync(out.fileno())
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT):
                await connection.close()
        if session.size == 0:
            raise errors.ServerError(
                "DashScope finished the speech task but sent no audio; try again or with another voice.",
                code="EmptyAudio",
                request_id=session.request_uuid,
            )
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return SpeechResult(
        path=dest,
        size=session.size,
        sha256=session.digest.hexdigest(),
        task_id=task_id,
        characters=session.characters,
        request_uuid=session.request_uuid,
        sentences=tuple(session.sentences),
    )
