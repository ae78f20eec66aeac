"""The 2026 image and video lineup through the MCP client against the emulator: every new model of every tool is
called, its request reaches its model's endpoint in its protocol, local files arrive as `oss://` (resolved), and the
outputs are saved (PNG of the size asked, MP4). Invalid combinations are refused before anything is sent."""

from __future__ import annotations

import sqlite3
import wave
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import TextContent

from bailian_mcp import catalog
from bailian_mcp.catalog import ImageEditModel, ImageModel, VideoModel
from bailian_mcp.config import Settings
from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.server import build_server
from tests.support.emulators import api_requests
from tests.support.media import write_png, write_wav
from tests.support.services import make_settings

BRIEF = {
    "paraformer-v1",
    "paraformer-v2",
    "paraformer-en-v1",
    "wan2.2-t2i-flash",
    "wan2.2-t2i-plus",
    "wanx2.1-t2i-turbo",
    "wanx2.1-t2i-plus",
    "wanx2.0-t2i-turbo",
    "qwen-image",
    "qwen-image-edit",
    "qwen-image-edit-plus",
    "wan2.1-t2v-turbo",
    "wan2.1-t2v-plus",
}


PNG_URL, MP4_URL = "https://example.com/a.png", "https://example.com/a.mp4"


def lineup(capability: str) -> list[str]:
    """The capability's models beyond the brief's, from the catalogue."""
    return [m.name for m in catalog.models_for(capability) if m.name not in BRIEF]


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, {**arguments, "wait_seconds": 60})
    assert not result.is_error, texts(result)
    assert result.structured_content is not None
    data: dict[str, Any] = result.structured_content
    assert data["status"] == "SUCCEEDED" and data["done"], data["message"]
    return data


def sent_to(emulator: RunningEmulator, model: catalog.ModelSpec) -> dict[str, Any]:
    """The one submission the emulator received, checked to have reached the model's endpoint."""
    posts = [r for r in api_requests(emulator, "POST") if "/services/" in r["path"]]
    assert len(posts) == 1, [r["path"] for r in posts]
    assert posts[0]["path"].endswith(model.endpoint.path), posts[0]["path"]
    body: dict[str, Any] = posts[0]["body"]
    return body


