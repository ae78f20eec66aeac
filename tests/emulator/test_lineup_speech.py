"""The 2026 speech lineup on the emulator, in process: HTTP speech synthesis (CosyVoice, Qwen-Audio-TTS) on
``audio/tts/SpeechSynthesizer``, Qwen-TTS and qwen3-asr-flash on the synchronous multimodal route — each model's
rules accepted and refused at their edges, the real envelopes, plain and streamed, and real audio files."""

from __future__ import annotations

import base64
import io
import json
import wave
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bailian_mcp.emulator import speech_http, speech_qwen
from bailian_mcp.emulator.audio import probe
from tests.support.emulator_app import ASYNC, AUTH, MULTIMODAL, RESOLVE, UPLOADS, Emulator, assert_error, upload
from tests.support.emulators import FileServer
from tests.support.media import data_uri, mp3_bytes, png_bytes, wav_bytes

TTS = "/api/v1/services/audio/tts/SpeechSynthesizer"
SSE = {**AUTH, "X-DashScope-SSE": "enable"}


async def tts(
    emu: Emulator, model: str = "cosyvoice-v3-flash", headers: dict[str, str] = AUTH, **fields: Any
) -> httpx.Response:
    payload = {"text": "你好", "voice": "longanyang", **fields}
    return await emu.http.post(TTS, headers=headers, json={"model": model, "input": payload})


async def tts_ok(emu: Emulator, model: str = "cosyvoice-v3-flash", **fields: Any) -> dict[str, Any]:
    response = await tts(emu, model, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def download(emu: Emulator, url: str) -> bytes:
    response = await emu.http.get(url)
    assert response.status_code == 200, response.text
    return response.content


def wav_facts(data: bytes) -> tuple[int, int, float]:
    """(sample rate, channels, seconds) of a WAV file."""
    with wave.open(io.BytesIO(data)) as read:
        return read.getframerate(), read.getnchannels(), read.getnframes() / read.getframerate()


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each event of a DashScope SSE body."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if not line.startswith(":"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# --- audio/tts/SpeechSynthesizer: plain answers ----------------------------------------------------------------


async def test_cosyvoice_plain_answer_has_the_documented_envelope(emu: Emulator) -> None:
    response = await tts(emu, text="我家的后面有一个很大的花园。", format="wav", sample_rate=24000)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"request_id", "output", "usage"}
    assert response.headers["x-request-id"] == body["request_id"]
    assert body["output"]["finish_reason"] == "stop"
    audio = body["output"]["audio"]
    assert set(audio) == {"data", "url", "id", "expires_at"} and audio["data"] == ""
    assert audio["id"] == f"audio_{body['request_id']}"
    assert audio["expires_at"] == int(parse_qs(urlsplit(audio["url"]).query)["Expires"][0])
    assert body["usage"] == {"characters": 13 * 2 + 1}  # ideographs count 2, the full stop 1
    rate, channels, seconds = wav_facts(await download(emu, audio["url"]))
    assert (rate, channels) == (24000, 1) and seconds == pytest.approx(14 * 0.2)


async def test_defaults_are_mp3_at_22050(emu: Emulator) -> None:
    body = await tts_ok(emu, text="hello")
    assert urlsplit(body["output"]["audio"]["url"]).path.endswith("/1.mp3")
    info = probe(await download(emu, body["output"]["audio"]["url"]))
    assert info is not None and info.format == "mp3" and info.sample_rate == 22050
    assert info.duration_ms == pytest.approx(1000, abs=30)
    assert body["usage"]["characters"] == 5


async def test_rate_shortens_and_pcm_is_raw(emu: Emulator) -> None:
    body = await tts_ok(emu, text="ab", format="pcm", sample_rate=8000, rate=2.0)
    assert len(await download(emu, body["output"]["audio"]["url"])) == 2 * round(8000 * 0.2 / 2.0) * 2


