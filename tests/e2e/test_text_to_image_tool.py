"""`text_to_image` and `get_task` driven through the MCP client against the emulator on loopback."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ImageContent, ResourceLink, TextContent
from PIL import Image

from bailian_mcp.capabilities.text_to_image import PROMPT_MAX
from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.server import build_server
from tests.support.emulators import api_requests
from tests.support.services import make_settings


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_tools_are_listed_with_client_friendly_schemas(mcp_client: Client) -> None:
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}
    assert {"text_to_image", "get_task"} <= set(tools)
    schema = tools["text_to_image"].input_schema
    assert schema["required"] == ["prompt"]
    assert "anyOf" not in str(schema) and "null" not in str(schema)
    assert schema["properties"]["seed"] == {"type": "integer", "minimum": 0, "maximum": 2147483647}
    assert "qwen-image" in schema["properties"]["model"]["enum"]
    assert schema["additionalProperties"] is False
    assert tools["text_to_image"].output_schema is not None
    annotations = tools["text_to_image"].annotations
    assert annotations is not None and annotations.read_only_hint is False and annotations.open_world_hint


@pytest.mark.slow
async def test_text_to_image_saves_previews_and_describes_every_image(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    result = await mcp_client.call_tool(
        "text_to_image",
        {"prompt": "未来城市, futuristic city", "n": 2, "size": "1440*810", "seed": 7},
        progress_callback=on_progress,
    )
    assert not result.is_error, texts(result)
    data = result.structured_content
    assert data is not None and data["status"] == "SUCCEEDED" and data["done"] is True
    assert data["task_id"] and data["job_id"].startswith("job_")
    assert data["cost"] == {"amount": 0.28, "currency": "CNY", "basis": "2 images × 0.14 CNY/image"}
    assert [o["index"] for o in data["outputs"]] == [0, 1]
    for output in data["outputs"]:
        path = Path(output["path"])
        assert path.is_file() and output["bytes"] == path.stat().st_size
        assert output["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (output["width"], output["height"]) == (1440, 810)
        with Image.open(path) as image:
            assert image.size == (1440, 810)
        assert output["url"].startswith(emulator.root_url) and output["url_expires_at"].endswith("Z")
        assert output["orig_prompt"] == "未来城市, futuristic city"
    previews = [b for b in result.content if isinstance(b, ImageContent)]
    assert len(previews) == 2
    assert sum(len(base64.b64decode(p.data)) for p in previews) <= 512 * 1024
    links = [b for b in result.content if isinstance(b, ResourceLink)]
    assert [str(link.uri) for link in links] == [f"bailian://jobs/{data['job_id']}/{i}.png" for i in (0, 1)]
    for link, output in zip(links, data["outputs"], strict=True):
        (contents,) = (await mcp_client.read_resource(str(link.uri))).contents
        assert contents.mime_type == "image/png"
        assert base64.b64decode(contents.blob) == Path(output["path"]).read_bytes()  # type: ignore[union-attr]
    assert "0.28 CNY" in texts(result)
    values = [value for value, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values) and len(values) >= 2
    assert any("Submitted" in (message or "") for _, message in progress)


@pytest.mark.slow
async def test_the_request_on_the_wire_has_the_recorded_shape(
    mcp_client: Client, emulator: RunningEmulator, recording: Any
) -> None:
    recorded = recording("image-synthesis-nosse")
    await mcp_client.call_tool("text_to_image", {"prompt": "一只奔跑的猫", "negative_prompt": "人物"})
    (sent,) = api_requests(emulator, "POST", "image-synthesis")
    assert recorded.request_line.split()[1] == sent["path"]
    assert sent["headers"]["x-dashscope-async"] == "enable"
    assert sent["headers"]["authorization"] == "Bearer ***"
    assert set(sent["body"]) == set(recorded.request_body) == {"model", "input", "parameters"}
    assert sent["body"] == {
        "model": "wan2.2-t2i-flash",
        "input": {"prompt": "一只奔跑的猫", "negative_prompt": "人物"},
        "parameters": {"size": "1024*1024", "n": 1, "prompt_extend": True, "watermark": False},
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "size", "expected"),
    [
        ("qwen-image", "1472*1140", (1472, 1104)),
        ("qwen-image", None, (1664, 928)),
        ("wanx2.1-t2i-turbo", "768*1344", (768, 1344)),
        ("wan2.2-t2i-plus", "512x512", (512, 512)),
        ("wanx2.0-t2i-turbo", None, (1024, 1024)),
    ],
)
async def test_models_and_sizes_produce_images_of_the_size_sent(
    mcp_client: Client, model: str, size: str | None, expected: tuple[int, int]
) -> None:
    arguments: dict[str, Any] = {"prompt": "a poster that says 你好", "model": model}
    if size:
        arguments["size"] = size
    result = await mcp_client.call_tool("text_to_image", arguments)
    assert not result.is_error, texts(result)
    (output,) = result.structured_content["outputs"]  # type: ignore[index]
    assert (output["width"], output["height"]) == expected


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"prompt": "x", "model": "wanx2.2-t2i-flash"}, "did you mean 'wan2.2-t2i-flash'"),
        ({"prompt": "x", "model": "qwen-turbo"}, "model"),
        ({"prompt": "x", "model": "qwen-image", "n": 2}, "n=2"),
        ({"prompt": "x", "model": "qwen-image", "size": "1024*1024"}, "size='1024*1024'"),
        ({"prompt": "x", "size": "2048*2048"}, "size='2048*2048'"),
        ({"prompt": "x", "size": "huge"}, "size='huge'"),
        ({"prompt": "x", "n": 5}, "n"),
        ({"prompt": "x", "n": 7}, "n"),
        ({"prompt": "x", "seed": -1}, "seed"),
        ({"prompt": "x", "seed": 2147483648}, "seed"),
        ({"prompt": "x" * (PROMPT_MAX + 1)}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "negative_prompt": "y" * 501}, "negative_prompt"),
        ({"prompt": "x", "num_images": 2}, "num_images"),
        ({}, "prompt"),
    ],
)
async def test_invalid_input_is_rejected_before_anything_is_sent(
    mcp_client: Client, emulator: RunningEmulator, arguments: dict[str, Any], named: str
) -> None:
    result = await mcp_client.call_tool("text_to_image", arguments)
    assert result.is_error
    assert named in texts(result)
    assert api_requests(emulator) == []


@pytest.mark.slow
async def test_a_job_that_outlives_wait_seconds_is_handed_back_and_finished_by_get_task(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    first = await mcp_client.call_tool("text_to_image", {"prompt": "slow", "wait_seconds": 0})
    assert not first.is_error, texts(first)
    handle = first.structured_content
    assert handle is not None and handle["done"] is False and handle["status"] in ("PENDING", "RUNNING")
    assert handle["job_id"] in handle["message"] and "get_task" in handle["message"]
    assert handle["outputs"] == []

    finished = await mcp_client.call_tool("get_task", {"task_id": handle["job_id"], "wait_seconds": 10})
    assert not finished.is_error, texts(finished)
    data = finished.structured_content
    assert data is not None and data["status"] == "SUCCEEDED" and data["job_id"] == handle["job_id"]
    assert Path(data["outputs"][0]["path"]).is_file()
    # Asking again by task id returns the same result without a new submission.
    again = await mcp_client.call_tool("get_task", {"task_id": handle["task_id"], "wait_seconds": 0})
    assert again.structured_content["outputs"] == data["outputs"]  # type: ignore[index]
    assert len(api_requests(emulator, "POST", "image-synthesis")) == 1


@pytest.mark.slow
async def test_get_task_downloads_a_deleted_file_again(mcp_client: Client) -> None:
    made = await mcp_client.call_tool("text_to_image", {"prompt": "keep me"})
    output = made.structured_content["outputs"][0]  # type: ignore[index]
    Path(output["path"]).unlink()
    again = await mcp_client.call_tool("get_task", {"task_id": made.structured_content["job_id"]})  # type: ignore[index]
    assert Path(again.structured_content["outputs"][0]["path"]).read_bytes()  # type: ignore[index]
    assert again.structured_content["outputs"][0]["sha256"] == output["sha256"]  # type: ignore[index]


async def test_get_task_with_an_unknown_handle_says_so(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("get_task", {"task_id": "job_doesnotexist"})
    assert result.is_error and "job_doesnotexist" in texts(result)


@pytest.mark.slow
async def test_a_failed_task_is_an_error_result_with_its_code(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("text_to_image", {"prompt": "[emulator:fail] a cat"})
    assert result.is_error
    data = result.structured_content
    assert data is not None and data["status"] == "FAILED" and data["done"] is True
    assert data["error"]["code"] == "InternalError.Algo"
    assert "FAILED" in texts(result)


@pytest.mark.slow
async def test_partial_failure_keeps_the_good_images_and_charges_only_them(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("text_to_image", {"prompt": "[emulator:partial] cats", "n": 3})
    assert not result.is_error, texts(result)
    data = result.structured_content
    assert data is not None and data["status"] == "SUCCEEDED"
    good = [o for o in data["outputs"] if o["error"] is None]
    bad = [o for o in data["outputs"] if o["error"] is not None]
    assert len(good) == 2 and len(bad) == 1 and bad[0]["error"]["code"] == "InternalError.Timeout"
    assert all(Path(o["path"]).is_file() for o in good)
    assert data["cost"]["amount"] == pytest.approx(0.28)
    assert "1 of 3 failed" in data["message"]


async def test_content_inspection_rejection_tells_the_agent_to_change_the_prompt(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("text_to_image", {"prompt": "[emulator:inspect] something"})
    assert result.is_error and "DataInspectionFailed" in texts(result) and "change the prompt" in texts(result)


async def test_a_wrong_key_gets_a_401_that_explains_keys_are_per_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bailian_mcp.emulator import start_in_thread

    with start_in_thread(EmulatorConfig(api_keys=frozenset({"sk-good"}))) as emulator:
        settings = make_settings(tmp_path, emulator.base_url, api_key="sk-wrong")
        async with Client(build_server(settings)) as client:
            result = await client.call_tool("text_to_image", {"prompt": "cat"})
    assert result.is_error
    assert "InvalidApiKey" in texts(result) and "region" in texts(result)
    assert "sk-wrong" not in texts(result)


async def test_without_a_key_tools_are_listed_and_calls_say_what_to_set(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/api/v1", api_key=None)
    async with Client(build_server(settings)) as client:
        assert {t.name for t in (await client.list_tools()).tools} >= {"text_to_image", "get_task"}
        result = await client.call_tool("text_to_image", {"prompt": "cat"})
    assert result.is_error and "DASHSCOPE_API_KEY" in texts(result)


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0.05, running_seconds=0.1, submit_rps=1.0)])
async def test_throttling_is_absorbed_by_retries(
    tmp_path: Path, emulator: RunningEmulator, emulator_config: EmulatorConfig
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, image_submit_rps=50.0)  # pace faster than allowed
    async with Client(build_server(settings)) as client:
        first = await client.call_tool("text_to_image", {"prompt": "one", "wait_seconds": 0})
        second = await client.call_tool("text_to_image", {"prompt": "two", "wait_seconds": 0})
    assert not first.is_error and not second.is_error, texts(second)
    statuses = [r["status"] for r in api_requests(emulator, "POST", "image-synthesis")]
    assert 429 in statuses and statuses.count(200) == 2


@pytest.mark.slow
async def test_client_side_pacing_keeps_concurrent_submissions_under_the_limit(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    import anyio

    # Paced at 1.6/s against the emulator's 2/s: the slack absorbs the jitter of a busy machine (four test workers
    # on two cores), which could otherwise bring two submissions spaced at exactly the limit into one second.
    settings = make_settings(tmp_path, emulator.base_url, image_submit_rps=1.6)
    async with Client(build_server(settings)) as client:

        async def one(i: int) -> None:
            result = await client.call_tool("text_to_image", {"prompt": f"cat {i}", "wait_seconds": 0})
            assert not result.is_error, texts(result)

        async with anyio.create_task_group() as group:
            for i in range(4):
                group.start_soon(one, i)
    statuses = [r["status"] for r in api_requests(emulator, "POST", "image-synthesis")]
    assert statuses == [200, 200, 200, 200]


@pytest.mark.slow
async def test_the_legacy_handshake_works_too(server_settings: Settings) -> None:
    async with Client(build_server(server_settings), mode="legacy") as client:
        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        result = await client.call_tool("text_to_image", {"prompt": "cat"}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content["status"] == "SUCCEEDED"  # type: ignore[index]
    assert progress


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=30, running_seconds=1)])
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelling_the_call_cancels_the_pending_task_on_dashscope(
    server_settings: Settings, emulator: RunningEmulator, emulator_config: EmulatorConfig, mode: Any
) -> None:
    import anyio

    from bailian_mcp.jobs.store_sqlite import SQLiteJobStore

    async with Client(build_server(server_settings), mode=mode) as client:
        with anyio.move_on_after(1.5):
            await client.call_tool("text_to_image", {"prompt": "never mind", "wait_seconds": 30})
        with anyio.fail_after(5):
            while not api_requests(emulator, "POST", "/cancel"):
                await anyio.sleep(0.05)
    (created,) = api_requests(emulator, "POST", "image-synthesis")
    (cancel,) = api_requests(emulator, "POST", "/cancel")
    assert cancel["status"] == 200
    store = SQLiteJobStore(server_settings.job_db_path)
    try:
        (job,) = await store.list()
    finally:
        store.close()
    assert job.status == "CANCELED" and cancel["path"] == f"/api/v1/tasks/{job.task_id}/cancel"
    assert created["status"] == 200
