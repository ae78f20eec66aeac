"""What the video capabilities share: the frame (a W*H size, or a resolution tier and ratio), durations, driving
audio, multi-shot, the body of each video protocol, and reading a finished video task.

Every model's own facts come from its catalogue entry (`catalog.VideoModel`); a parameter a model cannot take is
refused before anything is sent, naming the models that take it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import Field

from bailian_mcp.capabilities.base import BuildContext, Request
from bailian_mcp.capabilities.fields import Lean, models_where, per_model
from bailian_mcp.capabilities.images import parse_size
from bailian_mcp.catalog import ModelSpec, VideoModel
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.dashscope.protocol import url_expiry
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile, media_input
from bailian_mcp.jobs.results import OutputFile

DRIVING_AUDIO_SUFFIXES = frozenset({".wav", ".mp3"})
DRIVING_AUDIO_MAX_BYTES = 15 * 1024 * 1024
CLIP_SUFFIXES = frozenset({".mp4", ".mov"})
CLIP_MAX_BYTES = 100 * 1024 * 1024
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})


def video_model(model: ModelSpec) -> VideoModel:
    assert isinstance(model, VideoModel)
    return model


def takes(capability: str, test: Callable[[VideoModel], bool]) -> str:
    """The capability's models that pass `test` (for "only X takes it" messages and help)."""
    return models_where(capability, lambda m: test(video_model(m)))


def frames_text(model: ModelSpec) -> str:
    """A video model's frame sizes: its tiers and ratios, or its W*H sizes."""
    video = video_model(model)
    if video.resolutions:
        return f"{', '.join(video.resolutions)} in the ratios {', '.join(video.ratios)}"
    return ", ".join(video.sizes)


def durations_text(durations: Sequence[int]) -> str:
    """`2-15`, `5 or 10`, `5`: a model's clip lengths in seconds."""
    values = sorted(durations)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return " or ".join(map(str, values))


# The parameters every video capability has, declared once.
NegativePrompt = Annotated[
    str, Field(max_length=500, description="What to keep out, up to 500 characters."), Lean("What to keep out.")
]
PromptExtend = Annotated[bool, Field(description="Let the service enrich the prompt."), Lean("")]
Watermark = Annotated[bool, Field(description="Add the 'AI生成' watermark."), Lean("")]


def duration_field(capability: str) -> Any:
    """The `duration` parameter (`duration: Annotated[int, duration_field(NAME)] = 5`). Any length the brief
    offers passes the schema, so that a length a model lacks is refused by `check_duration`, naming the lengths it
    makes and the models that make the one asked for."""
    lengths = per_model(capability, lambda m: durations_text(video_model(m).durations))
    return Field(ge=1, le=60, description=f"Seconds of video: {lengths}.")


def multi_shot_field(capability: str) -> Any:
    """The `multi_shot` parameter (`multi_shot: Annotated[bool | None, multi_shot_field(NAME)] = None`)."""
    return Field(description=f"{takes(capability, _has_shots)} only: several shots (true) or one (false).")


def check_duration(model: VideoModel, duration: int | None, capability: str) -> int:
    """The clip length to send: `duration` if the model makes it (default 5), else an InputError naming the models
    that do."""
    seconds = 5 if duration is None else duration
    if seconds not in model.durations:
        others = takes(capability, lambda m: seconds in m.durations)
        hint = f"; {others} make {seconds}-second clips" if others else ""
        raise InputError(
            "duration", duration, f"{model.name} makes {durations_text(model.durations)}-second clips only{hint}"
        )
    return seconds


def nearest_size(width: int, height: int, sizes: Sequence[str]) -> str:
    """The allowed size closest in shape and pixel count together (log ratios, added)."""

    def distance(size: str) -> float:
        w, h = (int(side) for side in size.split("*"))
        return abs(math.log((w / h) / (width / height))) + abs(math.log((w * h) / (width * height)))

    return min(sizes, key=distance)


