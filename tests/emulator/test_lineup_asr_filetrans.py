"""The Qwen file-transcription models on the emulator's ``audio/asr/transcription``, in process:
qwen3-asr-flash-filetrans (one ``file_url`` string, a singular ``result``, ``usage.seconds``) and
qwen-audio-3.1-asr-flash-filetrans (``file_urls`` with exactly one URL, the Paraformer answer) — submit, poll,
fetch the transcript, and the refusals at their edges."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.audio import tone, wav_header
from bailian_mcp.emulator.transcription import QWEN3_MODELS
from tests.support.emulator_app import ASR, ASYNC, AUTH, RESOLVE, UPLOADS, Emulator, assert_error, upload
from tests.support.emulators import FileServer

QWEN3 = "qwen3-asr-flash-filetrans"
QWEN_AUDIO = "qwen-audio-3.1-asr-flash-filetrans"
ONE_FILE = "qwen-audio-3.1-asr-flash-filetrans takes one file per task: file_urls must hold exactly one URL"
NO_FILE_URL = "input must contain file_url, a single URL string"


def speech(text: str | None, seconds: float = 2.0, rate: int = 16000) -> bytes:
    pcm = tone(300, int(rate * seconds), rate, 50)
    return wav_header(rate, len(pcm), text) + pcm


async def post(
    emu: Emulator, model: str, payload: dict[str, Any], headers: dict[str, str] = ASYNC, **params: Any
) -> httpx.Response:
    return await emu.http.post(ASR, headers=headers, json={"model": model, "input": payload, "parameters": params})


async def submit_ok(emu: Emulator, model: str, payload: dict[str, Any], **params: Any) -> str:
    response = await post(emu, model, payload, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"]["task_status"] == "PENDING"
    return str(body["output"]["task_id"])


async def finished(emu: Emulator, model: str, payload: dict[str, Any], **params: Any) -> dict[str, Any]:
    task_id = await submit_ok(emu, model, payload, **params)
    emu.clock.advance(10)
    return await emu.task(task_id)


async def document(emu: Emulator, url: str) -> dict[str, Any]:
    response = await emu.http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


# --- qwen3-asr-flash-filetrans --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", QWEN3_MODELS)
async def test_qwen3_filetrans_task_has_a_singular_result(emu: Emulator, files: FileServer, model: str) -> None:
    url = files.add("filetrans/shape.wav", speech("你好，世界。这里是模拟器。", seconds=3.834))
    task_id = await submit_ok(emu, model, {"file_url": url}, channel_id=[0], enable_itn=False)
    pending = await emu.task(task_id)
    assert pending["output"]["task_status"] == "PENDING"
    emu.clock.advance(1.5)
    running = (await emu.task(task_id))["output"]
    assert running["task_status"] == "RUNNING"
    assert running["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0}
    emu.clock.advance(10)
    body = await emu.task(task_id)
    output = body["output"]
    assert list(output) == ["task_id", "task_status", "submit_time", "scheduled_time", "end_time", "result"]
    assert output["task_status"] == "SUCCEEDED"
    assert list(output["result"]) == ["transcription_url"]
    assert body["usage"] == {"seconds": 4}
    assert set(body) == {"request_id", "output", "usage"}


async def test_qwen3_filetrans_transcript_format(emu: Emulator, files: FileServer) -> None:
    url = files.add("filetrans/text.wav", speech("Hello world. 这里是阿里巴巴语音实验室。", seconds=3.0))
    body = await finished(emu, QWEN3, {"file_url": url})
    doc = await document(emu, body["output"]["result"]["transcription_url"])
    assert list(doc) == ["file_url", "audio_info", "transcripts"]
    assert doc["file_url"] == url
    assert doc["audio_info"] == {"format": "pcm_s16le", "sample_rate": 16000}
    (channel,) = doc["transcripts"]
    assert list(channel) == ["channel_id", "text", "sentences"]
    assert channel["channel_id"] == 0 and channel["text"] == "Hello world. 这里是阿里巴巴语音实验室。"
    first, second = channel["sentences"]
    assert list(first) == ["sentence_id", "begin_time", "end_time", "language", "emotion", "text"]
    assert (first["sentence_id"], first["text"], second["text"]) == (1, "Hello world.", "这里是阿里巴巴语音实验室。")
    assert first["begin_time"] == 0 and first["end_time"] == second["begin_time"] and second["end_time"] == 3000
    assert {s["emotion"] for s in channel["sentences"]} == {"neutral"}
    assert {s["language"] for s in channel["sentences"]} == {"zh"}  # detected from the CJK text


async def test_qwen3_filetrans_words_only_with_enable_words(emu: Emulator, files: FileServer) -> None:
    url = files.add("filetrans/words.wav", speech("One two, three.", seconds=2.0))
    body = await finished(emu, QWEN3, {"file_url": url}, enable_words=True, language="en")
    (sentence,) = (await document(emu, body["output"]["result"]["transcription_url"]))["transcripts"][0]["sentences"]
    assert sentence["language"] == "en"
    words = sentence["words"]
    assert [(w["text"], w["punctuation"]) for w in words] == [("One ", ""), ("two", ", "), ("three", ".")]
    assert all(set(w) == {"begin_time", "end_time", "text", "punctuation"} for w in words)
    assert words[0]["begin_time"] == 0 and words[-1]["end_time"] == 2000
    assert all(a["end_time"] == b["begin_time"] for a, b in itertools.pairwise(words))
    plain = await finished(emu, QWEN3, {"file_url": url}, enable_words=False)
    (sentence,) = (await document(emu, plain["output"]["result"]["transcription_url"]))["transcripts"][0]["sentences"]
    assert "words" not in sentence


async def test_qwen3_filetrans_foreign_audio_follows_the_language(emu: Emulator, files: FileServer) -> None:
    url = files.add("filetrans/foreign.wav", speech(None, seconds=1.5))
    body = await finished(emu, QWEN3, {"file_url": url}, language="zh")
    channel = (await document(emu, body["output"]["result"]["transcription_url"]))["transcripts"][0]
    assert channel["text"] == "这是一段1.5秒音频的模拟识别结果。"
    assert channel["sentences"][0]["language"] == "zh" and body["usage"] == {"seconds": 2}


async def test_qwen3_filetrans_failed_file_fails_the_task(emu: Emulator, files: FileServer) -> None:
    body = await finished(emu, QWEN3, {"file_url": files.url("filetrans/gone.wav")})
    output = body["output"]
    assert output["task_status"] == "FAILED"
    assert (output["code"], output["message"]) == ("InvalidFile.DownloadFailed", "The audio file cannot be downloaded.")
    assert "result" not in output and "results" not in output and "usage" not in body
    not_audio = await finished(emu, QWEN3, {"file_url": files.add("filetrans/notes.txt", b"not sound")})
    assert (not_audio["output"]["task_status"], not_audio["output"]["code"]) == ("FAILED", "FILE_CHECK_FAILED")


@pytest.mark.parametrize(
    "payload",
    [
        {"file_url": ["http://a.test/x.wav"]},
        {"file_urls": ["http://a.test/x.wav"]},
        {"file_urls": "http://a.test/x.wav"},
        {},
    ],
)
async def test_qwen3_filetrans_takes_one_file_url_string(emu: Emulator, payload: dict[str, Any]) -> None:
    response = await post(emu, QWEN3, payload)
    assert_error(response, 400, "InvalidParameter", NO_FILE_URL)
    assert "file_url" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"language": "xx"}, "Parameter language is not supported: 'xx'"),
        ({"enable_words": "yes"}, "Parameter enable_words must be a boolean, got 'yes'"),
        ({"enable_itn": 1}, "Parameter enable_itn must be a boolean, got 1"),
    ],
)
async def test_qwen3_filetrans_parameter_rules(emu: Emulator, params: dict[str, Any], message: str) -> None:
    response = await post(emu, QWEN3, {"file_url": "http://a.test/x.wav"}, **params)
    assert_error(response, 400, "InvalidParameter", message)


async def test_qwen3_filetrans_url_rules_and_uploads(emu: Emulator) -> None:
    assert_error(await post(emu, QWEN3, {"file_url": "data:audio/wav;base64,AAAA"}), 400, "InvalidParameter")
    assert_error(await post(emu, QWEN3, {"file_url": "http://a.test/x.wav"}, headers=AUTH), 403, "AccessDenied")
    policy = await emu.http.get(UPLOADS, headers=AUTH, params={"action": "getPolicy", "model": QWEN3})
    data = policy.json()["data"]
    await upload(emu, data, speech("Uploaded."), name="speech.wav")
    key = f"oss://{data['upload_dir']}/speech.wav"
    response = await post(emu, QWEN3, {"file_url": key}, headers={**ASYNC, **RESOLVE})
    assert response.status_code == 200, response.text
    emu.clock.advance(10)
    assert (await emu.task(response.json()["output"]["task_id"]))["output"]["task_status"] == "SUCCEEDED"


# --- qwen-audio-3.1-asr-flash-filetrans -----------------------------------------------------------------------


async def test_qwen_audio_filetrans_answers_as_paraformer(emu: Emulator, files: FileServer) -> None:
    url = files.add("filetrans/qa.wav", speech("你好，世界。", seconds=2.5))
    body = await finished(emu, QWEN_AUDIO, {"file_urls": [url]}, diarization_enabled=True)
    output = body["output"]
    assert list(output) == [
        "task_id", "task_status", "submit_time", "scheduled_time", "end_time", "results", "task_metrics"
    ]  # fmt: skip
    (result,) = output["results"]
    assert (result["file_url"], result["subtask_status"]) == (url, "SUCCEEDED")
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert body["usage"] == {"duration": 3}
    doc = await document(emu, result["transcription_url"])
    assert doc["properties"]["original_duration_in_milliseconds"] == 2500
    (sentence,) = doc["transcripts"][0]["sentences"]
    assert sentence["text"] == "你好，世界。" and sentence["speaker_id"] == 0


async def test_qwen_audio_filetrans_unreadable_file_is_a_failed_subtask(emu: Emulator, files: FileServer) -> None:
    body = await finished(emu, QWEN_AUDIO, {"file_urls": [files.url("filetrans/none.wav")]})
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["results"][0]["code"] == "InvalidFile.DownloadFailed"
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 1}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"file_urls": ["http://a.test/a.wav", "http://a.test/b.wav"]}, ONE_FILE),
        ({"file_urls": []}, ONE_FILE),
        ({"file_url": "http://a.test/a.wav"}, "input must contain file_urls"),
        ({"file_urls": "http://a.test/a.wav"}, "input must contain file_urls"),
    ],
)
async def test_qwen_audio_filetrans_takes_exactly_one_of_file_urls(
    emu: Emulator, payload: dict[str, Any], message: str
) -> None:
    assert_error(await post(emu, QWEN_AUDIO, payload), 400, "InvalidParameter", message)


async def test_other_models_still_take_many_files(emu: Emulator, files: FileServer) -> None:
    urls = [files.add(f"filetrans/many{n}.wav", speech("Many.")) for n in range(2)]
    body = await finished(emu, "fun-asr", {"file_urls": urls})
    assert body["output"]["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0}
