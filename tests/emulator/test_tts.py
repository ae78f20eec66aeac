"""Sambert speech synthesis over WebSocket (protocol §8.1): handshake, the task's events, real audio,
failures, connection reuse, the idle timeout and the drop trigger (in-process, Starlette's test client)."""

from __future__ import annotations

import io
import json
import time
import wave
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from bailian_mcp.emulator import EmulatorConfig, create_app
from bailian_mcp.emulator.audio import probe
from bailian_mcp.emulator.tts import MODELS
from tests.support.emulator_app import AUTH

WS = "/api-ws/v1/inference"
CONFIG = EmulatorConfig(stream_chunk_seconds=0, ws_idle_seconds=5)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(CONFIG)) as test_client:
        yield test_client


def run_task(text: str = "你好，世界。今天天气很好！", task_id: str = "a" * 32, **parameters: Any) -> str:
    payload = {
        "model": parameters.pop("model", "sambert-zhichu-v1"),
        "task_group": "audio",
        "task": "tts",
        "function": "SpeechSynthesizer",
        "input": {"text": text},
        "parameters": {"text_type": "PlainText", "format": "wav", "sample_rate": 16000, **parameters},
    }
    return json.dumps({"header": {"action": "run-task", "task_id": task_id, "streaming": "out"}, "payload": payload})


def collect(session: Any) -> tuple[list[dict[str, Any]], bytes, list[int]]:
    """Events and audio until task-finished / task-failed / close; also where audio frames arrived."""
    events: list[dict[str, Any]] = []
    audio = b""
    frames: list[int] = []
    while True:
        message = session.receive()
        if message["type"] == "websocket.close":
            events.append({"closed": message.get("code", 1000)})
            return events, audio, frames
        if message.get("bytes") is not None:
            frames.append(len(events))
            audio += message["bytes"]
            continue
        event = json.loads(message["text"])
        events.append(event)
        if event["header"]["event"] in ("task-finished", "task-failed"):
            return events, audio, frames


def names(events: list[dict[str, Any]]) -> list[str]:
    return [event["header"]["event"] if "header" in event else "closed" for event in events]


def test_a_task_streams_started_audio_sentences_and_finished(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task())
        events, audio, frames = collect(session)
    assert names(events) == ["task-started", "result-generated", "result-generated", "task-finished"]
    assert events[0] == {"header": {"task_id": "a" * 32, "event": "task-started", "attributes": {}}, "payload": {}}
    assert frames and frames[0] == 1  # audio comes after task-started, interleaved with the sentences
    first, second = (event["payload"] for event in events[1:3])
    assert first["output"]["sentence"] == {"begin_time": 0, "end_time": 1200, "words": []}
    assert second["output"]["sentence"]["begin_time"] == 1200 and second["output"]["sentence"]["end_time"] == 2600
    assert (first["usage"]["characters"], second["usage"]["characters"]) == (6, 13)
    finished = events[-1]
    assert set(finished["header"]["attributes"]) == {"request_uuid", "x-ds-batch-queue-length"}
    assert finished["payload"] == {"output": {"sentence": second["output"]["sentence"]}, "usage": {"characters": 13}}
    with wave.open(io.BytesIO(audio)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (16000, 1, 2)
        assert reader.getnframes() == 13 * 3200  # 0.2 s a character
    info = probe(audio)
    assert info is not None and info.text == "你好，世界。今天天气很好！"


@pytest.mark.parametrize(("audio_format", "rate"), [("pcm", 8000), ("pcm", 48000), ("mp3", 22050), ("wav", 24000)])
def test_formats_and_sample_rates(client: TestClient, audio_format: str, rate: int) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task("Hello there.", format=audio_format, sample_rate=rate, rate=2.0))
        events, audio, _ = collect(session)
    assert names(events)[-1] == "task-finished"
    seconds = 12 * 0.2 / 2.0
    if audio_format == "pcm":
        assert len(audio) == 2 * round(rate * 0.1) * 12
    else:
        info = probe(audio)
        assert info is not None and info.sample_rate == rate and info.text == "Hello there."
        assert abs(info.duration_ms - seconds * 1000) < 80


def test_long_audio_arrives_in_several_frames(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task("这是一句比较长的句子，用来检查音频会分成好几个二进制帧发送。"))
        events, _, frames = collect(session)
    assert len(frames) >= 5 and names(events)[-1] == "task-finished"


def test_word_and_phoneme_timestamps(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task("Hi Bob.", word_timestamp_enabled=True, phoneme_timestamp_enabled=True))
        events, _, _ = collect(session)
    words = events[1]["payload"]["output"]["sentence"]["words"]
    assert [(word["text"], word["begin_time"], word["end_time"]) for word in words] == [
        ("Hi", 0, 400),
        ("Bob", 600, 1200),
    ]
    assert words[1]["phonemes"] == [{"begin_time": 600, "end_time": 1200, "text": "bob", "tone": 1}]


