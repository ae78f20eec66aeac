"""Video generation (protocol §7, lineup 2026): two async endpoints, real MP4 results.

``POST /api/v1/services/aigc/video-generation/video-synthesis`` serves

* text-to-video: ``wanx2.1-t2v-turbo`` / ``wanx2.1-t2v-plus`` (and ``wan2.1-*``, below),
  ``wan2.2-t2v-plus``, ``wan2.5-t2v-preview``, ``wan2.6-t2v`` (``parameters.size``) and
  ``wan2.7-t2v`` (``resolution`` + ``ratio``);
* image-to-video on the ``img_url`` protocol: ``wanx2.1-i2v-turbo``, ``wanx2.1-i2v-plus`` (and
  ``wan2.1-*``), ``wan2.2-i2v-flash``, ``wan2.2-i2v-plus``, ``wan2.5-i2v-preview``, ``wan2.6-i2v``
  (``audio_url`` for 2.5/2.6); ``wan2.7-i2v`` on the ``media`` protocol only;
* reference-to-video: ``wan2.6-r2v`` (``reference_urls``, ``size``) and ``wan2.7-r2v``
  (``media``, ``resolution`` + ``ratio``);

and ``POST /api/v1/services/aigc/image2video/video-synthesis`` the keyframe models
``wanx2.1-kf2v-plus`` (``wan2.1-kf2v-plus``) and ``wan2.2-kf2v-flash``; a model sent to the
other endpoint is "Model not exist.". The dated ``wan2.7-t2v-2026-04-25`` and
``wan2.7-i2v-2026-04-25`` follow their models' rules. Each model's rules (sizes or tiers,
durations, prompt limits, inputs, sound, usage) are data in `video_models`; the 2.2-2.6 models
are checked at submission (`video_legacy`: a 400 ``InvalidParameter``), the wan2.7 ones inside
the task (`video_wan27`: a FAILED task, as the service does). Input files are read as in
`sources` and checked in `video_inputs`. A SUCCEEDED task carries ``video_url`` (``1.mp4``),
``orig_prompt``, ``actual_prompt`` where the family answers it, and the family's ``usage``
(`video_jobs`); the video is a real H.264 MP4 of the output size, the asked duration, 30 fps,
showing a still picture (`video_render`).

The wanx2.1 text-to-video rules (this module): ``parameters.size`` is one of the model's
sizes — turbo: the 480P sizes ``832*480``, ``480*832``, ``624*624`` and the 720P sizes
``1280*720``, ``720*1280``, ``960*960``, ``1088*832``, ``832*1088``; plus: the 720P ones only;
default ``1280*720`` — anything else is a 400 listing the allowed sizes. ``duration`` must be
5 (``Range of duration should be [5, 5]``). ``prompt`` is required and truncated to 800
characters, ``negative_prompt`` (``input`` or ``parameters``) to 500; ``seed``,
``prompt_extend`` (default true) and ``watermark`` are checked; unknown parameters
(``resolution``, ``fps``, …) and ``input.extend_prompt`` (sent by the SDK) are ignored. The
SUCCEEDED task carries ``video_url``, ``orig_prompt``, ``actual_prompt`` (with
``prompt_extend``) and ``usage`` ``{"video_duration": 5, "video_ratio": size, "video_count": 1}``,
and no ``task_metrics``, as in the real capture.

Triggers in the prompt, for every model: ``[emulator:fail]`` (and, n being 1,
``[emulator:partial]``) end the task FAILED with ``InternalError.Algo``; ``[emulator:inspect]``
is a 400 ``DataInspectionFailed`` at submission.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from . import video_legacy, video_wan27
from .envelope import ServiceError
from .gateway import ServiceCall
from .images import render_yuv420
from .mp4 import pcm_macroblocks, write_mp4
from .params import flag, listed_size, number_in, optional_text, required_text, seed
from .task_api import submit_route
from .task_faults import EMULATED_FAILURE
from .tasks import ResultFile, Success, TaskFailure
from .text2image import FAIL_TRIGGER, INSPECT_TRIGGER, PARTIAL_TRIGGER, extend_prompt
from .video_jobs import VideoTask
from .video_models import KEYFRAME_MODELS, VIDEO_GENERATION_MODELS, VideoModel

SERVICE = "aigc/video-generation/video-synthesis"
KEYFRAME_SERVICE = "aigc/image2video/video-synthesis"
DURATION = 5
FPS = 30
PROMPT_LIMIT = 800
DEFAULT_SIZE = "1280*720"
SIZES_480P = ("832*480", "480*832", "624*624")
SIZES_720P = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")

MODELS: Mapping[str, tuple[str, ...]] = {
    "wanx2.1-t2v-turbo": SIZES_480P + SIZES_720P,
    "wanx2.1-t2v-plus": SIZES_720P,
    "wan2.1-t2v-turbo": SIZES_480P + SIZES_720P,
    "wan2.1-t2v-plus": SIZES_720P,
}


@functools.lru_cache(maxsize=4)
def render_mp4(prompt: str, picture_seed: int, width: int, height: int) -> bytes:
    """The task's video: a still picture of ``prompt`` for `DURATION` seconds."""
    planes = render_yuv420(prompt, picture_seed, width, height)
    return write_mp4(width, height, pcm_macroblocks(*planes, width, height), DURATION, FPS)


