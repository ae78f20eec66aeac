"""The API key (a random sentinel) never leaves the Authorization header of requests to the DashScope API.

It must not appear in what a client sees (result content, structuredContent, progress messages) for successes
and for every error family, in the server's logs at DEBUG (in-process, and a spawned `bailian-mcp --log-level
DEBUG` over stdio), in the job store's bytes (database, WAL and shared-memory files), in exception messages, and
it must not be sent to result download URLs or to the upload (OSS form) host.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.dashscope.speech import synthesize
from bailian_mcp.dashscope.uploads import upload_file
from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.inputs import LocalFile
from tests.support.emulators import EmulatorFactory
from tests.support.services import FAST_RETRY, SENTINEL, make_settings, serving
from tests.support.spawned import ENTRY_POINT, free_port

OTHER_KEY = "sk-someone-elses-key"
CALL_TIMEOUT = 30.0


@dataclass
class Observed:
    """Everything that left the server towards the client, as text."""

    chunks: list[str] = field(default_factory=list)
    progress: list[str] = field(default_factory=list)
    results: list[CallToolResult] = field(default_factory=list)

    async def call(self, client: Client, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            self.progress.append(message or "")

        with anyio.fail_after(CALL_TIMEOUT):
            result = await client.call_tool(tool, arguments, progress_callback=on_progress)
        self.results.append(result)
        self.chunks += [block.model_dump_json() for block in result.content]
        self.chunks.append(json.dumps(result.structured_content, ensure_ascii=False))
        return result

    def text(self) -> str:
        return "\n".join([*self.chunks, *self.progress])

    def error_text(self) -> str:
        return "\n".join(c for r in self.results if r.is_error for c in (b.model_dump_json() for b in r.content))


@dataclass(frozen=True)
class Scenario:
    name: str
    calls: tuple[tuple[str, dict[str, Any]], ...]
    emulator: dict[str, Any] = field(default_factory=dict)
    unreachable: bool = False  # the API base URL is a closed loopback port
    expect_error: str | None = None  # a fragment the error text shows, proving the family was exercised


SCENARIOS = (
    Scenario(
        "success-images",
        (
            ("text_to_image", {"prompt": "a kite", "size": "512*512", "n": 2}),
            ("edit_image", {"image": "{image}", "prompt": "make it blue"}),
            (
                "wanx_edit_image",
                {"function": "expand", "prompt": "more sky", "base_image_url": "{image}", "top_scale": 1.5},
            ),
        ),
    ),
    Scenario(
        "success-text-video",
        (
            ("text_to_text", {"prompt": "Say hi.", "system": "Be brief."}),
            ("text_to_video", {"prompt": "a wave", "resolution": "832*480"}),
        ),
    ),
    Scenario(
        "success-audio",
        (
            ("text_to_speech", {"text": "你好，世界。"}),
            ("speech_to_text", {"audio": "{audio}"}),
        ),
    ),
    Scenario(
        "success-jobs",
        (
            ("text_to_image", {"prompt": "a boat", "size": "512*512", "wait_seconds": 0}),
            ("get_task", {"task_id": "{last_job}", "wait_seconds": 5}),
            ("text_to_image", {"prompt": "a cloud", "size": "512*512", "wait_seconds": 0}),
            ("cancel_task", {"task_id": "{last_job}"}),
            ("list_tasks", {}),
            ("list_models", {}),
        ),
    ),
    Scenario(
        "error-401",
        (
            ("text_to_image", {"prompt": "a kite"}),
            ("text_to_text", {"prompt": "hi"}),
            ("text_to_speech", {"text": "hello"}),
            ("speech_to_text", {"audio": "{audio}"}),
            ("edit_image", {"image": "{image}", "prompt": "x"}),
            ("list_tasks", {}),
        ),
        emulator={"api_keys": frozenset({OTHER_KEY})},
        expect_error="InvalidApiKey",
    ),
    Scenario(
        "error-400",
        (
            ("text_to_image", {"prompt": "[emulator:inspect] a kite"}),
            ("text_to_text", {"prompt": "[emulator:inspect] hi"}),
        ),
        expect_error="DataInspectionFailed",
    ),
    Scenario(
        "error-429-exhausted",
        (
            ("text_to_image", {"prompt": "first", "size": "512*512", "wait_seconds": 0}),
            ("text_to_image", {"prompt": "second", "size": "512*512", "wait_seconds": 0}),
        ),
        emulator={"submit_rps": 1},
        expect_error="429",
    ),
    Scenario(
        "error-500",
        (("edit_image", {"image": "{image}", "prompt": "[emulator:fail] x"}),),
        expect_error="500",
    ),
    Scenario(
        "error-connection-refused",
        (
            ("text_to_image", {"prompt": "a kite"}),
            ("text_to_text", {"prompt": "hi"}),
            ("text_to_speech", {"text": "hello"}),
            ("speech_to_text", {"audio": "{audio}"}),
            ("list_tasks", {}),
        ),
        unreachable=True,
        expect_error="Could not connect",
    ),
    Scenario(
        "error-failed-task-and-broken-streams",
        (
            ("text_to_image", {"prompt": "[emulator:fail] a kite", "size": "512*512"}),
            ("text_to_image", {"prompt": "[emulator:partial] a kite", "size": "512*512", "n": 2}),
            ("text_to_text", {"prompt": "[emulator:stream-error] a story"}),
            ("text_to_speech", {"text": "[emulator:tts-drop] hello"}),
        ),
        expect_error="FAILED",
    ),
)


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value.strip("{}"), value) if value.startswith("{") else value
    return value


def store_files(settings: Settings) -> dict[str, bytes]:
    """The job store's files as they are on disk now (database, WAL, shared memory)."""
    folder = settings.job_db_path.parent
    return {path.name: path.read_bytes() for path in folder.glob(settings.job_db_path.name + "*") if path.is_file()}


