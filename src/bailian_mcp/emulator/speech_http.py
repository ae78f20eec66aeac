"""Non-realtime speech synthesis over HTTP (CosyVoice, Qwen-Audio-TTS):
``POST /api/v1/services/audio/tts/SpeechSynthesizer``.

Synchronous (``X-DashScope-Async: enable`` is refused with 403). Models: ``cosyvoice-v3-flash``,
``cosyvoice-v3-plus``, ``cosyvoice-v2``, ``cosyvoice-v3.5-flash``, ``cosyvoice-v3.5-plus`` (cloned or designed
voices only), ``qwen-audio-3.0-tts-flash``, ``qwen-audio-3.1-tts-flash``; any other → 400 ``Model not exist.``

All options live in ``input`` (the documented place); a top-level ``parameters`` object (the v2 SDK's
``parameters=``) is read too, ``input`` winning; ``null`` counts as absent. Rules, each refused with 400
``InvalidParameter``:

* ``text`` required (``Required parameter(text) missing or invalid, …``); at most 20 000 characters — the
  documented bound of a non-streaming CosyVoice call; the HTTP pages give none (emulator choice).
* ``voice`` required; it must be one of the model's system voices (`VOICES`: "each model supports only its own
  voices") — else ``The voice 'X' is not supported by the model 'M'.``. A cloned/designed voice id (its name
  starts with ``<model>-``, as the service names them) is accepted for every model. The qwen-audio voice
  tables were not read in full: a voice with the model's suffix (``_v3.6`` for 3.0, ``_v3.1`` for 3.1) is
  accepted besides the known ones.
* ``format`` ``mp3`` (default), ``pcm``, ``wav``, ``opus``; ``sample_rate`` 8000, 16000, 22050 (default),
  24000, 44100, 48000; ``volume`` integer [0, 100] (50); ``rate`` and ``pitch`` [0.5, 2.0] (1.0);
  ``bit_rate`` integer [6, 510] (only affects opus); ``seed`` integer [0, 65535]; ``enable_ssml``,
  ``word_timestamp_enabled``, ``enable_aigc_tag``, ``enable_markdown_filter`` booleans; ``language_hints`` a
  list of the documented codes (only the first is used); ``instruction`` a string; other fields are ignored.

With ``enable_ssml`` the tags are neither spoken nor billed. ``usage.characters``: ideographs count 2, every
other character 1 (see `speech`). The audio is described in `speech`.

Plain answer: ``output.finish_reason`` ``"stop"``, ``output.audio`` ``{data: "", url, id: "audio_<request id>",
expires_at}`` (a signed result URL, see `results`), ``usage.characters``. With ``X-DashScope-SSE: enable`` the
answer is a DashScope SSE stream (the generic framing of `sse`, as for text generation — the TTS pages give
no line framing): for each sentence a ``sentence-begin`` event (``original_text``), one ``sentence-synthesis``
event per piece of base64 audio in ``output.audio.data`` (at most one second each; the pieces joined are the
requested file, header first, whatever the format) and a ``sentence-end`` event, each with
``finish_reason`` ``"null"``, ``sentence {index, words}`` (words with ``begin_index``/``end_index``/times when
``word_timestamp_enabled``) and the billed characters so far; then a final event without ``type``:
``finish_reason`` ``"stop"``, ``audio {data: "", url, id, expires_at}``, ``usage``. A refusal on a stream is
one ``event:error``. ``[emulator:inspect]`` in the text → 400 ``DataInspectionFailed``.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, read_sync_call, wants_sse
from .params import flag, number_in, optional_text, present, required_text
from .results import output_urls
from .speech import SSML_TAG, Speech, billed_characters, pieces
from .sse import sse_error_response, sse_event, sse_response
from .state import EmulatorState
from .task_api import API_PREFIX, result_root
from .tasks import ResultFile

SERVICE = "audio/tts/SpeechSynthesizer"
INSPECT_TRIGGER = "[emulator:inspect]"
TEXT_LIMIT = 20000
FORMATS = ("mp3", "pcm", "wav", "opus")
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm", "opus": "audio/ogg"}
_HINT_CODES = "zh en fr de ja ko ru pt th id vi es it ms fil ar"
LANGUAGE_HINTS = frozenset(_HINT_CODES.split())

_V3_FLASH = """
longanyang longanhuan_v3 longanhuan longhuhu_v3 longpaopao_v3 longjielidou_v3 longxian_v3 longling_v3
longshanshan_v3 longniuniu_v3 longjiaxin_v3 longjiayi_v3 longanyue_v3 longlaotie_v3 longshange_v3 longanmin_v3
loongkyong_v3 loongriko_v3 loongtomoka_v3 loongabby_v3 loongandy_v3 loongannie_v3 loongava_v3 loongbeth_v3
loongbetty_v3 loongcally_v3 loongcindy_v3 loongdavid_v3 loongdonna_v3 loongemily_v3 loongeric_v3 loongluna_v3
loongluca_v3 loongtomoya_v3 loongyuuna_v3 loongyuuma_v3 loongjihun_v3 loongindah_v3
longfei_v3 longyingxiao_v3 longyingxun_v3 longyingjing_v3 longyingling_v3 longyingtao_v3 longxiaochun_v3
longxiaoxia_v3 longyumi_v3 longanyun_v3 longanwen_v3 longanli_v3 longanlang_v3 longyingmu_v3 longantai_v3
longhua_v3 longcheng_v3 longze_v3 longzhe_v3 longyan_v3 longxing_v3 longtian_v3 longwan_v3 longqiang_v3
longfeifei_v3 longhao_v3 longanrou_v3 longhan_v3 longanzhi_v3 longanling_v3 longanya_v3 longanqin_v3
longmiao_v3 longsanshu_v3 longyuan_v3 longyue_v3 longxiu_v3 longnan_v3 longwanjun_v3 longyichen_v3
longlaobo_v3 longlaoyi_v3 longjiqi_v3 longhouge_v3 longdaiyu_v3 longanran_v3 longanxuan_v3 longshuo_v3
longshu_v3 loongbella_v3
"""
_V2 = """
longyingxiao longjiqi longhouge longjixin longanyue longshange longanmin longdaiyu longgaoseng longanli
longanlang longanwen longanyun longyumi_v2 longxiaochun_v2 longxiaoxia_v2 longyichen longwanjun longlaobo
longlaoyi longbaizhi longsanshu longxiu_v2 longmiao_v2 longyue_v2 longnan_v2 longyuan_v2 longanqin longanya
longanshuo longanling longanzhi longanrou longqiang_v2 longhan_v2 longxing_v2 longhua_v2 longwan_v2
longcheng_v2 longfeifei_v2 longxiaocheng_v2 longzhe_v2 longyan_v2 longtian_v2 longze_v2 longshao_v2
longhao_v2 kabuleshen_v2 longhuhu longanpei longwangwang longpaopao longshanshan longniuniu longyingmu
"""
_QWEN_AUDIO_31 = """
longanhuan_v3.1 longanlingxin_v3.1 longanfengyue_v3.1 xunanchuan_v3.1 yuxiaoyun_v3.1 qiaoxiaojiao_v3.1
Emily_v3.1 Luna_v3.1 Eric_v3.1 Luca_v3.1 Abby_v3.1
"""


@dataclass(frozen=True)
class VoiceSet:
    voices: frozenset[str]
    suffix: str | None = None
    """Voices ending with it are accepted too (tables not read in full)."""

    def accepts(self, model: str, voice: str) -> bool:
        if voice in self.voices or voice.startswith(f"{model}-"):
            return True
        return self.suffix is not None and voice.endswith(self.suffix) and len(voice) > len(self.suffix)


VOICES: Mapping[str, VoiceSet] = {
    "cosyvoice-v3-flash": VoiceSet(frozenset(_V3_FLASH.split())),
    "cosyvoice-v3-plus": VoiceSet(frozenset({"longanyang", "longanhuan"})),
    "cosyvoice-v2": VoiceSet(frozenset(_V2.split())),
    "cosyvoice-v3.5-flash": VoiceSet(frozenset()),
    "cosyvoice-v3.5-plus": VoiceSet(frozenset()),
    "qwen-audio-3.0-tts-flash": VoiceSet(frozenset({"longanhuan_v3.6"}), "_v3.6"),
    "qwen-audio-3.1-tts-flash": VoiceSet(frozenset(_QWEN_AUDIO_31.split()), "_v3.1"),
}
MODELS = frozenset(VOICES)


@dataclass(frozen=True)
class SynthesisJob:
    speech: Speech
    characters: int
    words: bool


def _choice(options: Mapping[str, Any], name: str, default: int | str, allowed: tuple[Any, ...]) -> Any:
    value = options.get(name, default)
    if isinstance(value, bool) or value not in allowed:
        raise invalid_parameter(f"The {name} {value!r} is not supported, supported values: {list(allowed)}")
    return value


def _language_hints(options: Mapping[str, Any]) -> None:
    hints = options.get("language_hints")
    if hints is None:
        return
    if not isinstance(hints, list) or not all(isinstance(hint, str) for hint in hints):
        raise invalid_parameter("Parameter language_hints must be a list of language codes")
    unknown = [hint for hint in hints[:1] if hint not in LANGUAGE_HINTS]
    if unknown:
        raise invalid_parameter(f"Parameter language_hints contains unsupported language: {unknown[0]}")


def plan(call: ServiceCall) -> SynthesisJob:
    """Validate a request (see the module's rules); raise `ServiceError` to refuse it."""
    voices = VOICES.get(call.model)
    if voices is None:
        raise invalid_parameter("Model not exist.")
    options = {**present(call.parameters), **present(call.input)}
    text = required_text(options, "text")
    if len(text) > TEXT_LIMIT:
        raise invalid_parameter(f"The length of text exceeds the limit of {TEXT_LIMIT} characters.")
    voice = required_text(options, "voice")
    if not voices.accepts(call.model, voice):
        raise invalid_parameter(f"The voice '{voice}' is not supported by the model '{call.model}'.")
    audio_format = _choice(options, "format", "mp3", FORMATS)
    sample_rate = _choice(options, "sample_rate", 22050, SAMPLE_RATES)
    volume = int(number_in(options, "volume", 50, 0, 100, integer=True))
    rate = number_in(options, "rate", 1.0, 0.5, 2.0)
    pitch = number_in(options, "pitch", 1.0, 0.5, 2.0)
    number_in(options, "bit_rate", 32, 6, 510, integer=True)
    number_in(options, "seed", 0, 0, 65535, integer=True)
    ssml = flag(options, "enable_ssml", False)
    words = flag(options, "word_timestamp_enabled", False)
    flag(options, "enable_aigc_tag", False)
    flag(options, "enable_markdown_filter", False)
    _language_hints(options)
    optional_text(options, "instruction")
    if INSPECT_TRIGGER in text:
        raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    spoken = (SSML_TAG.sub("", text).strip() or text) if ssml else text
    speech = Speech(spoken, audio_format, sample_rate, volume, rate, pitch)
    return SynthesisJob(speech, billed_characters(text, ssml=ssml), words)


def expires_of(url: str) -> int:
    """The ``Expires`` of a signed result URL (epoch seconds)."""
    return int(parse_qs(urlsplit(url).query)["Expires"][0])


def store_audio(request: Request, state: EmulatorState, speech: Speech) -> str:
    """File the synthesized audio as a synchronous output; its signed URL."""
    file = ResultFile(f"1.{speech.format}", MEDIA_TYPES[speech.format], speech.file)
    output = state.outputs.add([file], state.now())
    if state.faults.outcome("sync") == "expired_urls":
        state.faults.expire_urls(output.output_id)
    return output_urls(state, output, result_root(request, state))[0]


async def _events(job: SynthesisJob, url: str, request_id: str, pause: float) -> AsyncIterator[bytes]:
    speech = job.speech
    audio = {"data": "", "id": f"audio_{request_id}", "expires_at": expires_of(url)}
    data = await anyio.to_thread.run_sync(speech.file)
    sentences = speech.sentences()
    number = 0
    billed = 0

    def event(output: dict[str, Any]) -> bytes:
        nonlocal number
        number += 1
        body = {"request_id": request_id, "output": output, "usage": {"characters": billed}}
        return sse_event(number, "result", 200, body)

    for index, parts in pieces(speech, data):
        text, begin, _ = sentences[index]
        billed = min(job.characters, billed + billed_characters(text))
        sentence = {"index": index, "words": speech.words(text, begin) if job.words else []}
        base = {"finish_reason": "null", "sentence": sentence}
        yield event({**base, "type": "sentence-begin", "original_text": text, "audio": audio})
        for part in parts:
            await anyio.sleep(pause)
            chunk = {**audio, "data": base64.b64encode(part).decode()}
            yield event({**base, "type": "sentence-synthesis", "audio": chunk})
        yield event({**base, "type": "sentence-end", "original_text": text, "audio": audio})
    billed = job.characters
    yield event({"finish_reason": "stop", "audio": {**audio, "url": url}})


async def synthesize(request: Request) -> Response:
    state, call = await read_sync_call(request)
    streaming = wants_sse(request)
    try:
        job = plan(call)
    except ServiceError as refused:
        if streaming:
            return sse_error_response(refused)
        raise
    url = store_audio(request, state, job.speech)
    request_id = new_request_id()
    if streaming:
        return sse_response(_events(job, url, request_id, state.config.stream_chunk_seconds), request_id)
    audio = {"data": "", "url": url, "id": f"audio_{request_id}", "expires_at": expires_of(url)}
    return json_response(
        {
            "request_id": request_id,
            "output": {"finish_reason": "stop", "audio": audio},
            "usage": {"characters": job.characters},
        }
    )


ROUTES = [Route(f"{API_PREFIX}/services/{SERVICE}", synthesize, methods=["POST"])]
