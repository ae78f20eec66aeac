"""Speech to text: Paraformer file transcription over the async `audio/asr/transcription` endpoint.

One task transcribes up to 100 recordings. Each file is a subtask of its own: the task can
succeed while some files fail, so every file comes back as its own output (a transcript, or
the error that replaced it). The service answers with a URL per file pointing at a JSON
transcript; the runner downloads those, and `finish` reads the text and timed sentences out
of them. A model that takes one file per task is given several files as one job of several tasks,
one per file (`Request.parts`), whose transcripts come back the same way.
"""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, ExchangeContext, Outcome, Params, Request
from bailian_mcp.capabilities.fields import (
    CommandAlias,
    FileInput,
    Lean,
    largest,
    list_from_text,
    model_field,
    models_where,
    per_model,
)
from bailian_mcp.catalog import MULTIMODAL_GENERATION, TRANSCRIPTION, ModelSpec, TranscriptionModel
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.dashscope.protocol import url_expiry
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile, audio_input
from bailian_mcp.jobs.results import ErrorInfo, OutputFile, Segment

NAME = "speech_to_text"
PATH = TRANSCRIPTION.path


def _takes_hints(model: ModelSpec) -> bool:
    return isinstance(model, TranscriptionModel) and model.supports_language_hints


def _languages(model: ModelSpec) -> tuple[str, ...]:
    assert isinstance(model, TranscriptionModel)
    return model.languages


MAX_FILES = largest(NAME, lambda m: m.max_files if isinstance(m, TranscriptionModel) else 1)
ITN_MODELS = models_where(NAME, lambda m: isinstance(m, TranscriptionModel) and m.inverse_text_normalization)
DIARIZING_MODELS = models_where(NAME, lambda m: isinstance(m, TranscriptionModel) and m.diarization)
HINTED_MODELS = models_where(NAME, _takes_hints)
LANGUAGES = tuple(dict.fromkeys(code for m in catalog.models_for(NAME) if _takes_hints(m) for code in _languages(m)))
SPEAKERS_MIN, SPEAKERS_MAX = 2, 100
UNREADABLE = "TranscriptUnreadable"


class SpeechToTextParams(Params):
    audio: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=MAX_FILES,
            description="The recordings to transcribe, 1-100 per call: http(s) URLs, oss:// URLs, or absolute "
            "paths of local audio/video files inside the server's allowed folders (uploaded for you). "
            "Each file at most 2 GB and 12 hours; wav, mp3, m4a, flac, ogg, opus, aac, amr, mp4, mov, ... "
            "A single string is accepted too.",
            examples=[["https://example.com/meeting.mp3"], ["/home/me/recordings/interview.wav"]],
        ),
        FileInput(),
        Lean("Recordings: URLs or local paths."),
    ]
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    language_hints: Annotated[
        list[str] | None,
        Field(
            description=f"Languages spoken in the recordings, to improve accuracy ({HINTED_MODELS} only), as "
            "codes (zh Chinese, en English, ja Japanese, yue Cantonese, …): "
            + per_model(NAME, lambda m: ", ".join(_languages(m)) if _takes_hints(m) else "none")
            + ". Leave out to detect automatically.",
            json_schema_extra={"items": {"type": "string", "enum": list(LANGUAGES)}},
        ),
        CommandAlias("language"),
        Lean("Language codes, e.g. zh, en."),
    ] = None
    diarization: Annotated[
        bool,
        Field(description="Tell speakers apart: each sentence gets a speaker_id (mono recordings only)."),
        Lean("Tell speakers apart."),
    ] = False
    speaker_count: Annotated[
        int | None,
        Field(
            ge=SPEAKERS_MIN,
            le=SPEAKERS_MAX,
            description="With diarization: how many speakers there are (2-100), if known. Leave out to let the "
            "service decide.",
        ),
        Lean("With diarization."),
    ] = None
    disfluency_removal: Annotated[
        bool, Field(description="Drop filler words (um, uh, 嗯, 啊) from the text."), Lean("Drop filler words.")
    ] = False
    itn: Annotated[
        bool | None,
        Field(description=f"{ITN_MODELS} only: write numbers, dates and amounts as digits (Chinese and English)."),
        Lean("Numbers as digits."),
    ] = None

    _audio_as_list = field_validator("audio", mode="before")(
        list_from_text(otherwise="item", blank=[], example='["https://.../a.wav"]')
    )
    _hints_as_list = field_validator("language_hints", mode="before")(
        list_from_text(otherwise="split", blank=[], example='["zh", "en"]')
    )