@pytest.fixture
def frames(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "inputs"
    return {
        "first": str(write_png(folder / "first.png", (640, 480))),
        "last": str(write_png(folder / "last.png", (640, 480), (20, 40, 200))),
        "person": str(write_png(folder / "person.png", (600, 800))),
        "scene": str(write_png(folder / "scene.png", (1200, 800), (30, 160, 60))),
        "voice": str(write_wav(folder / "voice.wav", 3.0)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("model", lineup("text_to_image"))
async def test_each_new_text_to_image_model(mcp_client: Client, emulator: RunningEmulator, model: str) -> None:
    spec = catalog.named(model)
    assert isinstance(spec, ImageModel)
    data = await call(mcp_client, "text_to_image", {"prompt": "a red lantern at night", "model": model})
    body = sent_to(emulator, spec)
    if spec.endpoint == catalog.TEXT2IMAGE:
        assert body["input"]["prompt"] == "a red lantern at night"
    else:
        assert body["input"]["messages"][0]["content"] == [{"text": "a red lantern at night"}]
    (picture,) = data["outputs"]
    assert Path(picture["path"]).suffix == ".png" and picture["width"] and picture["height"]
    if spec.default_size:
        assert f"{picture['width']}*{picture['height']}" == spec.default_size


@pytest.mark.slow
@pytest.mark.parametrize("model", lineup("edit_image"))
async def test_each_new_editor_composes_local_files(
    mcp_client: Client, emulator: RunningEmulator, frames: dict[str, str], model: str
) -> None:
    spec = catalog.named(model)
    assert isinstance(spec, ImageEditModel)
    images = [frames["person"], frames["scene"]]
    data = await call(
        mcp_client, "edit_image", {"image": images, "prompt": "put the person of image 1 into image 2", "model": model}
    )
    body = sent_to(emulator, spec)
    if spec.endpoint == catalog.IMAGE2IMAGE:
        sent = body["input"]["images"]
    else:
        sent = [part["image"] for part in body["input"]["messages"][0]["content"] if "image" in part]
    assert len(sent) == 2 and all(url.startswith("oss://") for url in sent)
    assert data["outputs"] and all(Path(o["path"]).suffix == ".png" for o in data["outputs"])


@pytest.mark.slow
@pytest.mark.parametrize("model", lineup("image_to_video"))
async def test_each_image_to_video_model(
    mcp_client: Client, emulator: RunningEmulator, frames: dict[str, str], model: str
) -> None:
    spec = catalog.named(model)
    assert isinstance(spec, VideoModel)
    arguments: dict[str, Any] = {"image": frames["first"], "prompt": "the sun rises", "model": model}
    if spec.last_frame:
        arguments["last_frame"] = frames["last"]
    data = await call(mcp_client, "image_to_video", arguments)
    body = sent_to(emulator, spec)
    if spec.inputs == "media":
        assert [item["type"] for item in body["input"]["media"]] == ["first_frame", "last_frame"]
    elif spec.inputs == "frames":
        assert body["input"]["first_frame_url"].startswith("oss://")
        assert body["input"]["last_frame_url"].startswith("oss://")
    else:
        assert body["input"]["img_url"].startswith("oss://")
    (clip,) = data["outputs"]
    assert Path(clip["path"]).suffix == ".mp4" and clip["duration_seconds"] == 5


@pytest.mark.slow
async def test_image_to_video_with_a_driving_audio_track(
    mcp_client: Client, emulator: RunningEmulator, frames: dict[str, str]
) -> None:
    arguments = {"image": frames["first"], "audio": frames["voice"], "model": "wan2.6-i2v", "duration": 8}
    data = await call(mcp_client, "image_to_video", arguments)
    body = sent_to(emulator, catalog.named("wan2.6-i2v"))
    assert body["input"]["audio_url"].startswith("oss://") and body["parameters"]["duration"] == 8
    assert data["outputs"][0]["duration_seconds"] == 8 and data["cost"]["currency"] == "CNY"


@pytest.mark.slow
@pytest.mark.parametrize("model", lineup("reference_to_video"))
async def test_each_reference_to_video_model(
    mcp_client: Client, emulator: RunningEmulator, frames: dict[str, str], model: str
) -> None:
    spec = catalog.named(model)
    arguments = {"references": [frames["person"]], "prompt": "character1 waves at the camera", "model": model}
    data = await call(mcp_client, "reference_to_video", arguments)
    body = sent_to(emulator, spec)
    references = body["input"].get("reference_urls") or [item["url"] for item in body["input"]["media"]]
    assert len(references) == 1 and references[0].startswith("oss://")
    assert Path(data["outputs"][0]["path"]).suffix == ".mp4"


@pytest.mark.slow
@pytest.mark.parametrize("model", lineup("text_to_video"))
async def test_each_new_text_to_video_model(mcp_client: Client, emulator: RunningEmulator, model: str) -> None:
    spec = catalog.named(model)
    assert isinstance(spec, VideoModel)
    data = await call(mcp_client, "text_to_video", {"prompt": "a fox runs through snow", "model": model})
    body = sent_to(emulator, spec)
    assert ("resolution" in body["parameters"]) == bool(spec.resolutions)
    assert Path(data["outputs"][0]["path"]).suffix == ".mp4"


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("image_to_video", {"model": "wan2.7-i2v", "prompt": "x"}, "image"),
        (
            "image_to_video",
            {"model": "wan2.6-i2v", "image": "https://example.com/a.png", "last_frame": "https://example.com/b.png"},
            "wan2.2-kf2v-flash",
        ),
        (
            "image_to_video",
            {"model": "wan2.2-i2v-flash", "image": "https://example.com/a.png", "duration": 10},
            "wan2.6-i2v",
        ),
        ("text_to_video", {"model": "wan2.1-t2v-plus", "prompt": "x", "duration": 10}, "wan2.6-t2v"),
        ("text_to_image", {"model": "wan2.6-t2i", "prompt": "x", "size": "1664*928"}, "1280*1280"),
        (
            "reference_to_video",
            {"model": "wan2.7-r2v", "prompt": "x", "references": ["https://example.com/a.mp4"], "duration": 12},
            "10",
        ),
    ],
)
async def test_invalid_combinations_are_refused_before_anything_is_sent(
    mcp_client: Client, emulator: RunningEmulator, tool: str, arguments: dict[str, Any], named: str
) -> None:
    result = await mcp_client.call_tool(tool, arguments)
    assert result.is_error and named in texts(result)
    assert api_requests(emulator) == []


async def test_list_models_shows_the_models_of_the_servers_region_unless_asked_for_all(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, region="ap-southeast-1")
    async with Client(build_server(settings)) as client:
        here = await client.call_tool("list_models", {"capability": "image_to_video"})
        everywhere = await client.call_tool("list_models", {"capability": "image_to_video", "all_regions": True})
    assert here.structured_content is not None and everywhere.structured_content is not None
    names = {m["name"] for m in here.structured_content["models"]}
    assert "wan2.2-i2v-flash" in names and "wan2.2-kf2v-flash" not in names  # offered in Beijing only
    assert "wan2.2-kf2v-flash" in {m["name"] for m in everywhere.structured_content["models"]}


async def test_the_listings_take_a_command_name_and_refuse_an_unknown_capability(mcp_client: Client) -> None:
    by_command = await mcp_client.call_tool("list_models", {"capability": "image2video", "all_regions": True})
    assert by_command.structured_content is not None
    assert {m["capability"] for m in by_command.structured_content["models"]} == {"image_to_video"}
    for tool in ("list_models", "list_tasks"):
        typo = await mcp_client.call_tool(tool, {"capability": "text_to_imag"})
        assert typo.is_error and "capability" in texts(typo) and "text_to_image" in texts(typo)


async def test_fun_asr_transcribes_a_local_recording(
    mcp_client: Client, emulator: RunningEmulator, frames: dict[str, str]
) -> None:
    data = await call(mcp_client, "speech_to_text", {"audio": [frames["voice"]], "model": "fun-asr"})
    body = sent_to(emulator, catalog.named("fun-asr"))
    assert body["model"] == "fun-asr" and body["input"]["file_urls"][0].startswith("oss://")
    assert data["outputs"][0]["kind"] == "transcript" and data["cost"]["currency"] == "CNY"


@pytest.mark.parametrize("model", [m for m in lineup("text_to_speech") if not m.startswith("sambert")])
async def test_each_new_speech_model_saves_audio_with_its_default_voice(
    mcp_client: Client, emulator: RunningEmulator, model: str
) -> None:
    spec = catalog.named(model)
    data = await call(mcp_client, "text_to_speech", {"text": "你好，欢迎使用百炼。", "model": model})
    body = sent_to(emulator, spec)
    assert body["input"]["voice"] == spec.default_voice  # type: ignore[attr-defined]
    (audio,) = data["outputs"]
    assert Path(audio["path"]).suffix == ".wav" and audio["duration_seconds"] > 0


async def test_qwen3_asr_flash_reads_back_what_cosyvoice_said(mcp_client: Client, emulator: RunningEmulator) -> None:
    spoken = await call(mcp_client, "text_to_speech", {"text": "欢迎使用阿里云。", "model": "cosyvoice-v3-flash"})
    heard = await call(
        mcp_client, "speech_to_text", {"audio": [spoken["outputs"][0]["path"]], "model": "qwen3-asr-flash"}
    )
    posts = [r for r in api_requests(emulator, "POST") if "multimodal-generation" in r["path"]]
    (asr,) = posts
    assert asr["body"]["input"]["messages"][0]["content"][0]["audio"].startswith("oss://")
    assert heard["text"] == "欢迎使用阿里云。" and heard["outputs"][0]["kind"] == "transcript"


async def test_cosyvoice_pcm_streams_to_disk_as_it_is_made(mcp_client: Client, emulator: RunningEmulator) -> None:
    arguments = {
        "text": "我家的后面有一个很大的花园。",
        "model": "cosyvoice-v3-flash",
        "format": "pcm",
        "sample_rate": 16000,
    }
    data = await call(mcp_client, "text_to_speech", arguments)
    (sent,) = [r for r in api_requests(emulator, "POST") if "SpeechSynthesizer" in r["path"]]
    assert sent["headers"].get("x-dashscope-sse") == "enable"
    (audio,) = data["outputs"]
    assert Path(audio["path"]).suffix == ".pcm" and audio["bytes"] == Path(audio["path"]).stat().st_size
    assert audio["duration_seconds"] == pytest.approx(audio["bytes"] / (16000 * 2))
    # The pieces written as they came are exactly the whole answer the service keeps at its URL.
    async with httpx.AsyncClient() as http:
        whole = (await http.get(audio["url"])).content
    assert Path(audio["path"]).read_bytes() == whole
    assert data["usage"]["characters"] > 0 and data["cost"]["amount"] > 0


async def test_qwen3_tts_speaks_a_long_text_in_pieces_joined_into_one_wav(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    sentences = [f"第{n}段：我家的后面有一个很大的花园，花园里有很多花。" for n in range(40)]
    data = await call(mcp_client, "text_to_speech", {"text": "".join(sentences), "model": "qwen3-tts-flash"})
    posts = [r for r in api_requests(emulator, "POST") if "multimodal-generation" in r["path"]]
    spoken = [r["body"]["input"]["text"] for r in posts]
    assert len(spoken) == 2 and all(len(text) <= 600 for text in spoken) and "".join(spoken) == "".join(sentences)
    assert all(text.endswith("。") for text in spoken), "cut at sentence ends"
    assert any("2 pieces" in warning for warning in data["warnings"])
    (audio,) = data["outputs"]
    with wave.open(audio["path"], "rb") as joined:
        assert audio["duration_seconds"] == pytest.approx(joined.getnframes() / joined.getframerate(), abs=0.01)
    assert data["usage"]["characters"] > 0


async def test_qwen3_asr_filetrans_reads_back_what_qwen3_tts_said(
    mcp_client: Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    speech = await call(mcp_client, "text_to_speech", {"text": "欢迎使用阿里云。", "model": "qwen3-tts-flash"})
    (audio,) = speech["outputs"]
    arguments = {"audio": audio["path"], "model": "qwen3-asr-flash-filetrans", "language_hints": ["zh"], "itn": True}
    heard = await call(mcp_client, "speech_to_text", arguments)
    (asr,) = [r for r in api_requests(emulator, "POST") if r["path"].endswith("/audio/asr/transcription")]
    body = asr["body"]
    assert asr["headers"].get("x-dashscope-async") == "enable" and body["model"] == "qwen3-asr-flash-filetrans"
    assert body["input"]["file_url"].startswith("oss://") and "file_urls" not in body["input"]
    assert body["parameters"] == {"enable_itn": True, "language": "zh"}
    (transcript,) = heard["outputs"]
    assert transcript["text"] == "欢迎使用阿里云。" and transcript["segments"]


async def test_several_files_on_the_one_file_model_are_one_job_of_one_task_each(
    mcp_client: Client, emulator: RunningEmulator, server_settings: Settings
) -> None:
    sentences = ["欢迎使用阿里云。", "今天天气很好。"]
    spoken = [
        (await call(mcp_client, "text_to_speech", {"text": text, "model": "qwen3-tts-flash"}))["outputs"][0]["path"]
        for text in sentences
    ]
    heard = await call(mcp_client, "speech_to_text", {"audio": spoken, "model": "qwen3-asr-flash-filetrans"})
    posts = [r for r in api_requests(emulator, "POST") if r["path"].endswith("/audio/asr/transcription")]
    assert [sorted(post["body"]["input"]) for post in posts] == [["file_url"], ["file_url"]]
    assert [t["text"] for t in heard["outputs"]] == sentences and [t["index"] for t in heard["outputs"]] == [0, 1]
    assert [t["source"] for t in heard["outputs"]] == spoken and heard["text"] == "\n".join(sentences)
    assert heard.get("task_id") is None and len(set(heard["task_ids"])) == 2
    with closing(sqlite3.connect(server_settings.job_db_path)) as db:
        parts = db.execute(
            "SELECT task_id, part FROM jobs WHERE parent_id = ? ORDER BY part", (heard["job_id"],)
        ).fetchall()
    assert parts == [(heard["task_ids"][0], 0), (heard["task_ids"][1], 1)]
    listed = await mcp_client.call_tool("list_tasks", {"capability": "speech_to_text"})
    assert listed.structured_content is not None
    assert [job["job_id"] for job in listed.structured_content["jobs"]] == [heard["job_id"]]
    again = await mcp_client.call_tool("get_task", {"task_id": heard["job_id"]})
    assert again.structured_content is not None and again.structured_content["text"] == heard["text"]
    reposts = [r for r in api_requests(emulator, "POST") if r["path"].endswith("/audio/asr/transcription")]
    assert len(reposts) == 2, "read back from the store: nothing sent again"


async def test_several_files_on_the_short_audio_model_are_refused_before_sending(
    mcp_client: Client, emulator: RunningEmulator, frames: dict[str, str]
) -> None:
    other = str(write_wav(Path(frames["voice"]).with_name("other.wav"), 2.0))
    arguments = {"audio": [frames["voice"], other], "model": "qwen3-asr-flash"}
    result = await mcp_client.call_tool("speech_to_text", arguments)
    assert result.is_error and "one file per call" in texts(result) and "qwen3-asr-flash-filetrans" in texts(result)
    assert not [r for r in api_requests(emulator, "POST") if "/services/" in r["path"]]
