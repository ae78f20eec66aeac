"""The official ``dashscope`` SDK 2.0.2 against the emulator's 2026 speech lineup: the 1.x ``HttpSpeechSynthesizer``
(plain and streamed) for CosyVoice and Qwen-Audio-TTS, ``MultiModalConversation.call`` for Qwen-TTS and
qwen3-asr-flash (with a local ``file://`` audio the SDK uploads itself), ``dashscope.audio.qwen_tts`` and the v2
``dashscope.Client().audio.tts.http`` / ``multimodal.chat`` resources, which route each model themselves.
Everything runs on loopback with tiny texts."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashscope
import httpx
import pytest
from dashscope import MultiModalConversation
from dashscope.audio.http_tts import HttpSpeechSynthesizer
from dashscope.audio.qwen_tts import SpeechSynthesizer as QwenSpeechSynthesizer
from dashscope.v2.errors import BadRequestError

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from tests.support.emulator_app import KEY
from tests.support.media import write_wav

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]

QUICK = EmulatorConfig(submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0)
TTS = "/api/v1/services/audio/tts/SpeechSynthesizer"
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"


@pytest.fixture(scope="module")
def quick() -> Iterator[RunningEmulator]:
    with start_in_thread(QUICK) as emu:
        yield emu


@pytest.fixture
def emu(quick: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", quick.base_url)
    return quick


@pytest.fixture
def client(emu: RunningEmulator) -> Iterator[dashscope.Client]:
    with dashscope.Client(api_key=KEY, base_url=emu.base_url, max_retries=0) as made:
        yield made


def sent(emu: RunningEmulator, path_end: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(e for e in reversed(emu.state.requests) if str(e["path"]).endswith(path_end))
    return entry


def fetch(url: str) -> bytes:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    return response.content


def wav_seconds(data: bytes) -> tuple[int, float]:
    with wave.open(io.BytesIO(data)) as read:
        return read.getframerate(), read.getnframes() / read.getframerate()


# --- 1.x HttpSpeechSynthesizer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        ("cosyvoice-v3-flash", "longanyang"),
        ("cosyvoice-v3-plus", "longanhuan"),
        ("cosyvoice-v2", "longxiaochun_v2"),
        ("qwen-audio-3.0-tts-flash", "longanhuan_v3.6"),
        ("qwen-audio-3.1-tts-flash", "longanhuan_v3.1"),
    ],
)
def test_http_speech_synthesizer_plain(emu: RunningEmulator, model: str, voice: str) -> None:
    result = HttpSpeechSynthesizer.call(model=model, text="你好", voice=voice, api_key=KEY)
    assert result.audio_url and result.audio_id and result.audio_id.startswith("audio_")
    assert isinstance(result.expires_at, int)
    assert sent(emu, TTS)["body"] == {
        "model": model, "input": {"text": "你好", "voice": voice, "format": "wav", "sample_rate": 24000}
    }  # fmt: skip
    assert wav_seconds(fetch(result.audio_url)) == (24000, pytest.approx(0.4))


def test_http_speech_synthesizer_options_and_refusal(emu: RunningEmulator) -> None:
    result = HttpSpeechSynthesizer.call(
        model="cosyvoice-v3-plus", text="hi", voice="longanyang", audio_format="mp3", sample_rate=48000, volume=80,
        rate=1.2, pitch=0.9, instruction="x", language_hints=["zh"], api_key=KEY,
    )  # fmt: skip
    assert fetch(result.audio_url)[:3] == b"ID3"
    refused = HttpSpeechSynthesizer.call(model="cosyvoice-v2", text="hi", voice="longanyang", api_key=KEY)
    assert refused.audio_url is None
    response = refused.response
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert "longanyang" in response.message


@pytest.mark.parametrize(
    ("model", "voice"), [("cosyvoice-v3-flash", "longanyang"), ("qwen-audio-3.1-tts-flash", "longanhuan_v3.1")]
)
def test_http_speech_synthesizer_streamed(emu: RunningEmulator, model: str, voice: str) -> None:
    results = list(
        HttpSpeechSynthesizer.call(
            model=model, text="你好。hello!", voice=voice, audio_format="pcm", sample_rate=16000, stream=True,
            api_key=KEY,
        )
    )  # fmt: skip
    final = results[-1]
    assert final.audio_url and final.audio_data is not None
    assert b"".join(r.audio_data for r in results[:-1] if r.audio_data) == final.audio_data
    assert len(final.audio_data) == 9 * 3200 * 2
    assert final.audio_data == fetch(final.audio_url)
    assert len(final.sentences) >= 2
    assert sent(emu, TTS)["headers"]["x-dashscope-sse"] == "enable"


# --- Qwen-TTS: MultiModalConversation and dashscope.audio.qwen_tts ---------------------------------------------------


@pytest.mark.parametrize("model", ["qwen-tts", "qwen3-tts-flash", "qwen3-tts-instruct-flash"])
def test_multimodal_conversation_qwen_tts(emu: RunningEmulator, model: str) -> None:
    response = MultiModalConversation.call(
        model=model, text="hello", voice="Cherry", language_type="English", api_key=KEY
    )
    assert response.status_code == 200, response
    assert response.output.finish_reason == "stop"
    assert response.output.audio.id == f"audio_{response.request_id}"
    assert wav_seconds(fetch(response.output.audio.url)) == (24000, pytest.approx(1.0))
    body = sent(emu, MULTIMODAL)["body"]
    assert body["input"] == {"text": "hello", "voice": "Cherry", "language_type": "English"}


def test_multimodal_conversation_qwen_tts_streamed(emu: RunningEmulator) -> None:
    parts = list(
        MultiModalConversation.call(model="qwen3-tts-flash", text="hi there", voice="Cherry", stream=True, api_key=KEY)
    )
    assert all(part.status_code == 200 for part in parts)
    assert parts[-1].output.finish_reason == "stop" and parts[-1].output.audio.url
    assert all(part.output.audio.data for part in parts[:-1])


def test_multimodal_conversation_instructions_go_to_parameters(emu: RunningEmulator) -> None:
    response = MultiModalConversation.call(
        model="qwen3-tts-instruct-flash", text="hi", voice="Cherry", instructions="speak fast",
        optimize_instructions=True, api_key=KEY,
    )  # fmt: skip
    assert response.status_code == 200, response
    assert sent(emu, MULTIMODAL)["body"]["parameters"]["instructions"] == "speak fast"


def test_multimodal_conversation_qwen_tts_refusal(emu: RunningEmulator) -> None:
    response = MultiModalConversation.call(model="qwen-tts", text="hi", voice="Kiki", api_key=KEY)
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert response.message == "The voice 'Kiki' is not supported by the model 'qwen-tts'."


def test_qwen_tts_speech_synthesizer(emu: RunningEmulator) -> None:
    response = QwenSpeechSynthesizer.call(model="qwen-tts", text="hi", voice="Chelsie", api_key=KEY)
    assert response.status_code == 200, response
    assert response.usage["output_tokens"] == 20
    assert wav_seconds(fetch(response.output.audio["url"]))[0] == 24000


# --- qwen3-asr-flash --------------------------------------------------------------------------------------------


def test_multimodal_conversation_asr_uploads_a_local_file(emu: RunningEmulator, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "clip.wav", 0.5)
    messages = [
        {"role": "system", "content": [{"text": "context"}]},
        {"role": "user", "content": [{"audio": f"file://{path}"}]},
    ]
    response = MultiModalConversation.call(
        model="qwen3-asr-flash", messages=messages, result_format="message",
        asr_options={"language": "en", "enable_itn": True, "enable_lid": True}, api_key=KEY,
    )  # fmt: skip
    assert response.status_code == 200, response
    flow = [(e["method"], e["path"], e["status"]) for e in emu.state.requests[-3:]]
    assert flow == [("GET", "/api/v1/uploads", 200), ("POST", "/__oss__/upload", 200), ("POST", MULTIMODAL, 200)]
    call = emu.state.requests[-1]
    assert call["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    assert call["body"]["input"]["messages"][1]["content"][0]["audio"].startswith("oss://")
    choice = response.output.choices[0]
    assert choice.message.content[0]["text"] == "This is an emulated transcript of 0.5 seconds of audio."
    assert choice.message.annotations[0]["language"] == "en"
    assert response.usage["seconds"] == 1


def test_multimodal_conversation_asr_round_trip_and_stream(emu: RunningEmulator) -> None:
    spoken = HttpSpeechSynthesizer.call(model="cosyvoice-v3-flash", text="欢迎使用。", voice="longanyang", api_key=KEY)
    messages = [{"role": "user", "content": [{"audio": spoken.audio_url}]}]
    response = MultiModalConversation.call(model="qwen3-asr-flash", messages=messages, api_key=KEY)
    assert response.output.choices[0].message.content[0]["text"] == "欢迎使用。"
    parts = list(
        MultiModalConversation.call(
            model="qwen3-asr-flash", messages=messages, stream=True, incremental_output=True, api_key=KEY
        )
    )
    assert "".join(p.output.choices[0].message.content[0]["text"] for p in parts) == "欢迎使用。"


# --- v2 dashscope.Client() --------------------------------------------------------------------------------------


def test_v2_http_tts_routes_cosyvoice_and_qwen_audio(emu: RunningEmulator, client: dashscope.Client) -> None:
    made = client.audio.tts.http.synthesize(
        "你好", model="cosyvoice-v3-plus", voice="longanhuan", format="wav", sample_rate=16000,
        parameters={"volume": 50}, extra_input={"rate": 1.0},
    )  # fmt: skip
    assert made.audio_url and made.usage == {"characters": 4}
    assert sent(emu, TTS)["body"]["parameters"] == {"volume": 50}
    assert wav_seconds(fetch(made.audio_url)) == (16000, pytest.approx(0.4))
    chunks = list(
        client.audio.tts.http.stream("hi", model="qwen-audio-3.1-tts-flash", voice="longanhuan_v3.1", format="pcm")
    )
    assert chunks[-1].is_final and chunks[-1].audio_url
    audio = b"".join(chunk.audio for chunk in chunks if chunk.audio)
    assert audio == fetch(chunks[-1].audio_url)
    with pytest.raises(BadRequestError) as refused:
        client.audio.tts.http.synthesize("hi", model="cosyvoice-v3-flash", voice="nobody")
    assert refused.value.code == "InvalidParameter" and "nobody" in str(refused.value)


def test_v2_http_tts_routes_qwen_tts_to_multimodal(emu: RunningEmulator, client: dashscope.Client) -> None:
    made = client.audio.tts.http.synthesize("hi", model="qwen3-tts-flash", voice="Cherry", language_type="English")
    assert made.audio_url and made.usage is not None and made.usage["characters"] == 2
    assert sent(emu, MULTIMODAL)["body"]["input"]["language_type"] == "English"
    chunks = list(client.audio.tts.http.stream("hi", model="qwen-tts", voice="Cherry"))
    assert chunks[-1].is_final and chunks[-1].audio_url
    assert all(chunk.audio for chunk in chunks[:-1])


def test_v2_multimodal_chat_asr_with_a_local_file(
    emu: RunningEmulator, client: dashscope.Client, tmp_path: Path
) -> None:
    path = write_wav(tmp_path / "local.wav", 1.5)
    made = client.multimodal.chat.create(
        model="qwen3-asr-flash",
        messages=[{"role": "user", "content": [{"type": "audio", "url": str(path)}]}],
        parameters={"asr_options": {"language": "zh"}},
    )
    call = sent(emu, MULTIMODAL)
    assert call["body"]["input"]["messages"][0]["content"][0]["audio"].startswith("oss://")
    assert made.output_text == "这是一段1.5秒音频的模拟识别结果。"
    assert made.choices[0].message.annotations == [{"language": "zh", "type": "audio_info", "emotion": "neutral"}]
