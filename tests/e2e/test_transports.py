"""The installed `bailian-mcp` entry point, spawned as a user's MCP host would: stdio, SSE, streamable HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from bailian_mcp.emulator import RunningEmulator
from tests.support.spawned import ENTRY_POINT, free_port

pytestmark = pytest.mark.slow


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"BAILIAN_DATA_DIR": str(tmp_path / "data"), "BAILIAN_OUTPUT_DIR": str(tmp_path / "out"), **extra}


async def generate_one_image(client: Client) -> dict[str, Any]:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert {"text_to_image", "get_task"} <= tools
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    result = await client.call_tool(
        "text_to_image", {"prompt": "a lighthouse", "size": "768*512"}, progress_callback=on_progress
    )
    assert not result.is_error, result.content
    assert progress, "no progress notification arrived"
    data = result.structured_content
    assert data is not None and data["status"] == "SUCCEEDED"
    assert Path(data["outputs"][0]["path"]).is_file()
    return data


async def test_stdio_entry_point_against_an_external_dashscope(tmp_path: Path, emulator: RunningEmulator) -> None:
    """As the acceptance check runs it: DASHSCOPE_BASE_URL pointing at a separate DashScope look-alike."""
    params = StdioServerParameters(
        command=ENTRY_POINT,
        env=isolated_env(tmp_path, DASHSCOPE_API_KEY="sk-test", DASHSCOPE_BASE_URL=emulator.base_url),
    )
    async with Client(params) as client:
        data = await generate_one_image(client)
    assert (data["outputs"][0]["width"], data["outputs"][0]["height"]) == (768, 512)


async def test_stdio_with_the_built_in_emulator_and_no_key(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    async with Client(
        StdioServerParameters(command=ENTRY_POINT, args=["--emulator"], env=env), mode="legacy"
    ) as client:
        await generate_one_image(client)


@pytest.fixture
def http_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """`bailian-mcp --emulator --transport <param>` on a free loopback port; yields its root URL."""
    port = free_port()
    env = {**os.environ, **isolated_env(tmp_path)}
    env.pop("DASHSCOPE_API_KEY", None)
    process = subprocess.Popen(
        [ENTRY_POINT, "--emulator", "--transport", request.param, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode() if process.stderr else "no stderr") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize("http_server", ["streamable-http"], indirect=True)
async def test_streamable_http(http_server: str) -> None:
    async with Client(f"{http_server}/mcp") as client:
        await generate_one_image(client)


@pytest.mark.parametrize("http_server", ["sse"], indirect=True)
async def test_sse(http_server: str) -> None:
    async with Client(sse_client(f"{http_server}/sse")) as client:
        await generate_one_image(client)


async def test_stdio_speech_lineup_against_an_external_dashscope(tmp_path: Path, emulator: RunningEmulator) -> None:
    """Every new voice model speaks with its default voice and every new recognizer reads it back, over stdio; two
    files on the one-file recognizer are two tasks of one job."""
    params = StdioServerParameters(
        command=ENTRY_POINT,
        env=isolated_env(tmp_path, DASHSCOPE_API_KEY="sk-test", DASHSCOPE_BASE_URL=emulator.base_url),
    )
    voices = [
        "cosyvoice-v3-flash",
        "cosyvoice-v3-plus",
        "cosyvoice-v2",
        "qwen-audio-3.1-tts-flash",
        "qwen3-tts-flash",
        "qwen-tts",
    ]
    async with Client(params) as client:
        spoken = []
        for n, model in enumerate(voices):
            result = await client.call_tool(
                "text_to_speech", {"text": f"欢迎使用阿里云，第{n + 1}次。", "model": model}
            )
            assert not result.is_error and result.structured_content is not None, (model, result.content)
            (audio,) = result.structured_content["outputs"]
            assert Path(audio["path"]).stat().st_size > 44 and audio["duration_seconds"] > 0, model
            spoken.append(audio["path"])
        for model in ["fun-asr", "paraformer-v2", "qwen3-asr-flash", "qwen-audio-3.1-asr-flash-filetrans"]:
            result = await client.call_tool("speech_to_text", {"audio": spoken[:1], "model": model})
            assert result.structured_content is not None and result.structured_content["text"], (model, result.content)
        several = []
        for model in ["qwen3-asr-flash-filetrans", "qwen-audio-3.1-asr-flash-filetrans"]:
            arguments = {"audio": spoken[:3], "model": model, "wait_seconds": 60}
            several.append((await client.call_tool("speech_to_text", arguments)).structured_content)
    for data in several:
        assert data is not None and data["status"] == "SUCCEEDED" and len(data["task_ids"]) == 3
        assert [o["source"] for o in data["outputs"]] == spoken[:3] and all(o["text"] for o in data["outputs"])


def test_stdio_on_a_terminal_says_it_waits_for_a_client_and_how_to_try_a_command(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, **isolated_env(tmp_path)}
    process = subprocess.Popen(
        [ENTRY_POINT, "--emulator"], stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert process.stderr is not None
        said = b""
        deadline = time.monotonic() + 20
        while b"Ctrl+C" not in said and time.monotonic() < deadline:
            said += process.stderr.readline()
        assert b"waits for an MCP client" in said and b"bailian-mcp --emulator text2image" in said, said
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.close(leader)
        os.close(follower)
