"""The official ``dashscope`` SDK 2.0.2 against the emulator's Qwen file-transcription models: the 1.x
``dashscope.audio.qwen_asr.QwenTranscription`` (one ``file_url`` string) for qwen3-asr-flash-filetrans and
``dashscope.audio.asr.Transcription`` (``file_urls``) for qwen-audio-3.1-asr-flash-filetrans, submitted, waited
for and their transcripts fetched; and the refusal of two files in one qwen-audio-3.1 task. Audio is served from a
loopback file server; tasks are tiny, as ``wait`` sleeps at least a second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dashscope
import httpx
import pytest
from dashscope.audio.asr import Transcription
from dashscope.audio.qwen_asr import QwenTranscription

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.audio import tone, wav_header
from tests.support.emulator_app import KEY
from tests.support.emulators import FileServer

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning")]

QUICK = EmulatorConfig(
    pending_seconds=0.05, running_seconds=0.1, submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0
)
ASR = "/api/v1/services/audio/asr/transcription"


@pytest.fixture(scope="module")
def quick() -> Iterator[RunningEmulator]:
    with start_in_thread(QUICK) as emu:
        yield emu


@pytest.fixture
def emu(quick: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", quick.base_url)
    return quick


def sent(emu: RunningEmulator, path_end: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(e for e in reversed(emu.state.requests) if str(e["path"]).endswith(path_end))
    return entry


def speech(text: str, seconds: float = 2.0, rate: int = 16000) -> bytes:
    pcm = tone(300, int(rate * seconds), rate, 50)
    return wav_header(rate, len(pcm), text) + pcm


def fetch_json(url: str) -> dict[str, Any]:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_qwen_transcription_qwen3_filetrans(emu: RunningEmulator, files: FileServer) -> None:
    url = files.add("sdk-filetrans/qwen3.wav", speech("Hello there. 你好。", seconds=2.2))
    submitted = QwenTranscription.async_call(
        model="qwen3-asr-flash-filetrans", file_url=url, channel_id=[0], enable_itn=False, language="zh",
        enable_words=True, api_key=KEY,
    )  # fmt: skip
    assert submitted.status_code == 200, submitted
    assert submitted.output.task_status == "PENDING"
    assert sent(emu, ASR)["body"] == {
        "model": "qwen3-asr-flash-filetrans", "input": {"file_url": url},
        "parameters": {"channel_id": [0], "enable_itn": False, "language": "zh", "enable_words": True},
    }  # fmt: skip
    done = QwenTranscription.wait(submitted, api_key=KEY)
    assert done.status_code == 200, done
    assert done.output.task_status == "SUCCEEDED"
    assert "results" not in done.output and "task_metrics" not in done.output
    assert done.usage.seconds == 3
    document = fetch_json(done.output.result["transcription_url"])
    channel = document["transcripts"][0]
    assert document["file_url"] == url and channel["text"] == "Hello there. 你好。"
    assert [s["text"] for s in channel["sentences"]] == ["Hello there.", "你好。"]
    assert all(s["language"] == "zh" and s["words"] for s in channel["sentences"])


def test_qwen_transcription_failed_file(emu: RunningEmulator, files: FileServer) -> None:
    submitted = QwenTranscription.async_call(
        model="qwen3-asr-flash-filetrans", file_url=files.url("sdk-filetrans/gone.wav"), api_key=KEY
    )
    done = QwenTranscription.wait(submitted, api_key=KEY)
    assert done.output.task_status == "FAILED"
    assert done.output.code == "InvalidFile.DownloadFailed"


def test_qwen_transcription_refuses_a_list(emu: RunningEmulator) -> None:
    response = QwenTranscription.async_call(
        model="qwen3-asr-flash-filetrans",
        file_url=["http://a.test/a.wav"],  # type: ignore[arg-type]
        api_key=KEY,
    )
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert "file_url" in response.message


def test_transcription_qwen_audio_filetrans(emu: RunningEmulator, files: FileServer) -> None:
    url = files.add("sdk-filetrans/qwen-audio.wav", speech("欢迎使用。", seconds=1.2))
    submitted = Transcription.async_call(
        model="qwen-audio-3.1-asr-flash-filetrans", file_urls=[url], diarization_enabled=True, api_key=KEY
    )
    assert submitted.status_code == 200, submitted
    assert sent(emu, ASR)["body"]["input"] == {"file_urls": [url]}
    done = Transcription.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    assert done.output.task_metrics == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    (result,) = done.output.results
    assert result["subtask_status"] == "SUCCEEDED" and done.usage.duration == 2
    document = fetch_json(result["transcription_url"])
    sentence = document["transcripts"][0]["sentences"][0]
    assert sentence["text"] == "欢迎使用。" and sentence["speaker_id"] == 0


def test_transcription_qwen_audio_filetrans_refuses_two_files(emu: RunningEmulator, files: FileServer) -> None:
    urls = [files.add(f"sdk-filetrans/two{n}.wav", speech("Two.")) for n in range(2)]
    response = Transcription.async_call(model="qwen-audio-3.1-asr-flash-filetrans", file_urls=urls, api_key=KEY)
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert "one file per task" in response.message
    assert response.output is None
