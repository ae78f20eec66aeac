"""Speech models: Sambert voices (synthesis) and Paraformer (file transcription)."""

from __future__ import annotations

from typing import Any

from bailian_mcp.catalog.spec import (
    _BEIJING,
    _SPEECH_RATE,
    _WAN_RATE,
    ModelSpec,
    TranscriptionModel,
    UnitPrice,
    VoiceModel,
)


def _sambert(name: str, voice: str, language: str, summary: str, **extra: Any) -> VoiceModel:
    return VoiceModel(
        name=name,
        capability="text_to_speech",
        summary=summary,
        price=UnitPrice(0.0001, "character", "characters"),
        rate=_SPEECH_RATE,
        regions=_BEIJING,
        language=language,
        voice=voice,
        typical_seconds=2,
        **extra,
    )


# Fun-ASR recording file recognition API: the codes its language_hints take (one at a time).
_FUN_ASR_LANGUAGES = (
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
)

MODELS: tuple[ModelSpec, ...] = (
    _sambert("sambert-zhichu-v1", "Zhichu", "zh", "Chinese, female, lively (the brief's Chinese voice).", default=True),
    _sambert("sambert-zhide-v1", "Zhide", "zh", "Chinese, male, news."),
    _sambert("sambert-zhiqi-v1", "Zhiqi", "zh", "Chinese, female, gentle."),
    _sambert("sambert-zhiying-v1", "Zhiying", "zh", "Chinese, female, soft."),
    _sambert(
        "sambert-en-v1",
        "Cindy",
        "en",
        "English, female: the brief's English voice, spoken by sambert-cindy-v1.",
        wire_model="sambert-cindy-v1",
        default_sample_rate=16000,
    ),
    _sambert("sambert-cindy-v1", "Cindy", "en", "English, female, reading."),
    _sambert("sambert-beth-v1", "Beth", "en", "English, female, warm."),
    _sambert("sambert-betty-v1", "Betty", "en", "English, female, lively."),
    _sambert("sambert-brian-v1", "Brian", "en", "English, male."),
    _sambert("sambert-cally-v1", "Cally", "en", "English, female, bright."),
    _sambert("sambert-donna-v1", "Donna", "en", "English, female, mature."),
    _sambert("sambert-eva-v1", "Eva", "en", "English, female, child-like."),
    TranscriptionModel(
        name="paraformer-v1",
        capability="speech_to_text",
        summary="Paraformer v1: Chinese and English, any sample rate (default).",
        default=True,
        price=UnitPrice(0.00008, "second", "duration"),
        rate=_WAN_RATE,
        regions=_BEIJING,
        typical_seconds=5,
    ),
    TranscriptionModel(
        name="paraformer-en-v1",
        capability="speech_to_text",
        summary="English recordings (the brief's English model: paraformer-v2 with an English hint).",
        price=UnitPrice(0.00008, "second", "duration"),
        rate=_WAN_RATE,
        regions=_BEIJING,
        wire_model="paraformer-v2",
        supports_language_hints=True,
        default_language_hints=("en",),
        typical_seconds=5,
    ),
    TranscriptionModel(
        name="paraformer-v2",
        capability="speech_to_text",
        summary="Paraformer v2: many languages and dialects, with language hints.",
        price=UnitPrice(0.00008, "second", "duration"),
        rate=_WAN_RATE,
        regions=_BEIJING,
        supports_language_hints=True,
        typical_seconds=5,
    ),
    TranscriptionModel(
        name="fun-asr",
        capability="speech_to_text",
        summary="Fun-ASR: the newest recognizer, 30 languages, noisy or far-field audio; one language hint.",
        price=UnitPrice(0.00022, "second", "duration"),
        rate=_WAN_RATE,
        regions=("cn-beijing", "ap-southeast-1"),
        supports_language_hints=True,
        languages=_FUN_ASR_LANGUAGES,
        max_language_hints=1,
        typical_seconds=5,
    ),
)