async def test_opus_is_an_ogg_opus_file(emu: Emulator) -> None:
    body = await tts_ok(emu, text="hi", format="opus", sample_rate=48000, bit_rate=64)
    data = await download(emu, body["output"]["audio"]["url"])
    assert data[:4] == b"OggS" and data[28:36] == b"OpusHead" and b"OpusTags" in data
    assert data.count(b"OggS") == 3  # head, tags, one page of audio


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("volume", [0, 100], [-1, 101, 50.5]),
        ("rate", [0.5, 2.0], [0.49, 2.01]),
        ("pitch", [0.5, 2.0], [0.4, 2.1]),
        ("sample_rate", [8000, 44100, 48000], [11025, 96000, "24000"]),
        ("format", ["mp3", "pcm", "wav", "opus"], ["aac", "MP3"]),
        ("bit_rate", [6, 510], [5, 511]),
        ("seed", [0, 65535], [-1, 65536]),
        ("enable_ssml", [True, False], ["yes"]),
        ("word_timestamp_enabled", [False], [1]),
        ("language_hints", [["zh"], ["fil", "xx"]], [["xx"], "zh"]),
    ],
)
async def test_synthesis_options_at_their_edges(emu: Emulator, field: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert (await tts(emu, **{field: value})).status_code == 200, (field, value)
    for value in bad:
        response = await tts(emu, **{field: value})
        assert_error(response, 400, "InvalidParameter")
        assert field in response.json()["message"], (field, value)


async def test_text_and_voice_are_required_and_text_is_bounded(emu: Emulator) -> None:
    missing = "Required parameter({}) missing or invalid, please check the request parameters."
    assert_error(await tts(emu, text=""), 400, "InvalidParameter", missing.format("text"))
    response = await emu.http.post(TTS, headers=AUTH, json={"model": "cosyvoice-v2", "input": {"text": "hi"}})
    assert_error(response, 400, "InvalidParameter", missing.format("voice"))
    limit = speech_http.TEXT_LIMIT
    assert_error(await tts(emu, text="a" * (limit + 1)), 400, "InvalidParameter")


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        ("cosyvoice-v3-flash", "longanhuan_v3"),
        ("cosyvoice-v3-flash", "loongluca_v3"),
        ("cosyvoice-v3-plus", "longanhuan"),
        ("cosyvoice-v2", "longxiaochun_v2"),
        ("cosyvoice-v2", "cosyvoice-v2-myvoice-0123abcd"),
        ("qwen-audio-3.1-tts-flash", "longanhuan_v3.1"),
        ("qwen-audio-3.1-tts-flash", "Emily_v3.1"),
        ("qwen-audio-3.0-tts-flash", "longanhuan_v3.6"),
    ],
)
async def test_each_model_takes_its_own_voices(emu: Emulator, model: str, voice: str) -> None:
    assert (await tts(emu, model, voice=voice)).status_code == 200


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        ("cosyvoice-v3-flash", "longxiaochun_v2"),
        ("cosyvoice-v3-plus", "longanhuan_v3"),
        ("cosyvoice-v2", "longanyang"),
        ("qwen-audio-3.1-tts-flash", "longanyang"),
        ("qwen-audio-3.1-tts-flash", "longanhuan_v3.6"),
        ("qwen-audio-3.0-tts-flash", "longanhuan_v3.1"),
        ("cosyvoice-v3.5-flash", "longanyang"),
        ("cosyvoice-v3-flash", "Cherry"),
    ],
)
async def test_a_voice_of_another_model_is_refused_by_name(emu: Emulator, model: str, voice: str) -> None:
    message = f"The voice '{voice}' is not supported by the model '{model}'."
    assert_error(await tts(emu, model, voice=voice), 400, "InvalidParameter", message)


async def test_gateway_rules(emu: Emulator) -> None:
    assert_error(await tts(emu, "cosyvoice-v1"), 400, "InvalidParameter", "Model not exist.")
    assert_error(await tts(emu, "qwen3-tts-flash", voice="Cherry"), 400, "InvalidParameter", "Model not exist.")
    assert_error(await tts(emu, headers=ASYNC), 403, "AccessDenied")
    assert_error(await tts(emu, headers={}), 401, "InvalidApiKey")
    assert_error(await tts(emu, text="[emulator:inspect] hi"), 400, "DataInspectionFailed")


async def test_a_parameters_object_is_read_too_and_input_wins(emu: Emulator) -> None:
    body = {"model": "cosyvoice-v3-plus", "input": {"text": "ab", "voice": "longanhuan", "format": "pcm",
            "sample_rate": 8000, "rate": 1.0}, "parameters": {"rate": 2.0, "volume": 101}}  # fmt: skip
    assert_error(
        await emu.http.post(TTS, headers=AUTH, json=body), 400, "InvalidParameter", "Range of volume should be [0, 100]"
    )
    body["parameters"] = {"rate": 2.0, "volume": 10}
    response = await emu.http.post(TTS, headers=AUTH, json=body)
    assert response.status_code == 200, response.text
    assert len(await download(emu, response.json()["output"]["audio"]["url"])) == 2 * 1600 * 2  # rate 1.0 won


