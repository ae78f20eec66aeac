"""Paraformer file transcription (protocol §9): file_urls rules, subtasks and the transcript JSON."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.audio import AudioInfo, SilentMp3, id3_tag, tone, wav_header
from bailian_mcp.emulator.transcription import MODELS, transcript
from tests.support.emulator_app import ASR, ASYNC, AUTH, RESOLVE, UPLOADS, Emulator, assert_error, upload
from tests.support.emulators import FileServer


def speech(text: str, seconds: float = 2.0, rate: int = 16000) -> bytes:
    pcm = tone(300, int(rate * seconds), rate, 50)
    return wav_header(rate, len(pcm), text) + pcm


async def submit(
    emu: Emulator, urls: object, model: str = "paraformer-v2", headers: dict[str, str] = ASYNC, **params: Any
) -> httpx.Response:
    body = {"model": model, "input": {"file_urls": urls}, "parameters": params}
    return await emu.http.post(ASR, headers=headers, json=body)


async def finished(emu: Emulator, urls: object, **kwargs: Any) -> dict[str, Any]:
    response = await submit(emu, urls, **kwargs)
    assert response.status_code == 200, response.text
    emu.clock.advance(10)
    return await emu.task(response.json()["output"]["task_id"])


@pytest.mark.parametrize("model", MODELS)
async def test_every_model_transcribes(emu: Emulator, files: FileServer, model: str) -> None:
    url = files.add("asr/hello.wav", speech("Hello world."))
    body = await finished(emu, [url], model=model)
    assert body["output"]["task_status"] == "SUCCEEDED"


async def test_succeeded_task_has_the_documented_shape(emu: Emulator, files: FileServer) -> None:
    url = files.add("asr/shape.wav", speech("你好，世界。这里是模拟器。", seconds=3.834))
    body = await finished(emu, [url])
    output = body["output"]
    assert list(output) == [
        "task_id", "task_status", "submit_time", "scheduled_time", "end_time", "results", "task_metrics"
    ]  # fmt: skip
    (result,) = output["results"]
    assert list(result) == ["file_url", "transcription_url", "subtask_status"]
    assert result["file_url"] == url and result["subtask_status"] == "SUCCEEDED"
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert body["usage"] == {"duration": 4}


async def test_transcript_gives_back_the_text_the_emulator_spoke(emu: Emulator, files: FileServer) -> None:
    url = files.add("asr/text.wav", speech("Hello world, 这里是阿里巴巴语音实验室。", seconds=3.834))
    body = await finished(emu, [url], diarization_enabled=True)
    document = (await emu.http.get(body["output"]["results"][0]["transcription_url"])).json()
    assert document["file_url"] == url
    assert document["properties"] == {
        "audio_format": "pcm_s16le", "channels": [0], "original_sampling_rate": 16000,
        "original_duration_in_milliseconds": 3834,
    }  # fmt: skip
    (channel,) = document["transcripts"]
    assert channel["channel_id"] == 0 and channel["content_duration_in_milliseconds"] == 3834
    assert channel["text"] == "Hello world, 这里是阿里巴巴语音实验室。"
    (sentence,) = channel["sentences"]
    assert set(sentence) == {"begin_time", "end_time", "text", "sentence_id", "speaker_id", "words"}
    assert (sentence["sentence_id"], sentence["speaker_id"], sentence["end_time"]) == (1, 0, 3834)
    words = sentence["words"]
    assert words[0] == {"begin_time": 0, "end_time": words[0]["end_time"], "text": "Hello ", "punctuation": ""}
    assert (words[1]["text"], words[1]["punctuation"]) == ("world", ", ")
    assert "".join(word["text"] + word["punctuation"] for word in words) == channel["text"]
    assert all(a["end_time"] == b["begin_time"] for a, b in itertools.pairwise(words))


async def test_foreign_audio_gets_a_fixed_sentence_naming_its_duration(emu: Emulator, files: FileServer) -> None:
    pcm = tone(300, 8000 * 3, 8000, 50)
    url = files.add("asr/foreign.wav", wav_header(8000, len(pcm), None) + pcm)
    body = await finished(emu, [url], model="paraformer-8k-v2")
    document = (await emu.http.get(body["output"]["results"][0]["transcription_url"])).json()
    assert document["transcripts"][0]["text"] == "This is an emulated transcript of 3.0 seconds of audio."
    assert "speaker_id" not in document["transcripts"][0]["sentences"][0]


async def test_mp3_durations_are_read_from_its_frames(emu: Emulator, files: FileServer) -> None:
    mp3 = SilentMp3.for_rate(16000)
    url = files.add("asr/speech.mp3", id3_tag("from an mp3") + mp3.frame * mp3.frames_for(16000 * 5))
    body = await finished(emu, [url])
    document = (await emu.http.get(body["output"]["results"][0]["transcription_url"])).json()
    assert document["properties"]["audio_format"] == "mp3"
    assert document["transcripts"][0]["text"] == "from an mp3" and body["usage"] == {"duration": 6}


async def test_failed_subtasks_leave_the_task_succeeded(emu: Emulator, files: FileServer) -> None:
    good = files.add("asr/good.wav", speech("Fine."))
    not_audio = files.add("asr/notes.txt", b"these are not sounds")
    empty = files.add("asr/empty.wav", wav_header(16000, 0, None))
    missing = files.url("asr/missing.wav")
    body = await finished(emu, [good, missing, not_audio, empty])
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 1, "FAILED": 3}
    failed = output["results"][1:]
    assert [(r["file_url"], r["code"], r["subtask_status"]) for r in failed] == [
        (missing, "InvalidFile.DownloadFailed", "FAILED"),
        (not_audio, "FILE_CHECK_FAILED", "FAILED"),
        (empty, "SUCCESS_WITH_NO_VALID_FRAGMENT", "FAILED"),
    ]
    assert failed[0]["message"] == "The audio file cannot be downloaded."
    assert list(failed[0]) == ["file_url", "code", "message", "subtask_status"]
    assert body["usage"] == {"duration": 2}


async def test_every_file_failing_is_still_a_succeeded_task(emu: Emulator, files: FileServer) -> None:
    output = (await finished(emu, [files.url("asr/gone.wav")]))["output"]
    assert output["task_status"] == "SUCCEEDED" and output["task_metrics"]["FAILED"] == 1


async def test_uploaded_audio_resolves_with_the_header(emu: Emulator) -> None:
    policy = await emu.http.get(UPLOADS, headers=AUTH, params={"action": "getPolicy", "model": "paraformer-v2"})
    data = policy.json()["data"]
    await upload(emu, data, speech("Uploaded."), name="speech.wav")
    key = f"oss://{data['upload_dir']}/speech.wav"
    body = await finished(emu, [key], headers={**ASYNC, **RESOLVE})
    assert body["output"]["results"][0]["subtask_status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        (None, "input must contain file_urls"),
        ("http://a.test/one.wav", "input must contain file_urls"),
        ([], "The number of file_urls should be in [1, 100]"),
        (["http://a.test/x.wav"] * 101, "The number of file_urls should be in [1, 100]"),
        ([42], "url error, please check url！"),
        (["data:audio/wav;base64,AAAA"], "url error, please check url！"),
        (["oss://dashscope-instant/a.wav"],
         "The provided URL does not appear to be valid. Ensure it is correctly formatted."),
    ],
)  # fmt: skip
async def test_file_urls_rules(emu: Emulator, urls: object, message: str) -> None:
    assert_error(await submit(emu, urls), 400, "InvalidParameter", message)


async def test_missing_file_urls_key(emu: Emulator) -> None:
    body = {"model": "paraformer-v2", "input": {"urls": ["http://a.test/x.wav"]}}
    assert_error(
        await emu.http.post(ASR, headers=ASYNC, json=body), 400, "InvalidParameter", "input must contain file_urls"
    )


async def test_language_hints_are_checked_for_v2_only(emu: Emulator, files: FileServer) -> None:
    url = files.add("asr/hints.wav", speech("Hints."))
    assert (await submit(emu, [url], language_hints=["zh", "en"])).status_code == 200
    response = await submit(emu, [url], language_hints=["xx"])
    assert_error(response, 400, "InvalidParameter", "Parameter language_hints contains unsupported language: xx")
    assert (await submit(emu, [url], model="paraformer-v1", language_hints=["xx"])).status_code == 200


async def test_boolean_parameters_are_checked(emu: Emulator, files: FileServer) -> None:
    url = files.add("asr/flags.wav", speech("Flags."))
    response = await submit(emu, [url], diarization_enabled="yes")
    assert_error(response, 400, "InvalidParameter", "Parameter diarization_enabled must be a boolean, got 'yes'")


async def test_async_only(emu: Emulator, files: FileServer) -> None:
    response = await submit(emu, [files.url("asr/x.wav")], headers=AUTH)
    assert_error(response, 403, "AccessDenied", "current user api does not support synchronous calls.")


async def test_task_can_be_queried_by_post(emu: Emulator, files: FileServer) -> None:
    task_id = (await submit(emu, [files.add("asr/post.wav", speech("Post."))])).json()["output"]["task_id"]
    emu.clock.advance(10)
    response = await emu.http.post(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert response.json()["output"]["task_status"] == "SUCCEEDED"


def test_sentences_split_at_punctuation_and_share_the_duration() -> None:
    info = AudioInfo("pcm_s16le", 16000, 1, 6000, None)
    document = transcript("u", info, "One two. Three four five six!", speaker=False)
    first, second = document["transcripts"][0]["sentences"]
    assert (first["text"], second["text"]) == ("One two.", "Three four five six!")
    assert (first["begin_time"], first["end_time"], second["end_time"]) == (0, 2000, 6000)
