"""The catalogue's vocabulary: prices, rate limits, size rules, endpoints, and the model families with their limits.

The entries themselves are in the family modules (`images`, `text`, `video`, `speech`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bailian_mcp.jobs.results import Cost

REGIONS = ("cn-beijing", "ap-southeast-1", "us-east-1")
INTERNATIONAL = ("ap-southeast-1", "us-east-1")


@dataclass(frozen=True)
class UnitPrice:
    """A price per unit of what DashScope reports in `usage[usage_key]` (images, seconds, characters)."""

    amount: float
    unit: str
    usage_key: str
    currency: str = "CNY"

    def describe(self) -> str:
        return f"{self.amount:g} {self.currency}/{self.unit}"

    def cost(self, usage: Mapping[str, Any]) -> Cost | None:
        quantity = usage.get(self.usage_key)
        if not isinstance(quantity, int | float) or isinstance(quantity, bool):
            return None
        return Cost(
            amount=round(quantity * self.amount, 6),
            currency=self.currency,
            basis=f"{quantity:g} {self.unit}{'' if quantity == 1 else 's'} × {self.describe()}",
        )


@dataclass(frozen=True)
class TokenPrice:
    """A price per million input and output tokens (text models)."""

    input_per_million: float
    output_per_million: float
    currency: str = "CNY"

    def describe(self) -> str:
        return (
            f"{self.input_per_million:g} {self.currency}/M input tokens, "
            f"{self.output_per_million:g} {self.currency}/M output tokens"
        )

    def cost(self, usage: Mapping[str, Any]) -> Cost | None:
        tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
        if not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
            return None
        amount = (tokens_in * self.input_per_million + tokens_out * self.output_per_million) / 1_000_000
        return Cost(
            amount=round(amount, 8),
            currency=self.currency,
            basis=f"{tokens_in} input + {tokens_out} output tokens at {self.describe()}",
        )


@dataclass(frozen=True)
class UnknownPrice:
    """No price the model pages give: the cost line says so, and nothing is computed."""

    def describe(self) -> str:
        return "price unknown"

    def cost(self, usage: Mapping[str, Any]) -> Cost | None:
        return None


@dataclass(frozen=True)
class VideoPrice:
    """A price per second of video by resolution tier (`per_second`: "480P" -> CNY), read from DashScope's usage:
    the seconds billed (`duration`, or `video_duration` on older models) and the tier (`SR`, or the size)."""

    per_second: Mapping[str, float]
    currency: str = "CNY"

    def describe(self) -> str:
        return ", ".join(f"{amount:g} {self.currency}/second at {tier}" for tier, amount in self.per_second.items())

    def cost(self, usage: Mapping[str, Any]) -> Cost | None:
        seconds = next(
            (v for k in ("duration", "video_duration") if isinstance(v := usage.get(k), int | float) and v), None
        )
        if seconds is None or isinstance(seconds, bool):
            return None
        tier = self._tier(usage)
        if tier is None:
            return None
        amount = self.per_second[tier]
        return Cost(
            amount=round(seconds * amount, 6),
            currency=self.currency,
            basis=f"{seconds:g} second{'' if seconds == 1 else 's'} × {amount:g} {self.currency}/second at {tier}",
        )

    def _tier(self, usage: Mapping[str, Any]) -> str | None:
        if len(self.per_second) == 1:
            return next(iter(self.per_second))
        resolution = usage.get("SR")
        if isinstance(resolution, int) and f"{resolution}P" in self.per_second:
            return f"{resolution}P"
        tier = _TIER_OF_SIZE.get(str(usage.get("size") or usage.get("video_ratio")))
        return tier if tier in self.per_second else None


Price = UnitPrice | TokenPrice | UnknownPrice | VideoPrice


def per_image(amount: float) -> UnitPrice:
    return UnitPrice(amount, "image", "image_count")


@dataclass(frozen=True)
class RateLimit:
    """DashScope's per-account limits for one model: task submissions per second, tasks at once."""

    submit_rps: float
    concurrency: int


