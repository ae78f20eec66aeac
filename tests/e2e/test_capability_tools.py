"""Every capability's tool driven through the MCP client against the emulator on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import AudioContent, TextContent

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from tests.support.emulators import api_requests
from tests.support.media import data_uri, png_bytes, write_png


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, texts(result)
    assert result.structured_content is not None
    return result.structured_content


# ---------------------------------------------------------------------------------------------------- text


async def test_text_to_text_streams_an_answer_with_usage_and_cost(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    result = await mcp_client.call_tool(
        "text_to_text",
        {"prompt": "Write one line of product copy for a tea cup.", "model": "qwen-turbo", "system": "Be brief."},
        progress_callback=on_progress,
    )
    assert not result.is_error, texts(result)
    data = result.structured_content
    assert data is not None and data["status"] == "SUCCEEDED" and data["finish_reason"] == "stop"
    assert data["text"] and isinstance(result.content[0], TextContent) and result.content[0].text == data["text"]
    assert data["usage"]["output_tokens"] > 0 and data["cost"]["currency"] == "CNY"
    (sent,) = api_requests(emulator, "POST", "text-generation")
    assert sent["headers"]["x-dashscope-sse"] == "enable"
    assert sent["body"]["input"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["body"]["parameters"]["max_tokens"] == 1500 and sent["body"]["parameters"]["incremental_output"]


async def test_text_to_text_rejects_temperature_2_before_sending(mcp_client: Client, emulator: RunningEmulator) -> None:
    result = await mcp_client.call_tool("text_to_text", {"prompt": "hi", "temperature": 2.0})
    assert result.is_error and "temperature" in texts(result)
    assert api_requests(emulator) == []


async def test_text_to_text_keeps_the_partial_answer_of_a_stream_that_fails(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("text_to_text", {"prompt": "[emulator:stream-error] tell me a story"})
    assert result.is_error
    data = result.structured_content
    assert data is not None and data["status"] == "FAILED" and data["text"]
    assert data["error"]["code"] == "InternalError"


async def test_text_to_text_continues_a_conversation(mcp_client: Client, emulator: RunningEmulator) -> None:
    history = [{"role": "user", "content": "My name is Li."}, {"role": "assistant", "content": "Hello Li."}]
    await call(mcp_client, "text_to_text", {"prompt": "What is my name?", "messages": history})
    (sent,) = api_requests(emulator, "POST", "text-generation")
    assert sent["body"]["input"]["messages"] == [*history, {"role": "user", "content": "What is my name?"}]


# ---------------------------------------------------------------------------------------------------- image edits


async def test_edit_image_uploads_a_local_file_and_sends_it_as_oss(
    mcp_client: Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    source = write_png(tmp_path / "poster.png", (640, 480))
    data = await call(mcp_client, "edit_image", {"image": str(source), "prompt": "把文字改成“开业大吉”"})
    assert data["status"] == "SUCCEEDED" and data["cost"]["amount"] == pytest.approx(0.3)
    (output,) = data["outputs"]
    assert Path(output["path"]).is_file() and (output["width"], output["height"]) == (640, 480)
    policy, upload, edit = (
        api_requests(emulator, "GET", "/uploads"),
        [
            r
            for r in emulator.state.requests
            if r["method"] == "POST" and "upload" in r["path"] and "api" not in r["path"]
        ],
        api_requests(emulator, "POST", "multimodal-generation"),
    )
    assert len(policy) == 1 and policy[0]["query"]["model"] == "qwen-image-edit"
    assert len(upload) == 1 and upload[0]["status"] == 200
    image_ref = edit[0]["body"]["input"]["messages"][0]["content"][0]["image"]
    assert image_ref.startswith("oss://") and edit[0]["headers"]["x-dashscope-ossresourceresolve"] == "enable"

    # The same file again: the upload is reused, not repeated.
    await call(mcp_client, "edit_image", {"image": str(source), "prompt": "make it blue"})
    assert len(api_requests(emulator, "GET", "/uploads")) == 1


@pytest.mark.slow
async def test_edit_image_takes_a_url_and_a_data_uri(mcp_client: Client, tmp_path: Path) -> None:
    made = await call(mcp_client, "text_to_image", {"prompt": "a shop sign", "size": "768*768"})
    url = made["outputs"][0]["url"]
    by_url = await call(mcp_client, "edit_image", {"image": url, "prompt": "add a cat"})
    assert (by_url["outputs"][0]["width"], by_url["outputs"][0]["height"]) == (768, 768)
    inline = data_uri(png_bytes(400, 400, (0, 128, 255)))
    by_data = await call(mcp_client, "edit_image", {"image": inline, "prompt": "add a hat"})
    assert by_data["outputs"][0]["width"] == 400


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"image": "/etc/hostname", "prompt": "x"}, "BAILIAN_INPUT_ROOTS"),
        ({"image": ["a.png", "b.png"], "prompt": "x"}, "qwen-image-edit-plus"),
        ({"image": "https://example.com/a.png", "prompt": "x", "n": 2}, "n=2"),
        ({"image": "https://example.com/a.png", "prompt": "x", "size": "1024*1024"}, "size"),
    ],
)
async def test_edit_image_refuses_bad_input_before_sending(
    mcp_client: Client, emulator: RunningEmulator, arguments: dict[str, Any], named: str
) -> None:
    result = await mcp_client.call_tool("edit_image", arguments)
    assert result.is_error and named in texts(result)
    assert api_requests(emulator) == []


async def test_edit_image_refuses_a_tiny_local_image(
    mcp_client: Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    small = write_png(tmp_path / "small.png", (200, 200))
    result = await mcp_client.call_tool("edit_image", {"image": str(small), "prompt": "x"})
    assert result.is_error and "200×200" in texts(result) and "384" in texts(result)
    assert api_requests(emulator) == []


@pytest.mark.slow
async def test_wanx_edit_image_expands_a_local_image(
    mcp_client: Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    base = write_png(tmp_path / "cactus.png", (600, 600))
    data = await call(
        mcp_client,
        "wanx_edit_image",
        {
            "function": "expand",
            "prompt": "extend the desert",
            "base_image_url": str(base),
            "top_scale": 1.5,
            "bottom_scale": 1.5,
        },
    )
    assert data["status"] == "SUCCEEDED" and data["task_id"]
    (output,) = data["outputs"]
    assert (output["width"], output["height"]) == (600, 1200)
    (sent,) = api_requests(emulator, "POST", "image2image")
    assert sent["body"]["input"]["function"] == "expand" and sent["body"]["input"]["base_image_url"].startswith(
        "oss://"
    )
    assert sent["body"]["parameters"]["top_scale"] == 1.5


@pytest.mark.slow
async def test_wanx_edit_image_inpaints_with_a_mask(mcp_client: Client, tmp_path: Path) -> None:
    base = write_png(tmp_path / "room.png", (640, 640))
    mask = write_png(tmp_path / "mask.png", (640, 640), (255, 255, 255))
    data = await call(
        mcp_client,
        "wanx_edit_image",
        {
            "function": "description_edit_with_mask",
            "prompt": "a ceramic rabbit",
            "base_image_url": str(base),
            "mask_image_url": str(mask),
            "n": 2,
        },
    )
    assert len(data["outputs"]) == 2 and all(Path(o["path"]).is_file() for o in data["outputs"])


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"function": "expand", "strength": 0.3}, "strength"),
        ({"function": "description_edit_with_mask"}, "mask_image_url"),
        ({"function": "colorization", "upscale_factor": 2}, "upscale_factor"),
        ({"function": "enhance"}, "function"),
    ],
)
async def test_wanx_edit_image_refuses_parameters_of_another_function(
    mcp_client: Client, emulator: RunningEmulator, tmp_path: Path, arguments: dict[str, Any], named: str
) -> None:
    base = write_png(tmp_path / "b.png", (600, 600))
    result = await mcp_client.call_tool("wanx_edit_image", {"prompt": "x", "base_image_url": str(base), **arguments})
    assert result.is_error and named in texts(result)
    assert api_requests(emulator) == []


async def test_wanx_edit_image_refuses_a_mask_of_another_size(mcp_client: Client, tmp_path: Path) -> None:
    base = write_png(tmp_path / "b.png", (600, 600))
    mask = write_png(tmp_path / "m.png", (512, 512), (255, 255, 255))
    result = await mcp_client.call_tool(
        "wanx_edit_image",
        {
            "function": "description_edit_with_mask",
            "prompt": "x",
            "base_image_url": str(base),
            "mask_image_url": str(mask),
        },
    )
    assert result.is_error and "512×512" in texts(result) and "600×600" in texts(result)


# ---------------------------------------------------------------------------------------------------- video


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0.2, running_seconds=0.8)])
async def test_text_to_video_hands_back_a_job_and_get_task_saves_the_mp4(
    mcp_client: Client, emulator: RunningEmulator, emulator_config: EmulatorConfig
) -> None:
    handle = await call(
        mcp_client, "text_to_video", {"prompt": "sunrise time-lapse", "model": "wan2.1-t2v-plus", "wait_seconds": 0}
    )
    assert handle["done"] is False and "get_task" in handle["message"]
    (sent,) = api_requests(emulator, "POST", "video-synthesis")
    assert sent["body"]["model"] == "wanx2.1-t2v-plus"
    assert sent["body"]["parameters"] == {"size": "720*1280", "duration": 5, "prompt_extend": True, "watermark": False}
    done = await call(mcp_client, "get_task", {"task_id": handle["job_id"], "wait_seconds": 20})
    assert done["status"] == "SUCCEEDED"
    (video,) = done["outputs"]
    assert video["kind"] == "video" and video["path"].endswith(".mp4") and Path(video["path"]).is_file()
    assert video["duration_seconds"] == pytest.approx(5.0)
    assert done["cost"]["amount"] == pytest.approx(3.5)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"duration": 10}, "5-second"),
        ({"resolution": "480*854"}, "nearest is 480*832"),
        ({"resolution": "832*480", "model": "wan2.1-t2v-plus"}, "makes only"),
    ],
)
async def test_text_to_video_refuses_what_the_service_would(
    mcp_client: Client, emulator: RunningEmulator, arguments: dict[str, Any], named: str
) -> None:
    result = await mcp_client.call_tool("text_to_video", {"prompt": "sunrise", **arguments})
    assert result.is_error and named in texts(result)
    assert api_requests(emulator) == []


# ---------------------------------------------------------------------------------------------------- audio


@pytest.mark.slow
async def test_speech_round_trip_text_to_speech_then_speech_to_text(mcp_client: Client, tmp_path: Path) -> None:
    spoken = await mcp_client.call_tool(
        "text_to_speech", {"text": "你好，欢迎使用百炼。", "model": "sambert-zhichu-v1"}
    )
    assert not spoken.is_error, texts(spoken)
    speech = spoken.structured_content
    assert speech is not None and speech["usage"]["characters"] > 0
    (audio,) = speech["outputs"]
    assert audio["kind"] == "audio" and audio["path"].endswith(".wav") and audio["duration_seconds"] > 0
    assert not any(isinstance(block, AudioContent) for block in spoken.content), "not inlined unless asked"

    heard = await call(mcp_client, "speech_to_text", {"audio": [audio["path"]]})
    assert heard["status"] == "SUCCEEDED"
    (transcript,) = heard["outputs"]
    assert "你好，欢迎使用百炼。" in transcript["text"] and transcript["segments"]
    assert heard["text"] == transcript["text"]


@pytest.mark.parametrize(("audio_format", "suffix"), [("mp3", ".mp3"), ("pcm", ".pcm")])
async def test_text_to_speech_formats(mcp_client: Client, audio_format: str, suffix: str) -> None:
    data = await call(
        mcp_client,
        "text_to_speech",
        {"text": "Hello there.", "model": "sambert-en-v1", "format": audio_format, "sample_rate": 16000},
    )
    assert data["outputs"][0]["path"].endswith(suffix) and data["outputs"][0]["bytes"] > 0


@pytest.mark.slow
async def test_speech_to_text_reports_a_failed_file_without_failing_the_others(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    spoken = await call(mcp_client, "text_to_speech", {"text": "Good morning.", "model": "sambert-en-v1"})
    good = spoken["outputs"][0]["path"]
    missing = f"{emulator.root_url}/results/none/missing.wav"
    data = await call(mcp_client, "speech_to_text", {"audio": [good, missing], "model": "paraformer-en-v1"})
    ok, failed = data["outputs"]
    assert "Good morning." in ok["text"] and failed["error"]["code"]
    (sent,) = api_requests(emulator, "POST", "transcription")
    assert sent["body"]["model"] == "paraformer-v2" and sent["body"]["parameters"]["language_hints"] == ["en"]


async def test_speech_to_text_refuses_a_file_outside_the_allowed_folders(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    result = await mcp_client.call_tool("speech_to_text", {"audio": "/etc/passwd.wav"})
    assert result.is_error and "BAILIAN_INPUT_ROOTS" in texts(result)
    assert api_requests(emulator) == []


async def test_every_capability_is_a_tool(mcp_client: Client) -> None:
    tools = {t.name for t in (await mcp_client.list_tools()).tools}
    assert tools >= {capability.name for capability in CAPABILITIES.values()} | {"get_task"}
