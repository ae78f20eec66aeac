"""Sambert speech synthesis over WebSocket (protocol §8.1): ``/api-ws/v1/inference``.

The handshake needs ``Authorization: Bearer <key>`` (checked like every endpoint); a refused
key gets an HTTP 401 ``InvalidApiKey`` JSON answer instead of the upgrade when the server
supports WebSocket denial responses (uvicorn and Starlette's test client do), else the
handshake is closed, which servers answer with HTTP 403. The SDK reports either as
"Unauthorized, your api-key is invalid!".

Then, per task: the client sends a ``run-task`` text frame (``header.action``, ``header.task_id``,
``header.streaming`` ``"out"``; ``payload.task_group`` ``audio``, ``task`` ``tts``, ``function``
``SpeechSynthesizer``, ``model``, ``parameters``, ``input.text``) and the server answers
``task-started`` (empty ``attributes``; later events carry ``request_uuid`` and
``x-ds-batch-queue-length``, as in the real captures), then for each sentence its audio as
binary frames (at most one second of audio each, ``stream_chunk_seconds`` apart) followed by a
``result-generated`` event with the sentence's times (``words`` filled when
``word_timestamp_enabled``, each with ``phonemes`` when ``phoneme_timestamp_enabled``) and the
cumulative ``usage.characters``; finally ``task-finished`` with the last sentence (the SDK reads
``output.sentence`` from it) and ``usage.characters``. The connection then takes another
``run-task``.

A bad request ends with ``task-failed`` (``error_code`` ``InvalidParameter`` and a message) and the
server closes the connection: unknown model (``Model not exist.``), other task group/task/function,
an action other than ``run-task`` (Sambert has no ``continue-task``/``finish-task``), a missing
``task_id``, a missing text or one over 10000 characters, ``text_type`` other than
``PlainText``/``SSML``, ``format`` other than ``pcm``/``wav``/``mp3`` (default ``wav``),
``sample_rate`` other than 8000/16000/22050/24000/48000 (default 16000), ``volume`` outside
[0, 100] (50), ``rate`` or ``pitch`` outside [0.5, 2.0] (1.0), non-boolean timestamp flags. With no
``run-task`` for ``ws_idle_seconds`` (23 s) the server sends ``task-failed`` ``CLIENT_ERROR``
"request timeout after 23 seconds." and closes.

The audio (see `audio`) lasts 0.2 s per character divided by ``rate`` (whitespace silent, every
other character a tone whose pitch follows ``pitch`` and loudness ``volume``): PCM16 mono at
``sample_rate`` for ``pcm``; the same in a WAV whose header, in the first frame, also carries the
text, so transcription can give it back; silent MPEG audio frames after an ID3 tag with the text
for ``mp3``. Test trigger: ``[emulator:tts-drop]`` in the text closes the connection (code 1011)
after the first audio frame, without ``task-finished``; the ``drop`` fault (see `faults`) goes
away at the same point without even a close frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .audio import SilentMp3, id3_tag, tone, wav_header
from .envelope import ServiceError, invalid_parameter, new_request_id
from .faults import decision_of
from .gateway import authenticate
from .params import flag, number_in
from .state import emulator_state

WS_PATH = "/api-ws/v1/inference"
_CHINESE_VOICES = (
    "zhinan zhiqi zhichu zhide zhijia zhiru zhiqian zhixiang zhiwei zhihao zhijing zhiming zhimo zhina "
    "zhishu zhistella zhiting zhixiao zhiya zhiye zhiying zhiyuan zhiyue zhigui zhishuo zhimiao-emo zhimao "
    "zhilun zhifei zhida"
)
_ENGLISH_VOICES = "beth betty brian cally cindy donna eva"
MODELS = frozenset(f"sambert-{voice}-v1" for voice in f"{_CHINESE_VOICES} {_ENGLISH_VOICES}".split())
FORMATS = ("pcm", "wav", "mp3")
SAMPLE_RATES = (8000, 16000, 22050, 24000, 48000)
TEXT_LIMIT = 10000
SECONDS_PER_CHARACTER = 0.2
DROP_TRIGGER = "[emulator:tts-drop]"

_SENTENCE = re.compile(r"[^。！？；.!?;\n]*[。！？；.!?;\n]+|[^。！？；.!?;\n]+")
"""Sentences: each ends at its punctuation run; together they cover the whole text."""
_WORD = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+")
_SSML_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Synthesis:
    """A validated ``run-task``."""

    task_id: str
    text: str
    format: str
    sample_rate: int
    volume: int
    rate: float
    pitch: float
    words: bool
    phonemes: bool

    @property
    def samples_per_character(self) -> int:
        return round(self.sample_rate * SECONDS_PER_CHARACTER / self.rate)

    def ms(self, samples: int) -> int:
        return samples * 1000 // self.sample_rate


def _failed(task_id: str, code: str, message: str) -> str:
    header = {"task_id": task_id, "event": "task-failed", "error_code": code, "error_message": message}
    return json.dumps({"header": {**header, "attributes": {}}, "payload": {}}, ensure_ascii=False)


def _event(task_id: str, event: str, payload: dict[str, Any], attributes: dict[str, str] | None = None) -> str:
    header = {"task_id": task_id, "event": event, "attributes": attributes or {}}
    return json.dumps({"header": header, "payload": payload}, ensure_ascii=False)


def plan(message: Mapping[str, Any]) -> Synthesis:
    """Validate a client frame; raise `ServiceError` (sent as ``task-failed``) to refuse it."""
    header = message.get("header")
    payload = message.get("payload")
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise invalid_parameter("The message must have a header and a payload.")
    action = header.get("action")
    if action != "run-task":
        raise invalid_parameter(f"Action {action!r} is not supported by this model, only run-task.")
    task_id = header.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise invalid_parameter("Required parameter(task_id) missing or invalid, please check the request parameters.")
    route = (payload.get("task_group"), payload.get("task"), payload.get("function"))
    if route != ("audio", "tts", "SpeechSynthesizer"):
        raise invalid_parameter(f"Unsupported task: {'/'.join(map(str, route))}")
    if payload.get("model") not in MODELS:
        raise invalid_parameter("Model not exist.")
    params = payload.get("parameters") or {}
    source = payload.get("input")
    text = source.get("text") if isinstance(source, dict) else None
    if not isinstance(params, dict):
        raise invalid_parameter("Parameters must be an object.")
    if not isinstance(text, str) or not text.strip():
        raise invalid_parameter("Required parameter(text) missing or invalid, please check the request parameters.")
    if len(text) > TEXT_LIMIT:
        raise invalid_parameter(f"The length of text exceeds the limit of {TEXT_LIMIT} characters.")
    text_type = params.get("text_type", "PlainText")
    if text_type not in ("PlainText", "SSML"):
        raise invalid_parameter("Parameter text_type must be PlainText or SSML")
    audio_format = params.get("format", "wav")
    if audio_format not in FORMATS:
        raise invalid_parameter(f"The format {audio_format!r} is not supported, supported formats: {list(FORMATS)}")
    sample_rate = params.get("sample_rate", 16000)
    if sample_rate not in SAMPLE_RATES or isinstance(sample_rate, bool):
        raise invalid_parameter(
            f"The sample_rate {sample_rate!r} is not supported, supported sample rates: {list(SAMPLE_RATES)}"
        )
    volume = int(number_in(params, "volume", 50, 0, 100, integer=True))
    rate = number_in(params, "rate", 1.0, 0.5, 2.0)
    pitch = number_in(params, "pitch", 1.0, 0.5, 2.0)
    words = flag(params, "word_timestamp_enabled", False)
    phonemes = flag(params, "phoneme_timestamp_enabled", False)
    if text_type == "SSML":
        text = _SSML_TAG.sub("", text).strip() or text
    return Synthesis(task_id, text, audio_format, int(sample_rate), volume, rate, pitch, words, phonemes)


def _sentence(synthesis: Synthesis, text: str, begin: int) -> dict[str, Any]:
    """The timestamps of one sentence starting ``begin`` samples into the audio."""
    step = synthesis.samples_per_character
    words = []
    if synthesis.words:
        for match in _WORD.finditer(text):
            start, end = synthesis.ms(begin + match.start() * step), synthesis.ms(begin + match.end() * step)
            word: dict[str, Any] = {"text": match.group(0), "begin_time": start, "end_time": end}
            if synthesis.phonemes:
                word["phonemes"] = [{"begin_time": start, "end_time": end, "text": match.group(0).lower(), "tone": 1}]
            words.append(word)
    end_ms = synthesis.ms(begin + len(text) * step)
    return {"begin_time": synthesis.ms(begin), "end_time": end_ms, "words": words}


def _pcm(synthesis: Synthesis, text: str) -> bytes:
    step, rate, volume = synthesis.samples_per_character, synthesis.sample_rate, synthesis.volume
    return b"".join(
        bytes(2 * step) if char.isspace() else tone((180 + ord(char) % 16 * 30) * synthesis.pitch, step, rate, volume)
        for char in text
    )


async def audio_frames(synthesis: Synthesis) -> AsyncIterator[tuple[bytes, dict[str, Any] | None, int]]:
    """``(audio, None, 0)`` frames and, after each sentence's audio, ``(b"", sentence, characters)``
    with the characters synthesized so far."""
    total = len(synthesis.text) * synthesis.samples_per_character
    mp3 = SilentMp3.for_rate(synthesis.sample_rate) if synthesis.format == "mp3" else None
    if synthesis.format == "wav":
        prefix = wav_header(synthesis.sample_rate, total * 2, synthesis.text)
    elif mp3 is not None:
        prefix = id3_tag(synthesis.text)
    else:
        prefix = b""
    frame_bytes = 2 * synthesis.sample_rate
    done = frames_sent = 0
    for match in _SENTENCE.finditer(synthesis.text):
        text = match.group(0)
        samples = len(text) * synthesis.samples_per_character
        if mp3 is not None:
            frames = mp3.frames_for(done + samples) - frames_sent
            audio, frames_sent = mp3.frame * frames, frames_sent + frames
        else:
            audio = await anyio.to_thread.run_sync(_pcm, synthesis, text)
        audio, prefix = prefix + audio, b""
        for start in range(0, len(audio), frame_bytes):
            yield audio[start : start + frame_bytes], None, 0
        if text.strip():
            yield b"", _sentence(synthesis, text, done), match.end()
        done += samples


async def _receive_text(websocket: WebSocket, idle: float) -> str | bytes | None:
    """The next client frame; ``None`` when the idle time passed without one."""
    with anyio.move_on_after(idle):
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text: str | None = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")
    return None


async def _run(websocket: WebSocket, synthesis: Synthesis, pause: float) -> bool:
    """Stream one task; False when the drop trigger closed the connection or the ``drop`` fault (see
    `faults`) abandoned it (returning without a close frame: the server then just closes the socket)."""
    decision = decision_of(websocket.scope)
    drop = decision is not None and decision.fault == "drop"
    attributes = {"request_uuid": new_request_id(), "x-ds-batch-queue-length": "0"}
    await websocket.send_text(_event(synthesis.task_id, "task-started", {}))
    last: dict[str, Any] = {"begin_time": 0, "end_time": 0, "words": []}
    sent_audio = False
    async for audio, sentence, characters in audio_frames(synthesis):
        if sentence is None:
            if sent_audio:
                await anyio.sleep(pause)
            await websocket.send_bytes(audio)
            sent_audio = True
            if DROP_TRIGGER in synthesis.text:
                await websocket.close(code=1011)
                return False
            if drop:
                return False
            continue
        last = sentence
        payload = {"output": {"sentence": sentence}, "usage": {"characters": characters}}
        await websocket.send_text(_event(synthesis.task_id, "result-generated", payload, attributes))
    finished = {"output": {"sentence": last}, "usage": {"characters": len(synthesis.text)}}
    await websocket.send_text(_event(synthesis.task_id, "task-finished", finished, attributes))
    return True


async def inference(websocket: WebSocket) -> None:
    state = emulator_state(websocket)
    try:
        authenticate(websocket, state.config)
    except ServiceError as refused:
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            body = {"code": refused.code, "message": refused.message, "request_id": new_request_id()}
            await websocket.send_denial_response(JSONResponse(body, status_code=refused.status))
        else:
            await websocket.close()
        return
    await websocket.accept()
    idle = state.config.ws_idle_seconds
    try:
        while True:
            frame = await _receive_text(websocket, idle)
            if frame is None:
                await websocket.send_text(_failed("", "CLIENT_ERROR", f"request timeout after {idle:g} seconds."))
                await websocket.close()
                return
            try:
                message = json.loads(frame) if isinstance(frame, str) else None
                if not isinstance(message, dict):
                    raise invalid_parameter("Expected a JSON text frame.")
                synthesis = plan(message)
            except ServiceError as refused:
                header = message.get("header") if isinstance(message, dict) else None
                task_id = str(header.get("task_id", "")) if isinstance(header, dict) else ""
                await websocket.send_text(_failed(task_id, refused.code, refused.message))
                await websocket.close()
                return
            except ValueError:
                await websocket.send_text(_failed("", "InvalidParameter", "Expected a JSON text frame."))
                await websocket.close()
                return
            if not await _run(websocket, synthesis, state.config.stream_chunk_seconds):
                return
    except WebSocketDisconnect:
        return


ROUTES = [WebSocketRoute(WS_PATH, inference)]
