"""Text-to-video with Wanxiang 2.1 (the brief's wan2.1-t2v-* names; Beijing sends wanx2.1-t2v-*).

The brief offers `resolution`; the service calls it `parameters.size` and accepts only a
fixed set per model. A size it would refuse (the brief lists 480*854, 960*544, 1024*576)
gets an error naming the nearest size that works.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, Params, Request
from bailian_mcp.capabilities.fields import Seed, model_field, per_model
from bailian_mcp.capabilities.images import parse_size, prompted_body
from bailian_mcp.catalog import VIDEO_SYNTHESIS, ModelSpec, VideoModel
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.dashscope.protocol import url_expiry
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import OutputFile

NAME = "text_to_video"
PATH = VIDEO_SYNTHESIS.path
PROMPT_MAX = 1000  # the brief's limit; the service reads the first 800 characters


def _video_model(model: ModelSpec) -> VideoModel:
    assert isinstance(model, VideoModel)
    return model


def _sizes(model: ModelSpec) -> str:
    return ", ".join(_video_model(model).sizes)


def _durations(model: ModelSpec) -> str:
    return " or ".join(map(str, _video_model(model).durations))


class TextToVideoParams(Params):
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=PROMPT_MAX,
            description="What happens in the clip: subject, action, scene, camera movement, style. The service "
            "reads the first 800 characters.",
        ),
    ]
    model: Annotated[str, model_field(NAME)] = catalog.default_model(NAME)
    negative_prompt: Annotated[str, Field(max_length=500, description="What to keep out, up to 500 characters.")] = ""
    resolution: Annotated[str, Field(description="Frame size W*H: " + per_model(NAME, _sizes) + ".")] = "720*1280"
    # Any length the brief offers passes the schema, so that a length a model lacks is refused by `build` with
    # the lengths it makes.
    duration: Annotated[
        int, Field(ge=1, le=60, description="Seconds of video: " + per_model(NAME, _durations) + ".")
    ] = 5
    prompt_extend: Annotated[bool, Field(description="Let the service enrich the prompt.")] = True
    watermark: Annotated[bool, Field(description="Add the 'AI生成' watermark.")] = False
    seed: Seed = None


def nearest_size(width: int, height: int, sizes: tuple[str, ...]) -> str:
    """The allowed size closest in shape and pixel count together (log ratios, added)."""

    def distance(size: str) -> float:
        w, h = (int(side) for side in size.split("*"))
        return abs(math.log((w / h) / (width / height))) + abs(math.log((w * h) / (width * height)))

    return min(sizes, key=distance)


def build(params: TextToVideoParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, VideoModel)
    allowed = ", ".join(model.sizes)
    width, height = parse_size(params.resolution, param="resolution", allowed=f"{model.name} makes {allowed}")
    size = f"{width}*{height}"
    if size not in model.sizes:
        hint = nearest_size(width, height, model.sizes) if width and height else model.sizes[0]
        raise InputError("resolution", params.resolution, f"{model.name} makes only {allowed}; the nearest is {hint}")
    if params.duration not in model.durations:
        raise InputError(
            "duration",
            params.duration,
            f"{model.name} makes {' or '.join(map(str, model.durations))}-second clips only",
        )
    body, warnings = prompted_body(params, model, context, what="the clip", size=size, duration=params.duration)
    return Request(model=model, path=PATH, body=body, warnings=tuple(warnings))


def parse(snapshot: TaskSnapshot) -> list[OutputFile]:
    url = snapshot.output.get("video_url")
    if not url:
        return []
    duration = snapshot.usage.get("video_duration")
    return [
        OutputFile(
            index=0,
            kind="video",
            url=url,
            url_expires_at=url_expiry(url, snapshot.output.get("end_time")),
            orig_prompt=snapshot.output.get("orig_prompt"),
            actual_prompt=snapshot.output.get("actual_prompt"),
            duration_seconds=float(duration) if isinstance(duration, int | float) else None,
        )
    ]


TEXT_TO_VIDEO = Capability(
    name=NAME,
    title="Text to video",
    summary=(
        "Generate a 5-second MP4 clip from a prompt (Wanxiang 2.1 turbo/plus). Takes minutes. Costs per second "
        "of video."
    ),
    description=(
        "Generate a 5-second video clip (MP4, 30 fps) from a text prompt with Wanxiang 2.1. Videos take minutes, "
        "longer than a call usually waits: expect a job to follow until it is done; then the MP4 is saved locally "
        "and its URL returned. Costs money per second of video."
    ),
    params_model=TextToVideoParams,
    build=build,
    parse=parse,
    file_suffix=".mp4",
    command="text2video",
    group="video",
    batch_sections=("video_tasks",),
)
