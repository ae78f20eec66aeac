"""Image-to-video: a first frame (and, on keyframe models, a last frame) and a prompt become an MP4.

Three protocols, by model (`catalog.VideoModel.inputs`): `img_url` (wanx2.1 to wan2.6 on video-synthesis, with
`audio_url` for a driving track where the model takes one), `media` items (wan2.7-i2v: first_frame, last_frame,
driving_audio), and `first_frame_url` + `last_frame_url` on the keyframe endpoint (wanx2.1-kf2v-plus,
wan2.2-kf2v-flash). The frame follows the image's aspect ratio; `resolution` picks the tier.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, Params, Request
from bailian_mcp.capabilities.fields import FileInput, Lean, Seed, largest, model_field, per_model
from bailian_mcp.capabilities.images import long_prompt_warnings
from bailian_mcp.capabilities.videos import (
    NegativePrompt,
    PromptExtend,
    Watermark,
    check_duration,
    driving_audio,
    duration_field,
    frame_parameters,
    multi_shot_field,
    parse_video,
    shot_type,
    takes,
    video_model,
    video_request,
)
from bailian_mcp.catalog import VideoModel
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import image_input

NAME = "image_to_video"
PROMPT_MAX = largest(NAME, lambda m: video_model(m).prompt_max)
KEYFRAME_MODELS = takes(NAME, lambda m: m.last_frame)
AUDIO_MODELS = takes(NAME, lambda m: m.driving_audio)


class ImageToVideoParams(Params):
    image: Annotated[
        str,
        Field(
            min_length=1,
            description="The first frame: an http(s) URL, a data:image/...;base64 URI, or an absolute path of a local "
            "file (uploaded for you). JPG/PNG/BMP/WEBP. The clip takes its aspect ratio.",
        ),
        FileInput(),
        Lean("First frame: URL, data URI or local path."),
    ]
    prompt: Annotated[
        str,
        Field(
            max_length=PROMPT_MAX,
            description="What happens in the clip: motion, camera, mood (optional). Each model reads at most "
            + per_model(NAME, lambda m: video_model(m).prompt_max)
            + " characters.",
        ),
        Lean("What happens in the clip."),
    ] = ""
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    last_frame: Annotated[
        str | None,
        Field(description=f"{KEYFRAME_MODELS} only: the last frame, for a clip from the first to it."),
        FileInput(),
        Lean("Last frame (keyframe models)."),
    ] = None
    audio: Annotated[
        str | None,
        Field(
            description=f"{AUDIO_MODELS} only: an audio track (WAV or MP3 URL or local "
            "file) for the clip to follow (speech, music); without it these models make their own sound."
        ),
        FileInput(),
        Lean("Audio track: URL or local file."),
    ] = None
    resolution: Annotated[
        str | None,
        Field(
            description="Resolution tier: "
            + per_model(NAME, lambda m: ", ".join(video_model(m).resolutions))
            + ". Default: "
            + per_model(NAME, lambda m: video_model(m).default_resolution)
            + ".",
        ),
        Lean("480P, 720P or 1080P."),
    ] = None
    duration: Annotated[int, duration_field(NAME), Lean("Seconds of video.")] = 5
    multi_shot: Annotated[bool | None, multi_shot_field(NAME), Lean("Several shots.")] = None
    negative_prompt: NegativePrompt = ""
    prompt_extend: PromptExtend = True
    watermark: Watermark = False
    seed: Seed = None


def build(params: ImageToVideoParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, VideoModel)
    if params.last_frame and not model.last_frame:
        raise InputError(
            "last_frame", params.last_frame, f"{model.name} takes no last frame; {KEYFRAME_MODELS} take one"
        )
    frame = frame_parameters(model, params.resolution, None, NAME)
    duration = check_duration(model, params.duration, NAME)
    audio = driving_audio(model, params.audio, context, NAME)
    shots = shot_type(model, params.multi_shot, params.prompt_extend, NAME)
    first = image_input(params.image, model.input_images, context.input_roots, param="image").reference
    last = (
        image_input(params.last_frame, model.input_images, context.input_roots, param="last_frame").reference
        if params.last_frame
        else None
    )
    prompt = params.prompt.strip() or None
    warnings = long_prompt_warnings(prompt, model.name, model.prompt_max)
    body_input: dict[str, Any] = {"prompt": prompt}
    if model.inputs == "media":
        media = [("first_frame", first), ("last_frame", last), ("driving_audio", audio)]
        body_input["media"] = [{"type": kind, "url": url} for kind, url in media if url is not None]
    elif model.inputs == "frames":
        body_input.update(first_frame_url=first, last_frame_url=last)
    else:
        body_input.update(img_url=first, audio_url=audio)
    return video_request(
        model, context, params, body_input, {**frame, "duration": duration, "shot_type": shots}, warnings
    )


IMAGE_TO_VIDEO = Capability(
    name=NAME,
    title="Image to video",
    summary=(
        "Animate an image into an MP4 clip (Wanxiang 2.1-2.7): first frame, prompt, a last frame on keyframe models, "
        "an audio track on the newest. Takes minutes. Costs per second."
    ),
    description=(
        "Turn an image into a video clip (MP4, 30 fps) with Wanxiang: the image is the first frame and the clip "
        f"takes its aspect ratio. Keyframe models ({KEYFRAME_MODELS}) also take a last frame and move from one to "
        f"the other; {AUDIO_MODELS} make sound, or follow a driving audio track (speech, music). Give images and "
        "audio as URLs, data URIs (images) or local paths. Videos "
        "take minutes, longer than a call usually waits: expect a job to follow until it is done; then the MP4 "
        "is saved locally and its URL returned. Costs money per second of video."
    ),
    params_model=ImageToVideoParams,
    build=build,
    parse=parse_video,
    file_suffix=".mp4",
    command="image2video",
    group="video",
)
