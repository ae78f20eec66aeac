"""The 2.2-2.6 video models ("legacy protocol"): their requests are checked at submission.

Every refusal here is a 400 ``InvalidParameter`` before any task exists, like the wanx2.1
text-to-video endpoint's. Common rules: ``prompt`` (required for text and reference models,
optional for image and keyframe models, ignored with a ``template``) is truncated to the model's
limit, ``negative_prompt`` (in ``input`` or ``parameters``) must be a string (it is truncated to
500 characters); ``seed`` in [0, 2147483647], ``prompt_extend`` (default true) and ``watermark``
(default false) booleans; ``duration`` an integer the model allows (``Range of duration should
be [2, 15]``, ``The duration is not match the allowed duration [5, 10]``); ``shot_type`` (wan2.6
only) ``single`` or ``multi``. Parameters a model does not document (``audio``, ``resolution``
on a ``size`` model, ``shot_type`` elsewhere, ``audio_setting``, ...) and the SDK 1.x extras in
``input`` (``extend_prompt``, ``function``, ``prompt: null``) are ignored.

* text-to-video (`plan_text`): ``size`` from the model's list (``The size is not match the
  allowed size [...]``); ``audio_url`` read and checked for the models with sound.
* image-to-video (`plan_image`): ``img_url`` required, a JPEG/PNG/BMP/WEBP picture with sides
  in [240, 8000] (10 MB for wanx2.1/wan2.2, 20 MB for wan2.5/2.6; URL, ``data:`` URI or
  ``oss://``); ``resolution`` from the model's tiers; the output follows the picture's aspect
  ratio (`video_render.fit_tier`); ``audio_url`` for wan2.5/2.6.
* keyframe-to-video (`plan_keyframes`): ``first_frame_url`` required, ``last_frame_url``
  optional (both 10 MB pictures); ``resolution``; duration 5.
* wan2.6-r2v (`plan_references`): ``reference_urls`` (or the deprecated
  ``reference_video_urls``, videos only) of 1 to 5 entries, each a picture ([240, 5000], 10 MB)
  or an MP4/MOV video (1-30 s; 2-30 s in ``reference_video_urls``), at most 3 videos; ``size``;
  duration [2, 10]; reference video seconds are billed (up to 5) as ``input_video_duration``.

Audio inputs are WAV or MP3 of 3-30 s and at most 15 MB (see `video_inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .envelope import invalid_parameter
from .gateway import ServiceCall
from .params import flag, is_int, listed_size, optional_text, required_text, seed
from .video_inputs import Clip, Picture, load_clip, load_picture, load_reference, load_sound
from .video_jobs import VideoTask, prompt_fields, refuse_inspected, scripted_failure, usage_block
from .video_models import (
    LEGACY_AUDIO,
    LEGACY_SIZES,
    LEGACY_SMALL_IMAGE,
    R2V26_LEGACY_VIDEO,
    R2V26_VIDEO,
    VideoModel,
)
from .video_render import Scene, fit_tier

SHOT_TYPES = ("single", "multi")
MAX_REFERENCES = 5
MAX_REFERENCE_VIDEOS = 3
BILLED_INPUT_SECONDS = 5


def _missing(name: str) -> Exception:
    return invalid_parameter(f"Required parameter({name}) missing or invalid, please check the request parameters.")


def duration(model: VideoModel, params: Mapping[str, Any]) -> int:
    """``duration``: an integer the model allows (its default when absent)."""
    value = params.get("duration", model.default_duration)
    if is_int(value) and value in model.durations:
        return int(value)
    if model.is_range:
        raise invalid_parameter(f"Range of duration should be [{model.durations[0]}, {model.durations[-1]}]")
    raise invalid_parameter(f"The duration is not match the allowed duration {list(model.durations)}")


def resolution(model: VideoModel, params: Mapping[str, Any]) -> str:
    """``resolution``: one of the model's tiers (its default when absent)."""
    value = params.get("resolution", model.default_resolution)
    if isinstance(value, str) and value in model.resolutions:
        return value
    raise invalid_parameter(f"The resolution is not match the allowed resolution {list(model.resolutions)}")


def _common(model: VideoModel, call: ServiceCall, prompt: str | None) -> tuple[int, bool]:
    """Checks shared by every model: negative prompt, seed, flags, shot type. (seed, prompt_extend)"""
    params = call.parameters
    optional_text({**params, **call.input}, "negative_prompt")
    picture_seed = seed(params, prompt or "")
    extend = flag(params, "prompt_extend", True)
    flag(params, "watermark", False)
    if model.shot_type and params.get("shot_type", "single") not in SHOT_TYPES:
        raise invalid_parameter(f"The shot_type is not match the allowed shot_type {list(SHOT_TYPES)}")
    return picture_seed, extend


def _optional_prompt(model: VideoModel, payload: Mapping[str, Any]) -> str | None:
    """An optional prompt, truncated; ignored when a ``template`` (effect) is given."""
    prompt = optional_text(payload, "prompt")
    if optional_text(payload, "template"):
        return None
    return None if prompt is None else prompt[: model.prompt_limit]


def _tier_of(size: tuple[int, int]) -> str:
    text = f"{size[0]}*{size[1]}"
    return next(tier for tier, sizes in LEGACY_SIZES.items() if text in sizes)


