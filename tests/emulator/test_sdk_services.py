"""The official ``dashscope`` SDK against the emulator's newer services: text generation (plain and
streamed), image editing (with a loopback URL and with a local file it uploads itself), general image
editing, text-to-video, transcription and Sambert speech synthesis over WebSocket.

Synchronous, like the SDK; ``wait`` sleeps at least 1 s, so tasks are tiny. Inputs given by URL are
served from a loopback file server.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import dashscope
import httpx
import pytest
from dashscope import Generation, MultiModalConversation, VideoSynthesis
from dashscope.aigc.image_synthesis import ImageSynthesis
from dashscope.audio.asr import Transcription
from dashscope.audio.tts import SpeechSynthesizer
from PIL import Image

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.textgen import reply_text
from tests.support.emulator_app import KEY
from tests.support.emulators import FileServer
from tests.support.media import mp4_facts, png_bytes

pytestmark = pytest.mark.slow

QUICK = EmulatorConfig(
    pending_seconds=0.05, running_seconds=0.1, submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0
)


@pytest.fixture(scope="module")
def quick() -> Iterator[RunningEmulator]:
    with start_in_thread(QUICK) as emu:
        yield emu


def use(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", emu.base_url)
    monkeypatch.setattr(
        dashscope, "base_websocket_api_url", emu.root_url.replace("http", "ws", 1) + "/api-ws/v1/inference"
    )
    return emu


@pytest.fixture
def emu(quick: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    return use(quick, monkeypatch)


def sent(emu: RunningEmulator, path_end: str) -> dict[str, object]:
    """The last request the emulator received on a path ending with ``path_end``."""
    entry: dict[str, object] = next(e for e in reversed(emu.state.requests) if str(e["path"]).endswith(path_end))
    return entry


# --- text generation ---------------------------------------------------------------------------


def test_generation_with_a_prompt(emu: RunningEmulator) -> None:
    response = Generation.call(model="qwen-turbo", prompt="What is 1+1?", api_key=KEY)
    assert response.status_code == 200 and response.request_id
    assert response.output.text == reply_text("What is 1+1?") and response.output.finish_reason == "stop"
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_generation_with_messages_as_message(emu: RunningEmulator) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好"}]
    response = Generation.call(model="qwen-max", messages=messages, result_format="message", api_key=KEY)
    assert response.status_code == 200
    assert response.output.choices[0].message.content == reply_text("你好")
    assert response.output.choices[0].message.role == "assistant"


@pytest.mark.parametrize("incremental", [True, False])
def test_streamed_generation(emu: RunningEmulator, incremental: bool) -> None:
    parts = list(
        Generation.call(model="qwen-plus", prompt="Tell me", stream=True, incremental_output=incremental, api_key=KEY)
    )
    assert len(parts) > 5 and all(part.status_code == 200 for part in parts)
    text = "".join(part.output.text for part in parts) if incremental else parts[-1].output.text
    assert text == reply_text("Tell me") and parts[-1].output.finish_reason == "stop"
    request = sent(emu, "/text-generation/generation")
    assert request["headers"]["x-dashscope-sse"] == "enable"  # type: ignore[index]


def test_invalid_temperature_fails_as_the_real_service(emu: RunningEmulator) -> None:
    response = Generation.call(model="qwen-turbo", prompt="hi", temperature=2.0, api_key=KEY)
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert response.message == "Temperature should be in [0.0, 2.0)"
    (streamed,) = list(Generation.call(model="qwen-turbo", prompt="hi", temperature=2.0, stream=True, api_key=KEY))
    assert (streamed.status_code, streamed.code) == (400, "InvalidParameter")


# --- image editing -----------------------------------------------------------------------------


def test_image_edit_with_a_loopback_url(emu: RunningEmulator, files: FileServer) -> None:
    url = files.add("sdk/photo.png", png_bytes(640, 480))
    messages = [{"role": "user", "content": [{"image": url}, {"text": "make it autumn"}]}]
    response = MultiModalConversation.call(model="qwen-image-edit", messages=messages, api_key=KEY)
    assert response.status_code == 200, response
    (item,) = response.output.choices[0].message.content
    assert Image.open(io.BytesIO(httpx.get(item["image"]).content)).size == (640, 480)
    assert response.usage.image_count == 1


def test_image_edit_with_a_local_file_goes_through_the_upload_flow(emu: RunningEmulator, tmp_path: Path) -> None:
    local = tmp_path / "本地 photo.png"
    local.write_bytes(png_bytes(500, 400))
    messages = [{"role": "user", "content": [{"image": f"file://{local}"}, {"text": "add a hat"}]}]
    response = MultiModalConversation.call(model="qwen-image-edit-plus", messages=messages, n=2, api_key=KEY)
    assert response.status_code == 200, response
    assert len(response.output.choices[0].message.content) == 2
    flow = [(e["method"], e["path"], e["status"]) for e in emu.state.requests[-3:]]
    assert flow == [
        ("GET", "/api/v1/uploads", 200),
        ("POST", "/__oss__/upload", 200),
        ("POST", "/api/v1/services/aigc/multimodal-generation/generation", 200),
    ]
    call = emu.state.requests[-1]
    assert call["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    image = call["body"]["input"]["messages"][0]["content"][0]["image"]
    assert image.startswith("oss://dashscope-instant/") and image.endswith("/本地 photo.png")


def test_image_edit_refusal_reads_like_the_real_one(emu: RunningEmulator, files: FileServer) -> None:
    messages = [{"role": "user", "content": [{"image": files.url("sdk/none.png")}, {"text": "x"}]}]
    response = MultiModalConversation.call(model="qwen-image-edit", messages=messages, api_key=KEY)
    assert (response.status_code, response.code, response.message) == (
        400, "InvalidParameter", "url error, please check url！"
    )  # fmt: skip


def test_general_image_edit_switches_to_image2image(emu: RunningEmulator, files: FileServer) -> None:
    url = files.add("sdk/base.png", png_bytes(800, 600))
    submitted = ImageSynthesis.async_call(
        model="wanx2.1-imageedit", function="super_resolution", prompt="sharper", base_image_url=url,
        upscale_factor=2, api_key=KEY,
    )  # fmt: skip
    assert submitted.status_code == 200, submitted
    assert sent(emu, "/image2image/image-synthesis")["body"]["input"]["function"] == "super_resolution"  # type: ignore[index]
    done = ImageSynthesis.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED" and done.usage.image_count == 1
    assert Image.open(io.BytesIO(httpx.get(done.output.results[0].url).content)).size == (1600, 1200)


# --- video -------------------------------------------------------------------------------------


def test_video_synthesis_waits_to_a_real_mp4(emu: RunningEmulator) -> None:
    submitted = VideoSynthesis.async_call(
        model="wanx2.1-t2v-turbo", prompt="一只小猫在月光下奔跑", size="832*480", api_key=KEY
    )
    assert submitted.status_code == 200, submitted
    assert sent(emu, "/video-synthesis")["body"]["input"]["extend_prompt"] is True  # type: ignore[index]
    done = VideoSynthesis.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    assert (done.usage.video_duration, done.usage.video_ratio, done.usage.video_count) == (5, "832*480", 1)
    assert mp4_facts(httpx.get(done.output.video_url).content)["size"] == (832, 480)


def test_video_with_a_wrong_duration_fails(emu: RunningEmulator) -> None:
    response = VideoSynthesis.async_call(model="wanx2.1-t2v-plus", prompt="x", duration=10, api_key=KEY)
    assert (response.status_code, response.code) == (400, "InvalidParameter")


# --- speech --------------------------------------------------------------------------------------


def test_speech_synthesis_returns_wav_that_transcription_reads_back(emu: RunningEmulator, files: FileServer) -> None:
    text = "你好，世界。今天天气很好！"
    result = SpeechSynthesizer.call(model="sambert-zhichu-v1", text=text, sample_rate=16000, format="wav", api_key=KEY)
    audio = result.get_audio_data()
    assert audio is not None and result.get_response() is None  # no failure
    with wave.open(io.BytesIO(audio)) as reader:
        assert reader.getframerate() == 16000 and reader.getnframes() == len(text) * 3200
    assert [stamp["begin_time"] for stamp in result.get_timestamps()] == [0, 1200]

    url = files.add("sdk/speech.wav", audio)
    submitted = Transcription.async_call(model="paraformer-v2", file_urls=[url, files.url("sdk/gone.wav")], api_key=KEY)
    assert submitted.status_code == 200, submitted
    done = Transcription.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    assert done.output.task_metrics == {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1}
    good, bad = done.output.results
    assert bad["code"] == "InvalidFile.DownloadFailed" and bad["subtask_status"] == "FAILED"
    document = httpx.get(good["transcription_url"]).json()
    assert document["transcripts"][0]["text"] == text and done.usage.duration == 3


def test_speech_synthesis_with_an_unknown_voice_fails(emu: RunningEmulator) -> None:
    result = SpeechSynthesizer.call(model="sambert-en-v1", text="Hello", api_key=KEY)
    failure = result.get_response()
    assert result.get_audio_data() is None
    assert (failure.status_code, failure.code, failure.message) == (44, "InvalidParameter", "Model not exist.")


def test_speech_synthesis_with_a_bad_key_is_unauthorized(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_in_thread(EmulatorConfig(api_keys=frozenset({KEY}))) as keyed:
        use(keyed, monkeypatch)
        result = SpeechSynthesizer.call(model="sambert-zhichu-v1", text="你好", api_key="sk-wrong")
        assert (result.get_response().status_code, result.get_response().message) == (
            401, "Unauthorized, your api-key is invalid!"
        )  # fmt: skip
