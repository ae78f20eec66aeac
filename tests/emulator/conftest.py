"""Fixtures for the emulator tests: an in-process emulator on a fake clock, a loopback file
server for URL inputs, and helpers."""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bailian_mcp.emulator import EmulatorConfig, EmulatorState, create_app
from bailian_mcp.emulator.state import emulator_state

KEY = "sk-emulator-test"
AUTH = {"Authorization": f"Bearer {KEY}"}
ASYNC = {**AUTH, "X-DashScope-Async": "enable"}
T2I = "/api/v1/services/aigc/text2image/image-synthesis"
TEXTGEN = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"
I2I = "/api/v1/services/aigc/image2image/image-synthesis"
T2V = "/api/v1/services/aigc/video-generation/video-synthesis"
ASR = "/api/v1/services/audio/asr/transcription"
UPLOADS = "/api/v1/uploads"
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}
RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "spec" / "recordings"


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Emulator:
    """An in-process emulator app with an httpx client and shortcuts for the common calls."""

    def __init__(self, config: EmulatorConfig, clock: FakeClock) -> None:
        self.app = create_app(config, clock=clock)
        self.clock = clock
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://emu.test")

    @property
    def state(self) -> EmulatorState:
        return emulator_state(self.app)

    async def submit(
        self,
        model: str = "wan2.2-t2i-flash",
        prompt: str = "a red fox in the snow",
        headers: dict[str, str] = ASYNC,
        **parameters: Any,
    ) -> httpx.Response:
        body = {"model": model, "input": {"prompt": prompt}, "parameters": parameters}
        return await self.http.post(T2I, headers=headers, json=body)

    async def submit_ok(self, model: str = "wan2.2-t2i-flash", **kwargs: Any) -> str:
        """Submit, assert it was accepted, return the task id."""
        response = await self.submit(model, **kwargs)
        assert response.status_code == 200, response.text
        return str(response.json()["output"]["task_id"])

    async def task(self, task_id: str) -> dict[str, Any]:
        """The full ``GET /tasks/{id}`` body."""
        response = await self.http.get(f"/api/v1/tasks/{task_id}", headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def status(self, task_id: str) -> str:
        return str((await self.task(task_id))["output"]["task_status"])


FAST = EmulatorConfig(
    pending_seconds=1.0, running_seconds=2.0, submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0
)
"""Default for in-process tests: known durations, no throttling, no queueing."""

MakeEmulator = Callable[..., Awaitable[Emulator]]


@pytest.fixture
async def make_emulator() -> AsyncIterator[MakeEmulator]:
    """``await make_emulator(config=FAST, **overrides)`` -> a fresh `Emulator` on its own fake clock."""
    made: list[Emulator] = []

    async def make(config: EmulatorConfig = FAST, **overrides: Any) -> Emulator:
        if overrides:
            config = dataclasses.replace(config, **overrides)
        emulator = Emulator(config, FakeClock())
        made.append(emulator)
        return emulator

    yield make
    for emulator in made:
        await emulator.http.aclose()


@pytest.fixture
async def emu(make_emulator: MakeEmulator) -> Emulator:
    return await make_emulator()


@pytest.fixture
def recordings() -> Path:
    if not RECORDINGS.is_dir():
        pytest.skip(f"recordings folder not found: {RECORDINGS}")
    return RECORDINGS


def picture(width: int, height: int, kind: str = "PNG", colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """An encoded picture of one colour."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L" if kind == "GIF" else "RGB", (width, height), colour[0] if kind == "GIF" else colour).save(out, kind)
    return out.getvalue()


class FileServer:
    """Serves in-memory files over real HTTP on 127.0.0.1 (never the network), for URL inputs.

    Unknown paths answer 404; ``requests`` counts the GETs per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: dict[str, int] = {}
        files, requests = self.files, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests[self.path] = requests.get(self.path, 0) + 1
                data = files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-files", daemon=True)
        self._thread.start()
        self.root = f"http://127.0.0.1:{self._server.server_port}"

    def add(self, name: str, data: bytes) -> str:
        """Serve ``data`` at ``/name``; returns its URL."""
        self.files["/" + name] = data
        return f"{self.root}/{name}"

    def url(self, name: str) -> str:
        return f"{self.root}/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(scope="session")
def files() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()
