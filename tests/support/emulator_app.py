"""The emulator app in process, on a fake clock, with an httpx client: its endpoints, the headers the tests send,
shortcuts for the common calls and the shape of its errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bailian_mcp.emulator import EmulatorConfig, EmulatorState, create_app
from bailian_mcp.emulator.state import emulator_state

KEY = "sk-emulator-test"
AUTH = {"Authorization": f"Bearer {KEY}"}
ASYNC = {**AUTH, "X-DashScope-Async": "enable"}
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}
T2I = "/api/v1/services/aigc/text2image/image-synthesis"
TEXTGEN = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"
I2I = "/api/v1/services/aigc/image2image/image-synthesis"
T2V = "/api/v1/services/aigc/video-generation/video-synthesis"
ASR = "/api/v1/services/audio/asr/transcription"
UPLOADS = "/api/v1/uploads"

FAST = EmulatorConfig(
    pending_seconds=1.0, running_seconds=2.0, submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0
)
"""Default for in-process tests: known durations, no throttling, no queueing."""


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


MakeEmulator = Callable[..., Awaitable[Emulator]]
"""`await make_emulator(config=FAST, **overrides)`, as the emulator tests' fixture gives it."""


def assert_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    """`response` is the emulator's JSON error: `status`, `code` (and `message`), its request id in the header."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "request_id"}
    assert body["code"] == code
    if message is not None:
        assert body["message"] == message
    assert response.headers["x-request-id"] == body["request_id"]
    assert response.headers["content-type"].startswith("application/json")


def upload_form(data: dict[str, Any], name: str = "photo.png", **overrides: str) -> dict[str, str]:
    """The form fields the SDK sends for ``data`` (a getPolicy answer)."""
    fields = {
        "OSSAccessKeyId": data["oss_access_key_id"],
        "Signature": data["signature"],
        "policy": data["policy"],
        "key": f"{data['upload_dir']}/{name}",
        "x-oss-object-acl": data["x_oss_object_acl"],
        "x-oss-forbid-overwrite": data["x_oss_forbid_overwrite"],
        "success_action_status": "200",
        "x-oss-content-type": "image/png",
    }
    fields.update(overrides)
    return fields


async def upload(emu: Emulator, data: dict[str, Any], content: bytes = b"content", **fields: str) -> httpx.Response:
    """The SDK's OSS form upload of `content` with the policy `data` (and form fields overridden)."""
    return await emu.http.post(
        data["upload_host"], data=upload_form(data, **fields), files={"file": ("photo.png", content)}
    )