async def _audio(model: VideoModel, call: ServiceCall) -> None:
    if model.sound and call.input.get("audio_url") is not None:
        await load_sound(call.sources, call.input["audio_url"], LEGACY_AUDIO, "audio_url")


async def plan_text(model: VideoModel, call: ServiceCall) -> VideoTask:
    """wan2.2-t2v-plus, wan2.5-t2v-preview, wan2.6-t2v."""
    prompt = required_text(call.input, "prompt")[: model.prompt_limit]
    size = listed_size(call.parameters.get("size"), model.default_size, model.sizes)
    seconds = duration(model, call.parameters)
    picture_seed, extend = _common(model, call, prompt)
    refuse_inspected(prompt)
    await _audio(model, call)
    usage = usage_block(model, size, seconds, _tier_of(size))
    fields = prompt_fields(model, prompt, extend)
    return VideoTask(Scene(prompt, picture_seed), size, seconds, usage, fields, scripted_failure(prompt))


async def plan_image(model: VideoModel, call: ServiceCall) -> VideoTask:
    """The ``img_url`` image-to-video models (wanx2.1 to wan2.6)."""
    prompt = _optional_prompt(model, call.input)
    if call.input.get("img_url") is None:
        raise _missing("img_url")
    tier = resolution(model, call.parameters)
    seconds = duration(model, call.parameters)
    picture_seed, extend = _common(model, call, prompt)
    refuse_inspected(prompt)
    picture = await load_picture(call.sources, call.input["img_url"], model.image, "img_url")
    await _audio(model, call)
    size = fit_tier(picture.width, picture.height, tier)
    usage = usage_block(model, size, seconds, tier)
    scene = Scene(prompt or "", picture_seed, base=picture.preview)
    return VideoTask(scene, size, seconds, usage, prompt_fields(model, prompt, extend), scripted_failure(prompt))


async def plan_keyframes(model: VideoModel, call: ServiceCall) -> VideoTask:
    """wanx2.1-kf2v-plus (wan2.1-kf2v-plus) and wan2.2-kf2v-flash."""
    prompt = _optional_prompt(model, call.input)
    if call.input.get("first_frame_url") is None:
        raise _missing("first_frame_url")
    tier = resolution(model, call.parameters)
    seconds = duration(model, call.parameters)
    picture_seed, extend = _common(model, call, prompt)
    refuse_inspected(prompt)
    first = await load_picture(call.sources, call.input["first_frame_url"], LEGACY_SMALL_IMAGE, "first_frame_url")
    insets: tuple[bytes, ...] = ()
    if call.input.get("last_frame_url") is not None:
        last = await load_picture(call.sources, call.input["last_frame_url"], LEGACY_SMALL_IMAGE, "last_frame_url")
        insets = (last.preview,)
    size = fit_tier(first.width, first.height, tier)
    usage = usage_block(model, size, seconds, tier)
    scene = Scene(prompt or "", picture_seed, base=first.preview, insets=insets)
    return VideoTask(scene, size, seconds, usage, prompt_fields(model, prompt, extend), scripted_failure(prompt))


def _reference_list(payload: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The field holding the references (``reference_urls``, else the deprecated list) and its entries."""
    name = "reference_urls" if payload.get("reference_urls") is not None else "reference_video_urls"
    value = payload.get(name)
    if value is None:
        raise _missing("reference_urls")
    if not isinstance(value, list) or not value:
        raise invalid_parameter(f"Parameter {name} must be a non-empty list of URLs.")
    limit = MAX_REFERENCES if name == "reference_urls" else MAX_REFERENCE_VIDEOS
    if len(value) > limit:
        raise invalid_parameter(f"The number of {name} must be in [1, {limit}], got {len(value)}.")
    return name, value


async def plan_references(model: VideoModel, call: ServiceCall) -> VideoTask:
    """wan2.6-r2v: subjects from pictures and videos in ``reference_urls``."""
    prompt = required_text(call.input, "prompt")[: model.prompt_limit]
    name, refs = _reference_list(call.input)
    size = listed_size(call.parameters.get("size"), model.default_size, model.sizes)
    seconds = duration(model, call.parameters)
    picture_seed, _ = _common(model, call, prompt)
    refuse_inspected(prompt)
    loaded: list[Picture | Clip] = []
    for ref in refs:
        if name == "reference_urls":
            loaded.append(await load_reference(call.sources, ref, model.image, R2V26_VIDEO, name))
        else:
            loaded.append(await load_clip(call.sources, ref, R2V26_LEGACY_VIDEO, name))
    clips = [item for item in loaded if isinstance(item, Clip)]
    if len(clips) > MAX_REFERENCE_VIDEOS:
        raise invalid_parameter(
            f"The number of videos in {name} must be at most {MAX_REFERENCE_VIDEOS}, got {len(clips)}."
        )
    input_seconds = min(BILLED_INPUT_SECONDS, round(sum(clip.seconds for clip in clips), 3))
    usage = usage_block(model, size, seconds, _tier_of(size), input_seconds=input_seconds)
    insets = tuple(item.preview if isinstance(item, Picture) else item.digest for item in loaded)
    scene = Scene(prompt, picture_seed, insets=insets)
    return VideoTask(scene, size, seconds, usage, prompt_fields(model, prompt, False), scripted_failure(prompt))
