"""The models, as data: names, regions, limits, defaults, prices and rate buckets.

Adding a model of an existing capability is one entry here. Limits are the real
service's (`spec/dashscope-protocol.md`), prices the list prices of the brief or
of the Bailian price page (CNY, Beijing), which Alibaba may change.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bailian_mcp.errors import InputError

REGIONS = ("cn-beijing", "ap-southeast-1", "us-east-1")
INTERNATIONAL = ("ap-southeast-1", "us-east-1")


@dataclass(frozen=True)
class Price:
    amount: float
    unit: str  # what one `amount` buys: "image", "second", ...
    currency: str = "CNY"

    def describe(self) -> str:
        return f"{self.amount:g} {self.currency}/{self.unit}"


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
class ModelSpec:
    """What every model has; capability-specific subclasses add their limits."""

    name: str
    capability: str
    summary: str
    price: Price
    rate: RateLimit
    regions: tuple[str, ...] = REGIONS
    wire_names: Mapping[str, str] = field(default_factory=dict)  # region -> name on the wire, when different
    aliases: tuple[str, ...] = ()
    typical_seconds: float = 10.0  # how long a task usually takes; a polling hint

    def wire_name(self, region: str) -> str:
        return self.wire_names.get(region, self.name)


@dataclass(frozen=True)
class ImageModel(ModelSpec):
    prompt_max: int = 800  # the service truncates longer prompts to this
    negative_prompt_max: int = 500
    sizes: SizeRule = SideRange(512, 1440)
    default_size: str = "1024*1024"
    n_max: int = 4


_WAN_RATE = RateLimit(submit_rps=2, concurrency=2)
_QWEN_IMAGE_SIZES = FixedSizes(
    sizes=("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"),
    spellings={"1472*1140": "1472*1104", "1140*1472": "1104*1472"},  # the 2025 spellings the brief uses
)

MODELS: tuple[ModelSpec, ...] = (
    ImageModel(
        name="wan2.2-t2i-flash",
        capability="text_to_image",
        summary="Wanxiang 2.2, fast (recommended default): any W*H from 512 to 1440 per side, 1-4 images.",
        price=Price(0.14, "image"),
        rate=_WAN_RATE,
        prompt_max=500,
        typical_seconds=8,
    ),
    ImageModel(
        name="wan2.2-t2i-plus",
        capability="text_to_image",
        summary="Wanxiang 2.2, professional quality: richer detail, slower than flash.",
        price=Price(0.20, "image"),
        rate=_WAN_RATE,
        prompt_max=500,
        typical_seconds=15,
    ),
    ImageModel(
        name="wanx2.1-t2i-turbo",
        capability="text_to_image",
        summary="Wanxiang 2.1, fast.",
        price=Price(0.14, "image"),
        rate=_WAN_RATE,
        wire_names={r: "wan2.1-t2i-turbo" for r in INTERNATIONAL},
        aliases=("wan2.1-t2i-turbo",),
        prompt_max=500,
        typical_seconds=10,
    ),
    ImageModel(
        name="wanx2.1-t2i-plus",
        capability="text_to_image",
        summary="Wanxiang 2.1, professional quality.",
        price=Price(0.20, "image"),
        rate=_WAN_RATE,
        wire_names={r: "wan2.1-t2i-plus" for r in INTERNATIONAL},
        aliases=("wan2.1-t2i-plus",),
        prompt_max=500,
        typical_seconds=15,
    ),
    ImageModel(
        name="wanx2.0-t2i-turbo",
        capability="text_to_image",
        summary="Wanxiang 2.0, fast and cheapest.",
        price=Price(0.04, "image"),
        rate=_WAN_RATE,
        regions=("cn-beijing",),
        prompt_max=800,
        typical_seconds=10,
    ),
    ImageModel(
        name="qwen-image",
        capability="text_to_image",
        summary=(
            "Qwen-Image: best at rendering Chinese and English text and complex layouts in the picture; "
            "five fixed sizes, one image per call."
        ),
        price=Price(0.25, "image"),
        rate=_WAN_RATE,
        prompt_max=800,
        sizes=_QWEN_IMAGE_SIZES,
        default_size="1664*928",
        n_max=1,
        typical_seconds=20,
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
    close = difflib.get_close_matches(key, list(own), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InputError(param, name, f"{hint}{capability} models are {choices}")
