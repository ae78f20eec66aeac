"""Reference-to-video: 1-5 references (images or short clips of a character or an object) and a prompt become an
MP4 in which they appear.

wan2.6-r2v takes `input.reference_urls` (the prompt calls them character1, character2, … in order) and a W*H
`size`; wan2.7-r2v takes `media` items `reference_image` / `reference_video` (the prompt says Image 1, Video 1, …)
and a resolution tier with a ratio. Whether a reference is an image or a clip is told by its type or suffix.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, Params, Request
from bailian_mcp.capabilities.fields import FileInput, Lean, Seed, largest, list_from_text, model_field, per_model
from bailian_mcp.capabilities.images import prompt_text
from bailian_mcp.capabilities.videos import (
    CLIP_SUFFIXES,
    IMAGE_SUFFIXES,
    NegativePrompt,
    PromptExtend,
    Watermark,
    check_duration,
    clip_input,
    duration_field,
    frame_parameters,
    frames_text,
    is_clip,
    multi_shot_field,
    parse_video,
    shot_type,
    video_model,
    video_request,
)
from bailian_mcp.catalog import VideoModel
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile, image_input

NAME = "reference_to_video"
PROMPT_MAX = largest(NAME, lambda m: video_model(m).prompt_max)
MAX_REFERENCES = largest(NAME, lambda m: video_model(m).references)


class ReferenceToVideoParams(Params):
    references: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=MAX_REFERENCES,
            description="The characters or objects to show, one per reference, as images (JPG/PNG/BMP/WEBP) or "
            "short clips (MP4/MOV): http(s) URLs, data: URIs (images) or absolute local paths (uploaded for you). "
            "How many: "
            + per_model(
                NAME,
                lambda m: f"{video_model(m).references} in all, at most {video_model(m).reference_videos} clips",
            )
            + ".",
        ),
        FileInput(),
        Lean("Images or clips: URLs or local paths."),
    ]
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=PROMPT_MAX,
            description="What happens, naming the references in order: character1, character2 (wan2.6-r2v) or "
            "Image 1, Video 1 (wan2.7-r2v). Each model reads at most "
            + per_model(NAME, lambda m: video_model(m).prompt_max)
            + " characters.",
        ),
        Lean("What happens, naming the references in order."),
    ]
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    resolution: Annotated[
        str | None,
        Field(
            description="Frame size, as W*H or a tier (720P, 1080P, with ratio): " + per_model(NAME, frames_text) + "."
        ),
        Lean("W*H or a tier (720P, 1080P)."),
    ] = None
    ratio: Annotated[
        str | None,
        Field(description="Aspect ratio with a tier resolution: 16:9 (default), 9:16, 1:1, 4:3, 3:4."),
        Lean("With a tier: 16:9, 9:16, 1:1, 4:3 or 3:4."),
    ] = None
    duration: Annotated[int, duration_field(NAME), Lean("Seconds of video.")] = 5
    multi_shot: Annotated[bool | None, multi_shot_field(NAME), Lean("Several shots.")] = None
    negative_prompt: NegativePrompt = ""
    prompt_extend: PromptExtend = True
    watermark: Watermark = False
    seed: Seed = None

    _references_as_list = field_validator("references", mode="before")(
        list_from_text(otherwise="item", blank=[], example='["https://example.com/hero.png"]')
    )


WAN27_CLIP_DURATION_MAX = 10  # wan2.7-r2v: 2-10 s when a reference is a clip


def _references(model: VideoModel, values: list[str], context: BuildContext) -> list[tuple[bool, str | LocalFile]]:
    """Each reference checked, as (is a clip, what to send)."""
    checked: list[tuple[bool, str | LocalFile]] = []
    for position, value in enumerate(values):
        param = "references" if len(values) == 1 else f"references[{position}]"
        clip = is_clip(value)
        if clip is None:
            raise InputError(
                param,
                value,
                "cannot tell whether this is an image or a clip: give a file or URL ending in "
                f"{', '.join(sorted(IMAGE_SUFFIXES | CLIP_SUFFIXES))}, or a data:image/ URI",
            )
        if clip:
            checked.append((True, clip_input(value, context, param=param)))
        else:
            checked.append((False, image_input(value, model.input_images, context.input_roots, param=param).reference))
    clips = sum(1 for is_video, _ in checked if is_video)
    if (
        len(checked) > model.references
        or clips > model.reference_videos
        or len(checked) - clips > model.reference_images
    ):
        raise InputError(
            "references",
            f"{len(checked)} references ({clips} clips)",
            f"{model.name} takes at most {model.references} references, of which at most {model.reference_videos} "
            f"clips and {model.reference_images} images",
        )
    return checked


def build(params: ReferenceToVideoParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, VideoModel)
    frame = frame_parameters(model, params.resolution, params.ratio, NAME)
    duration = check_duration(model, params.duration, NAME)
    shots = shot_type(model, params.multi_shot, params.prompt_extend, NAME)
    text, warnings = prompt_text(params, model, what="the clip")
    references = _references(model, params.references, context)
    body_input: dict[str, Any] = {"prompt": text}
    if model.inputs == "media":
        if any(clip for clip, _ in references) and duration > WAN27_CLIP_DURATION_MAX:
            raise InputError(
                "duration",
                params.duration,
                f"{model.name} makes at most {WAN27_CLIP_DURATION_MAX}-second clips when a reference is a clip",
            )
        body_input["media"] = [
            {"type": "reference_video" if clip else "reference_image", "url": url} for clip, url in references
        ]
    else:
        body_input["reference_urls"] = [url for _, url in references]
    return video_request(
        model, context, params, body_input, {**frame, "duration": duration, "shot_type": shots}, warnings
    )


REFERENCE_TO_VIDEO = Capability(
    name=NAME,
    title="Reference to video",
    summary=(
        "An MP4 clip starring 1-5 references (images or clips of characters or objects) from a prompt (Wanxiang "
        "2.6/2.7). Takes minutes. Costs per second."
    ),
    description=(
        "Make a video clip (MP4) in which the characters or objects of 1-5 references appear and act as the "
        "prompt says (wan2.6-r2v: call them character1, character2, … in order; wan2.7-r2v: Image 1, Video 1, …). "
        "References are images or short clips, as URLs, data URIs (images) or local paths. Videos take minutes, "
        "longer than a call usually waits: expect a job to follow until it is done; then the MP4 is saved locally "
        "and its URL returned. Costs money per second of video (clips given as references count too)."
    ),
    params_model=ReferenceToVideoParams,
    build=build,
    parse=parse_video,
    file_suffix=".mp4",
    command="ref2video",
    group="video",
)
