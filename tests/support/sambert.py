"""A Sambert look-alike on 127.0.0.1: the WebSocket speech synthesis service answering like the recordings
(recordings/socket-speech-synthesizer.*.json), with scenarios for its failures (refused handshakes, failed tasks,
dropped, closed and stalled connections)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import anyio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.support.media import wav_bytes

KEY = "sk-test-sambert-0123456789"
WS_PATH = "/api-ws/v1/inference"
REQUEST_UUID = "c88301b4-3caa-4f15-94e2-246e84d2e648"
PARAMETERS = {"text_type": "PlainText", "format": "wav", "sample_rate": 16000, "volume": 50, "rate": 1.0, "pitch": 1.0}

# The server events, as recorded from the real service (recordings/socket-speech-synthesizer.*.json);
# `test_the_fake_answers_like_the_recordings` keeps these copies honest.
ATTRIBUTES = {"request_uuid": REQUEST_UUID, "x-ds-batch-queue-length": "0"}
EVENTS: dict[str, dict[str, Any]] = {
    "task-started": {"header": {"task_id": "", "event": "task-started", "attributes": {}}, "payload": {}},
    "result-generated": {
        "header": {"task_id": "", "event": "result-generated", "attributes": ATTRIBUTES},
        "payload": {"output": {"sentence": {"words": []}}},
    },
    "task-finished": {
        "header": {"task_id": "", "event": "task-finished", "attributes": ATTRIBUTES},
        "payload": {"output": {"sentence": {"words": []}}, "usage": {"characters": 12}},
    },
    "task-failed": {
        "header": {
            "task_id": "",
            "event": "task-failed",
            "error_code": "InvalidParameter",
            "error_message": "[tts:]Engine return error code: 418",
            "attributes": {},
        },
        "payload": {},
    },
}


def event(name: str, task_id: str, **changes: Any) -> str:
    message = copy.deepcopy(EVENTS[name])
    message["header"]["task_id"] = task_id
    message["header"].update(changes.pop("header", {}))
    message["payload"].update(changes.pop("payload", {}))
    return json.dumps(message)


def split(data: bytes, size: int = 4000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


RUN_TASK_SHAPE = {"header": {"action", "task_id", "streaming"}, "payload": {"task_group", "task", "function", "model"}}


def run_task_problems(frame: Any) -> list[str]:
    """What a real Sambert server would object to in a run-task frame (§8.1)."""
    problems = []
    header, payload = frame.get("header", {}), frame.get("payload", {})
    if set(frame) != {"header", "payload"} or set(header) != RUN_TASK_SHAPE["header"]:
        problems.append(f"frame keys {sorted(frame)} / header keys {sorted(header)}")
    if header.get("action") != "run-task" or header.get("streaming") != "out":
        problems.append("action/streaming")
    if (payload.get("task_group"), payload.get("task"), payload.get("function")) != (
        "audio",
        "tts",
        "SpeechSynthesizer",
    ):
        problems.append("task_group/task/function")
    if set(payload) != {"task_group", "task", "function", "model", "parameters", "input"}:
        problems.append(f"payload keys {sorted(payload)}")
    if set(payload.get("parameters", {})) != set(PARAMETERS) or set(payload.get("input", {})) != {"text"}:
        problems.append("parameters/input keys")
    return problems


@dataclass
class Scenario:
    """How the fake answers the next session."""

    chunks: list[bytes] = field(default_factory=lambda: split(wav_bytes(0.5)))
    characters: int | None = None  # default: the text's length
    fail: tuple[str, str] | None = None  # task-failed (error_code, error_message) instead of audio
    fail_after: int = 0  # ... after this many chunks
    drop_after: int | None = None  # the TCP connection breaks after this many chunks
    close_after: int | None = None  # the server closes the WebSocket (1011) after this many chunks
    stall_after: int | None = None  # the server goes silent after this many chunks
    reject: int | None = None  # the handshake is refused with this HTTP status
    chunk_delay: float = 0.0


class FakeSambert:
    """A Sambert look-alike: checks the key and the run-task frame, streams audio like the real service."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.scenario = Scenario()
        self.frames: list[dict[str, Any]] = []
        self.handshakes: list[Headers] = []
        self.sessions_closed = 0
        self._server: Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{WS_PATH}"

    @property
    def base_url(self) -> str:
        """An HTTP base URL whose derived WebSocket URL is this server."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    async def __aenter__(self) -> FakeSambert:
        self._server = await serve(self._session, "127.0.0.1", 0, process_request=self._check, compression=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes.append(request.headers)
        if request.path != WS_PATH:
            return connection.respond(404, "Not Found")
        if self.scenario.reject is not None:
            return connection.respond(self.scenario.reject, '{"code":"AccessDenied","message":"Access denied."}')
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            body = {"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r-401"}
            return connection.respond(401, json.dumps(body))
        return None

    async def _session(self, connection: ServerConnection) -> None:
        try:
            await self._run(connection)
        except ConnectionClosed:
            pass
        finally:
            self.sessions_closed += 1

    async def _run(self, connection: ServerConnection) -> None:
        plan = self.scenario
        frame = json.loads(await connection.recv())
        self.frames.append(frame)
        task_id = frame["header"]["task_id"]
        if problems := run_task_problems(frame):
            await connection.send(event("task-failed", task_id, header={"error_message": "; ".join(problems)}))
            return
        await connection.send(event("task-started", task_id))
        for index, chunk in enumerate(plan.chunks):
            if plan.fail is not None and index == plan.fail_after:
                break
            if index == plan.drop_after:
                connection.transport.abort()
                return
            if index == plan.close_after:
                await connection.close(1011, "engine error")
                return
            if index == plan.stall_after:
                await connection.wait_closed()
                return
            await connection.send(chunk)
            if index == 0:
                await connection.send(event("result-generated", task_id))
            if plan.chunk_delay:
                await anyio.sleep(plan.chunk_delay)
        if plan.fail is not None:
            code, message = plan.fail
            await connection.send(event("task-failed", task_id, header={"error_code": code, "error_message": message}))
            return
        characters = plan.characters if plan.characters is not None else len(frame["payload"]["input"]["text"])
        await connection.send(event("task-finished", task_id, payload={"usage": {"characters": characters}}))
        await connection.wait_closed()