@dataclass(frozen=True)
class VideoJob:
    """A validated text-to-video request: one video, possibly a scripted failure."""

    prompt: str
    actual_prompt: str | None
    size: str
    seed: int
    failure: TaskFailure | None = None

    @property
    def metrics_total(self) -> None:
        return None

    @property
    def files(self) -> Sequence[ResultFile]:
        if self.failure is not None:
            return ()
        width, height = (int(side) for side in self.size.split("*"))
        return (ResultFile("1.mp4", "video/mp4", functools.partial(render_mp4, self.prompt, self.seed, width, height)),)

    def success(self, urls: Sequence[str]) -> Success:
        fields = {"video_url": urls[0], "orig_prompt": self.prompt}
        if self.actual_prompt is not None:
            fields["actual_prompt"] = self.actual_prompt
        usage = {"video_duration": DURATION, "video_ratio": self.size, "video_count": 1}
        return Success(fields, usage, 1)


class TextToVideo:
    """The `TaskKind` of the text-to-video endpoint."""

    models = MODELS

    def plan(self, call: ServiceCall) -> VideoJob:
        params = call.parameters
        prompt = required_text(call.input, "prompt")[:PROMPT_LIMIT]
        optional_text({**params, **call.input}, "negative_prompt")
        width, height = listed_size(params.get("size"), DEFAULT_SIZE, MODELS[call.model])
        number_in(params, "duration", DURATION, DURATION, DURATION, integer=True)
        picture_seed = seed(params, prompt)
        extend = flag(params, "prompt_extend", True)
        flag(params, "watermark", False)
        if INSPECT_TRIGGER in prompt:
            raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        failure = EMULATED_FAILURE if FAIL_TRIGGER in prompt or PARTIAL_TRIGGER in prompt else None
        actual = extend_prompt(prompt) if extend else None
        return VideoJob(prompt, actual, f"{width}*{height}", picture_seed, failure)


Planner = Callable[[VideoModel, ServiceCall], Awaitable[VideoTask]]


def _planner(model: VideoModel) -> Planner:
    if model.family == "wan2.7":
        return {"t2v": video_wan27.plan_text, "i2v": video_wan27.plan_image, "r2v": video_wan27.plan_references}[
            model.kind
        ]
    return {
        "t2v": video_legacy.plan_text,
        "i2v": video_legacy.plan_image,
        "kf2v": video_legacy.plan_keyframes,
        "r2v": video_legacy.plan_references,
    }[model.kind]


class VideoGeneration:
    """The `TaskKind` of ``aigc/video-generation/video-synthesis``: text-, image- and reference-to-video."""

    models = frozenset(MODELS) | frozenset(VIDEO_GENERATION_MODELS)

    def plan(self, call: ServiceCall) -> VideoJob | Awaitable[VideoTask]:
        if call.model in MODELS:
            return TextToVideo().plan(call)
        model = VIDEO_GENERATION_MODELS[call.model]
        return _planner(model)(model, call)


class KeyframeToVideo:
    """The `TaskKind` of ``aigc/image2video/video-synthesis``: first and last frame to video."""

    models = frozenset(KEYFRAME_MODELS)

    def plan(self, call: ServiceCall) -> Awaitable[VideoTask]:
        model = KEYFRAME_MODELS[call.model]
        return _planner(model)(model, call)


ROUTES = [submit_route(SERVICE, VideoGeneration()), submit_route(KEYFRAME_SERVICE, KeyframeToVideo())]