def _audio_param(index: int, count: int) -> str:
    return "audio" if count == 1 else f"audio[{index}]"


def _file_urls(audio: list[str], model: TranscriptionModel, context: BuildContext) -> list[str | LocalFile]:
    """Each input checked and turned into what the request carries (a URL, or a local file to upload)."""
    if not audio:
        raise InputError("audio", audio, "give at least one recording (an http(s) URL, oss:// URL or local path)")
    if len(audio) > model.max_files and not model.one_task_per_file:
        many = models_where(
            NAME, lambda m: isinstance(m, TranscriptionModel) and (m.max_files > 1 or m.one_task_per_file)
        )
        allowed = (
            f"{model.name} transcribes one file per call; give one per call, or use {many} for several"
            if model.max_files == 1
            else f"{model.name} transcribes at most {model.max_files} files per call; split them over several calls"
        )
        raise InputError("audio", f"{len(audio)} files", allowed)
    references: list[str | LocalFile] = []
    for index, value in enumerate(audio):
        param = _audio_param(index, len(audio))
        if not value.strip():
            raise InputError(param, value, "give an http(s) URL, an oss:// URL or an absolute local file path")
        reference = audio_input(value, context.input_roots, param=param, max_bytes=model.max_file_bytes)
        same = next((earlier for earlier, other in enumerate(references) if _same_recording(other, reference)), None)
        if same is not None:
            raise InputError(param, value, f"this is the same recording as audio[{same}]; give each file once")
        references.append(reference)
    return references


def _same_recording(one: str | LocalFile, other: str | LocalFile) -> bool:
    """The same URL, or local files of the same bytes (they would be the same upload); files are compared only
    when their sizes match, so large recordings are not read here."""
    if isinstance(one, LocalFile) and isinstance(other, LocalFile):
        return one.size == other.size and (one.path == other.path or filecmp.cmp(one.path, other.path, shallow=False))
    return one == other


def _language_hints(params: SpeechToTextParams, model: TranscriptionModel) -> list[str]:
    if not params.language_hints:
        return list(model.default_language_hints)
    if not model.supports_language_hints:
        raise InputError(
            "language_hints",
            params.language_hints,
            f"{model.name} takes no language hints (it detects Chinese and English itself); "
            f"use {HINTED_MODELS} for hints, or leave language_hints out",
        )
    hints: list[str] = []
    for hint in params.language_hints:
        code = hint.strip().lower()
        if code not in model.languages:
            raise InputError("language_hints", hint, f"{model.name}'s language codes are {', '.join(model.languages)}")
        if code not in hints:
            hints.append(code)
    if model.max_language_hints is not None and len(hints) > model.max_language_hints:
        raise InputError(
            "language_hints", params.language_hints, f"{model.name} takes {model.max_language_hints} language hint"
        )
    return hints


