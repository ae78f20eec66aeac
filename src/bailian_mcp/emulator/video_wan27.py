"""The wan2.7 video models ("new protocol"): their requests are checked inside the task.

The service accepts a wan2.7 submission and reports a bad request on the task: it ends FAILED
with ``InvalidParameter`` and a schema-validator message naming the field, e.g. ``Field
required: input.media`` (reported by clients for wan2.7-i2v sent ``img_url``, and for
wan2.7-r2v sent without ``media``). The emulator does the same for every wan2.7 rule, in that
style: ``Field required: input.prompt``, ``Input should be '720P' or '1080P':
parameters.resolution``, ``Input should be less than or equal to 15: parameters.duration``,
``Input should be a valid boolean: parameters.watermark``. Values are read as that validator
reads them in lax mode: an integer may be given as ``5``, ``5.0`` or ``"5"``, a boolean as
``true``/``1``/``"yes"``. An input file that cannot be fetched fails the task with
``Failed to download <url>``; one of the wrong format, length or size with the message of
`video_inputs`. Unknown fields (``size``, ``shot_type``, ``audio``, the SDK 1.x
``extend_prompt`` and ``function``, a media item's ``reference_description``) are ignored.

* wan2.7-t2v (`plan_text`): ``prompt`` required (blank: ``prompt must contain words``),
  truncated to 5000 characters; optional ``audio_url`` (WAV/MP3, 2-30 s, 15 MB);
  ``resolution`` 720P/1080P (default 1080P) and ``ratio`` 16:9 (default), 9:16, 1:1, 4:3, 3:4
  give the size (`video_models.WAN27_SIZES`); ``duration`` [2, 15], default 5.
* wan2.7-i2v (`plan_image`): ``media`` required, items ``{type, url}`` with ``type`` one of
  ``first_frame``, ``last_frame``, ``driving_audio``, ``first_clip``, each at most once, in one
  of the six documented combinations (first_frame; +driving_audio; +last_frame;
  +last_frame+driving_audio; first_clip; first_clip+last_frame). Frames are pictures ([240, 8000],
  1:8 to 8:1, 20 MB; URL, ``data:`` or ``oss://``), ``driving_audio`` WAV/MP3 of 2-30 s,
  ``first_clip`` MP4/MOV of 2-10 s ([240, 4096], 1:8 to 8:1, 100 MB). ``prompt`` optional.
  ``resolution`` as above; the size follows the first frame (or clip); ``duration`` [2, 15] is
  the total length — with a clip, its seconds are ``input_video_duration``.
* wan2.7-r2v (`plan_references`): ``prompt`` required; ``media`` of 1 to 5 ``reference_image``
  / ``reference_video`` items (pictures as above; videos MP4/MOV of 1-30 s) and at most one
  ``first_frame``, each reference with an optional ``reference_voice`` (WAV/MP3, 1-10 s);
  ``resolution`` and ``ratio`` as for text (``ratio`` is ignored when a first frame sets the
  aspect); ``duration`` [2, 10] with a reference video, else [2, 15]; reference video seconds
  are billed up to 5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .envelope import ServiceError
from .gateway import ServiceCall
from .params import SEED_MAX, seed
from .tasks import TaskFailure
from .video_inputs import Clip, Picture, download_failure, load_clip, load_picture, load_sound
from .video_jobs import VideoTask, prompt_fields, refuse_inspected, scripted_failure, usage_block
from .video_models import (
    RATIOS,
    WAN27_AUDIO,
    WAN27_CLIP,
    WAN27_MAX_ASPECT,
    WAN27_REFERENCE_VIDEO,
    WAN27_SIZES,
    WAN27_VOICE,
    VideoModel,
)
from .video_render import Scene, fit_tier

I2V_TYPES = ("first_frame", "last_frame", "driving_audio", "first_clip")
I2V_COMBINATIONS = (
    frozenset({"first_frame"}),
    frozenset({"first_frame", "driving_audio"}),
    frozenset({"first_frame", "last_frame"}),
    frozenset({"first_frame", "last_frame", "driving_audio"}),
    frozenset({"first_clip"}),
    frozenset({"first_clip", "last_frame"}),
)
R2V_TYPES = ("reference_image", "reference_video", "first_frame")
MAX_REFERENCES = 5
BILLED_INPUT_SECONDS = 5
WITH_VIDEO_MAX_SECONDS = 10

_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


class Invalid(Exception):
    """A rule the request breaks: the task will fail with this message."""

    def __init__(self, message: str, loc: str | None = None) -> None:
        super().__init__(message if loc is None else f"{message}: {loc}")
        self.message = str(self)


def _literal(values: Sequence[str]) -> str:
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _choice(payload: Mapping[str, Any], name: str, values: Sequence[str], default: str, loc: str) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str) or value not in values:
        raise Invalid(f"Input should be {_literal(values)}", f"{loc}.{name}")
    return value


def _integer(payload: Mapping[str, Any], name: str, default: int, low: int, high: int, loc: str) -> int:
    """A lax integer in [low, high]."""
    value = payload.get(name, default)
    where = f"{loc}.{name}"
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise Invalid("Input should be a valid integer, got a number with a fractional part", where)
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise Invalid("Input should be a valid integer, unable to parse string as an integer", where) from None
    else:
        raise Invalid("Input should be a valid integer", where)
    if number < low:
        raise Invalid(f"Input should be greater than or equal to {low}", where)
    if number > high:
        raise Invalid(f"Input should be less than or equal to {high}", where)
    return number


def _boolean(payload: Mapping[str, Any], name: str, default: bool, loc: str) -> bool:
    """A lax boolean."""
    value = payload.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    detail = ", unable to interpret input" if isinstance(value, str) else ""
    raise Invalid(f"Input should be a valid boolean{detail}", f"{loc}.{name}")


def _text(payload: Mapping[str, Any], name: str, *, required: bool, loc: str) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise Invalid("Field required", f"{loc}.{name}")
        return None
    if not isinstance(value, str):
        raise Invalid("Input should be a valid string", f"{loc}.{name}")
    return value


def _prompt(model: VideoModel, payload: Mapping[str, Any], *, required: bool) -> str | None:
    prompt = _text(payload, "prompt", required=required, loc="input")
    if required and prompt is not None and not prompt.strip():
        raise Invalid("prompt must contain words")
    _text(payload, "negative_prompt", required=False, loc="input")
    return None if prompt is None else prompt[: model.prompt_limit]


def _common(params: Mapping[str, Any], prompt: str | None) -> tuple[str, int, int, bool]:
    """``resolution``, ``duration`` (up to 15; narrower limits are checked later), ``seed``, ``prompt_extend``."""
    tier = _choice(params, "resolution", ("720P", "1080P"), "1080P", "parameters")
    seconds = _integer(params, "duration", 5, 2, 15, "parameters")
    given = None if params.get("seed") is None else _integer(params, "seed", 0, 0, SEED_MAX, "parameters")
    picture_seed = seed({} if given is None else {"seed": given}, prompt or "")
    extend = _boolean(params, "prompt_extend", True, "parameters")
    _boolean(params, "watermark", False, "parameters")
    return tier, seconds, picture_seed, extend


def _media(payload: Mapping[str, Any], types: Sequence[str]) -> list[dict[str, Any]]:
    """``input.media``: a list of ``{type, url}`` items of the given types."""
    media = payload.get("media")
    if media is None:
        raise Invalid("Field required", "input.media")
    if not isinstance(media, list):
        raise Invalid("Input should be a valid list", "input.media")
    for index, item in enumerate(media):
        where = f"input.media.{index}"
        if not isinstance(item, dict):
            raise Invalid("Input should be a valid dictionary", where)
        if "type" not in item:
            raise Invalid("Field required", f"{where}.type")
        if item["type"] not in types:
            raise Invalid(f"Input should be {_literal(types)}", f"{where}.type")
        _text(item, "url", required=True, loc=where)
        _text(item, "reference_voice", required=False, loc=where)
    return media


def _failed(failure: TaskFailure) -> VideoTask:
    return VideoTask(Scene("", 0), (16, 16), 0, {}, {}, failure)


async def _guarded(model: VideoModel, call: ServiceCall, plan: Any) -> VideoTask:
    """Run a wan2.7 planner: a broken rule or an unusable input file fails the task instead."""
    try:
        task: VideoTask = await plan(model, call)
    except Invalid as invalid:
        return _failed(TaskFailure("InvalidParameter", invalid.message))
    except _InputRefused as refused:
        return _failed(TaskFailure("InvalidParameter", refused.message))
    return task


class _InputRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _read(reader: Any, ref: object, *args: Any) -> Any:
    """An input through one of the `video_inputs` loaders; their 400s become task failures."""
    try:
        return await reader(ref, *args)
    except ServiceError as error:
        if error.status != 400:
            raise
        raise _InputRefused(download_failure(error, ref)) from None


def _ratio_of(size: tuple[int, int]) -> str:
    """The documented ratio nearest to an output size (for a size set by a first frame)."""
    aspect = size[0] / size[1]
    return min(RATIOS, key=lambda ratio: abs(aspect - int(ratio.split(":")[0]) / int(ratio.split(":")[1])))


async def _plan_text(model: VideoModel, call: ServiceCall) -> VideoTask:
    prompt = _prompt(model, call.input, required=True)
    audio = _text(call.input, "audio_url", required=False, loc="input")
    ratio = _choice(call.parameters, "ratio", RATIOS, "16:9", "parameters")
    tier, seconds, picture_seed, extend = _common(call.parameters, prompt)
    refuse_inspected(prompt)
    if audio is not None:
        await _read(lambda ref: load_sound(call.sources, ref, WAN27_AUDIO, "audio_url"), audio)
    size = WAN27_SIZES[tier][ratio]
    usage = usage_block(model, size, seconds, tier, ratio=ratio)
    fields = prompt_fields(model, prompt, extend)
    return VideoTask(Scene(prompt or "", picture_seed), size, seconds, usage, fields, scripted_failure(prompt))


async def _plan_image(model: VideoModel, call: ServiceCall) -> VideoTask:
    prompt = _prompt(model, call.input, required=False)
    media = _media(call.input, I2V_TYPES)
    types = [item["type"] for item in media]
    for kind in I2V_TYPES:
        if types.count(kind) > 1:
            raise Invalid(f"Value error, each media type may appear at most once, got {types.count(kind)} {kind}")
    if frozenset(types) not in I2V_COMBINATIONS:
        allowed = "; ".join("+".join(t for t in I2V_TYPES if t in combo) for combo in I2V_COMBINATIONS)
        raise Invalid(f"Value error, unsupported media combination [{', '.join(types)}], supported: {allowed}")
    tier, seconds, picture_seed, extend = _common(call.parameters, prompt)
    refuse_inspected(prompt)
    by_type = {item["type"]: item["url"] for item in media}
    sources = call.sources
    first: Picture | None = None
    clip: Clip | None = None
    insets: list[bytes] = []
    if "first_frame" in by_type:
        first = await _read(
            lambda ref: load_picture(sources, ref, model.image, "first_frame", WAN27_MAX_ASPECT), by_type["first_frame"]
        )
    if "first_clip" in by_type:
        clip = await _read(lambda ref: load_clip(sources, ref, WAN27_CLIP, "first_clip"), by_type["first_clip"])
    if "last_frame" in by_type:
        last: Picture = await _read(
            lambda ref: load_picture(sources, ref, model.image, "last_frame", WAN27_MAX_ASPECT), by_type["last_frame"]
        )
        insets.append(last.preview)
    if "driving_audio" in by_type:
        await _read(lambda ref: load_sound(sources, ref, WAN27_AUDIO, "driving_audio"), by_type["driving_audio"])
    shape = first if first is not None else clip
    assert shape is not None  # every combination has a first frame or a first clip
    size = fit_tier(shape.width, shape.height, tier)
    input_seconds = 0
    if clip is not None:
        insets.insert(0, clip.digest)
        input_seconds = min(seconds, round(clip.seconds))
    usage = usage_block(model, size, seconds, tier, input_seconds=input_seconds)
    scene = Scene(prompt or "", picture_seed, base=None if first is None else first.preview, insets=tuple(insets))
    return VideoTask(scene, size, seconds, usage, prompt_fields(model, prompt, extend), scripted_failure(prompt))


async def _plan_references(model: VideoModel, call: ServiceCall) -> VideoTask:
    prompt = _prompt(model, call.input, required=True)
    media = _media(call.input, R2V_TYPES)
    references = [item for item in media if item["type"] != "first_frame"]
    frames = [item for item in media if item["type"] == "first_frame"]
    if not 1 <= len(references) <= MAX_REFERENCES:
        raise Invalid(
            f"Value error, media must hold 1 to {MAX_REFERENCES} reference_image and reference_video items, "
            f"got {len(references)}"
        )
    if len(frames) > 1:
        raise Invalid(f"Value error, media may hold at most one first_frame, got {len(frames)}")
    ratio = _choice(call.parameters, "ratio", RATIOS, "16:9", "parameters")
    tier, seconds, picture_seed, extend = _common(call.parameters, prompt)
    if any(item["type"] == "reference_video" for item in references) and seconds > WITH_VIDEO_MAX_SECONDS:
        raise Invalid(
            f"Input should be less than or equal to {WITH_VIDEO_MAX_SECONDS} when a reference_video is given",
            "parameters.duration",
        )
    refuse_inspected(prompt)
    sources = call.sources
    insets: list[bytes] = []
    input_seconds = 0.0
    for item in references:
        if item["type"] == "reference_image":
            picture: Picture = await _read(
                lambda ref: load_picture(sources, ref, model.image, "reference_image", WAN27_MAX_ASPECT), item["url"]
            )
            insets.append(picture.preview)
        else:
            clip: Clip = await _read(
                lambda ref: load_clip(sources, ref, WAN27_REFERENCE_VIDEO, "reference_video"), item["url"]
            )
            insets.append(clip.digest)
            input_seconds += clip.seconds
        if item.get("reference_voice") is not None:
            await _read(lambda ref: load_sound(sources, ref, WAN27_VOICE, "reference_voice"), item["reference_voice"])
    size = WAN27_SIZES[tier][ratio]
    base = None
    if frames:
        first: Picture = await _read(
            lambda ref: load_picture(sources, ref, model.image, "first_frame", WAN27_MAX_ASPECT), frames[0]["url"]
        )
        size = fit_tier(first.width, first.height, tier)
        ratio = _ratio_of(size)
        base = first.preview
    billed = min(BILLED_INPUT_SECONDS, round(input_seconds, 3))
    usage = usage_block(model, size, seconds, tier, input_seconds=billed, ratio=ratio)
    scene = Scene(prompt or "", picture_seed, base=base, insets=tuple(insets))
    return VideoTask(scene, size, seconds, usage, prompt_fields(model, prompt, extend), scripted_failure(prompt))


async def plan_text(model: VideoModel, call: ServiceCall) -> VideoTask:
    """wan2.7-t2v (and its dated snapshot)."""
    return await _guarded(model, call, _plan_text)


async def plan_image(model: VideoModel, call: ServiceCall) -> VideoTask:
    """wan2.7-i2v (and its dated snapshot): the ``media`` protocol only."""
    return await _guarded(model, call, _plan_image)


async def plan_references(model: VideoModel, call: ServiceCall) -> VideoTask:
    """wan2.7-r2v."""
    return await _guarded(model, call, _plan_references)