def test_the_connection_takes_another_task_after_finishing(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        for task_id in ("first", "second"):
            session.send_text(run_task("Again.", task_id=task_id))
            events, audio, _ = collect(session)
            assert names(events)[-1] == "task-finished" and events[-1]["header"]["task_id"] == task_id and audio


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "sambert-en-v1"}, "Model not exist."),
        ({"format": "ogg"}, "The format 'ogg' is not supported, supported formats: ['pcm', 'wav', 'mp3']"),
        ({"sample_rate": 44100},
         "The sample_rate 44100 is not supported, supported sample rates: [8000, 16000, 22050, 24000, 48000]"),
        ({"volume": 101}, "Range of volume should be [0, 100]"),
        ({"volume": 50.5}, "Range of volume should be [0, 100]"),
        ({"rate": 0.4}, "Range of rate should be [0.5, 2.0]"),
        ({"pitch": 2.1}, "Range of pitch should be [0.5, 2.0]"),
        ({"text_type": "Markdown"}, "Parameter text_type must be PlainText or SSML"),
        ({"word_timestamp_enabled": "yes"}, "Parameter word_timestamp_enabled must be a boolean, got 'yes'"),
        ({"text": ""}, "Required parameter(text) missing or invalid, please check the request parameters."),
        ({"text": "字" * 10001}, "The length of text exceeds the limit of 10000 characters."),
    ],
)  # fmt: skip
def test_invalid_tasks_fail_and_close(client: TestClient, changes: dict[str, Any], message: str) -> None:
    text = changes.pop("text", "你好")
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task(text, **changes))
        events, audio, _ = collect(session)
        assert session.receive()["type"] == "websocket.close"
    (failed,) = events
    assert failed == {
        "header": {"task_id": "a" * 32, "event": "task-failed", "error_code": "InvalidParameter",
                   "error_message": message, "attributes": {}},
        "payload": {},
    }  # fmt: skip
    assert audio == b""


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"header": {"action": "continue-task", "task_id": "t"}, "payload": {"input": {"text": "x"}}},
         "Action 'continue-task' is not supported by this model, only run-task."),
        ({"header": {"action": "run-task"}, "payload": {}},
         "Required parameter(task_id) missing or invalid, please check the request parameters."),
        ({"header": {"action": "run-task", "task_id": "t"}, "payload": {"task_group": "audio", "task": "asr",
                                                                        "function": "recognition"}},
         "Unsupported task: audio/asr/recognition"),
    ],
)  # fmt: skip
def test_other_frames_fail(client: TestClient, frame: dict[str, Any], message: str) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(json.dumps(frame))
        events, _, _ = collect(session)
    assert events[0]["header"]["error_code"] == "InvalidParameter"
    assert events[0]["header"]["error_message"] == message


def test_ssml_tags_are_not_spoken(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task('<speak rate="1">Hi.</speak>', text_type="SSML"))
        events, audio, _ = collect(session)
    assert events[-1]["payload"]["usage"]["characters"] == 3
    info = probe(audio)
    assert info is not None and info.duration_ms == 600


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}])
def test_handshake_without_a_valid_key_is_refused_with_401(client: TestClient, headers: dict[str, str]) -> None:
    with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect(WS, headers=headers):
        pass
    assert denied.value.status_code == 401 and denied.value.json()["code"] == "InvalidApiKey"


def test_configured_keys_are_enforced_on_the_handshake() -> None:
    with TestClient(create_app(EmulatorConfig(api_keys=frozenset({"sk-good"})))) as keyed:
        with pytest.raises(WebSocketDenialResponse):
            keyed.websocket_connect(WS, headers={"Authorization": "Bearer sk-bad"}).__enter__()
        with keyed.websocket_connect(WS, headers={"Authorization": "Bearer sk-good"}) as session:
            session.send_text(run_task("Ok."))
            assert names(collect(session)[0])[-1] == "task-finished"


def test_handshakes_are_logged(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task("Ok."))
        collect(session)
    with pytest.raises(WebSocketDisconnect):
        client.websocket_connect(WS).__enter__()
    state = client.app.state.emulator  # type: ignore[attr-defined]
    assert [(entry["method"], entry["path"], entry["status"]) for entry in state.requests] == [
        ("WEBSOCKET", WS, 101),
        ("WEBSOCKET", WS, 401),
    ]


def test_idle_connection_times_out() -> None:
    with (
        TestClient(create_app(EmulatorConfig(ws_idle_seconds=0.2))) as idle_client,
        idle_client.websocket_connect(WS, headers={**AUTH}) as session,
    ):
        started = time.monotonic()
        events, _, _ = collect(session)
        waited = time.monotonic() - started
    assert 0.15 < waited < 2
    header = events[0]["header"]
    assert (header["event"], header["error_code"]) == ("task-failed", "CLIENT_ERROR")
    assert header["error_message"] == "request timeout after 0.2 seconds."


def test_drop_trigger_closes_mid_audio(client: TestClient) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task("Drop me now. [emulator:tts-drop] And the rest."))
        events, audio, _ = collect(session)
    assert names(events) == ["task-started", "closed"] and events[-1] == {"closed": 1011}
    assert audio.startswith(b"RIFF")


def test_voice_table_has_the_documented_english_voices() -> None:
    english = {"beth", "betty", "brian", "cally", "cindy", "donna", "eva"}
    assert {f"sambert-{voice}-v1" for voice in english} <= MODELS
    assert "sambert-zhichu-v1" in MODELS and "sambert-en-v1" not in MODELS


@pytest.mark.parametrize("text", ["。你好", "\n\nHi there\n", "!!!", "a.b.c"])
def test_audio_length_matches_the_header_for_any_text(client: TestClient, text: str) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        session.send_text(run_task(text))
        events, audio, _ = collect(session)
    assert names(events)[-1] == "task-finished"
    with wave.open(io.BytesIO(audio)) as reader:
        assert reader.getnframes() == len(text) * 3200 == (len(audio) - audio.index(b"data") - 8) // 2


@pytest.mark.parametrize("frame", ["not json", b"\x00\x01", "[1, 2]"])
def test_frames_that_are_not_json_objects_fail(client: TestClient, frame: str | bytes) -> None:
    with client.websocket_connect(WS, headers={**AUTH}) as session:
        if isinstance(frame, bytes):
            session.send_bytes(frame)
        else:
            session.send_text(frame)
        events, _, _ = collect(session)
    header = events[0]["header"]
    assert (header["event"], header["error_code"], header["error_message"]) == (
        "task-failed", "InvalidParameter", "Expected a JSON text frame."
    )  # fmt: skip
