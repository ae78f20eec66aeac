"""The task of a video model: one MP4 (``1.mp4``), the output fields, the family's usage block.

A `VideoTask` is what every video planner produces (see `video_legacy` and `video_wan27`).
Its SUCCEEDED output is ``video_url`` (the signed URL of ``1.mp4``), then ``orig_prompt``
(when a prompt was given) and ``actual_prompt`` (families that answer it, with
``prompt_extend``); there is no ``task_metrics``. `usage_block` builds the family's usage
(see `video_models.Usage`). The test triggers of every image and video service apply:
``[emulator:fail]`` and ``[emulator:partial]`` in the prompt end the task FAILED with
``InternalError.Algo``; ``[emulator:inspect]`` is a 400 ``DataInspectionFailed`` at submission.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .envelope import ServiceError
from .task_faults import EMULATED_FAILURE
from .tasks import ResultFile, Success, TaskFailure
from .text2image import FAIL_TRIGGER, INSPECT_TRIGGER, PARTIAL_TRIGGER, extend_prompt
from .video_models import TIER_SR, VideoModel
from .video_render import Scene, render


@dataclass(frozen=True)
class VideoTask:
    """A validated video request: one clip of ``size`` for ``seconds``, or a failure."""

    scene: Scene
    size: tuple[int, int]
    seconds: int
    usage: dict[str, Any] = field(hash=False)
    fields: dict[str, Any] = field(hash=False)
    """Output fields after ``video_url`` (``orig_prompt``, ``actual_prompt``)."""
    failure: TaskFailure | None = None

    @property
    def metrics_total(self) -> None:
        return None

    @property
    def files(self) -> Sequence[ResultFile]:
        if self.failure is not None:
            return ()
        width, height = self.size
        return (ResultFile("1.mp4", "video/mp4", functools.partial(render, self.scene, width, height, self.seconds)),)

    def success(self, urls: Sequence[str]) -> Success:
        return Success({"video_url": urls[0], **self.fields}, dict(self.usage), 1)


def refuse_inspected(prompt: str | None) -> None:
    """The ``[emulator:inspect]`` trigger: 400 ``DataInspectionFailed`` at submission."""
    if prompt and INSPECT_TRIGGER in prompt:
        raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")


def scripted_failure(prompt: str | None) -> TaskFailure | None:
    """The ``[emulator:fail]`` / ``[emulator:partial]`` triggers (one video: both fail the task)."""
    if prompt and (FAIL_TRIGGER in prompt or PARTIAL_TRIGGER in prompt):
        return EMULATED_FAILURE
    return None


def prompt_fields(model: VideoModel, prompt: str | None, extend: bool) -> dict[str, Any]:
    """``orig_prompt`` (when given) and, for the families that answer it, ``actual_prompt``."""
    fields: dict[str, Any] = {}
    if prompt is not None:
        fields["orig_prompt"] = prompt
    if model.actual_prompt and extend:
        fields["actual_prompt"] = extend_prompt(prompt or "")
    return fields


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 3)


def usage_block(
    model: VideoModel,
    size: tuple[int, int],
    seconds: int,
    tier: str,
    *,
    input_seconds: float = 0,
    ratio: str | None = None,
) -> dict[str, Any]:
    """The usage of the model's family for a ``seconds``-long clip of ``size`` at ``tier``
    (``input_seconds``: billed input video, for reference and continuation)."""
    size_text = f"{size[0]}*{size[1]}"
    sr = TIER_SR[tier]
    if model.usage == "ratio":
        return {"video_duration": seconds, "video_ratio": size_text, "video_count": 1}
    if model.usage == "standard":
        return {"video_duration": seconds, "video_ratio": "standard", "video_count": 1}
    if model.usage == "sr":
        return {"video_count": 1, "duration": seconds, "SR": sr}
    if model.usage == "video_sr":
        return {"video_duration": seconds, "video_count": 1, "SR": sr}
    output = seconds - input_seconds if model.kind == "i2v" else seconds
    total = input_seconds + output
    # wan2.6-r2v answers a float (10.0), the others whole seconds as integers (10)
    usage: dict[str, Any] = {
        "duration": float(total) if model.usage == "v26" and model.kind == "r2v" else _seconds(total)
    }
    if model.usage == "v26" and model.kind != "i2v":
        usage["size"] = size_text
    usage.update(
        input_video_duration=_seconds(input_seconds),
        output_video_duration=_seconds(output),
        video_count=1,
    )
    if model.usage == "v27" and ratio is not None:
        usage["ratio"] = ratio
    usage["SR"] = sr
    return usage
