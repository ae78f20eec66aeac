"""Text-to-image (protocol §3): ``POST /api/v1/services/aigc/text2image/image-synthesis``, async only.

Models and their rules (`MODELS`: the models of the brief; `LINEUP_MODELS`: the 2026 lineup):

* ``wan2.2-t2i-flash``, ``wan2.2-t2i-plus``, ``wanx2.1-t2i-turbo``, ``wanx2.1-t2i-plus`` (also the
  international ``wan2.1-t2i-turbo`` / ``wan2.1-t2i-plus``), ``wanx2.0-t2i-turbo``: ``size`` is
  ``"W*H"`` with each side in [512, 1440] (default ``1024*1024``); ``n`` 1-4 (default 4); prompts
  beyond 500 characters (800 for wanx2.0) are truncated.
* ``wan2.5-t2i-preview``: ``size`` ``"W*H"`` with total pixels in [1280*1280, 1440*1440] and an
  aspect ratio within [1:4, 4:1] (e.g. ``768*2700``; default ``1280*1280``), and the documented
  recommendations ``1104*1472``, ``1472*1104``, ``960*1696``, ``1696*960`` (slightly fewer
  pixels than 1280*1280, so the documented bound cannot be exact); ``n`` 1-4 (default 4);
  prompts beyond 2000 characters are truncated (negative prompts beyond 500: the emulator does not
  use them).
* ``qwen-image``, ``qwen-image-plus``: ``size`` one of ``1664*928`` (default), ``1472*1104``,
  ``1328*1328``, ``1104*1472``, ``928*1664`` (the 2025 spellings ``1472*1140`` / ``1140*1472`` are
  accepted too); ``n`` must be 1; prompts beyond 800 characters are truncated; no ``task_metrics``.
  (Only these two qwen models take the async endpoint; qwen-image-max and later are synchronous,
  see `image_edit` and `image_generation`.)
* ``wanx-v1`` (legacy, so the recorded exchange replays): sizes ``1024*1024``, ``720*1280``,
  ``1280*720``; ``n`` 1-4 (default 4); ``style`` from the documented list; results carry only ``url``.

All models: ``seed`` in [0, 2147483647] (image *i* uses ``seed + i``; without one, a seed derived
from the prompt); ``prompt_extend`` (default true, not for wanx-v1) adds a deterministic
``actual_prompt`` rewrite to each result; ``watermark`` (default false) must be boolean;
``negative_prompt`` may sit in ``input`` or ``parameters``; a parameter sent as ``null`` counts as
absent; unknown parameters are ignored. Violations are refused at submission with 400
``InvalidParameter``. Models the endpoint does not serve (wan2.6-t2i, qwen-image-max, … — which
the v2 SDK's ``images`` resource sends here) get 400 ``Model not exist.``.

Test triggers — put one of these anywhere in ``input.prompt``:

``[emulator:fail]``
    The task ends FAILED: ``code`` ``InternalError.Algo``, ``message``
    ``Inference error: emulated failure.``, ``task_metrics.FAILED`` = n.
``[emulator:partial]``
    The task SUCCEEDS but its last result is an ``InternalError.Timeout`` item instead of an
    image; ``task_metrics`` and ``usage.image_count`` count only the images. With n = 1 this
    is a plain failure, as above.
``[emulator:inspect]``
    Refused at submission: 400 ``DataInspectionFailed``
    ``Input data may contain inappropriate content.``
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .envelope import ServiceError, invalid_parameter
from .gateway import ServiceCall
from .images import render_png
from .params import area_size, flag, free_size, is_int, listed_size, optional_text, present, required_text
from .params import seed as seed_parameter
from .task_api import submit_route
from .task_faults import EMULATED_FAILURE
from .tasks import ResultFile, Success, TaskFailure

SERVICE = "aigc/text2image/image-synthesis"

FAIL_TRIGGER = "[emulator:fail]"
PARTIAL_TRIGGER = "[emulator:partial]"
INSPECT_TRIGGER = "[emulator:inspect]"

SIDE_RANGE = (512, 1440)

_TIMEOUT_ITEM = {
    "code": "InternalError.Timeout",
    "message": "An internal timeout error has occured during execution, "
    "please try again later or contact service support.",
}
_STYLES = frozenset(
    {
        "<auto>",
        "<photography>",
        "<portrait>",
        "<3d cartoon>",
        "<anime>",
        "<oil painting>",
        "<watercolor>",
        "<sketch>",
        "<chinese painting>",
        "<flat illustration>",
    }
)


@dataclass(frozen=True)
class _Rules:
    prompt_limit: int
    default_size: str
    sizes: tuple[str, ...] = ()
    """The allowed sizes, as the error message lists them; empty: any W*H within `SIDE_RANGE`."""
    also_accepted: tuple[str, ...] = ()
    default_n: int = 4
    max_n: int = 4
    n_error: str = "Range of n should be [1, 4]"
    extends_prompt: bool = True
    """Whether ``prompt_extend`` exists; results then carry ``orig_prompt``/``actual_prompt``."""
    reports_metrics: bool = True
    styles: frozenset[str] = frozenset()
    area: tuple[int, int] | None = None
    """With no ``sizes``: total pixels within [low*low, high*high] instead of each side in `SIDE_RANGE`."""
    max_ratio: int | None = None
    """With ``area``: the aspect ratio must be within [1:max_ratio, max_ratio:1]."""


_WAN = _Rules(prompt_limit=500, default_size="1024*1024")
_QWEN = _Rules(
    prompt_limit=800,
    default_size="1664*928",
    sizes=("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"),
    also_accepted=("1472*1140", "1140*1472"),
    default_n=1,
    max_n=1,
    n_error="num_images_per_prompt must be 1.",
    reports_metrics=False,
)
_WANX_V1 = _Rules(
    prompt_limit=500,
    default_size="1024*1024",
    sizes=("1024*1024", "720*1280", "1280*720"),
    extends_prompt=False,
    styles=_STYLES,
)

WAN25_RECOMMENDED = ("1104*1472", "1472*1104", "960*1696", "1696*960")
"""Recommended sizes (3:4, 4:3, 9:16, 16:9) a little under the documented 1280*1280 pixels: accepted."""
_WAN25 = _Rules(
    prompt_limit=2000, default_size="1280*1280", area=(1280, 1440), max_ratio=4, also_accepted=WAN25_RECOMMENDED
)

MODELS: Mapping[str, _Rules] = {
    "wan2.2-t2i-flash": _WAN,
    "wan2.2-t2i-plus": _WAN,
    "wanx2.1-t2i-turbo": _WAN,
    "wanx2.1-t2i-plus": _WAN,
    "wan2.1-t2i-turbo": _WAN,
    "wan2.1-t2i-plus": _WAN,
    "wanx2.0-t2i-turbo": replace(_WAN, prompt_limit=800),
    "qwen-image": _QWEN,
    "qwen-image-plus": _QWEN,
    "wanx-v1": _WANX_V1,
}
"""The models of the brief (mid-2025)."""

LINEUP_MODELS: Mapping[str, _Rules] = {"wan2.5-t2i-preview": _WAN25}
"""The 2026 lineup's models on this endpoint."""

