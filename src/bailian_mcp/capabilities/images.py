"""What the image and video capabilities share: the `W*H` size rule, the body of a prompted generation, and
reading image results."""

from __future__ import annotations

import re
from typing import Any, Protocol

from bailian_mcp.capabilities.base import BuildContext
from bailian_mcp.catalog import FixedSizes, ImageModel, SizeRule, VideoModel
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.dashscope.protocol import url_expiry
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import ErrorInfo, OutputFile

_SIZE = re.compile(r"^\s*(\d{2,5})\s*[*xX×,]\s*(\d{2,5})\s*$")


class PromptedParams(Protocol):
    """The parameters every prompted generation (an image, a clip) has."""

    prompt: str
    negative_prompt: str
    prompt_extend: bool
    watermark: bool
    seed: int | None


def prompted_body(
    params: PromptedParams, model: ImageModel | VideoModel, context: BuildContext, *, what: str, **parameters: Any
) -> tuple[dict[str, Any], list[str]]:
    """The body of a prompted generation: `input` (the prompt, and negative_prompt when given) and `parameters`
    (the given ones, then prompt_extend, watermark and the seed when there is one); and its warnings.

    A prompt longer than the model reads is allowed (the brief offers more than some models read): the
    service truncates it, and the warning says so.
    """
    text = params.prompt.strip()
    if not text:
        raise InputError("prompt", params.prompt, f"describe {what} in at least one non-blank character")
    warnings = []
    if len(text) > model.prompt_max:
        warnings.append(f"The prompt has {len(text)} characters; {model.name} reads only the first {model.prompt_max}.")
    body_input: dict[str, Any] = {"prompt": text}
    if params.negative_prompt.strip():
        body_input["negative_prompt"] = params.negative_prompt.strip()
    parameters.update(prompt_extend=params.prompt_extend, watermark=params.watermark)
    if params.seed is not None:
        parameters["seed"] = params.seed
    return {"model": model.wire_name(context.region), "input": body_input, "parameters": parameters}, warnings


def parse_size(size: str, *, param: str, allowed: str) -> tuple[int, int]:
    """`"1024*768"` (or `1024x768`, `1024×768`) as (width, height); anything else is an InputError."""
    match = _SIZE.match(size)
    if not match:
        raise InputError(param, size, f"write it as W*H; allowed: {allowed}")
    return int(match[1]), int(match[2])


def check_size(rule: SizeRule, size: str, *, model: str, param: str = "size") -> str:
    """`size` in its canonical `W*H` spelling if `rule` allows it, else an InputError naming the rule."""
    width, height = parse_size(size, param=param, allowed=f"{model} accepts {rule.describe()}")
    canonical = f"{width}*{height}"
    if isinstance(rule, FixedSizes):
        canonical = rule.spellings.get(canonical, canonical)
        if canonical not in rule.sizes:
            raise InputError(param, size, f"{model} accepts only {rule.describe()}")
    elif not all(rule.min_side <= side <= rule.max_side for side in (width, height)):
        raise InputError(param, size, f"{model} accepts {rule.describe()}")
    return canonical


def image_url_outputs(urls: list[str], end_time: str | None = None) -> list[OutputFile]:
    return [
        OutputFile(index=index, kind="image", url=url, url_expires_at=url_expiry(url, end_time))
        for index, url in enumerate(urls)
    ]


def parse_image_results(snapshot: TaskSnapshot) -> list[OutputFile]:
    """Each entry of an image task's `output.results`: a URL (with its prompts), or a per-image error."""
    end_time = snapshot.output.get("end_time")
    outputs = []
    for index, item in enumerate(snapshot.output.get("results") or []):
        url = item.get("url")
        if url:
            outputs.append(
                OutputFile(
                    index=index,
                    kind="image",
                    url=url,
                    url_expires_at=url_expiry(url, end_time),
                    orig_prompt=item.get("orig_prompt"),
                    actual_prompt=item.get("actual_prompt"),
                )
            )
        else:
            error = ErrorInfo(code=str(item.get("code") or "Unknown"), message=str(item.get("message") or ""))
            outputs.append(OutputFile(index=index, kind="image", error=error))
    return outputs