@dataclass(frozen=True)
class FixedSizes:
    """Exactly these `W*H` sizes; `spellings` maps other accepted spellings to the one sent."""

    sizes: tuple[str, ...]
    spellings: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return "one of " + ", ".join(self.sizes)


@dataclass(frozen=True)
class SideRange:
    """Any `W*H` with each side in [min_side, max_side]."""

    min_side: int
    max_side: int

    def describe(self) -> str:
        return f"W*H with each side from {self.min_side} to {self.max_side} pixels (e.g. 1024*1024, 1440*810)"


@dataclass(frozen=True)
class PixelRange:
    """Any `W*H` whose pixel count lies in [min_pixels, max_pixels] and whose aspect ratio is at most `max_aspect`:1
    either way (None: any); `named` sizes (e.g. "1K") are sent as they are."""

    min_pixels: int
    max_pixels: int
    max_aspect: float | None = None
    named: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"W*H of {_square(self.min_pixels)} to {_square(self.max_pixels)} pixels in all"
        if self.max_aspect is not None:
            text += f", from 1:{self.max_aspect:g} to {self.max_aspect:g}:1"
        return text + (f", or {' or '.join(self.named)}" if self.named else "")


def _square(pixels: int) -> str:
    """`1280*1280` for 1638400: a pixel count as the square that has it, when there is one."""
    side = round(pixels**0.5)
    return f"{side}*{side}" if side * side == pixels else str(pixels)


SizeRule = FixedSizes | SideRange | PixelRange


@dataclass(frozen=True)
class Endpoint:
    """Where DashScope serves a model (`{base}/{path}`), and whether it answers with a task (the async task
    protocol: submit, then poll `/tasks/{id}`) or within the exchange itself."""

    path: str
    asynchronous: bool


TEXT2IMAGE = Endpoint("services/aigc/text2image/image-synthesis", asynchronous=True)
IMAGE2IMAGE = Endpoint("services/aigc/image2image/image-synthesis", asynchronous=True)
IMAGE_GENERATION = Endpoint(
    "services/aigc/image-generation/generation", asynchronous=True
)  # the messages protocol, as a task
MULTIMODAL_GENERATION = Endpoint("services/aigc/multimodal-generation/generation", asynchronous=False)
TEXT_GENERATION = Endpoint("services/aigc/text-generation/generation", asynchronous=False)
VIDEO_SYNTHESIS = Endpoint("services/aigc/video-generation/video-synthesis", asynchronous=True)
KEYFRAME_VIDEO_SYNTHESIS = Endpoint("services/aigc/image2video/video-synthesis", asynchronous=True)
TRANSCRIPTION = Endpoint("services/audio/asr/transcription", asynchronous=True)
SPEECH_SYNTHESIS = Endpoint("/api-ws/v1/inference", asynchronous=False)  # the WebSocket service, not under services/
HTTP_SPEECH_SYNTHESIS = Endpoint("services/audio/tts/SpeechSynthesizer", asynchronous=False)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """What every model has; capability-specific subclasses add their limits (and the endpoint of their family)."""

    name: str
    capability: str
    summary: str  # one line: what it is best for (the model parameter's guidance, list_models, help)
    price: Price
    rate: RateLimit
    regions: tuple[str, ...] = REGIONS
    wire_model: str = ""  # the name sent on the wire, when it differs from `name` in every region
    wire_names: Mapping[str, str] = field(default_factory=dict)  # region -> name on the wire, when different
    aliases: tuple[str, ...] = ()
    typical_seconds: float = 10.0  # how long a task usually takes; a polling hint
    default: bool = False  # the capability's model when none is named (one per capability)
    endpoint: Endpoint

    def wire_name(self, region: str) -> str:
        return self.wire_names.get(region, self.wire_model or self.name)

    @property
    def rate_bucket(self) -> str:
        """The client-side pacing bucket for this model's submissions."""
        return f"submit:{self.name}"


