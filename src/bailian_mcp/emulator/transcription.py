"""File transcription with Paraformer, Fun-ASR and the Qwen file-transcription models (protocol §9):
``POST /api/v1/services/audio/asr/transcription``, async only.

Models ``paraformer-v2``, ``paraformer-8k-v2``, ``paraformer-v1``, ``paraformer-8k-v1``,
``paraformer-mtl-v1`` and ``fun-asr`` (its ``language_hints``: one of its 30 codes).
``input.file_urls`` is required (``input must contain file_urls``): a list
of 1-100 ``http(s)://`` URLs or ``oss://`` upload keys (with ``X-DashScope-OssResourceResolve:
enable``), checked as in `sources`. ``parameters.language_hints`` is checked for ``paraformer-v2``
only (codes ``zh``, ``en``, ``ja``, ``yue``, ``ko``, ``de``, ``fr``, ``ru``); the other models ignore
it, as the documentation says it applies to v2 alone. ``diarization_enabled``,
``disfluency_removal_enabled`` and ``timestamp_alignment_enabled`` must be booleans; with
diarization every sentence gets ``speaker_id`` 0. Other parameters are ignored.

Each file is a subtask. The files are downloaded (at most 100 MB each, an emulator bound) when
the task is submitted — the real service fetches them when the task runs; a client sees the same
outcome, as a file's result is only reported once the task has ended. A subtask fails with
``InvalidFile.DownloadFailed`` "The audio file cannot be downloaded." when the file cannot be
fetched, ``FILE_TOO_LARGE`` when it is too large, ``FILE_CHECK_FAILED`` when it is not WAV or
MP3 audio (see `audio.probe`), and ``SUCCESS_WITH_NO_VALID_FRAGMENT`` when it lasts 0 ms; the task
itself still SUCCEEDS, with ``task_metrics`` counting both kinds. A succeeded subtask has a
``transcription_url`` to a JSON document in the service's format (properties, one transcript of
channel 0, sentences and words with millisecond times spread evenly over the audio). Its text is
the text the emulator's speech synthesis embedded in the file (see `audio`), or else a fixed
sentence naming the duration. ``usage.duration`` is the succeeded files' total length in whole
seconds, rounded up.

Two Qwen file-transcription models take one file per task, each with its own input key:

* ``qwen3-asr-flash-filetrans`` (and ``-2025-11-17``) reads ``input.file_url``, one URL **string**; a list,
  or ``input.file_urls``, is refused (``input must contain file_url, a single URL string``).
  ``parameters``: ``language`` one code of qwen3-asr-flash (see `asr_qwen`), ``enable_itn`` and
  ``enable_words`` booleans; ``channel_id`` and other keys are ignored. A file that fails (the codes above)
  makes the whole task FAILED with that ``output.code``/``output.message`` (and ``task_metrics`` counting
  the failure). While RUNNING the task has
  ``task_metrics`` ``{TOTAL: 1, …}``; once SUCCEEDED it has a singular ``output.result`` ``{transcription_url}``
  — no ``results``, no ``task_metrics`` — and ``usage.seconds``. The document: ``file_url``, ``audio_info``
  ``{format, sample_rate}`` and one transcript of channel 0 whose sentences carry ``language`` (the
  parameter, else ``zh`` for CJK text and ``en`` otherwise) and ``emotion`` ``"neutral"``, and ``words`` only
  with ``enable_words``. The text is as in `asr_qwen` (the fixed sentence is Chinese for ``zh``/``yue``).
* ``qwen-audio-3.1-asr-flash-filetrans`` reads ``input.file_urls`` like the models above but with exactly
  one URL (``qwen-audio-3.1-asr-flash-filetrans takes one file per task: file_urls must hold exactly one
  URL``); its task and document are those of Paraformer/Fun-ASR, diarization included; ``language_hints``
  is ignored.

Regions are not modelled: like every other model here, these answer on the one endpoint.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from . import asr_qwen
from .audio import AudioInfo, probe
from .envelope import invalid_parameter
from .gateway import ServiceCall
from .params import flag, present
from .sources import Sources, Unreadable
from .task_api import submit_route
from .tasks import ResultFile, Success, TaskFailure

SERVICE = "audio/asr/transcription"
MODELS = ("paraformer-v2", "paraformer-8k-v2", "paraformer-v1", "paraformer-8k-v1", "paraformer-mtl-v1", "fun-asr")
"""The models that take a list of ``file_urls``, one subtask each."""
ONE_FILE_MODELS = ("qwen-audio-3.1-asr-flash-filetrans",)
"""Models that take ``file_urls`` with exactly one URL and answer as `MODELS` do."""
QWEN3_MODELS = ("qwen3-asr-flash-filetrans", "qwen3-asr-flash-filetrans-2025-11-17")
"""Models that take one ``file_url`` string and answer with a singular ``result``."""
# Fun-ASR's language_hints (recording file recognition API): these codes, one at a time.
FUN_ASR_LANGUAGES = frozenset(
    {
        "zh",
        "en",
        "ja",
        "ko",
        "vi",
        "th",
        "id",
        "ms",
        "tl",
        "hi",
        "ar",
        "fr",
        "de",
        "es",
        "pt",
        "ru",
        "it",
        "nl",
        "sv",
        "da",
        "fi",
        "no",
        "el",
        "pl",
        "cs",
        "hu",
        "ro",
        "bg",
        "hr",
        "sk",
    }
)
LANGUAGES = ("zh", "en", "ja", "yue", "ko", "de", "fr", "ru")
MAX_FILES = 100
MAX_AUDIO_BYTES = 100 * 1024 * 1024

_SENTENCE = re.compile(r"[^。！？；.!?;\n]+[。！？；.!?;\n]*")
_TOKEN = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+|[^\w\s]+|\s+")
_IS_WORD = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+")


@dataclass(frozen=True)
class Subtask:
    file_url: str
    document: dict[str, Any] | None = None
    """The transcription JSON of a succeeded file."""
    duration_ms: int = 0
    code: str = ""
    message: str = ""


def _words(sentence: str) -> list[tuple[str, str]]:
    """``(text, punctuation)`` pairs; whitespace after a word goes with its punctuation if it has some."""
    words: list[list[str]] = []
    for token in _TOKEN.findall(sentence):
        if _IS_WORD.fullmatch(token) or not words:
            words.append([token, ""])
        elif token.isspace() and not words[-1][1]:
            words[-1][0] += token
        else:
            words[-1][1] += token
    return [(text, punctuation) for text, punctuation in words]


@dataclass(frozen=True)
class Sentence:
    """One sentence of a transcript, timed in milliseconds."""

    number: int
    begin: int
    end: int
    text: str
    words: list[dict[str, Any]]
    """``{begin_time, end_time, text, punctuation}`` of each word."""


def timed_sentences(text: str, duration: int) -> list[Sentence]:
    """``text`` split at punctuation, sentences and their words spread over ``duration`` ms by word count."""
    sentences = [match.group(0).strip() for match in _SENTENCE.finditer(text) if match.group(0).strip()]
    weights = [max(1, len(_words(sentence))) for sentence in sentences]
    total = sum(weights)
    items, begin, elapsed = [], 0, 0
    for number, (sentence, weight) in enumerate(zip(sentences, weights, strict=True), start=1):
        elapsed += weight
        end = duration * elapsed // total
        words = _words(sentence)
        word_items = []
        for index, (word, punctuation) in enumerate(words):
            word_begin = begin + (end - begin) * index // len(words)
            word_end = begin + (end - begin) * (index + 1) // len(words)
            word_items.append(
                {"begin_time": word_begin, "end_time": word_end, "text": word, "punctuation": punctuation}
            )
        items.append(Sentence(number, begin, end, sentence, word_items))
        begin = end
    return items


def transcript(file_url: str, info: AudioInfo, text: str, speaker: bool) -> dict[str, Any]:
    """The transcription document of one file (Paraformer's format), with times spread over its duration."""
    duration = info.duration_ms
    items = []
    for sentence in timed_sentences(text, duration):
        item: dict[str, Any] = {
            "begin_time": sentence.begin,
            "end_time": sentence.end,
            "text": sentence.text,
            "sentence_id": sentence.number,
        }
        if speaker:
            item["speaker_id"] = 0
        item["words"] = sentence.words
        items.append(item)
    return {
        "file_url": file_url,
        "properties": {
            "audio_format": info.format,
            "channels": list(range(info.channels)),
            "original_sampling_rate": info.sample_rate,
            "original_duration_in_milliseconds": duration,
        },
        "transcripts": [
            {"channel_id": 0, "content_duration_in_milliseconds": duration, "text": text, "sentences": items}
        ],
    }


def qwen3_transcript(file_url: str, info: AudioInfo, language: str | None, words: bool) -> dict[str, Any]:
    """The transcription document of one file in qwen3-asr-flash-filetrans's format."""
    text = asr_qwen.recognized_text(info, language)
    spoken = asr_qwen.detect_language(text, language)
    items = []
    for sentence in timed_sentences(text, info.duration_ms):
        item: dict[str, Any] = {
            "sentence_id": sentence.number,
            "begin_time": sentence.begin,
            "end_time": sentence.end,
            "language": spoken,
            "emotion": "neutral",
            "text": sentence.text,
        }
        if words:
            item["words"] = sentence.words
        items.append(item)
    return {
        "file_url": file_url,
        "audio_info": {"format": info.format, "sample_rate": info.sample_rate},
        "transcripts": [{"channel_id": 0, "text": text, "sentences": items}],
    }


def _render(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


@dataclass(frozen=True)
class TranscriptionJob:
    """A validated transcription request with its files already read."""

    subtasks: tuple[Subtask, ...]

    @property
    def metrics_total(self) -> int:
        return len(self.subtasks)

    @property
    def failure(self) -> TaskFailure | None:
        return None

    @property
    def files(self) -> Sequence[ResultFile]:
        return tuple(
            ResultFile(f"{index + 1}.json", "application/json", functools.partial(_render, subtask.document))
            for index, subtask in enumerate(self.subtasks)
            if subtask.document is not None
        )

    def success(self, urls: Sequence[str]) -> Success:
        pending = iter(urls)
        results: list[dict[str, Any]] = []
        for subtask in self.subtasks:
            if subtask.document is not None:
                results.append(
                    {"file_url": subtask.file_url, "transcription_url": next(pending), "subtask_status": "SUCCEEDED"}
                )
            else:
                results.append(
                    {
                        "file_url": subtask.file_url,
                        "code": subtask.code,
                        "message": subtask.message,
                        "subtask_status": "FAILED",
                    }
                )
        succeeded = [subtask for subtask in self.subtasks if subtask.document is not None]
        seconds = math.ceil(sum(subtask.duration_ms for subtask in succeeded) / 1000)
        return Success({"results": results}, {"duration": seconds}, len(succeeded))


@dataclass(frozen=True)
class Qwen3Job(TranscriptionJob):
    """A qwen3-asr-flash-filetrans task: one file, whose failure fails the task; a singular ``result``."""

    @property
    def failure(self) -> TaskFailure | None:
        (subtask,) = self.subtasks
        return None if subtask.document is not None else TaskFailure(subtask.code, subtask.message)

    def success(self, urls: Sequence[str]) -> Success:
        (subtask,) = self.subtasks
        (url,) = urls
        seconds = math.ceil(subtask.duration_ms / 1000)
        return Success({"result": {"transcription_url": url}}, {"seconds": seconds}, 1, metrics=False)


Document = Callable[[str, AudioInfo], dict[str, Any]]
"""Builds the transcription document of a readable file from its URL and audio facts."""


def _paraformer_document(speaker: bool) -> Document:
    def build(url: str, info: AudioInfo) -> dict[str, Any]:
        return transcript(url, info, asr_qwen.recognized_text(info, None), speaker)

    return build


async def _subtask(sources: Sources, url: str, document: Document) -> Subtask:
    try:
        data = await sources.read(url, MAX_AUDIO_BYTES)
    except Unreadable as error:
        if error.too_large:
            return Subtask(url, code="FILE_TOO_LARGE", message="The audio file is too large.")
        return Subtask(url, code="InvalidFile.DownloadFailed", message="The audio file cannot be downloaded.")
    info = await anyio.to_thread.run_sync(probe, data)
    if info is None:
        return Subtask(url, code="FILE_CHECK_FAILED", message="The audio file format is not supported.")
    if info.duration_ms <= 0:
        return Subtask(
            url, code="SUCCESS_WITH_NO_VALID_FRAGMENT", message="The audio file contains no valid speech fragment."
        )
    return Subtask(url, document(url, info), info.duration_ms)


async def _read_all(sources: Sources, urls: Sequence[str], document: Document) -> tuple[Subtask, ...]:
    """Each file read (concurrently) into its subtask, in order."""
    subtasks: list[Subtask | None] = [None] * len(urls)

    async def run(index: int, url: str) -> None:
        subtasks[index] = await _subtask(sources, url, document)

    async with anyio.create_task_group() as group:
        for index, url in enumerate(urls):
            group.start_soon(run, index, url)
    return tuple(subtask for subtask in subtasks if subtask is not None)


class Transcription:
    """The `TaskKind` of the file-transcription endpoint."""

    models = (*MODELS, *ONE_FILE_MODELS, *QWEN3_MODELS)

    async def plan(self, call: ServiceCall) -> TranscriptionJob:
        if call.model in QWEN3_MODELS:
            return await self._plan_qwen3(call)
        urls = call.input.get("file_urls")
        if not isinstance(urls, list):
            raise invalid_parameter("input must contain file_urls")
        if call.model in ONE_FILE_MODELS and len(urls) != 1:
            raise invalid_parameter(f"{call.model} takes one file per task: file_urls must hold exactly one URL")
        if not 1 <= len(urls) <= MAX_FILES:
            raise invalid_parameter(f"The number of file_urls should be in [1, {MAX_FILES}]")
        checked = [call.sources.check(url, allow_data=False) for url in urls]
        params = call.parameters
        hints = params.get("language_hints")
        if call.model in ("paraformer-v2", "fun-asr") and hints is not None:
            if not isinstance(hints, list) or not all(isinstance(hint, str) for hint in hints):
                raise invalid_parameter("Parameter language_hints must be a list of language codes")
            languages = FUN_ASR_LANGUAGES if call.model == "fun-asr" else LANGUAGES
            unknown = [hint for hint in hints if hint not in languages]
            if unknown:
                raise invalid_parameter(f"Parameter language_hints contains unsupported language: {unknown[0]}")
            if call.model == "fun-asr" and len(hints) > 1:
                raise invalid_parameter("Parameter language_hints of fun-asr takes one language")
        speaker = flag(params, "diarization_enabled", False)
        flag(params, "disfluency_removal_enabled", False)
        flag(params, "timestamp_alignment_enabled", False)
        return TranscriptionJob(await _read_all(call.sources, checked, _paraformer_document(speaker)))

    async def _plan_qwen3(self, call: ServiceCall) -> TranscriptionJob:
        url = call.input.get("file_url")
        if not isinstance(url, str):
            raise invalid_parameter("input must contain file_url, a single URL string")
        checked = call.sources.check(url, allow_data=False)
        params = present(call.parameters)
        language = params.get("language")
        if language is not None and language not in asr_qwen.LANGUAGES:
            raise invalid_parameter(f"Parameter language is not supported: {language!r}")
        flag(params, "enable_itn", False)
        words = flag(params, "enable_words", False)

        def build(file_url: str, info: AudioInfo) -> dict[str, Any]:
            return qwen3_transcript(file_url, info, language, words)

        return Qwen3Job(await _read_all(call.sources, [checked], build))


ROUTES = [submit_route(SERVICE, Transcription())]