ALL_MODELS: Mapping[str, _Rules] = {**MODELS, **LINEUP_MODELS}

QWEN_SIZES = _QWEN.sizes
QWEN_ALSO_ACCEPTED = _QWEN.also_accepted
QWEN_DEFAULT_SIZE = _QWEN.default_size


def extend_prompt(prompt: str) -> str:
    """The emulated prompt rewrite: the prompt plus a fixed, language-matched embellishment."""
    if re.search(r"[\u4e00-\u9fff]", prompt):
        return prompt + "，画面精致，光影自然，细节丰富，高清画质。"
    return prompt.rstrip(". ") + ", finely detailed, soft natural light, sharp focus, high resolution."


@dataclass(frozen=True)
class ImageJob:
    """A validated text-to-image request: n pictures, possibly a scripted failure."""

    rules: _Rules
    prompt: str
    actual_prompt: str | None
    width: int
    height: int
    n: int
    seed: int
    failure: TaskFailure | None = None
    lost: int = 0
    """Trailing images that fail inside a task that still succeeds."""

    @property
    def metrics_total(self) -> int | None:
        return self.n if self.rules.reports_metrics else None

    @property
    def files(self) -> Sequence[ResultFile]:
        if self.failure is not None:
            return ()
        return tuple(
            ResultFile(
                f"{index + 1}.png",
                "image/png",
                functools.partial(render_png, self.prompt, self.seed + index, self.width, self.height),
            )
            for index in range(self.n - self.lost)
        )

    def success(self, urls: Sequence[str]) -> Success:
        results: list[dict[str, Any]] = []
        for url in urls:
            item: dict[str, Any] = {}
            if self.rules.extends_prompt:
                item["orig_prompt"] = self.prompt
                if self.actual_prompt is not None:
                    item["actual_prompt"] = self.actual_prompt
            item["url"] = url
            results.append(item)
        results.extend(dict(_TIMEOUT_ITEM) for _ in range(self.lost))
        return Success({"results": results}, {"image_count": len(urls)}, len(urls))


def parse_size(rules: _Rules, value: object) -> tuple[int, int]:
    """The requested size: from the model's list, within the model's pixel area, or any W*H within `SIDE_RANGE`."""
    if rules.sizes:
        return listed_size(value, rules.default_size, rules.sizes, rules.also_accepted)
    if rules.area is not None:
        return area_size(value, rules.default_size, *rules.area, rules.max_ratio, also=rules.also_accepted)
    return free_size(value, rules.default_size, *SIDE_RANGE)


class Text2Image:
    """The `TaskKind` of the text-to-image endpoint."""

    models = ALL_MODELS

    def plan(self, call: ServiceCall) -> ImageJob:
        rules = ALL_MODELS[call.model]
        params = present(call.parameters)
        prompt = required_text(call.input, "prompt")
        optional_text({**params, **call.input}, "negative_prompt")
        width, height = parse_size(rules, params.get("size"))
        n = params.get("n", rules.default_n)
        if not is_int(n) or not 1 <= n <= rules.max_n:
            raise invalid_parameter(rules.n_error)
        seed = seed_parameter(params, prompt)
        extend = rules.extends_prompt and flag(params, "prompt_extend", True)
        flag(params, "watermark", False)
        style = params.get("style", "<auto>")
        if rules.styles and style not in rules.styles:
            raise invalid_parameter(f"The style is not match the allowed style {sorted(rules.styles)}")
        if INSPECT_TRIGGER in prompt:
            raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        failure, lost = None, 0
        if FAIL_TRIGGER in prompt or (PARTIAL_TRIGGER in prompt and n == 1):
            failure = EMULATED_FAILURE
        elif PARTIAL_TRIGGER in prompt:
            lost = 1
        used = prompt[: rules.prompt_limit]
        return ImageJob(rules, used, extend_prompt(used) if extend else None, width, height, n, seed, failure, lost)


ROUTES = [submit_route(SERVICE, Text2Image())]