@dataclass(frozen=True, kw_only=True)
class ImageModel(ModelSpec):
    endpoint: Endpoint = TEXT2IMAGE
    prompt_max: int = 800  # the service truncates longer prompts to this
    negative_prompt_max: int = 500
    sizes: SizeRule = SideRange(512, 1440)
    default_size: str | None = "1024*1024"  # None: the model chooses (no size is sent)
    n_max: int = 4


@dataclass(frozen=True)
class InputImageRule:
    """What DashScope accepts as an input image for a model: formats, pixels per side, file size."""

    min_side: int
    max_side: int
    max_bytes: int = 10 * 1024 * 1024
    formats: tuple[str, ...] = ("JPEG", "PNG", "BMP", "TIFF", "WEBP")

    def describe(self) -> str:
        return (
            f"JPG/JPEG, PNG, BMP, TIFF or WEBP, {self.min_side} to {self.max_side} pixels per side, "
            f"at most {self.max_bytes // (1024 * 1024)} MB"
        )


@dataclass(frozen=True, kw_only=True)
class TextModel(ModelSpec):
    endpoint: Endpoint = TEXT_GENERATION
    max_output_tokens: int = 8192
    context_tokens: int = 131072


@dataclass(frozen=True, kw_only=True)
class ImageEditModel(ModelSpec):
    """An image editor taking images and an instruction: on the multimodal endpoint (qwen-image-edit family, one
    answer), the messages protocol as a task (wan2.6-image), or image2image with `input.images` (wan2.5-i2i)."""

    endpoint: Endpoint = MULTIMODAL_GENERATION
    prompt_max: int = 800  # the service truncates a longer instruction to this
    max_images: int = 1
    n_max: int = 1
    sizes: SizeRule | None = None  # the output sizes it takes (and with them `prompt_extend`); None: neither
    input_images: InputImageRule = InputImageRule(384, 3072)
    text_first: bool = False  # the messages protocol: the instruction before the images (else after them)


@dataclass(frozen=True, kw_only=True)
class WanxEditModel(ModelSpec):
    """wanx2.1-imageedit: ten editing functions over the async image2image endpoint."""

    endpoint: Endpoint = IMAGE2IMAGE
    n_max: int = 4
    prompt_max: int = 800
    input_images: InputImageRule = InputImageRule(512, 4096)


VIDEO_480P = ("832*480", "480*832", "624*624")
VIDEO_720P = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")
VIDEO_1080P = ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
# (tier, ratio) -> W*H, as the text-to-video pages list them (2.1-2.6), and as the 2.7 pages do (their 4:3 differs).
VIDEO_SIZES: Mapping[tuple[str, str], str] = {
    (tier, ratio): size
    for tier, sizes in (("480P", VIDEO_480P), ("720P", VIDEO_720P), ("1080P", VIDEO_1080P))
    for ratio, size in zip(RATIOS, sizes, strict=False)
}
WAN27_VIDEO_SIZES: Mapping[tuple[str, str], str] = {
    **{key: size for key, size in VIDEO_SIZES.items() if key[0] != "480P"},
    ("720P", "4:3"): "1104*832",
    ("720P", "3:4"): "832*1104",
    ("1080P", "4:3"): "1648*1248",
    ("1080P", "3:4"): "1248*1648",
}

# Every video size of every table, with its tier (the tables share sizes; none is dropped by a merge).
_TIER_OF_SIZE = {size: tier for table in (VIDEO_SIZES, WAN27_VIDEO_SIZES) for (tier, _), size in table.items()}

VideoInputs = Literal["prompt", "img_url", "media", "frames", "reference_urls"]


