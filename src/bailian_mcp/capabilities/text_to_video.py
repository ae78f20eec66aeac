"""Text-to-video with Wanxiang 2.1-2.7 (the brief's wan2.1-t2v-* names; Beijing sends wanx2.1-t2v-*).

The brief offers `resolution`; the service calls it `parameters.size` (W*H, one of the model's sizes) on the
2.1-2.6 models, and `resolution` (a tier) plus `ratio` on wan2.7. `resolution` takes either spelling for either
kind of model. A size the service would refuse gets an error naming the nearest size that works; a duration a
model lacks, the models that make it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, Params, Request
from bailian_mcp.capabilities.fields import FileInput, Lean, Seed, largest, model_field, per_model
from bailian_mcp.capabilities.images import prompt_text
from bailian_mcp.capabilities.videos import (
    NegativePrompt,
    PromptExtend,
    Watermark,
    check_duration,
    driving_audio,
    duration_field,
    frame_parameters,
    frames_text,
    multi_shot_field,
    parse_video,
    shot_type,
    takes,
    video_model,
    video_request,
)
from bailian_mcp.catalog import VIDEO_SYNTHESIS, VideoModel

NAME = "text_to_video"
PATH = VIDEO_SYNTHESIS.path
BRIEF_PROMPT_MAX = 1000  # the brief's limit for its models
PROMPT_MAX = max(BRIEF_PROMPT_MAX, largest(NAME, lambda m: video_model(m).prompt_max))


class TextToVideoParams(Params):
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=PROMPT_MAX,
            description="What happens in the clip: subject, action, scene, camera movement, style. Each model reads "
            "at most " + per_model(NAME, lambda m: video_model(m).prompt_max) + " characters.",
        ),
        Lean("What happens in the clip."),
    ]
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    negative_prompt: NegativePrompt = ""
    resolution: Annotated[
        str | None,
        Field(
            description="Frame size, as W*H (e.g. 1280*720) or a tier (720P, 1080P, with ratio): "
            + per_model(NAME, frames_text)
            + ". Default: the model's ("
            + per_model(NAME, lambda m: video_model(m).default_size or video_model(m).default_resolution)
            + ").",
        ),
        Lean("W*H or a tier (480P, 720P, 1080P)."),
    ] = None
    ratio: Annotated[
        str | None,
        Field(description="Aspect ratio with a tier resolution: 16:9 (default), 9:16, 1:1, 4:3, 3:4."),
        Lean("With a tier: 16:9, 9:16, 1:1, 4:3 or 3:4."),
    ] = None
    # Any length the brief offers passes the schema, so that a length a model lacks is refused by `build` with
    # the lengths it makes and the models that make the one asked for.
    duration: Annotated[int, duration_field(NAME), Lean("Seconds of video.")] = 5
    audio: Annotated[
        str | None,
        Field(
            description=f"{takes(NAME, lambda m: m.driving_audio)} only: an audio track (WAV or MP3 URL or local "
            "file) for the clip to follow; without it these models make their own sound."
        ),
        FileInput(),
        Lean("Audio track: URL or local file."),
    ] = None
    multi_shot: Annotated[bool | None, multi_shot_field(NAME), Lean("Several shots.")] = None
    prompt_extend: PromptExtend = True
    watermark: Watermark = False
    seed: Seed = None


def build(params: TextToVideoParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, VideoModel)
    frame = frame_parameters(model, params.resolution, params.ratio, NAME)
    duration = check_duration(model, params.duration, NAME)
    audio = driving_audio(model, params.audio, context, NAME)
    shots = shot_type(model, params.multi_shot, params.prompt_extend, NAME)
    text, warnings = prompt_text(params, model, what="the clip")
    body_input = {"prompt": text, "audio_url": audio}
    return video_request(
        model, context, params, body_input, {**frame, "duration": duration, "shot_type": shots}, warnings
    )


TEXT_TO_VIDEO = Capability(
    name=NAME,
    title="Text to video",
    summary=(
        "An MP4 clip from a prompt (Wanxiang 2.1-2.7; up to 15 s, sound and several shots on the newest). Takes "
        "minutes. Costs per second."
    ),
    description=(
        "Generate a video clip (MP4, 30 fps) from a text prompt with Wanxiang 2.1 to 2.7: 5-second silent clips "
        "on 2.1/2.2, up to 10 s with sound on 2.5, 2-15 s with sound (and multi-shot stories) on 2.6 and 2.7. "
        "Videos take minutes, longer than a call usually waits: expect a job to follow until it is done; then "
        "the MP4 is saved locally and its URL returned. Costs money per second of video."
    ),
    params_model=TextToVideoParams,
    build=build,
    parse=parse_video,
    file_suffix=".mp4",
    command="text2video",
    group="video",
    batch_sections=("video_tasks",),
)
