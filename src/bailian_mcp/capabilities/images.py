"""What the image and video capabilities share: size rules, the bodies of the image protocols (a prompt, or
messages of text and images), answering a synchronous image call, and reading image results (a task's
`results`, or the messages protocol's `choices`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from bailian_mcp.capabilities.base import BuildContext, ExchangeContext, Outcome, Request
from bailian_mcp.catalog import FixedSizes, ImageEditModel, ImageModel, PixelRange, SizeRule, VideoModel
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


def prompt_text(params: PromptedParams, model: ImageModel | VideoModel, *, what: str) -> tuple[str, list[str]]:
    """The prompt to send (stripped, not blank) and its warnings: a prompt longer than the model reads is allowed
    (the service truncates it), and the warning says so."""
    text = params.prompt.strip()
    if not text:
        raise InputError("prompt", params.prompt, f"describe {what} in at least one non-blank character")
    return text, long_prompt_warnings(text, model.name, model.prompt_max)


def long_prompt_warnings(text: str | None, model: str, limit: int, *, noun: str = "prompt") -> list[str]:
    """A prompt longer than the model reads is sent (the service truncates it), with this warning."""
    if text and len(text) > limit:
        return [f"The {noun} has {len(text)} characters; {model} reads only the first {limit}."]
    return []


def generation_parameters(params: PromptedParams, **parameters: Any) -> dict[str, Any]:
    """`parameters` (those given, None left out), then prompt_extend, watermark and the seed when there is one."""
    chosen = {name: value for name, value in parameters.items() if value is not None}
    chosen.update(prompt_extend=params.prompt_extend, watermark=params.watermark)
    if params.seed is not None:
        chosen["seed"] = params.seed
    return chosen


def prompted_body(
    params: PromptedParams, model: ImageModel | VideoModel, context: BuildContext, *, what: str, **parameters: Any
) -> tuple[dict[str, Any], list[str]]:
    """The body of a prompted generation: `input` (the prompt, and negative_prompt when given) and `parameters`
    (see `generation_parameters`); and its warnings."""
    text, warnings = prompt_text(params, model, what=what)
    body_input: dict[str, Any] = {"prompt": text}
    if params.negative_prompt.strip():
        body_input["negative_prompt"] = params.negative_prompt.strip()
    body_parameters = generation_parameters(params, **parameters)
    return {"model": model.wire_name(context.region), "input": body_input, "parameters": body_parameters}, warnings


def parse_size(size: str, *, param: str, allowed: str) -> tuple[int, int]:
    """`"1024*768"` (or `1024x768`, `1024×768`) as (width, height); anything else is an InputError."""
    match = _SIZE.match(size)
    if not match:
        raise InputError(param, size, f"write it as W*H; allowed: {allowed}")
    return int(match[1]), int(match[2])


def check_size(rule: SizeRule, size: str, *, model: str, param: str = "size") -> str:
    """`size` in its canonical `W*H` spelling (or a named size such as "1K") if `rule` allows it, else an
    InputError naming the rule."""
    if isinstance(rule, PixelRange) and size.strip().upper() in rule.named:
        return size.strip().upper()
    width, height = parse_size(size, param=param, allowed=f"{model} accepts {rule.describe()}")
    canonical = f"{width}*{height}"
    if isinstance(rule, FixedSizes):
        canonical = rule.spellings.get(canonical, canonical)
        allowed = canonical in rule.sizes
    elif isinstance(rule, PixelRange):
        aspect = max(width, height) / max(1, min(width, height))
        allowed = rule.min_pixels <= width * height <= rule.max_pixels and (
            rule.max_aspect is None or aspect <= rule.max_aspect
        )
    else:
        allowed = all(rule.min_side <= side <= rule.max_side for side in (width, height))
    if not allowed:
        only = "only " if isinstance(rule, FixedSizes) else ""
        raise InputError(param, size, f"{model} accepts {only}{rule.describe()}")
    return canonical


def messages_body(
    model: ImageModel | ImageEditModel,
    context: BuildContext,
    text: str,
    images: list[Any],
    parameters: dict[str, Any],
    *,
    text_first: bool,
) -> dict[str, Any]:
    """A body of the messages protocol: one user message holding the text and the images (in the model's order),
    and the parameters (negative_prompt among them)."""
    pictures = [{"image": image} for image in images]
    content = [{"text": text}, *pictures] if text_first else [*pictures, {"text": text}]
    return {
        "model": model.wire_name(context.region),
        "input": {"messages": [{"role": "user", "content": content}]},
        "parameters": parameters,
    }


async def call_for_images(context: ExchangeContext, request: Request) -> Outcome:
    """A synchronous image call (the multimodal endpoint): its answer's images, and its usage (image_count at
    least)."""
    reply = await context.client.call(
        request.path, request.body, headers=request.headers, bucket=request.model.rate_bucket
    )
    output = reply.get("output") or {}
    outputs = _choice_images(output)
    usage = dict(reply.get("usage") or {})
    usage.setdefault("image_count", len(outputs))
    choices = output.get("choices") or [{}]
    return Outcome(outputs=outputs, usage=usage, finish_reason=choices[0].get("finish_reason"))


def image_url_outputs(urls: list[str], end_time: str | None = None) -> list[OutputFile]:
    return [
        OutputFile(index=index, kind="image", url=url, url_expires_at=url_expiry(url, end_time))
        for index, url in enumerate(urls)
    ]


def _choice_images(output: Mapping[str, Any], end_time: str | None = None) -> list[OutputFile]:
    """The images of the messages protocol's answer: every `image` part of every choice, in order."""
    urls = [
        str(part["image"])
        for choice in output.get("choices") or []
        if isinstance(choice, Mapping)
        for part in (choice.get("message") or {}).get("content") or []
        if isinstance(part, Mapping) and part.get("image")
    ]
    return image_url_outputs(urls, end_time)


def parse_image_results(snapshot: TaskSnapshot) -> list[OutputFile]:
    """An image task's images: each entry of `output.results` (a URL with its prompts, or a per-image error), or,
    for the messages protocol, each image of `output.choices`."""
    end_time = snapshot.output.get("end_time")
    if "results" not in snapshot.output:
        return _choice_images(snapshot.output, end_time)
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
