"""The models, as data: names, regions, limits, defaults, prices, endpoints and rate buckets — and the look-ups every
other part of the package uses.

Adding a model of an existing capability is one entry in its family's module (`images`, `text`, `video`,
`speech`). Limits are the real service's (`spec/dashscope-protocol.md`, the SDK, Model Studio's pages), prices the
list prices of the brief or of the Bailian price page (CNY, Beijing), which Alibaba may change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from bailian_mcp.catalog import images, speech, text, video
from bailian_mcp.catalog.spec import (
    HTTP_SPEECH_SYNTHESIS,
    IMAGE2IMAGE,
    IMAGE_GENERATION,
    INTERNATIONAL,
    KEYFRAME_VIDEO_SYNTHESIS,
    MULTIMODAL_GENERATION,
    RATIOS,
    REGIONS,
    SPEECH_SYNTHESIS,
    TEXT2IMAGE,
    TEXT_GENERATION,
    TRANSCRIPTION,
    VIDEO_480P,
    VIDEO_720P,
    VIDEO_1080P,
    VIDEO_SIZES,
    VIDEO_SYNTHESIS,
    WAN27_VIDEO_SIZES,
    Endpoint,
    FixedSizes,
    ImageEditModel,
    ImageModel,
    InputImageRule,
    ModelSpec,
    PixelRange,
    Price,
    RateLimit,
    SideRange,
    SizeRule,
    SpeechModel,
    TextModel,
    TokenPrice,
    TranscriptionModel,
    UnitPrice,
    UnknownPrice,
    VideoInputs,
    VideoModel,
    VideoPrice,
    Voice,
    VoiceModel,
    WanxEditModel,
    per_image,
)
from bailian_mcp.errors import InputError

MODELS: tuple[ModelSpec, ...] = (*images.MODELS, *text.MODELS, *video.MODELS, *speech.MODELS)

__all__ = [
    "HTTP_SPEECH_SYNTHESIS",
    "IMAGE2IMAGE",
    "IMAGE_GENERATION",
    "INTERNATIONAL",
    "KEYFRAME_VIDEO_SYNTHESIS",
    "MODELS",
    "MULTIMODAL_GENERATION",
    "RATIOS",
    "REGIONS",
    "SPEECH_SYNTHESIS",
    "TEXT2IMAGE",
    "TEXT_GENERATION",
    "TRANSCRIPTION",
    "VIDEO_480P",
    "VIDEO_720P",
    "VIDEO_1080P",
    "VIDEO_SIZES",
    "VIDEO_SYNTHESIS",
    "WAN27_VIDEO_SIZES",
    "Endpoint",
    "FixedSizes",
    "ImageEditModel",
    "ImageModel",
    "InputImageRule",
    "ModelSpec",
    "PixelRange",
    "Price",
    "RateLimit",
    "SideRange",
    "SizeRule",
    "SpeechModel",
    "TextModel",
    "TokenPrice",
    "TranscriptionModel",
    "UnitPrice",
    "UnknownPrice",
    "VideoInputs",
    "VideoModel",
    "VideoPrice",
    "Voice",
    "VoiceModel",
    "WanxEditModel",
    "per_image",
]


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


def catalogue(capability: str | None = None, *, region: str | None = None) -> list[dict[str, Any]]:
    """Every model (of `capability`, offered in `region`) as plain data."""
    return [
        model_info(m)
        for m in MODELS
        if (capability is None or m.capability == capability) and (region is None or region in m.regions)
    ]


def named(name: str) -> ModelSpec:
    """The model called `name` (as the job store records it), whatever its capability."""
    return _names(MODELS)[name]


def by_wire_name(name: str) -> ModelSpec | None:
    """The model DashScope calls `name` in any region (tasks listed by the service carry wire names)."""
    exact = [m for m in MODELS if m.name == name]
    return exact[0] if exact else next((m for m in MODELS if name in {m.wire_name(r) for r in m.regions}), None)