def frame_parameters(
    model: VideoModel, resolution: str | None, ratio: str | None, capability: str, *, param: str = "resolution"
) -> dict[str, str]:
    """The parameters that set the frame: `size` (W*H) for the models that take one, else `resolution` (a tier),
    with `ratio` for the models that take one. `resolution` may be given as W*H or as a tier (720P) for either."""
    if ratio is not None and not model.ratios and model.resolutions:
        raise InputError(
            "ratio",
            ratio,
            f"{model.name} takes no ratio (its frame follows the input image); {_ratio_models(capability)} take one",
        )
    tier = resolution.strip().upper() if resolution and resolution.strip().upper().endswith("P") else None
    if not model.resolutions:
        return {"size": _size(model, resolution, tier, ratio, param)}
    if tier is None and resolution:
        size = _canonical_size(resolution, model, param)
        match = next((key for key, value in model.size_table.items() if value == size), None)
        if match is None or not model.ratios:
            raise InputError(
                param, resolution, f"{model.name} takes a resolution tier, one of {', '.join(model.resolutions)}"
            )
        tier, ratio = match
    tier = tier or model.default_resolution
    if tier not in model.resolutions:
        raise InputError(param, resolution, f"{model.name} makes {', '.join(model.resolutions)} only")
    chosen = {"resolution": tier}
    if model.ratios:
        ratio = ratio or "16:9"
        if ratio not in model.ratios:
            raise InputError("ratio", ratio, f"{model.name} takes the ratios {', '.join(model.ratios)}")
        chosen["ratio"] = ratio
    return chosen


def _ratio_models(capability: str) -> str:
    return takes(capability, lambda m: bool(m.ratios)) or "no model here"


def _canonical_size(text: str, model: VideoModel, param: str) -> str:
    allowed = ", ".join(model.sizes) if not model.resolutions else ", ".join(model.resolutions)
    width, height = parse_size(text, param=param, allowed=f"{model.name} makes {allowed}")
    return f"{width}*{height}"


def _size(model: VideoModel, resolution: str | None, tier: str | None, ratio: str | None, param: str) -> str:
    """The W*H to send to a model that takes `size`: the default, the given W*H, or a tier (and ratio) looked up."""
    allowed = ", ".join(model.sizes)
    if tier is not None:
        size = model.size_table.get((tier, ratio or "16:9"))
        if size is None or size not in model.sizes:
            raise InputError(param, resolution, f"{model.name} makes only {allowed}")
        return size
    if not resolution:
        if ratio is None:
            return model.default_size
        default_tier = next(key[0] for key, value in model.size_table.items() if value == model.default_size)
        return _size(model, default_tier, default_tier, ratio, param)
    size = _canonical_size(resolution, model, param)
    if size not in model.sizes:
        width, height = (int(side) for side in size.split("*"))
        hint = nearest_size(width, height, model.sizes) if width and height else model.sizes[0]
        raise InputError(param, resolution, f"{model.name} makes only {allowed}; the nearest is {hint}")
    return size


def driving_audio(
    model: VideoModel, audio: str | None, context: BuildContext, capability: str
) -> str | LocalFile | None:
    """The driving audio track to send (a URL, or a local WAV/MP3 to upload), if the model takes one."""
    if audio is None or not audio.strip():
        return None
    if not model.driving_audio:
        raise InputError("audio", audio, f"{model.name} takes no audio track; {takes(capability, _has_audio)} do")
    return media_input(
        audio,
        context.input_roots,
        param="audio",
        suffixes=DRIVING_AUDIO_SUFFIXES,
        max_bytes=DRIVING_AUDIO_MAX_BYTES,
        what="a WAV or MP3 audio track",
    )


def _has_audio(model: VideoModel) -> bool:
    return model.driving_audio