def build(params: SpeechToTextParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, TranscriptionModel)
    if params.speaker_count is not None and not params.diarization:
        raise InputError(
            "speaker_count",
            params.speaker_count,
            "speaker_count applies only with diarization=true; set diarization or leave speaker_count out",
        )
    hints = _language_hints(params, model)
    if not model.diarization:
        for name in ("diarization", "disfluency_removal"):
            if getattr(params, name):
                raise InputError(name, True, f"{model.name} does not do it; {DIARIZING_MODELS} do")
    if params.itn is not None and not model.inverse_text_normalization:
        raise InputError("itn", params.itn, f"only {ITN_MODELS} take itn")
    file_urls = _file_urls(params.audio, model, context)
    if model.endpoint == MULTIMODAL_GENERATION:
        return _recognition(model, file_urls[0], hints, params.itn, context)
    parameters: dict[str, Any]
    if model.single_file_url:
        parameters = _asr_options(hints, params.itn)
    else:
        parameters = {
            "diarization_enabled": params.diarization,
            "disfluency_removal_enabled": params.disfluency_removal,
        }
        if params.speaker_count is not None:
            parameters["speaker_count"] = params.speaker_count
        if hints:
            parameters["language_hints"] = hints
    wire_name = model.wire_name(context.region)
    if not model.one_task_per_file:
        body = {"model": wire_name, "input": {"file_urls": file_urls}, "parameters": parameters}
        return Request(model=model, path=PATH, body=body)
    tasks = [
        Request(
            model=model,
            path=PATH,
            body={
                "model": wire_name,
                "input": {"file_url": url} if model.single_file_url else {"file_urls": [url]},
                "parameters": parameters,
            },
            source=audio,
        )
        for url, audio in zip(file_urls, params.audio, strict=True)
    ]
    return tasks[0] if len(tasks) == 1 else Request(model=model, path=PATH, body={}, parts=tuple(tasks))


def _asr_options(hints: list[str], itn: bool | None) -> dict[str, Any]:
    """The options of the Qwen recognizers: inverse text normalization, and the one language hint if given."""
    options: dict[str, Any] = {"enable_itn": bool(itn)}
    if hints:
        options["language"] = hints[0]
    return options


def _recognition(
    model: TranscriptionModel, audio: str | LocalFile, hints: list[str], itn: bool | None, context: BuildContext
) -> Request:
    """One recording answered at once on the multimodal endpoint (qwen3-asr-flash)."""
    body = {
        "model": model.wire_name(context.region),
        "input": {"messages": [{"role": "user", "content": [{"audio": audio}]}]},
        "parameters": {"asr_options": _asr_options(hints, itn)},
    }
    return Request(model=model, path=model.endpoint.path, body=body, exchange=recognize)


async def recognize(context: ExchangeContext, request: Request) -> Outcome:
    """The text of a recording answered at once, as its transcript."""
    await context.progress(f"Recognizing with {request.model.name}…")
    reply = await context.client.call(
        request.path, request.body, headers=request.headers, bucket=request.model.rate_bucket
    )
    choices = (reply.get("output") or {}).get("choices") or [{}]
    message = choices[0].get("message") or {}
    text = "".join(str(part.get("text") or "") for part in message.get("content") or [] if isinstance(part, dict))
    source = request.body["input"]["messages"][0]["content"][0]["audio"]
    transcript = OutputFile(index=0, kind="transcript", source=str(source), text=text)
    usage = dict(reply.get("usage") or {})
    return Outcome(outputs=[transcript], usage=usage, text=text, finish_reason=choices[0].get("finish_reason"))


def parse(snapshot: TaskSnapshot) -> list[OutputFile]:
    """Each entry of `output.results` (one per file): its transcript's URL, or the error of its subtask; or the
    one `output.result` of a one-file task."""
    end_time = snapshot.output.get("end_time")
    single = snapshot.output.get("result")
    if isinstance(single, dict) and "results" not in snapshot.output:  # one file per task (file_url models)
        url = single.get("transcription_url")
        if not url:
            error = ErrorInfo(code="NoTranscript", message="DashScope returned no transcript for this file.")
            return [OutputFile(index=0, kind="transcript", error=error)]
        return [OutputFile(index=0, kind="transcript", url=url, url_expires_at=url_expiry(url, end_time))]
    outputs = []
    for index, item in enumerate(snapshot.output.get("results") or []):
        source = item.get("file_url")
        url = item.get("transcription_url")
        status = str(item.get("subtask_status") or "")
        if url and status in ("SUCCEEDED", ""):
            outputs.append(
                OutputFile(
                    index=index,
                    kind="transcript",
                    source=source,
                    url=url,
                    url_expires_at=url_expiry(url, end_time),
                )
            )
        else:
            error = ErrorInfo(
                code=str(item.get("code") or (f"Subtask{status.title()}" if status else "Unknown")),
                message=str(item.get("message") or "DashScope returned no transcript for this file."),
            )
            outputs.append(OutputFile(index=index, kind="transcript", source=source, error=error))
    return outputs


