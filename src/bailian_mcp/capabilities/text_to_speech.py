"""Text-to-speech, saved as an audio file.

Two kinds of model (`catalog`): Sambert voices, each voice its own model, over DashScope's WebSocket API (Beijing
only); and speech models with voices of their own (`voice`), answered at once — CosyVoice and Qwen-Audio on the
HTTP SpeechSynthesizer endpoint (every option in `input`), Qwen-TTS on the multimodal endpoint (`text`, `voice`,
`language_type`) — whose answer is the audio file's URL.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from contextlib import aclosing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import (
    BuildContext,
    Capability,
    Exchange,
    ExchangeContext,
    Outcome,
    Params,
    Request,
)
from bailian_mcp.capabilities.fields import Lean, models_where
from bailian_mcp.capabilities.sentences import split_text
from bailian_mcp.capabilities.speech_pieces import in_pieces
from bailian_mcp.catalog import HTTP_SPEECH_SYNTHESIS, ModelSpec, SpeechModel, VoiceModel
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.protocol import WEBSOCKET_PATH, url_expiry
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import OutputFile, iso_utc
from bailian_mcp.media import media_duration

NAME = "text_to_speech"
VOICES = [m for m in catalog.models_for(NAME) if isinstance(m, VoiceModel)]
SPEECH_MODELS = [m for m in catalog.models_for(NAME) if isinstance(m, SpeechModel)]
MODEL_NAMES = [m.name for m in catalog.models_for(NAME)]
TEXT_MAX = 10_000
SAMPLE_RATES = sorted(
    {rate for m in VOICES for rate in m.sample_rates} | {r for m in SPEECH_MODELS for r in m.sample_rates}
)
MIME_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "pcm": "audio/pcm"}
PROSODY_MODELS = models_where(NAME, lambda m: isinstance(m, VoiceModel) or (isinstance(m, SpeechModel) and m.prosody))
LANGUAGE_MODELS = models_where(NAME, lambda m: isinstance(m, SpeechModel) and bool(m.language_types))
PCM_BYTES_PER_SAMPLE = 2  # Sambert PCM: 16-bit little-endian mono
PRICE = VOICES[0].price.describe()
DEFAULT_SAMPLE_RATES = sorted({voice.default_sample_rate for voice in VOICES})


def _voices(language: str) -> str:
    """Each voice of `language` with its summary (the tool description)."""
    described = []
    for voice in VOICES:
        if voice.language == language:
            summary = voice.summary.rstrip(".").removeprefix("Chinese, ").removeprefix("English, ")
            described.append(f"{voice.name} ({summary})")
    return ", ".join(described)


def _spoken_by() -> str:
    """E.g. "sambert-en-v1 is spoken by sambert-cindy-v1.": the voices that are another voice on the wire."""
    return " ".join(f"{v.name} is spoken by {v.wire_model}." for v in VOICES if v.wire_model)


SPOKEN_BY = _spoken_by()


def _names(language: str) -> str:
    return ", ".join(v.name for v in VOICES if v.language == language)


def _speech_models() -> str:
    """Each speech model with its summary and default voice (the model parameter's guidance)."""
    return " ".join(f"{m.name}: {m.summary} (default voice {m.default_voice})" for m in SPEECH_MODELS)


class TextToSpeechParams(Params):
    text: Annotated[
        str,
        Field(
            min_length=1,
            max_length=TEXT_MAX,
            description=f"The text to speak, up to {TEXT_MAX} characters, in the voice's language (Chinese voices "
            "also read English words and digits). Billed per character.",
        ),
        Lean("The text to speak."),
    ]
    model: Annotated[
        str,
        Field(
            description=f"A Sambert voice (each is its own model) — for Chinese text: {_names('zh')}; for English "
            f"text: {_names('en')}. {SPOKEN_BY} Or a speech model with voices of its own (see voice): "
            f"{_speech_models()}",
            json_schema_extra={"enum": MODEL_NAMES},
        ),
        Lean(""),
    ] = catalog.default_model(NAME)
    voice: Annotated[
        str | None,
        Field(
            description="The voice, for the speech models (each has its own; list_models shows them): e.g. "
            + "; ".join(f"{m.name}: {', '.join(v.name for v in m.voices[:4])}…" for m in SPEECH_MODELS)
            + ". Leave out for the model's default. Sambert voices are models: choose one with model."
        ),
        Lean("The voice (list_models lists each model's)."),
    ] = None
    language_type: Annotated[
        str | None,
        Field(
            description=f"{LANGUAGE_MODELS} only: the text's language (Auto, Chinese, English, …) for a better read."
        ),
        Lean("qwen3-tts-flash: the text's language."),
    ] = None
    format: Annotated[
        Literal["wav", "mp3", "pcm"],
        Field(description="Audio file format: wav (default, plays anywhere), mp3 (smaller), pcm (raw 16-bit mono)."),
        Lean(""),
    ] = "wav"
    sample_rate: Annotated[
        int | None,
        Field(
            gt=0,
            description=f"Samples per second, one of {', '.join(map(str, SAMPLE_RATES))}. Leave out for the "
            "voice's default "
            f"({', '.join(map(str, DEFAULT_SAMPLE_RATES))}).",
        ),
        Lean(""),
    ] = None
    rate: Annotated[
        float, Field(ge=0.5, le=2.0, description="Speaking speed, 0.5 (half) to 2.0 (double)."), Lean("Speed.")
    ] = 1.0
    pitch: Annotated[float, Field(ge=0.5, le=2.0, description="Pitch, 0.5 (lower) to 2.0 (higher)."), Lean("")] = 1.0
    volume: Annotated[int, Field(ge=0, le=100, description="Loudness, 0 to 100."), Lean("")] = 50


def build(params: TextToSpeechParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, ModelSpec)
    if not params.text.strip():
        raise InputError("text", params.text, "give at least one non-blank character to speak")
    if isinstance(model, SpeechModel):
        return _voiced_request(model, params, context)
    assert isinstance(model, VoiceModel)
    for name in ("voice", "language_type"):
        if getattr(params, name) is not None:
            raise InputError(
                name,
                getattr(params, name),
                f"{model.name} is a Sambert voice and takes no {name}; the model is the voice",
            )
    if params.format not in model.formats:
        raise InputError("format", params.format, f"{model.name} makes {', '.join(model.formats)}")
    if len(params.text) > model.max_characters:
        raise InputError(
            "text", params.text, f"{model.name} reads at most {model.max_characters} characters per call; split it"
        )
    sample_rate = model.default_sample_rate if params.sample_rate is None else params.sample_rate
    if sample_rate not in model.sample_rates:
        raise InputError(
            "sample_rate",
            params.sample_rate,
            f"{model.name} offers {', '.join(map(str, model.sample_rates))} (default {model.default_sample_rate})",
        )
    parameters: dict[str, Any] = {
        "text_type": "PlainText",
        "format": params.format,
        "sample_rate": sample_rate,
        "volume": params.volume,
        "rate": params.rate,
        "pitch": params.pitch,
    }
    body = {"model": model.wire_name(context.region), "input": {"text": params.text}, "parameters": parameters}
    return Request(
        model=model, path=WEBSOCKET_PATH, body=body, exchange=execute, usage={"characters": len(params.text)}
    )


def _speaks_in_pieces(model: SpeechModel, audio_format: str) -> bool:
    """Whether a text over the model's limit can be spoken in pieces: WAV fetched by URL joins losslessly."""
    return audio_format == "wav" and model.endpoint != HTTP_SPEECH_SYNTHESIS


def _voiced_request(model: SpeechModel, params: TextToSpeechParams, context: BuildContext) -> Request:
    """A request to a speech model with voices: checked against the model's voices, formats, rates and options."""
    warnings = []
    voice = (params.voice or model.default_voice).strip()
    known = [v.name for v in model.voices]
    if voice not in known:
        if model.voices_complete:
            import difflib  # only for the did-you-mean of an unknown voice

            close = difflib.get_close_matches(voice, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError("voice", params.voice, f"{hint}{model.name}'s voices are {', '.join(known)}")
        warnings.append(f"{voice!r} is not among the voices of {model.name} this server knows; sent as given.")
    if params.format not in model.formats:
        raise InputError("format", params.format, f"{model.name} makes {', '.join(model.formats)}")
    sample_rate = model.default_sample_rate if params.sample_rate is None else params.sample_rate
    if sample_rate not in model.sample_rates:
        raise InputError(
            "sample_rate", params.sample_rate, f"{model.name} offers {', '.join(map(str, model.sample_rates))}"
        )
    if not model.prosody:
        for name, neutral in (("rate", 1.0), ("pitch", 1.0), ("volume", 50)):
            if getattr(params, name) != neutral:
                raise InputError(name, getattr(params, name), f"{model.name} takes no {name}; {PROSODY_MODELS} do")
    if params.language_type is not None and params.language_type not in model.language_types:
        allowed = ", ".join(model.language_types) if model.language_types else f"only {LANGUAGE_MODELS} take one"
        raise InputError("language_type", params.language_type, f"{model.name}: {allowed}")
    split_at: int | None = None  # the piece length, when the text is spoken in pieces
    if model.max_characters is not None and len(params.text) > model.max_characters:
        if not _speaks_in_pieces(model, params.format):
            raise InputError(
                "text",
                f"{len(params.text)} characters",
                f"{model.name} reads at most {model.max_characters} characters per call; split the text",
            )
        split_at, pieces = model.max_characters, len(split_text(params.text, model.max_characters))
        warnings.append(
            f"The text ({len(params.text)} characters) is over the {model.max_characters} {model.name} reads per "
            f"call: it is spoken in {pieces} pieces, cut at sentence ends, and joined into one file."
        )
    body_input: dict[str, Any] = {"text": params.text, "voice": voice}
    if model.endpoint == HTTP_SPEECH_SYNTHESIS:
        body_input.update(format=params.format, sample_rate=sample_rate)
        body_input.update(volume=params.volume, rate=params.rate, pitch=params.pitch)
        body: dict[str, Any] = {"model": model.wire_name(context.region), "input": body_input}
    else:
        if params.language_type is not None:
            body_input["language_type"] = params.language_type
        body = {"model": model.wire_name(context.region), "input": body_input, "parameters": {}}
    # PCM streams to disk as it is made (the stream's chunks are PCM); WAV and MP3 are fetched whole from the URL.
    streamed = model.endpoint == HTTP_SPEECH_SYNTHESIS and params.format == "pcm"
    exchange: Exchange = stream_synthesis if streamed else fetch_synthesis
    if split_at is not None:
        exchange = in_pieces(fetch_synthesis, split_at)
    usage = {"characters": billed_characters(params.text)}
    return Request(
        model=model, path=model.endpoint.path, body=body, warnings=tuple(warnings), exchange=exchange, usage=usage
    )


IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def billed_characters(text: str) -> int:
    """The characters CosyVoice and Qwen-TTS bill for a text: a Chinese character counts 2, any other 1."""
    return len(text) + len(IDEOGRAPH.findall(text))


async def fetch_synthesis(ctx: ExchangeContext, request: Request) -> Outcome:
    """A speech model's answer: the audio file's URL (the runner saves it) and the usage billed."""
    characters = len(request.body["input"]["text"])
    await ctx.progress(f"Synthesizing {characters} characters with {request.model.name}…")
    reply = await ctx.client.call(request.path, request.body, bucket=request.model.rate_bucket)
    output = reply.get("output") or {}
    audio = output.get("audio") or {}
    url = audio.get("url")
    if not isinstance(url, str) or not url:
        raise errors.DashScopeConnectionError(
            f"DashScope answered without an audio URL: {str(reply)[:200]}", request_sent=True
        )
    expires = audio.get("expires_at")
    output_file = OutputFile(
        index=0,
        kind="audio",
        url=url,
        url_expires_at=iso_utc(expires) if isinstance(expires, int | float) else url_expiry(url),
    )
    return Outcome(
        outputs=[output_file], usage=dict(reply.get("usage") or {}), finish_reason=output.get("finish_reason")
    )


async def stream_synthesis(ctx: ExchangeContext, request: Request) -> Outcome:
    """A speech model's answer streamed (SSE): each base64 PCM chunk appended to the file as it arrives, so a long
    text starts saving at once; the file is put in place only once the stream has ended."""
    characters = len(request.body["input"]["text"])
    await ctx.progress(f"Synthesizing {characters} characters with {request.model.name}…")
    dest = ctx.output_path(0, ".pcm")
    part = dest.with_name(f".{dest.name}.part")
    digest, size = hashlib.sha256(), 0
    usage: dict[str, Any] = {}
    audio: dict[str, Any] = {}
    try:
        with part.open("wb") as out:
            stream = ctx.client.stream(request.path, request.body, bucket=request.model.rate_bucket)
            async with aclosing(stream) as events:
                async for event in events:
                    piece = (event.get("output") or {}).get("audio") or {}
                    usage = event.get("usage") or usage
                    audio.update({key: value for key, value in piece.items() if value})
                    chunk = base64.b64decode(str(piece.get("data") or ""))
                    if chunk:
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        await ctx.progress(f"Receiving audio… {size // 1024} KiB")
        if size == 0:
            raise errors.DashScopeConnectionError("DashScope's stream ended without audio.", request_sent=True)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    url, expires = audio.get("url") or None, audio.get("expires_at")
    sample_rate = int(request.body["input"]["sample_rate"])
    output_file = OutputFile(
        index=0,
        kind="audio",
        path=str(dest),
        bytes=size,
        sha256=digest.hexdigest(),
        mime_type=MIME_TYPES["pcm"],
        duration_seconds=audio_duration(dest, "pcm", sample_rate, size),
        url=url,
        url_expires_at=(iso_utc(expires) if isinstance(expires, int | float) else url_expiry(url)) if url else None,
    )
    return Outcome(outputs=[output_file], usage=dict(usage))


def audio_duration(path: Path, audio_format: str, sample_rate: int, size: int) -> float | None:
    """Seconds of speech: from the WAV header, the PCM byte count, or the MP3 frame bitrate (an estimate)."""
    try:
        if audio_format == "pcm":
            return round(size / (sample_rate * PCM_BYTES_PER_SAMPLE), 3)
        return media_duration(path)
    except OSError:
        return None


async def execute(ctx: ExchangeContext, request: Request) -> Outcome:
    parameters = request.body["parameters"]
    audio_format = str(parameters["format"])
    sample_rate = int(parameters["sample_rate"])
    dest = ctx.output_path(0, "." + audio_format)

    async def received(size: int) -> None:
        await ctx.progress(f"Receiving audio… {size // 1024} KiB")

    characters = len(request.body["input"]["text"])
    await ctx.progress(f"Synthesizing {characters} characters with {request.body['model']}…")
    result = await ctx.client.synthesize(
        model=str(request.body["model"]),
        text=str(request.body["input"]["text"]),
        parameters=parameters,
        dest=dest,
        on_progress=received,
        bucket=request.model.rate_bucket,
    )
    output = OutputFile(
        index=0,
        kind="audio",
        path=str(result.path),
        bytes=result.size,
        sha256=result.sha256,
        mime_type=MIME_TYPES.get(audio_format, "application/octet-stream"),
        duration_seconds=audio_duration(result.path, audio_format, sample_rate, result.size),
    )
    usage = {"characters": result.characters} if result.characters is not None else {}
    return Outcome(outputs=[output], usage=usage)


TEXT_TO_SPEECH = Capability(
    name=NAME,
    title="Text to speech",
    summary=(
        "Read text aloud into WAV/MP3/PCM: Sambert voices, or CosyVoice and Qwen-TTS with their own voices. Costs "
        "per character."
    ),
    description=(
        "Read text aloud with Alibaba Bailian's Sambert voices and save the audio file (wav, mp3 or pcm). "
        "Each voice is a model; use a Chinese voice for Chinese text and an English voice for English text. "
        f"Chinese voices: {_voices('zh')}. English voices: {_voices('en')}. sambert-en-v1 is the English voice "
        "of the product brief; it is spoken by sambert-cindy-v1. Sambert runs only in the Beijing (cn-beijing) "
        f"region. Up to {TEXT_MAX} characters per call; costs {PRICE} (see usage and cost). "
        "The speech models have voices of their own, chosen with voice (each has a default): "
        + " ".join(f"{m.name} ({', '.join(m.regions)}), default voice {m.default_voice}." for m in SPEECH_MODELS)
        + " A text longer than a speech model reads per call ("
        + ", ".join(f"{m.name}: {m.max_characters} characters" for m in SPEECH_MODELS if m.max_characters)
        + ") is spoken in pieces cut at sentence ends and joined into one WAV file; run again after an interruption, "
        "it pays only for the pieces it lacks. Returns the saved file's path, size, checksum and duration."
    ),
    params_model=TextToSpeechParams,
    build=build,
    file_suffix=".wav",
    command="tts",
    group="audio",
)