@dataclass(frozen=True, kw_only=True)
class VideoModel(ModelSpec):
    """A video model. `inputs` is the shape of its request: a prompt alone, a first frame as `img_url`, `media`
    items (wan2.7: frames, driving audio, references), `first_frame_url`/`last_frame_url` (keyframes), or
    `reference_urls`. It takes `parameters.size` (W*H, one of `sizes`) unless it lists `resolutions` (tiers, with
    `ratios` where it also takes `parameters.ratio`)."""

    endpoint: Endpoint = VIDEO_SYNTHESIS
    inputs: VideoInputs = "prompt"
    sizes: tuple[str, ...] = VIDEO_720P
    default_size: str = "1280*720"
    resolutions: tuple[str, ...] = ()
    default_resolution: str = ""
    ratios: tuple[str, ...] = ()
    durations: tuple[int, ...] = (5,)
    prompt_max: int = 800
    driving_audio: bool = False  # takes an audio track to follow (lip-sync, rhythm)
    last_frame: bool = False  # takes a last frame as well as a first (keyframes)
    multi_shot: bool = False  # takes shot_type single/multi
    reference_images: int = 0  # at most this many reference images
    reference_videos: int = 0  # at most this many reference clips
    references: int = 0  # at most this many references in all
    input_images: InputImageRule = InputImageRule(240, 8000, formats=("JPEG", "PNG", "BMP", "WEBP"))

    @property
    def size_table(self) -> Mapping[tuple[str, str], str]:
        """(tier, ratio) -> W*H for this model's generation."""
        return WAN27_VIDEO_SIZES if self.ratios else VIDEO_SIZES


@dataclass(frozen=True, kw_only=True)
class VoiceModel(ModelSpec):
    """A Sambert voice (each voice is its own model on the wire)."""

    endpoint: Endpoint = SPEECH_SYNTHESIS
    language: str = "zh"
    voice: str = ""
    formats: tuple[str, ...] = ("wav", "mp3", "pcm")
    sample_rates: tuple[int, ...] = (8000, 16000, 22050, 24000, 48000)
    default_sample_rate: int = 16000
    max_characters: int = 10000


@dataclass(frozen=True)
class Voice:
    """A system voice of a speech model: its name on the wire, the languages it speaks, and its style."""

    name: str
    languages: str  # e.g. "zh, en", "Cantonese, en"
    style: str = ""


@dataclass(frozen=True, kw_only=True)
class SpeechModel(ModelSpec):
    """A speech model with voices of its own (CosyVoice and Qwen-Audio over HTTP, Qwen-TTS on the multimodal
    endpoint): `voice` picks one of `voices`, `default_voice` when none is named."""

    endpoint: Endpoint = HTTP_SPEECH_SYNTHESIS
    voices: tuple[Voice, ...]
    default_voice: str
    voices_complete: bool = (
        True  # False: the pages read list only some voices; others are sent for the service to judge
    )
    formats: tuple[str, ...] = ("wav", "mp3", "pcm")
    sample_rates: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)
    default_sample_rate: int = 24000
    prosody: bool = True  # takes volume, rate and pitch
    language_types: tuple[str, ...] = ()  # Qwen-TTS: the `language_type` values it takes
    max_characters: int | None = None  # None: no limit documented; the service judges


@dataclass(frozen=True, kw_only=True)
class TranscriptionModel(ModelSpec):
    endpoint: Endpoint = TRANSCRIPTION
    supports_language_hints: bool = False
    default_language_hints: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("zh", "en", "ja", "yue", "ko", "de", "fr", "ru")  # the codes its hints take
    max_language_hints: int | None = None  # None: any number
    max_file_bytes: int = 2 * 1024**3
    diarization: bool = True  # tells speakers apart, removes disfluencies (file transcription)
    inverse_text_normalization: bool = False  # writes numbers and dates as digits on request (enable_itn)
    max_files: int = 100  # per task
    single_file_url: bool = False  # one `input.file_url` string per task (not `file_urls`), singular `output.result`

    @property
    def one_task_per_file(self) -> bool:
        """Whether several files are sent as one task each (a task model that takes one file per task)."""
        return self.endpoint.asynchronous and self.max_files == 1


_WAN_RATE = RateLimit(submit_rps=2, concurrency=2)
_TEXT_RATE = RateLimit(submit_rps=20, concurrency=50)
_SPEECH_RATE = RateLimit(submit_rps=10, concurrency=10)
_BEIJING = ("cn-beijing",)
_BEIJING = ("cn-beijing",)