# ---------------------------------------------------------------------- the transcript file (§9)


class _Sentence(BaseModel):
    model_config = ConfigDict(extra="ignore")

    begin_time: int
    end_time: int
    text: str = ""
    speaker_id: int | None = None


class _Channel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel_id: int = 0
    text: str | None = None
    sentences: list[_Sentence] = Field(default_factory=list)


class _Properties(BaseModel):
    model_config = ConfigDict(extra="ignore")

    original_duration_in_milliseconds: int | None = None


class _TranscriptFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    properties: _Properties = Field(default_factory=_Properties)
    transcripts: list[_Channel] = Field(default_factory=list)


def _problem(exc: ValidationError | OSError) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def read_transcript(output: OutputFile) -> OutputFile:
    """`output` with the text, timed sentences and duration of its saved transcript JSON."""
    if output.error is not None or output.path is None:
        return output
    path = Path(output.path)
    if not path.is_file():
        return output  # not saved (or removed since): the URL is still in the result
    try:
        data = _TranscriptFile.model_validate_json(path.read_bytes())
    except (ValidationError, OSError) as exc:
        return output.model_copy(
            update={
                "error": ErrorInfo(
                    code=UNREADABLE,
                    message=f"The transcript saved at {path} is not the JSON DashScope documents ({_problem(exc)}); "
                    "the file and its URL are kept.",
                )
            }
        )
    texts = []
    for channel in data.transcripts:
        text = channel.text if channel.text is not None else "".join(s.text for s in channel.sentences)
        if text.strip():
            texts.append(text.strip())
    sentences = [s for channel in data.transcripts for s in channel.sentences]
    if len(data.transcripts) > 1:
        sentences.sort(key=lambda s: (s.begin_time, s.end_time))  # channels interleaved into one timeline
    segments = [
        Segment(begin_ms=s.begin_time, end_ms=s.end_time, text=s.text, speaker_id=s.speaker_id) for s in sentences
    ]
    update: dict[str, Any] = {"text": "\n".join(texts), "segments": segments}
    duration = data.properties.original_duration_in_milliseconds
    if duration is not None:
        update["duration_seconds"] = duration / 1000
    return output.model_copy(update=update)


def finish(outputs: list[OutputFile]) -> list[OutputFile]:
    """Read every saved transcript; a file that is missing or unreadable never makes the job fail."""
    return [read_transcript(output) for output in outputs]


SPEECH_TO_TEXT = Capability(
    name=NAME,
    title="Speech to text",
    summary=(
        "Transcribe 1-100 recordings (URLs or local files; Fun-ASR, Paraformer, Qwen-ASR): text and timed sentences "
        "per file. Costs per second of audio."
    ),
    description=(
        "Transcribe recordings (speech in audio or video files) to text with Alibaba Bailian's recognizers. "
        "Give files as http(s) URLs, oss:// URLs, or absolute paths of local files inside the server's allowed "
        "folders (uploaded for you). Returns, per file, the whole text and timed sentences (begin/end in ms; "
        "speaker ids with diarization=true), saved as JSON; a file that fails carries its own error while the "
        "others succeed. Which model: fun-asr (default) is the most accurate, in 30 languages and also on noisy or "
        "far-field audio; paraformer-v1 (Chinese and English) and paraformer-v2 (more languages, with "
        "language_hints) cost less for clean speech; paraformer-en-v1 for English; qwen3-asr-flash for one short "
        "clip (at most 5 minutes, 10 MB) answered at once; qwen3-asr-flash-filetrans for one long recording in "
        "one of its 27 languages. Files per call: "
        + per_model(NAME, lambda m: m.max_files if isinstance(m, TranscriptionModel) else 1)
        + ". Regions: "
        + per_model(NAME, lambda m: ", ".join(m.regions))
        + ". Costs money per second of audio (see cost)."
    ),
    params_model=SpeechToTextParams,
    build=build,
    parse=parse,
    file_suffix=".json",
    finish=finish,
    command="asr",
    group="audio",
    product="text",
)