async def test_ssml_tags_are_neither_spoken_nor_billed(emu: Emulator) -> None:
    text = '<speak rate="2">你好</speak>'
    plain = await tts_ok(emu, text=text, format="wav", sample_rate=8000)
    assert plain["usage"]["characters"] == len(text) + 2
    ssml = await tts_ok(emu, text=text, format="wav", sample_rate=8000, enable_ssml=True)
    assert ssml["usage"]["characters"] == 4
    assert wav_facts(await download(emu, ssml["output"]["audio"]["url"]))[2] == pytest.approx(0.4)


# --- audio/tts/SpeechSynthesizer: SSE -------------------------------------------------------------------------


async def test_stream_sends_sentences_then_the_url(emu: Emulator) -> None:
    body = {"model": "cosyvoice-v3-flash", "input": {"text": "你好。hello world!", "voice": "longanyang",
            "format": "wav", "sample_rate": 8000, "word_timestamp_enabled": True}}  # fmt: skip
    response = await emu.http.post(TTS, headers=SSE, json=body)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("id:1\nevent:result\n:HTTP_STATUS/200\ndata:")
    events = sse_events(response.text)
    assert all(name == "result" for name, _ in events)
    outputs = [data["output"] for _, data in events]
    kinds = [output.get("type") for output in outputs]
    assert kinds[0] == "sentence-begin" and kinds[-1] is None
    assert kinds.count("sentence-begin") == kinds.count("sentence-end") == 2
    assert [o["original_text"] for o in outputs if o.get("type") == "sentence-begin"] == ["你好。", "hello world!"]
    assert all(o["finish_reason"] == "null" for o in outputs[:-1]) and outputs[-1]["finish_reason"] == "stop"
    request_id = events[0][1]["request_id"]
    assert all(data["request_id"] == request_id for _, data in events)
    assert all(o["audio"]["id"] == f"audio_{request_id}" for o in outputs)
    characters = [data["usage"]["characters"] for _, data in events]
    assert characters == sorted(characters) and characters[-1] == 2 * 2 + 1 + 12
    chunks = [base64.b64decode(o["audio"]["data"]) for o in outputs if o.get("type") == "sentence-synthesis"]
    assert all(len(chunk) <= 8000 * 2 for chunk in chunks[1:])
    final = outputs[-1]["audio"]
    assert final["data"] == "" and b"".join(chunks) == await download(emu, final["url"])
    words = outputs[-2]["sentence"]["words"]
    assert [w["text"] for w in words] == ["hello", "world"]
    assert words[1] == {"text": "world", "begin_index": 6, "end_index": 11, "begin_time": 1800, "end_time": 2800}


async def test_stream_refusal_is_one_error_event(emu: Emulator) -> None:
    response = await tts(emu, headers=SSE, voice="Cherry")
    assert response.status_code == 200
    ((name, data),) = sse_events(response.text)
    assert name == "error" and ":HTTP_STATUS/400" in response.text
    assert data["code"] == "InvalidParameter" and "Cherry" in data["message"]


# --- Qwen-TTS on the multimodal route ---------------------------------------------------------------------------


async def qwen_tts(emu: Emulator, model: str = "qwen3-tts-flash", headers: dict[str, str] = AUTH,
                   parameters: dict[str, Any] | None = None, **fields: Any) -> httpx.Response:  # fmt: skip
    payload = {"text": "hi", "voice": "Cherry", **fields}
    body = {"model": model, "input": payload, "parameters": parameters or {}}
    return await emu.http.post(MULTIMODAL, headers=headers, json=body)


async def test_qwen3_tts_flash_answers_a_24k_wav(emu: Emulator) -> None:
    response = await qwen_tts(emu, text="你好, world", language_type="Chinese")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"]["finish_reason"] == "stop"
    audio = body["output"]["audio"]
    assert audio["data"] == "" and audio["id"] == f"audio_{body['request_id']}"
    assert body["usage"] == {"input_tokens": 0, "output_tokens": 0, "characters": 4 + 7}
    rate, channels, seconds = wav_facts(await download(emu, audio["url"]))
    assert (rate, channels) == (24000, 1) and seconds == pytest.approx(9 * 0.2)


async def test_qwen_tts_is_billed_in_tokens(emu: Emulator) -> None:
    body = (await qwen_tts(emu, "qwen-tts", text="hello")).json()
    usage = body["usage"]
    assert usage["characters"] == 0 and usage["output_tokens"] == 50  # 1 s of audio
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens_details"] == {"audio_tokens": 50, "text_tokens": 0}


