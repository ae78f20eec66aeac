"""The models, as data: names, regions, limits, defaults, prices and rate buckets.

Adding a model of an existing capability is one entry here. Limits are the real
service's (`spec/dashscope-protocol.md`), prices the list prices of the brief or
of the Bailian price page (CNY, Beijing), which Alibaba may change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from bailian_mcp.errors import InputError
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


Price = UnitPrice | TokenPrice


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


SizeRule = FixedSizes | SideRange


@dataclass(frozen=True)
class Endpoint:
    """Where DashScope serves a model (`{base}/services/{path}`), and whether it answers with a task (the async task
    protocol: submit, then poll `/tasks/{id}`) or within the exchange itself."""

    path: str
    asynchronous: bool


TEXT2IMAGE = Endpoint("aigc/text2image/image-synthesis", asynchronous=True)
IMAGE2IMAGE = Endpoint("aigc/image2image/image-synthesis", asynchronous=True)
IMAGE_GENERATION = Endpoint("aigc/image-generation/generation", asynchronous=True)  # the messages protocol, as a task
MULTIMODAL_GENERATION = Endpoint("aigc/multimodal-generation/generation", asynchronous=False)
TEXT_GENERATION = Endpoint("aigc/text-generation/generation", asynchronous=False)
VIDEO_SYNTHESIS = Endpoint("aigc/video-generation/video-synthesis", asynchronous=True)
KEYFRAME_VIDEO_SYNTHESIS = Endpoint("aigc/image2video/video-synthesis", asynchronous=True)
TRANSCRIPTION = Endpoint("audio/asr/transcription", asynchronous=True)
SPEECH_SYNTHESIS = Endpoint("/api-ws/v1/inference", asynchronous=False)  # the WebSocket service, not under services/


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
    default_size: str = "1024*1024"
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
    """qwen-image-edit family (synchronous multimodal endpoint)."""

    endpoint: Endpoint = MULTIMODAL_GENERATION
    max_images: int = 1
    n_max: int = 1
    custom_size: bool = False  # accepts `size` (each side 512-2048) and `prompt_extend`
    input_images: InputImageRule = InputImageRule(384, 3072)


@dataclass(frozen=True, kw_only=True)
class WanxEditModel(ModelSpec):
    """wanx2.1-imageedit: ten editing functions over the async image2image endpoint."""

    endpoint: Endpoint = IMAGE2IMAGE
    n_max: int = 4
    prompt_max: int = 800
    input_images: InputImageRule = InputImageRule(512, 4096)


VIDEO_480P = ("832*480", "480*832", "624*624")
VIDEO_720P = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")


@dataclass(frozen=True, kw_only=True)
class VideoModel(ModelSpec):
    endpoint: Endpoint = VIDEO_SYNTHESIS
    sizes: tuple[str, ...] = VIDEO_720P
    durations: tuple[int, ...] = (5,)
    prompt_max: int = 800


@dataclass(frozen=True, kw_only=True)
class VoiceModel(ModelSpec):
    """A Sambert voice (each voice is its own model on the wire)."""

    endpoint: Endpoint = SPEECH_SYNTHESIS
    language: str = "zh"
    voice: str = ""
    sample_rates: tuple[int, ...] = (8000, 16000, 22050, 24000, 48000)
    default_sample_rate: int = 16000
    max_characters: int = 10000


@dataclass(frozen=True, kw_only=True)
class TranscriptionModel(ModelSpec):
    endpoint: Endpoint = TRANSCRIPTION
    supports_language_hints: bool = False
    default_language_hints: tuple[str, ...] = ()
    max_files: int = 100


_WAN_RATE = RateLimit(submit_rps=2, concurrency=2)
_TEXT_RATE = RateLimit(submit_rps=20, concurrency=50)
_SPEECH_RATE = RateLimit(submit_rps=10, concurrency=10)
_BEIJING = ("cn-beijing",)


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


_QWEN_IMAGE_SIZES = FixedSizes(
    sizes=("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"),
    spellings={"1472*1140": "1472*1104", "1140*1472": "1104*1472"},  # the 2025 spellings the brief uses
)

MODELS: tuple[ModelSpec, ...] = (
    ImageModel(
        name="wan2.2-t2i-flash",
        capability="text_to_image",
        summary="Wanxiang 2.2 flash: fast, good default.",
        default=True,
        price=per_image(0.14),
        rate=_WAN_RATE,
        prompt_max=500,
        typical_seconds=8,
    ),
    ImageModel(
        name="wan2.2-t2i-plus",
        capability="text_to_image",
        summary="Wanxiang 2.2 plus: best detail, slower.",
        price=per_image(0.20),
        rate=_WAN_RATE,
        prompt_max=500,
        typical_seconds=15,
    ),
    ImageModel(
        name="wanx2.1-t2i-turbo",
        capability="text_to_image",
        summary="Wanxiang 2.1 turbo: older, fast.",
        price=per_image(0.14),
        rate=_WAN_RATE,
        wire_names={r: "wan2.1-t2i-turbo" for r in INTERNATIONAL},
        aliases=("wan2.1-t2i-turbo",),
        prompt_max=500,
        typical_seconds=10,
    ),
    ImageModel(
        name="wanx2.1-t2i-plus",
        capability="text_to_image",
        summary="Wanxiang 2.1 plus: older, detailed.",
        price=per_image(0.20),
        rate=_WAN_RATE,
        wire_names={r: "wan2.1-t2i-plus" for r in INTERNATIONAL},
        aliases=("wan2.1-t2i-plus",),
        prompt_max=500,
        typical_seconds=15,
    ),
    ImageModel(
        name="wanx2.0-t2i-turbo",
        capability="text_to_image",
        summary="Wanxiang 2.0 turbo: oldest and cheapest.",
        price=per_image(0.04),
        rate=_WAN_RATE,
        regions=("cn-beijing",),
        prompt_max=800,
        typical_seconds=10,
    ),
    ImageModel(
        name="qwen-image",
        capability="text_to_image",
        summary="Qwen-Image: best for text inside the picture (posters, couplets, signs); fixed sizes, 1 image.",
        price=per_image(0.25),
        rate=_WAN_RATE,
        prompt_max=800,
        sizes=_QWEN_IMAGE_SIZES,
        default_size="1664*928",
        n_max=1,
        typical_seconds=20,
    ),
    # ---------------------------------------------------------------- text generation
    TextModel(
        name="qwen-turbo",
        capability="text_to_text",
        summary="Qwen Turbo: fastest and cheapest, for simple tasks (short answers, classification, extraction).",
        price=TokenPrice(0.3, 0.6),
        rate=_TEXT_RATE,
        typical_seconds=2,
    ),
    TextModel(
        name="qwen-plus",
        capability="text_to_text",
        summary="Qwen Plus: balanced quality, speed and price; good default.",
        default=True,
        price=TokenPrice(0.8, 2.0),
        rate=_TEXT_RATE,
        typical_seconds=4,
    ),
    TextModel(
        name="qwen-max",
        capability="text_to_text",
        summary="Qwen Max: strongest of the Qwen 2.5 line, for hard reasoning and careful writing (32k-token context).",
        price=TokenPrice(2.4, 9.6),
        rate=_TEXT_RATE,
        typical_seconds=6,
        context_tokens=32768,
    ),
    TextModel(
        name="qwen3-max",
        capability="text_to_text",
        summary="Qwen3 Max: newest flagship, best quality, most expensive; up to 65536 output tokens.",
        price=TokenPrice(6.0, 24.0),
        rate=_TEXT_RATE,
        typical_seconds=6,
        max_output_tokens=65536,
        context_tokens=262144,
    ),
    TextModel(
        name="qwen-long",
        capability="text_to_text",
        summary="Qwen Long: very long inputs (up to 10M tokens of context), cheap.",
        price=TokenPrice(0.5, 2.0),
        rate=_TEXT_RATE,
        typical_seconds=6,
        context_tokens=10_000_000,
    ),
    # ---------------------------------------------------------------- image editing
    ImageEditModel(
        name="qwen-image-edit",
        capability="edit_image",
        summary="Qwen-Image-Edit: one image, one result (text in the picture, objects, pose, style).",
        default=True,
        price=per_image(0.3),
        rate=_WAN_RATE,
        typical_seconds=20,
    ),
    ImageEditModel(
        name="qwen-image-edit-plus",
        capability="edit_image",
        summary="Qwen-Image-Edit plus: 1-3 input images (combine them), 1-6 results, choice of output size.",
        price=per_image(0.2),
        rate=_WAN_RATE,
        typical_seconds=25,
        max_images=3,
        n_max=6,
        custom_size=True,
    ),
    WanxEditModel(
        name="wanx2.1-imageedit",
        capability="wanx_edit_image",
        summary="Wanxiang general image editing: stylize, instruct, inpaint, remove text, expand, upscale, "
        "colorize, sketch-to-image, cartoon reference.",
        default=True,
        price=per_image(0.14),
        rate=_WAN_RATE,
        regions=_BEIJING,
        typical_seconds=10,
    ),
    # ---------------------------------------------------------------- video
    VideoModel(
        name="wan2.1-t2v-turbo",
        capability="text_to_video",
        summary="Wanxiang 2.1 turbo: faster and cheaper, 480P or 720P.",
        default=True,
        price=UnitPrice(0.24, "second", "video_duration"),
        rate=_WAN_RATE,
        wire_names={"cn-beijing": "wanx2.1-t2v-turbo"},
        aliases=("wanx2.1-t2v-turbo",),
        sizes=VIDEO_480P + VIDEO_720P,
        typical_seconds=120,
    ),
    VideoModel(
        name="wan2.1-t2v-plus",
        capability="text_to_video",
        summary="Wanxiang 2.1 plus: better quality, 720P.",
        price=UnitPrice(0.70, "second", "video_duration"),
        rate=_WAN_RATE,
        wire_names={"cn-beijing": "wanx2.1-t2v-plus"},
        aliases=("wanx2.1-t2v-plus",),
        typical_seconds=300,
    ),
    # ---------------------------------------------------------------- speech synthesis (Sambert voices)
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
    # ---------------------------------------------------------------- speech recognition (file transcription)
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
)


def models_for(capability: str) -> list[ModelSpec]:
    return [m for m in MODELS if m.capability == capability]


def _names(models: Iterable[ModelSpec]) -> dict[str, ModelSpec]:
    table: dict[str, ModelSpec] = {}
    for model in models:
        table[model.name] = model
        for alias in model.aliases:
            table[alias] = model
    return table


M = TypeVar("M", bound=ModelSpec)


def default_model(capability: str) -> str:
    """The name of the capability's default model (the one entry marked `default`)."""
    return next(m.name for m in models_for(capability) if m.default)