def shot_type(model: VideoModel, multi_shot: bool | None, prompt_extend: bool, capability: str) -> str | None:
    """`shot_type` to send: "multi" or "single" for the models that take it, only with prompt_extend."""
    if multi_shot is None:
        return None
    if not model.multi_shot:
        raise InputError(
            "multi_shot", multi_shot, f"{model.name} takes no multi_shot; {takes(capability, _has_shots)} do"
        )
    if multi_shot and not prompt_extend:
        raise InputError("multi_shot", multi_shot, "multi-shot clips need prompt_extend=true")
    return "multi" if multi_shot else "single"


def _has_shots(model: VideoModel) -> bool:
    return model.multi_shot


def is_clip(value: str) -> bool | None:
    """Whether an input names a clip (True), an image (False), or cannot be told (None), by its type or suffix."""
    text = value.strip().lower()
    if text.startswith("data:"):
        return text.startswith("data:video/") if text.startswith(("data:video/", "data:image/")) else None
    suffix = Path(text.split("?", 1)[0].split("#", 1)[0]).suffix
    if suffix in CLIP_SUFFIXES:
        return True
    return False if suffix in IMAGE_SUFFIXES else None


def clip_input(value: str, context: BuildContext, *, param: str) -> str | LocalFile:
    """A reference clip (MP4 or MOV): a URL, or a local file to upload."""
    return media_input(
        value, context.input_roots, param=param, suffixes=CLIP_SUFFIXES, max_bytes=CLIP_MAX_BYTES, what="an MP4 or MOV"
    )


class VideoParams(Protocol):
    """What every video capability's parameters have."""

    negative_prompt: str
    prompt_extend: bool
    watermark: bool
    seed: int | None


def video_request(
    model: VideoModel,
    context: BuildContext,
    params: VideoParams,
    body_input: dict[str, Any],
    parameters: dict[str, Any],
    warnings: Sequence[str] = (),
) -> Request:
    """A video task: the inputs given and `parameters` (the frame, duration, shots), then negative_prompt,
    prompt_extend, watermark and the seed (None left out everywhere)."""
    body_input = {**body_input, "negative_prompt": params.negative_prompt.strip() or None}
    parameters = {**parameters, "prompt_extend": params.prompt_extend, "watermark": params.watermark}
    parameters["seed"] = params.seed
    body = {
        "model": model.wire_name(context.region),
        "input": {name: value for name, value in body_input.items() if value is not None},
        "parameters": {name: value for name, value in parameters.items() if value is not None},
    }
    return Request(
        model=model, path=model.endpoint.path, body=body, warnings=tuple(warnings), usage=_billed(parameters)
    )


def _billed(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """What a video task is billed by, in its usage's words: the seconds (`duration`; `video_duration` on the older
    models), and the tier (`SR`) or the size."""
    usage: dict[str, Any] = {"duration": parameters["duration"], "video_duration": parameters["duration"]}
    tier = parameters.get("resolution")
    if isinstance(tier, str) and tier[:-1].isdigit():
        usage["SR"] = int(tier[:-1])
    if parameters.get("size"):
        usage["size"] = parameters["size"]
    return usage


def parse_video(snapshot: TaskSnapshot) -> list[OutputFile]:
    """A finished video task's clip: its URL, prompts and length (usage `duration`, or `video_duration` on older
    models)."""
    url = snapshot.output.get("video_url")
    if not url:
        return []
    duration = snapshot.usage.get("output_video_duration") or snapshot.usage.get("video_duration")
    if duration is None:
        duration = snapshot.usage.get("duration")
    return [
        OutputFile(
            index=0,
            kind="video",
            url=url,
            url_expires_at=url_expiry(url, snapshot.output.get("end_time")),
            orig_prompt=snapshot.output.get("orig_prompt"),
            actual_prompt=snapshot.output.get("actual_prompt"),
            duration_seconds=float(duration) if isinstance(duration, int | float) and duration else None,
        )
    ]
