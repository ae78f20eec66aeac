"""Speech models: Sambert voices (synthesis) and Paraformer (file transcription)."""

from __future__ import annotations

from typing import Any

from bailian_mcp.catalog.spec import (
    _BEIJING,
    _SPEECH_RATE,
    _WAN_RATE,
    MULTIMODAL_GENERATION,
    ModelSpec,
    SpeechModel,
    TokenPrice,
    TranscriptionModel,
    UnitPrice,
    UnknownPrice,
    Voice,
    VoiceModel,
)

_BEIJING_SINGAPORE = ("cn-beijing", "ap-southeast-1")


def _voices(languages: str, names: str, style: str = "") -> tuple[Voice, ...]:
    """Voices of one kind: `names` space-separated."""
    return tuple(Voice(name, languages, style) for name in names.split())


# CosyVoice voice list (Model Studio, Beijing): each model speaks only its own voices.
_COSYVOICE_V3_FLASH_VOICES = (
    Voice("longanyang", "zh, en", "sunny young man"),
    Voice("longanhuan", "zh, en", "lively young woman"),
    Voice("longanhuan_v3", "zh and Chinese dialects, en", "lively young woman"),
    Voice("longhuhu_v3", "zh, en", "girl"),
    *_voices(
        "zh, en", "longpaopao_v3 longjielidou_v3 longxian_v3 longling_v3 longshanshan_v3 longniuniu_v3", "children"
    ),
    *_voices("Cantonese, en", "longjiaxin_v3 longjiayi_v3 longanyue_v3"),
    Voice("longlaotie_v3", "Northeastern Mandarin, en"),
    Voice("longshange_v3", "Shaanxi dialect, en"),
    Voice("longanmin_v3", "Minnan, en"),
    *_voices("ja", "loongriko_v3 loongtomoka_v3 loongtomoya_v3 loongyuuna_v3 loongyuuma_v3"),
    *_voices("ko", "loongkyong_v3 loongjihun_v3"),
    *_voices(
        "en",
        "loongabby_v3 loongandy_v3 loongannie_v3 loongava_v3 loongbeth_v3 loongbetty_v3 loongcally_v3 "
        "loongcindy_v3 loongdavid_v3 loongdonna_v3 loongemily_v3 loongeric_v3 loongluna_v3 loongluca_v3",
    ),
    Voice("loongindah_v3", "id"),
    *_voices(
        "zh, en",
        "longfei_v3 longyingxiao_v3 longyingxun_v3 longyingjing_v3 longyingling_v3 longyingtao_v3 longxiaochun_v3 "
        "longxiaoxia_v3 longyumi_v3 longanyun_v3 longanwen_v3 longanli_v3 longanlang_v3 longyingmu_v3 "
        "longantai_v3 longhua_v3 longcheng_v3 longze_v3 longzhe_v3 longyan_v3 longxing_v3 longtian_v3 longwan_v3 "
        "longqiang_v3 longfeifei_v3 longhao_v3 longanrou_v3 longhan_v3 longanzhi_v3 longanling_v3 longanya_v3 "
        "longanqin_v3 longmiao_v3 longsanshu_v3 longyuan_v3 longyue_v3 longxiu_v3 longnan_v3 longwanjun_v3 "
        "longyichen_v3 longlaobo_v3 longlaoyi_v3 longjiqi_v3 longhouge_v3 longdaiyu_v3 longanran_v3 "
        "longanxuan_v3 longshuo_v3 longshu_v3 loongbella_v3",
    ),
)
_COSYVOICE_V2_VOICES = (
    *_voices(
        "zh, en",
        "longxiaochun_v2 longxiaoxia_v2 longyingxiao longjiqi longhouge longjixin longdaiyu longgaoseng longanli "
        "longanlang longanwen longanyun longyumi_v2 longyichen longwanjun longlaobo longlaoyi longbaizhi longsanshu "
        "longxiu_v2 longmiao_v2 longyue_v2 longnan_v2 longyuan_v2 longanqin longanya longanshuo longanling "
        "longanzhi longanrou longqiang_v2 longhan_v2 longxing_v2 longhua_v2 longwan_v2 longcheng_v2 longfeifei_v2 "
        "longxiaocheng_v2 longzhe_v2 longyan_v2 longtian_v2 longze_v2 longshao_v2 longhao_v2 kabuleshen_v2 "
        "longhuhu longanpei longwangwang longpaopao longshanshan longniuniu longyingmu",
    ),
    Voice("longanyue", "Cantonese, en"),
    Voice("longshange", "Shaanxi dialect, en"),
    Voice("longanmin", "Minnan, en"),
)
# qwen3-asr-flash's asr_options.language codes (Qwen speech recognition API reference).
_QWEN3_ASR_LANGUAGES = tuple(
    "zh yue en ja de ko ru fr pt ar it es hi id th tr uk vi cs da fil fi is ms no pl sv".split()  # noqa: SIM905
)
_QWEN_TTS_LANGUAGES = (
    "Auto",
    "Chinese",
    "English",
    "German",
    "Italian",
    "Portuguese",
    "Spanish",
    "Japanese",
    "Korean",
    "French",
    "Russian",
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
    # ---------------------------------------------------------------- speech synthesis with voices (HTTP, multimodal)
    SpeechModel(
        name="cosyvoice-v3-flash",
        capability="text_to_speech",
        summary="CosyVoice v3 flash: natural voices, many languages and dialects, fast and cheap (Beijing).",
        price=UnitPrice(0.0001, "character", "characters"),
        rate=_SPEECH_RATE,
        regions=_BEIJING,
        voices=_COSYVOICE_V3_FLASH_VOICES,
        default_voice="longanyang",
        typical_seconds=3,
    ),
    SpeechModel(
        name="cosyvoice-v3-plus",
        capability="text_to_speech",
        summary="CosyVoice v3 plus: the most expressive CosyVoice voices (Beijing).",
        price=UnitPrice(0.0002, "character", "characters"),
        rate=_SPEECH_RATE,
        regions=_BEIJING,
        voices=(Voice("longanyang", "zh, en", "sunny young man"), Voice("longanhuan", "zh, en", "lively young woman")),
        default_voice="longanhuan",
        typical_seconds=4,
    ),
    SpeechModel(
        name="cosyvoice-v2",
        capability="text_to_speech",
        summary="CosyVoice v2: many Mandarin and dialect voices (Beijing).",
        price=UnitPrice(0.0002, "character", "characters"),
        rate=_SPEECH_RATE,
        regions=_BEIJING,
        voices=_COSYVOICE_V2_VOICES,
        default_voice="longxiaochun_v2",
        voices_complete=False,  # the voice table read stops part-way
        typical_seconds=3,
    ),
    SpeechModel(
        name="qwen-audio-3.1-tts-flash",
        capability="text_to_speech",
        summary="Qwen-Audio 3.1 TTS flash: Qwen's newest voices over HTTP (Beijing, Singapore).",
        price=UnknownPrice(),  # its price page's numbers were not found
        rate=_SPEECH_RATE,
        regions=_BEIJING_SINGAPORE,
        voices=(Voice("longanhuan_v3.1", "zh, en", "lively young woman"),),
        default_voice="longanhuan_v3.1",
        voices_complete=False,  # only the SDK's example voice is from an official source
        typical_seconds=3,
    ),
    SpeechModel(
        name="qwen3-tts-flash",
        capability="text_to_speech",
        summary="Qwen3-TTS flash: lifelike voices in 10 languages and Chinese dialects, 600 characters a call.",
        price=UnitPrice(0.00008, "character", "characters"),
        rate=_SPEECH_RATE,
        endpoint=MULTIMODAL_GENERATION,
        regions=_BEIJING_SINGAPORE,
        voices=_voices("zh, en and more", "Cherry Serena Ethan Chelsie"),
        default_voice="Cherry",
        voices_complete=False,  # the pages say 49 voices; their table was not read
        formats=("wav",),
        sample_rates=(24000,),
        prosody=False,
        language_types=_QWEN_TTS_LANGUAGES,
        max_characters=600,
        typical_seconds=3,
    ),
    SpeechModel(
        name="qwen-tts",
        capability="text_to_speech",
        summary="Qwen-TTS: Chinese and English voices, billed by tokens.",
        price=TokenPrice(1.6, 10.0),
        rate=_SPEECH_RATE,
        endpoint=MULTIMODAL_GENERATION,
        regions=_BEIJING_SINGAPORE,
        voices=_voices("zh, en", "Cherry Serena Ethan Chelsie"),
        default_voice="Cherry",
        formats=("wav",),
        sample_rates=(24000,),
        prosody=False,
        typical_seconds=3,
    ),
    TranscriptionModel(
        name="paraformer-v1",
        capability="speech_to_text",
        summary="Paraformer v1: Chinese and English recordings, any sample rate; the cheapest.",
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
        summary="Fun-ASR (default): the most accurate recognizer, 30 languages and dialects, noisy or far-field "
        "audio; one language hint.",
        default=True,
        price=UnitPrice(0.00022, "second", "duration"),
        rate=_WAN_RATE,
        regions=("cn-beijing", "ap-southeast-1"),
        supports_language_hints=True,
        languages=_FUN_ASR_LANGUAGES,
        max_language_hints=1,
        typical_seconds=5,
    ),
    TranscriptionModel(
        name="qwen3-asr-flash",
        capability="speech_to_text",
        summary="Qwen3-ASR flash: one short recording (at most 5 minutes, 10 MB) answered at once; 27 languages, "
        "digits for numbers (itn).",
        price=UnknownPrice(),  # no price on the pages found
        rate=_SPEECH_RATE,
        endpoint=MULTIMODAL_GENERATION,
        regions=("cn-beijing", "ap-southeast-1", "us-east-1"),
        wire_names={"us-east-1": "qwen3-asr-flash-us"},  # "in the US region, add -us to the model name"
        supports_language_hints=True,
        languages=_QWEN3_ASR_LANGUAGES,
        max_language_hints=1,
        max_files=1,
        max_file_bytes=10 * 1024 * 1024,
        diarization=False,
        inverse_text_normalization=True,
        typical_seconds=3,
    ),
    TranscriptionModel(
        name="qwen-audio-3.1-asr-flash-filetrans",
        capability="speech_to_text",
        summary="Qwen-Audio 3.1 flash for files (the SDK v2's default recognizer): long recordings (up to 2 GB, 12 "
        "hours each), one task per file (several files make one job of several tasks); speakers told apart.",
        # Its pages price it per token and per region ($0.113/$0.382 per M tokens in Beijing, $0.15/$0.47 in
        # Singapore) but show no reply with its usage, so no cost is computed rather than a guessed one.
        price=UnknownPrice(),
        rate=_WAN_RATE,
        regions=("cn-beijing", "ap-southeast-1"),
        supports_language_hints=True,
        languages=_FUN_ASR_LANGUAGES,
        max_files=1,
        typical_seconds=5,
    ),
    TranscriptionModel(
        name="qwen3-asr-flash-filetrans",
        capability="speech_to_text",
        summary="Qwen3-ASR flash for files: long recordings (up to 2 GB, 12 hours each), one task per file (several "
        "files make one job of several tasks); 27 languages (one hint), digits for numbers (itn).",
        price=UnknownPrice(),  # no price on the pages found
        rate=_WAN_RATE,
        regions=("cn-beijing", "ap-southeast-1"),
        supports_language_hints=True,
        languages=_QWEN3_ASR_LANGUAGES,
        max_language_hints=1,
        max_files=1,
        single_file_url=True,
        diarization=False,
        inverse_text_normalization=True,
        typical_seconds=5,
    ),
)
