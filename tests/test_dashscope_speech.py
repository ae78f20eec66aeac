"""The Sambert WebSocket session, against a fake Sambert server on 127.0.0.1 that answers like the recordings."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from bailian_mcp.config import load_settings
from bailian_mcp.dashscope import errors, protocol, speech
from bailian_mcp.dashscope.client import DashScopeClient
from tests.support.media import mp3_bytes, wav_bytes
from tests.support.recordings import RECORDINGS
from tests.support.sambert import EVENTS, KEY, PARAMETERS, REQUEST_UUID, WS_PATH, FakeSambert, Scenario, split
from tests.support.spawned import free_port


@pytest.fixture
async def fake() -> AsyncIterator[FakeSambert]:
    async with FakeSambert() as server:
        yield server


async def synthesize(fake: FakeSambert, dest: Path, **options: Any) -> speech.SpeechResult:
    parameters = {**PARAMETERS, **options.pop("parameters", {})}
    return await speech.synthesize(
        options.pop("url", fake.url),
        options.pop("headers", {"Authorization": f"Bearer {KEY}"}),
        model=options.pop("model", "sambert-zhichu-v1"),
        text=options.pop("text", "床前明月光，疑是地上霜。"),
        parameters=parameters,
        dest=dest,
        **options,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------- success


@pytest.mark.parametrize(
    ("audio_format", "data"), [("wav", wav_bytes(0.5)), ("pcm", bytes(8000)), ("mp3", mp3_bytes())]
)
async def test_the_audio_is_the_concatenated_binary_frames_saved_atomically(
    fake: FakeSambert, tmp_path: Path, audio_format: str, data: bytes
) -> None:
    fake.scenario = Scenario(chunks=split(data, 3000))
    dest = tmp_path / "out" / f"speech.{audio_format}"
    reports: list[int] = []

    async def progress(size: int) -> None:
        reports.append(size)

    result = await synthesize(
        fake, dest, parameters={"format": audio_format}, on_progress=progress, progress_every=5000
    )

    assert dest.read_bytes() == data
    assert result.path == dest and result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.characters == len("床前明月光，疑是地上霜。") and result.request_uuid == REQUEST_UUID
    assert result.task_id == fake.frames[0]["header"]["task_id"]
    assert result.sentences == ({"words": []},)
    assert leftovers(dest.parent) == [dest.name], "no temporary file is left beside the result"
    assert reports and reports == sorted(reports) and reports[-1] <= len(data)
    assert all(later - earlier >= 3000 for earlier, later in itertools.pairwise(reports))


async def test_the_run_task_frame_and_handshake_are_exactly_what_sambert_expects(
    fake: FakeSambert, tmp_path: Path
) -> None:
    parameters = {"format": "mp3", "sample_rate": 24000, "volume": 80, "rate": 1.5, "pitch": 0.8}
    await synthesize(
        fake,
        tmp_path / "a.mp3",
        model="sambert-cindy-v1",
        text="Hello, world.",
        parameters=parameters,
        headers={"Authorization": f"Bearer {KEY}", "Accept": "application/json", "User-Agent": "bailian-mcp/9"},
    )

    [frame] = fake.frames
    task_id = frame["header"]["task_id"]
    assert len(task_id) == 32 and int(task_id, 16) >= 0, "a uuid4 hex, as the SDK sends"
    assert frame == {
        "header": {"action": "run-task", "task_id": task_id, "streaming": "out"},
        "payload": {
            "task_group": "audio",
            "task": "tts",
            "function": "SpeechSynthesizer",
            "model": "sambert-cindy-v1",
            "parameters": {
                "text_type": "PlainText",
                "format": "mp3",
                "sample_rate": 24000,
                "volume": 80,
                "rate": 1.5,
                "pitch": 0.8,
            },
            "input": {"text": "Hello, world."},
        },
    }
    [headers] = fake.handshakes
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers.get_all("User-Agent") == ["bailian-mcp/9"]
    assert "Accept" not in headers


async def test_each_session_gets_its_own_task_id(fake: FakeSambert, tmp_path: Path) -> None:
    await synthesize(fake, tmp_path / "a.wav")
    await synthesize(fake, tmp_path / "b.wav")
    assert len({frame["header"]["task_id"] for frame in fake.frames}) == 2


async def test_unicode_text_goes_out_as_utf8_text(fake: FakeSambert, tmp_path: Path) -> None:
    await synthesize(fake, tmp_path / "a.wav", text="代码改变世界 🌏")
    assert fake.frames[0]["payload"]["input"]["text"] == "代码改变世界 🌏"


# ---------------------------------------------------------------------- what the service refuses


async def test_task_failed_is_the_typed_error_with_the_services_words(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(fail=("InvalidParameter", "[tts:]Engine return error code: 418"), fail_after=1)
    dest = tmp_path / "a.wav"
    with pytest.raises(errors.InvalidRequestError) as caught:
        await synthesize(fake, dest)
    error = caught.value
    assert error.code == "InvalidParameter" and error.service_message == "[tts:]Engine return error code: 418"
    assert error.request_id == REQUEST_UUID
    assert "task-failed InvalidParameter: [tts:]Engine return error code: 418" in str(error)
    assert "Fix the parameter" in str(error)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("Throttling.RateQuota", errors.RateLimitError),
        ("Arrearage", errors.QuotaError),
        ("DataInspectionFailed", errors.ContentRejectedError),
        ("InternalError", errors.ServerError),
        ("SERVER_ERROR", errors.ServerError),
        ("CLIENT_ERROR", errors.InvalidRequestError),
        ("Model.AccessDenied", errors.PermissionDeniedError),
    ],
)
async def test_task_failed_codes_map_to_their_families(
    fake: FakeSambert, tmp_path: Path, code: str, family: type[errors.DashScopeError]
) -> None:
    fake.scenario = Scenario(fail=(code, "something"))
    with pytest.raises(errors.DashScopeError) as caught:
        await synthesize(fake, tmp_path / "a.wav")
    assert type(caught.value) is family and caught.value.code == code


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_handshake_is_an_authentication_error_naming_the_region(
    fake: FakeSambert, tmp_path: Path, status: int
) -> None:
    if status == 403:
        fake.scenario = Scenario(reject=403)
    with pytest.raises(errors.AuthenticationError) as caught:
        await synthesize(fake, tmp_path / "a.wav", headers={"Authorization": "Bearer sk-wrong-key"})
    message = str(caught.value)
    assert f"HTTP {status}" in message and "wrong" in message and "Beijing" in message
    assert "sk-wrong-key" not in message and KEY not in message
    assert caught.value.status == status
    assert fake.frames == [] and leftovers(tmp_path) == []


async def test_other_handshake_refusals_keep_their_family(fake: FakeSambert, tmp_path: Path) -> None:
    with pytest.raises(errors.NotFoundError):
        await synthesize(fake, tmp_path / "a.wav", url=fake.url.replace(WS_PATH, "/elsewhere"))


# ---------------------------------------------------------------------- connections that fail


async def test_a_connection_dropped_mid_audio_leaves_no_file(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(drop_after=3)
    with pytest.raises(errors.DashScopeConnectionError) as caught:
        await synthesize(fake, tmp_path / "a.wav")
    assert caught.value.request_sent is True
    assert "before the task finished" in str(caught.value) and "audio bytes received" in str(caught.value)
    assert leftovers(tmp_path) == []


async def test_a_websocket_closed_by_the_server_before_task_finished_leaves_no_file(
    fake: FakeSambert, tmp_path: Path
) -> None:
    fake.scenario = Scenario(close_after=2)
    with pytest.raises(errors.DashScopeConnectionError) as caught:
        await synthesize(fake, tmp_path / "a.wav")
    assert caught.value.request_sent is True and "1011" in str(caught.value)
    assert leftovers(tmp_path) == []


async def test_a_silent_server_hits_the_idle_timeout(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(stall_after=1)
    with anyio.fail_after(5):
        with pytest.raises(errors.DashScopeConnectionError) as caught:
            await synthesize(fake, tmp_path / "a.wav", idle_timeout=0.3)
    assert caught.value.request_sent is True and "sent nothing for 0.3 s" in str(caught.value)
    assert leftovers(tmp_path) == []
    with anyio.fail_after(3):
        while fake.sessions_closed < 1:
            await anyio.sleep(0.01)  # the client closed its side


async def test_slow_but_steady_audio_is_not_an_idle_timeout(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(chunks=split(wav_bytes(0.2), 2000), chunk_delay=0.05)
    result = await synthesize(fake, tmp_path / "a.wav", idle_timeout=0.3)
    assert result.size == len(wav_bytes(0.2))


async def test_cancelling_the_session_leaves_no_file(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(stall_after=2)
    received: list[int] = []

    async def progress(size: int) -> None:
        received.append(size)

    with anyio.fail_after(5):
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: synthesize(fake, tmp_path / "a.wav", on_progress=progress, progress_every=1))
                while not received:
                    await anyio.sleep(0.01)
                scope.cancel()
    assert scope.cancelled_caught
    assert leftovers(tmp_path) == []
    with anyio.fail_after(3):
        while fake.sessions_closed < 1:
            await anyio.sleep(0.01)


async def test_no_server_is_a_connection_error_before_anything_was_sent(tmp_path: Path) -> None:
    with pytest.raises(errors.DashScopeConnectionError) as caught:
        await speech.synthesize(
            f"ws://127.0.0.1:{free_port()}{WS_PATH}",
            {"Authorization": f"Bearer {KEY}"},
            model="sambert-zhichu-v1",
            text="你好",
            parameters=PARAMETERS,
            dest=tmp_path / "a.wav",
        )
    assert caught.value.request_sent is False and KEY not in str(caught.value)
    assert leftovers(tmp_path) == []


async def test_a_server_that_never_answers_the_handshake_hits_the_connect_timeout(tmp_path: Path) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def mute(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await anyio.sleep(10)

    async with anyio.create_task_group() as group:
        group.start_soon(listener.serve, mute)
        with anyio.fail_after(5), pytest.raises(errors.DashScopeConnectionError) as caught:
            await speech.synthesize(
                f"ws://127.0.0.1:{port}{WS_PATH}",
                {"Authorization": f"Bearer {KEY}"},
                model="sambert-zhichu-v1",
                text="你好",
                parameters=PARAMETERS,
                dest=tmp_path / "a.wav",
                connect_timeout=0.3,
            )
        group.cancel_scope.cancel()
    await listener.aclose()
    assert caught.value.request_sent is False and "within 0.3 s" in str(caught.value)
    assert leftovers(tmp_path) == []


async def test_a_finished_task_without_audio_is_an_error_not_an_empty_file(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(chunks=[])
    with pytest.raises(errors.ServerError, match="no audio"):
        await synthesize(fake, tmp_path / "a.wav")
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------- small facts


@pytest.mark.parametrize(
    "base_url",
    [
        "https://dashscope.aliyuncs.com/api/v1",
        "https://dashscope-intl.aliyuncs.com/api/v1",
        "http://127.0.0.1:8765/api/v1",
        "https://ws-1.cn-beijing.maas.aliyuncs.com/api/v1",
    ],
)
def test_the_websocket_url_is_derived_from_the_http_base_url(base_url: str) -> None:
    url = protocol.websocket_url(base_url)
    host = base_url.split("/")[2]
    assert url == ("ws" if base_url.startswith("http:") else "wss") + f"://{host}/api-ws/v1/inference"


def test_dashscope_websocket_base_url_overrides_the_derived_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", "ws://127.0.0.1:9/api-ws/v1/inference")
    settings = load_settings(base_url="https://dashscope.aliyuncs.com/api/v1")
    client = DashScopeClient(api_key="sk-x", base_url=settings.resolved_base_url, websocket_url=settings.websocket_url)
    assert client.websocket_url == "ws://127.0.0.1:9/api-ws/v1/inference"
    assert client.websocket_headers()["Authorization"] == "Bearer sk-x"


def test_the_fake_answers_like_the_recordings() -> None:
    """The fake's events have the recorded shape: same keys, same values apart from ids and counts."""
    if not RECORDINGS.is_dir():
        pytest.skip("the recordings folder is not beside this checkout")
    for name, ours in EVENTS.items():
        recorded = json.loads((RECORDINGS / f"socket-speech-synthesizer.{name}.json").read_text("utf-8-sig"))
        recorded["header"]["task_id"] = ""
        if name == "task-finished":
            recorded["payload"]["usage"]["characters"] = ours["payload"]["usage"]["characters"]
        assert ours == recorded, name


@pytest.mark.slow
def test_websockets_is_imported_only_when_a_session_starts() -> None:
    code = (
        "import sys, bailian_mcp.dashscope.speech, bailian_mcp.capabilities.text_to_speech; "
        "sys.exit('websockets' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