def check_authorization_only_on_the_api(emulator: RunningEmulator, *, expect_downloads: bool) -> None:
    """Every API request carried the key; no result download and no upload (OSS form post) did."""
    requests = emulator.state.requests
    api = [r for r in requests if r["path"].startswith("/api/") and r["method"] != "WEBSOCKET"]
    assert all(r["headers"].get("authorization") == "Bearer ***" for r in api)
    elsewhere = [r for r in requests if r["path"].startswith(("/results/", "/__oss__/"))]
    assert elsewhere or not expect_downloads, "no result download or upload happened"
    assert [r["path"] for r in elsewhere if "authorization" in r["headers"]] == []


async def run_scenario(
    scenario: Scenario, settings: Settings, input_root: Path, client: Client, observed: Observed
) -> None:
    names = {"image": str(input_root / "photo.png"), "audio": str(input_root / "speech.wav")}
    for tool, arguments in scenario.calls:
        result = await observed.call(client, tool, {k: fill(v, names) for k, v in arguments.items()})
        if result.structured_content and result.structured_content.get("job_id"):
            names["last_job"] = result.structured_content["job_id"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_key_stays_out_of_results_progress_logs_and_the_job_store(
    scenario: Scenario,
    start_emulator: EmulatorFactory,
    fast_services: None,
    clean_env: pytest.MonkeyPatch,
    input_root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = start_emulator(**scenario.emulator)
    base_url = f"http://127.0.0.1:{free_port()}/api/v1" if scenario.unreachable else emulator.base_url
    settings = make_settings(tmp_path, base_url, api_key=SENTINEL, input_roots=str(input_root), wait_seconds=10)
    observed = Observed()
    async with serving(settings) as client:
        await run_scenario(scenario, settings, input_root, client, observed)
        open_store = store_files(settings)
    closed_store = store_files(settings)

    if scenario.expect_error:
        assert scenario.expect_error in observed.error_text(), observed.error_text()[:2000]
    else:
        assert not any(r.is_error for r in observed.results), observed.error_text()[:2000]
    assert observed.progress or scenario.expect_error, "no progress message arrived"
    assert any(r.levelno == logging.DEBUG for r in caplog.records), "the log was not captured at DEBUG"

    assert SENTINEL not in observed.text(), "the API key reached the client"
    leaks = [f"{r.name}: {r.getMessage()[:120]}" for r in caplog.records if SENTINEL in r.getMessage()]
    assert not leaks, "the API key was logged:\n" + "\n".join(leaks)
    assert (SENTINEL in caplog.text) is False, "the API key is in a logged traceback"
    assert open_store and "jobs.sqlite3" in open_store
    if not scenario.unreachable:
        check_authorization_only_on_the_api(emulator, expect_downloads=not scenario.expect_error)
    for name, data in {**open_store, **{f"{k} (closed)": v for k, v in closed_store.items()}}.items():
        assert SENTINEL.encode() not in data, f"the API key is in the job store file {name}"


async def test_uploads_go_to_the_oss_host_without_the_key(
    emulator: RunningEmulator, fast_services: None, clean_env: pytest.MonkeyPatch, input_root: Path, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, api_key=SENTINEL, input_roots=str(input_root))
    async with serving(settings) as client:
        await Observed().call(client, "edit_image", {"image": str(input_root / "photo.png"), "prompt": "x"})
        await Observed().call(client, "speech_to_text", {"audio": str(input_root / "speech.wav")})
    uploads = [r for r in emulator.state.requests if r["path"].startswith("/__oss__/")]
    assert len(uploads) == 2 and all(r["status"] == 200 for r in uploads)
    assert all("authorization" not in r["headers"] for r in uploads)
    policies = [r for r in emulator.state.requests if r["path"].endswith("/uploads")]
    assert len(policies) == 2 and all(r["headers"]["authorization"] == "Bearer ***" for r in policies)


# ---------------------------------------------------------------------------------------------- exceptions


def described(exc: BaseException) -> str:
    """Everything an exception could show: its text, repr, attributes and the whole chained traceback."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    return "\n".join(parts)


async def failures(emulator: RunningEmulator, tmp_path: Path, *, base_url: str) -> list[BaseException]:
    """The exceptions the DashScope client raises for a wrong key or an unreachable service, on every path."""
    caught: list[BaseException] = []
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF....WAVEfmt ")
    client = DashScopeClient(api_key=SENTINEL, base_url=base_url, retry=FAST_RETRY)
    attempts: list[Callable[[], Any]] = [
        lambda: client.submit("services/aigc/text2image/image-synthesis", {"model": "wan2.2-t2i-flash", "input": {}}),
        lambda: client.call("services/aigc/multimodal-generation/generation", {"model": "qwen-image-edit"}),
        lambda: client.get_task("no-such-task"),
        lambda: client.list_tasks(page_no=1),
        lambda: client.cancel("no-such-task"),
        lambda: upload_file(
            client,
            LocalFile(path=audio, sha256="0" * 64, size=audio.stat().st_size, mime_type="audio/wav", param="audio"),
            model="paraformer-v1",
        ),
        lambda: synthesize(
            client.websocket_url,
            client.websocket_headers(),
            model="sambert-zhichu-v1",
            text="hi",
            parameters={"format": "wav", "sample_rate": 16000},
            dest=tmp_path / "speech.wav",
            connect_timeout=5,
        ),
    ]
    async with client:
        for attempt in attempts:
            try:
                with anyio.fail_after(CALL_TIMEOUT):
                    await attempt()
            except Exception as exc:
                caught.append(exc)

        async def consume() -> None:
            async for _ in client.stream("services/aigc/text-generation/generation", {"model": "qwen-plus"}):
                pass

        try:
            await consume()
        except Exception as exc:
            caught.append(exc)
    return caught


@pytest.mark.parametrize("where", ["wrong-key", "refused"])
async def test_exceptions_never_carry_the_key(start_emulator: EmulatorFactory, tmp_path: Path, where: str) -> None:
    emulator = start_emulator(api_keys=frozenset({OTHER_KEY}))
    base_url = emulator.base_url if where == "wrong-key" else f"http://127.0.0.1:{free_port()}/api/v1"
    caught = await failures(emulator, tmp_path, base_url=base_url)
    assert len(caught) == 8, [type(e).__name__ for e in caught]
    assert all(isinstance(e, errors.DashScopeError) for e in caught), [repr(e) for e in caught]
    for exc in caught:
        assert SENTINEL not in described(exc), f"{type(exc).__name__} shows the key"


# ---------------------------------------------------------------------------------------------- spawned server


@pytest.mark.slow
async def test_a_spawned_stdio_server_at_debug_never_logs_the_key(
    start_emulator: EmulatorFactory, tmp_path: Path, input_root: Path
) -> None:
    """`bailian-mcp --log-level DEBUG` over stdio: successes and a 401, then the whole stderr is searched."""
    good = start_emulator()
    log_path = tmp_path / "stderr.log"
    observed = Observed()
    env = {
        "DASHSCOPE_API_KEY": SENTINEL,
        "DASHSCOPE_BASE_URL": good.base_url,
        "BAILIAN_DATA_DIR": str(tmp_path / "data"),
        "BAILIAN_OUTPUT_DIR": str(tmp_path / "out"),
        "BAILIAN_INPUT_ROOTS": str(input_root),
        "BAILIAN_WAIT_SECONDS": "20",
    }
    params = StdioServerParameters(command=ENTRY_POINT, args=["--log-level", "DEBUG"], env=env)
    with log_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await observed.call(client, "text_to_image", {"prompt": "a kite", "size": "512*512"})
            await observed.call(client, "text_to_text", {"prompt": "hi"})
            await observed.call(client, "edit_image", {"image": str(input_root / "photo.png"), "prompt": "x"})
            await observed.call(client, "text_to_speech", {"text": "你好"})
            await observed.call(client, "list_tasks", {})
            await observed.call(client, "text_to_image", {"prompt": "[emulator:inspect] x"})
    log = log_path.read_text(errors="replace")
    assert " DEBUG " in log, log[-2000:]  # the log is being written, at DEBUG level
    assert [r.is_error for r in observed.results] == [False, False, False, False, False, True], observed.error_text()
    assert SENTINEL not in observed.text()
    leaking = [line[:200] for line in log.splitlines() if SENTINEL in line]
    assert not leaking, "the API key is in the server's stderr:\n" + "\n".join(leaking)
    data = tmp_path / "data"
    for path in data.iterdir():
        assert SENTINEL.encode() not in path.read_bytes(), f"the API key is in {path.name}"