async def test_qwen_tts_voices_languages_and_limits(emu: Emulator) -> None:
    assert (await qwen_tts(emu, "qwen-tts", voice="Dylan")).status_code == 200
    message = "The voice 'Kiki' is not supported by the model 'qwen-tts'."
    assert_error(await qwen_tts(emu, "qwen-tts", voice="Kiki"), 400, "InvalidParameter", message)
    assert (await qwen_tts(emu, voice="Kiki")).status_code == 200
    assert_error(await qwen_tts(emu, voice="longanyang"), 400, "InvalidParameter")
    assert_error(await qwen_tts(emu, voice=None), 400, "InvalidParameter")
    for language in speech_qwen.LANGUAGE_TYPES:
        assert (await qwen_tts(emu, language_type=language)).status_code == 200
    assert_error(await qwen_tts(emu, language_type="Cantonese"), 400, "InvalidParameter")
    assert (await qwen_tts(emu, text="a" * 600)).status_code == 200
    assert_error(await qwen_tts(emu, text="a" * 601), 400, "InvalidParameter")
    assert (await qwen_tts(emu, "qwen-tts", text="a" * 512)).status_code == 200  # 4 letters a token
    assert_error(await qwen_tts(emu, "qwen-tts", text="。" * 513), 400, "InvalidParameter")
    assert_error(await qwen_tts(emu, headers=ASYNC), 403, "AccessDenied")


async def test_instructions_in_input_or_parameters(emu: Emulator) -> None:
    model = "qwen3-tts-instruct-flash"
    assert (await qwen_tts(emu, model, instructions="speak fast")).status_code == 200
    params = {"instructions": "speak fast", "optimize_instructions": True}
    assert (await qwen_tts(emu, model, parameters=params)).status_code == 200
    response = await qwen_tts(emu, model, parameters={"optimize_instructions": True})
    assert_error(response, 400, "InvalidParameter", "Parameter optimize_instructions requires instructions.")
    assert (await qwen_tts(emu, parameters={"optimize_instructions": True})).status_code == 200  # not instruct


async def test_qwen_tts_stream_sends_pcm_then_the_url(emu: Emulator) -> None:
    response = await qwen_tts(emu, headers=SSE, text="hello world")
    events = sse_events(response.text)
    outputs = [data["output"] for _, data in events]
    assert [o["finish_reason"] for o in outputs] == ["null", "null", "null", "stop"]
    pcm = b"".join(base64.b64decode(o["audio"]["data"]) for o in outputs[:-1])
    assert all(o["audio"]["url"] == "" for o in outputs[:-1])
    final = outputs[-1]["audio"]
    assert final["data"] == "" and len(pcm) == 11 * 4800 * 2
    wav = await download(emu, final["url"])
    assert wav.endswith(pcm) and wav_facts(wav)[0] == 24000


