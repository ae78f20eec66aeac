"""Text-to-video (protocol §7): ``POST /api/v1/services/aigc/video-generation/video-synthesis``, async only.

Models ``wanx2.1-t2v-turbo`` and ``wanx2.1-t2v-plus`` (also the international ``wan2.1-t2v-turbo`` /
``wan2.1-t2v-plus``). ``parameters.size`` is one of the model's sizes — turbo: the 480P sizes
``832*480``, ``480*832``, ``624*624`` and the 720P sizes ``1280*720``, ``720*1280``, ``960*960``,
``1088*832``, ``832*1088``; plus: the 720P ones only; default ``1280*720`` — anything else is a 400
listing the allowed sizes. ``duration`` must be 5 (``Range of duration should be [5, 5]``).
``prompt`` is required and truncated to 800 characters, ``negative_prompt`` (``input`` or
``parameters``) to 500; ``seed``, ``prompt_extend`` (default true) and ``watermark`` are checked;
unknown parameters (``resolution``, ``fps``, …) and ``input.extend_prompt`` (sent by the SDK) are
ignored.

The SUCCEEDED task carries ``video_url`` (a signed URL of ``1.mp4``), ``orig_prompt``,
``actual_prompt`` (with ``prompt_extend``) and ``usage`` ``{"video_duration": 5, "video_ratio":
size, "video_count": 1}``, and no ``task_metrics``, as in the real capture. The video is real:
a 5-second, 30 fps H.264 MP4 of the requested size showing a still picture derived from the
prompt and seed (see `mp4`). Triggers in the prompt: ``[emulator:fail]`` (and, n being 1,
``[emulator:partial]``) end the task FAILED with ``InternalError.Algo``; ``[emulator:inspect]``
is a 400 ``DataInspectionFailed`` at submission.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .envelope import ServiceError
from .gateway import ServiceCall
from .images import render_yuv420
from .mp4 import pcm_macroblocks, write_mp4
from .params import flag, listed_size, number_in, optional_text, required_text, seed
from .task_api import submit_route
from .tasks import ResultFile, Success, TaskFailure
from .text2image import FAIL_TRIGGER, INSPECT_TRIGGER, PARTIAL_TRIGGER, extend_prompt

SERVICE = "aigc/video-generation/video-synthesis"
DURATION = 5
FPS = 30
PROMPT_LIMIT = 800
NEGATIVE_LIMIT = 500
DEFAULT_SIZE = "1280*720"
SIZES_480P = ("832*480", "480*832", "624*624")
SIZES_720P = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")

MODELS: Mapping[str, tuple[str, ...]] = {
    "wanx2.1-t2v-turbo": SIZES_480P + SIZES_720P,
    "wanx2.1-t2v-plus": SIZES_720P,
    "wan2.1-t2v-turbo": SIZES_480P + SIZES_720P,
    "wan2.1-t2v-plus": SIZES_720P,
}

_ALGO_FAILURE = TaskFailure("InternalError.Algo", "Inference error: emulated failure.")


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
        failure = _ALGO_FAILURE if FAIL_TRIGGER in prompt or PARTIAL_TRIGGER in prompt else None
        actual = extend_prompt(prompt) if extend else None
        return VideoJob(prompt, actual, f"{width}*{height}", picture_seed, failure)


ROUTES = [submit_route(SERVICE, TextToVideo())]
