"""Text-to-speech: Sambert voices over DashScope's WebSocket API (Beijing only), saved as wav, mp3 or pcm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, ExchangeContext, Outcome, Params, Request
from bailian_mcp.catalog import VoiceModel
from bailian_mcp.dashscope.protocol import WEBSOCKET_PATH
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import OutputFile
from bailian_mcp.media import media_duration

NAME = "text_to_speech"
VOICES = [m for m in catalog.models_for(NAME) if isinstance(m, VoiceModel)]
MODEL_NAMES = [m.name for m in VOICES]
TEXT_MAX = 10_000
SAMPLE_RATES = sorted({rate for voice in VOICES for rate in voice.sample_rates})
MIME_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "pcm": "audio/pcm"}
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


class TextToSpeechParams(Params):
    text: Annotated[
        str,
        Field(
            min_length=1,
            max_length=TEXT_MAX,
            description=f"The text to speak, up to {TEXT_MAX} characters, in the voice's language (Chinese voices "
            "also read English words and digits). Billed per character.",
        ),
    ]
    model: Annotated[
        str,
        Field(
            description=f"The voice (each Sambert voice is its own model). For Chinese text: {_names('zh')}. For "
            f"English text: {_names('en')}. {SPOKEN_BY}",
            json_schema_extra={"enum": MODEL_NAMES},
        ),
    ] = catalog.default_model(NAME)
    format: Annotated[
        Literal["wav", "mp3", "pcm"],
        Field(description="Audio file format: wav (default, plays anywhere), mp3 (smaller), pcm (raw 16-bit mono)."),
    ] = "wav"
    sample_rate: Annotated[
        int | None,
        Field(
            gt=0,
            description=f"Samples per second, one of {', '.join(map(str, SAMPLE_RATES))}. Leave out for the "
            "voice's default "
            f"({', '.join(map(str, DEFAULT_SAMPLE_RATES))}).",
        ),
    ] = None
    rate: Annotated[float, Field(ge=0.5, le=2.0, description="Speaking speed, 0.5 (half) to 2.0 (double).")] = 1.0
    pitch: Annotated[float, Field(ge=0.5, le=2.0, description="Pitch, 0.5 (lower) to 2.0 (higher).")] = 1.0
    volume: Annotated[int, Field(ge=0, le=100, description="Loudness, 0 to 100.")] = 50


def build(params: TextToSpeechParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, VoiceModel)
    if not params.text.strip():
        raise InputError("text", params.text, "give at least one non-blank character to speak")
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
    return Request(model=model, path=WEBSOCKET_PATH, body=body, exchange=execute)


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
        "Read text aloud with Sambert voices (Chinese, or English such as sambert-en-v1) and save WAV/MP3/PCM"
        " audio. Beijing region. Costs per character."
    ),
    description=(
        "Read text aloud with Alibaba Bailian's Sambert voices and save the audio file (wav, mp3 or pcm). "
        "Each voice is a model; use a Chinese voice for Chinese text and an English voice for English text. "
        f"Chinese voices: {_voices('zh')}. English voices: {_voices('en')}. sambert-en-v1 is the English voice "
        "of the product brief; it is spoken by sambert-cindy-v1. Sambert runs only in the Beijing (cn-beijing) "
        f"region. Up to {TEXT_MAX} characters per call; costs {PRICE} (see usage and cost). "
        "Returns the saved file's path, size, checksum and duration."
    ),
    params_model=TextToSpeechParams,
    build=build,
    file_suffix=".wav",
    command="tts",
    group="audio",
)