async def test_image_models_still_answer_on_the_shared_route(emu: Emulator) -> None:
    body = {"model": "qwen-image-plus", "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]}}
    response = await emu.http.post(MULTIMODAL, headers=AUTH, json=body)
    assert response.status_code == 200 and response.json()["usage"]["image_count"] == 1


# --- qwen3-asr-flash on the multimodal route ----------------------------------------------------------------------


def asr_body(audio: Any, *, system: bool = False, **parameters: Any) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": [{"text": "ctx"}]}] if system else []
    messages.append({"role": "user", "content": [{"audio": audio}]})
    return {"model": "qwen3-asr-flash", "input": {"messages": messages}, "parameters": parameters}


async def asr(emu: Emulator, body: dict[str, Any], headers: dict[str, str] = AUTH) -> httpx.Response:
    return await emu.http.post(MULTIMODAL, headers=headers, json=body)


async def test_asr_gives_back_the_text_of_emulated_speech(emu: Emulator) -> None:
    spoken = await tts_ok(emu, text="今天天气很好。", format="wav", sample_rate=16000)
    wav = await download(emu, spoken["output"]["audio"]["url"])
    response = await asr(emu, asr_body(data_uri(wav, "audio/wav"), system=True, asr_options={"enable_itn": True}))
    assert response.status_code == 200, response.text
    body = response.json()
    (choice,) = body["output"]["choices"]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == [{"text": "今天天气很好。"}]
    assert choice["message"]["annotations"] == [{"language": "zh", "type": "audio_info", "emotion": "neutral"}]
    assert body["usage"]["seconds"] == 2 and body["usage"]["input_tokens_details"] == {"text_tokens": 0}
    assert body["usage"]["output_tokens_details"]["text_tokens"] > 0


async def test_asr_reads_urls_and_mp3(emu: Emulator, files: FileServer) -> None:
    url = files.add("speech-lineup/clip.mp3", mp3_bytes(40))
    body = (await asr(emu, asr_body(url, asr_options={"language": "en"}))).json()
    assert body["output"]["choices"][0]["message"]["content"][0]["text"] == (
        "This is an emulated transcript of 1.0 seconds of audio."
    )
    zh = (await asr(emu, asr_body(data_uri(wav_bytes(0.5), "audio/wav"), asr_options={"language": "zh"}))).json()
    assert zh["output"]["choices"][0]["message"]["content"][0]["text"] == "这是一段0.5秒音频的模拟识别结果。"
    assert zh["usage"]["seconds"] == 1
    missing = await asr(emu, asr_body(files.url("speech-lineup/none.wav")))
    assert_error(missing, 400, "InvalidParameter", "The audio file cannot be downloaded.")


async def test_asr_reads_uploads_only_with_the_resolve_header(emu: Emulator) -> None:
    query = {"action": "getPolicy", "model": "qwen3-asr-flash"}
    policy = (await emu.http.get(UPLOADS, params=query, headers=AUTH)).json()["data"]
    assert (await upload(emu, policy, wav_bytes(1.2))).status_code == 200
    body = asr_body(f"oss://{policy['upload_dir']}/photo.png")
    message = "The provided URL does not appear to be valid. Ensure it is correctly formatted."
    assert_error(await asr(emu, body), 400, "InvalidParameter", message)
    resolved = await asr(emu, body, headers={**AUTH, **RESOLVE})
    assert resolved.status_code == 200 and resolved.json()["usage"]["seconds"] == 2


async def test_asr_refusals(emu: Emulator) -> None:
    audio = data_uri(wav_bytes(0.2), "audio/wav")
    one = "The last message must be a user message with one audio"
    empty = {"model": "qwen3-asr-flash", "input": {"messages": []}}
    assert_error(await asr(emu, empty), 400, "InvalidParameter", "No messages found in input")
    two = asr_body(audio)
    two["input"]["messages"][0]["content"].append({"audio": audio})
    assert_error(await asr(emu, two), 400, "InvalidParameter", one)
    assistant = asr_body(audio)
    assistant["input"]["messages"][0]["role"] = "assistant"
    assert_error(await asr(emu, assistant), 400, "InvalidParameter", one)
    assert_error(await asr(emu, asr_body("ftp://x/a.wav")), 400, "InvalidParameter", "url error, please check url！")
    assert_error(await asr(emu, asr_body(audio, asr_options={"language": "xx"})), 400, "InvalidParameter")
    assert_error(await asr(emu, asr_body(audio, asr_options={"enable_itn": "yes"})), 400, "InvalidParameter")
    not_audio = asr_body(data_uri(png_bytes(8, 8)))
    assert_error(await asr(emu, not_audio), 400, "InvalidParameter", "The audio format is not supported.")
    too_long = asr_body(data_uri(wav_bytes(300.5, 1000), "audio/wav"))
    message = "The audio duration should be in (0, 300] seconds."
    assert_error(await asr(emu, too_long), 400, "InvalidParameter", message)
    assert (await asr(emu, asr_body(data_uri(wav_bytes(300, 1000), "audio/wav")))).status_code == 200
    too_big = asr_body(data_uri(bytes(10 * 1024 * 1024 + 1), "audio/wav"))
    message = "The audio file size exceeds the limit of 10MB."
    assert_error(await asr(emu, too_big), 400, "InvalidParameter", message)


async def test_asr_stream_is_cumulative_unless_incremental(emu: Emulator) -> None:
    audio = data_uri(wav_bytes(0.5), "audio/wav")
    body = asr_body(audio, asr_options={"language": "en"})
    texts = [
        d["output"]["choices"][0]["message"]["content"][0]["text"]
        for _, d in sse_events((await asr(emu, body, SSE)).text)
    ]
    assert texts[-1] == "This is an emulated transcript of 0.5 seconds of audio." and texts == sorted(texts, key=len)
    body["parameters"]["incremental_output"] = True
    events = sse_events((await asr(emu, body, SSE)).text)
    pieces = [d["output"]["choices"][0]["message"]["content"][0]["text"] for _, d in events]
    assert "".join(pieces) == texts[-1]
    assert [d["output"]["choices"][0]["finish_reason"] for _, d in events][-2:] == ["null", "stop"]