def resolve_in_region(capability: str, name: str, region: str, kind: type[M]) -> M:
    """The model called `name` for `capability`, as its catalogue type, if it is offered in `region`; else an
    InputError naming the regions that have it."""
    model = resolve(capability, name)
    if not isinstance(model, kind):
        raise TypeError(f"the catalogue lists {model.name} as {type(model).__name__}, not {kind.__name__}")
    if region not in model.regions:
        where = ", ".join(model.regions)
        if len(model.regions) == 1:
            how = f"it runs only in {where}: set BAILIAN_REGION={where} with an API key from there"
        else:
            how = "set BAILIAN_REGION to one of them with an API key from there"
        raise InputError("model", name, f"{model.name} is only offered in {where} and this server uses {region}; {how}")
    return model


def resolve(capability: str, name: str, *, param: str = "model") -> ModelSpec:
    """The model called `name` (or one of its aliases) for `capability`, or an InputError that helps."""
    own = _names(models_for(capability))
    key = name.strip().lower()
    if key in own:
        return own[key]
    choices = ", ".join(m.name for m in models_for(capability))
    other = _names(MODELS).get(key)
    if other is not None:
        raise InputError(
            param, name, f"{other.name} is a {other.capability} model; for {capability} use one of {choices}"
        )
    import difflib  # only for the did-you-mean of an unknown name

    close = difflib.get_close_matches(key, list(own), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InputError(param, name, f"{hint}{capability} models are {choices}")


_COMMON_FIELDS = frozenset(f.name for f in fields(ModelSpec))


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        described = {"rule": value.describe()} if hasattr(value, "describe") else {}
        return {**{f.name: _plain(getattr(value, f.name)) for f in fields(value)}, **described}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def model_info(model: ModelSpec) -> dict[str, Any]:
    """One model as plain data: what list_models, the catalogue resource and `bailian-mcp models` show."""
    return {
        "name": model.name,
        "capability": model.capability,
        "summary": model.summary,
        "aliases": list(model.aliases),
        "regions": list(model.regions),
        "wire_names": {region: model.wire_name(region) for region in model.regions},
        "endpoint": model.endpoint.path,
        "asynchronous": model.endpoint.asynchronous,
        "price": model.price.describe(),
        "rate_limit": {"submit_per_second": model.rate.submit_rps, "concurrent_tasks": model.rate.concurrency},
        "limits": {f.name: _plain(getattr(model, f.name)) for f in fields(model) if f.name not in _COMMON_FIELDS},
    }


def catalogue(capability: str | None = None) -> list[dict[str, Any]]:
    return [model_info(m) for m in MODELS if capability is None or m.capability == capability]


def named(name: str) -> ModelSpec:
    """The model called `name` (as the job store records it), whatever its capability."""
    return _names(MODELS)[name]


def by_wire_name(name: str) -> ModelSpec | None:
    """The model DashScope calls `name` in any region (tasks listed by the service carry wire names)."""
    exact = [m for m in MODELS if m.name == name]
    return exact[0] if exact else next((m for m in MODELS if name in {m.wire_name(r) for r in m.regions}), None)
