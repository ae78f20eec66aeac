"""The video lineup: each model's rules as data (sizes or resolution tiers, durations, prompt
limits, inputs, sound, the usage block of its family), from the official API references
(text-to-video 2.1-2.6 and 2.7, image-to-video 2.1-2.6 and 2.7, keyframe-to-video 2.2,
reference-to-video 2.6 and 2.7) and the SDK 2.0.2. `video` and its ``video_*`` helpers read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .image_inputs import ImageRules

MB = 1024 * 1024

TIER_SIZES: Mapping[str, tuple[int, int]] = {"480P": (832, 480), "720P": (1280, 720), "1080P": (1920, 1080)}
"""The 16:9 size of each resolution tier: its pixel count is the tier's target area."""
TIER_SR: Mapping[str, int] = {"480P": 480, "720P": 720, "1080P": 1080}
"""``usage.SR`` of each tier."""

LEGACY_SIZES: Mapping[str, tuple[str, ...]] = {
    "480P": ("832*480", "480*832", "624*624"),
    "720P": ("1280*720", "720*1280", "960*960", "1088*832", "832*1088"),
    "1080P": ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"),
}
"""``parameters.size`` values of the 2.1-2.6 text-to-video and 2.6 reference-to-video models, per tier."""

RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
WAN27_SIZES: Mapping[str, Mapping[str, tuple[int, int]]] = {
    "720P": {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960), "4:3": (1104, 832), "3:4": (832, 1104)},
    "1080P": {
        "16:9": (1920, 1080),
        "9:16": (1080, 1920),
        "1:1": (1440, 1440),
        "4:3": (1648, 1248),
        "3:4": (1248, 1648),
    },
}
"""Output size of the 2.7 models per ``resolution`` and ``ratio`` (4:3 differs from the legacy sizes)."""

IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "WEBP")
"""Input pictures of every video model: JPEG/JPG, PNG, BMP, WEBP."""
LEGACY_SMALL_IMAGE = ImageRules(IMAGE_FORMATS, (240, 8000), 10 * MB)
"""``img_url`` of wan2.2/wanx2.1 image-to-video and both keyframe models' frames."""
LEGACY_LARGE_IMAGE = ImageRules(IMAGE_FORMATS, (240, 8000), 20 * MB)
"""``img_url`` of wan2.5/wan2.6 image-to-video."""
R2V26_IMAGE = ImageRules(IMAGE_FORMATS, (240, 5000), 10 * MB)
"""Pictures in wan2.6-r2v ``reference_urls``."""
WAN27_IMAGE = ImageRules(IMAGE_FORMATS, (240, 8000), 20 * MB)
"""wan2.7 first/last frames and reference images (also 1:8 to 8:1)."""
WAN27_MAX_ASPECT = 8.0

Kind = Literal["t2v", "i2v", "kf2v", "r2v"]
Usage = Literal["ratio", "standard", "sr", "video_sr", "v26", "v27"]
"""The usage block of a family:

* ``ratio`` — ``video_duration``, ``video_ratio`` ("W*H"), ``video_count`` (wanx2.1/2.2/2.5 text-to-video);
* ``standard`` — ``video_duration``, ``video_ratio`` "standard", ``video_count`` (wanx2.1 image/keyframe);
* ``sr`` — ``video_count``, ``duration``, ``SR`` (wan2.2/2.5 image-to-video);
* ``video_sr`` — ``video_duration``, ``video_count``, ``SR`` (wan2.2 keyframe);
* ``v26`` — ``duration`` (billed: input + output), [``size``,] ``input_video_duration``,
  ``output_video_duration``, ``video_count``, ``SR`` (wan2.6; ``size`` for text and reference);
* ``v27`` — as ``v26`` without ``size`` [and with ``ratio`` for text and reference] (wan2.7).
"""


@dataclass(frozen=True)
class AudioRules:
    """An audio input: WAV or MP3 of ``seconds`` (inclusive), at most ``max_bytes``."""

    seconds: tuple[float, float]
    max_bytes: int = 15 * MB


@dataclass(frozen=True)
class VideoRules:
    """A video input: MP4 or MOV of ``seconds`` (inclusive), sides in ``sides``, aspect within 1:8-8:1."""

    seconds: tuple[float, float]
    sides: tuple[int, int] = (240, 4096)
    max_aspect: float | None = WAN27_MAX_ASPECT
    max_bytes: int = 100 * MB


LEGACY_AUDIO = AudioRules((3, 30))
"""``audio_url`` of wan2.5/wan2.6 text- and image-to-video: 3-30 s."""
WAN27_AUDIO = AudioRules((2, 30))
"""wan2.7-t2v ``audio_url`` and wan2.7-i2v ``driving_audio``: 2-30 s."""
WAN27_VOICE = AudioRules((1, 10))
"""wan2.7-r2v ``reference_voice``: 1-10 s."""
R2V26_VIDEO = VideoRules((1, 30), max_aspect=None)
"""Videos in wan2.6-r2v ``reference_urls``: 1-30 s (no side or aspect limit documented)."""
R2V26_LEGACY_VIDEO = VideoRules((2, 30), max_aspect=None)
"""The deprecated wan2.6-r2v ``reference_video_urls``: 2-30 s."""
WAN27_CLIP = VideoRules((2, 10))
"""wan2.7-i2v ``first_clip``: 2-10 s."""
WAN27_REFERENCE_VIDEO = VideoRules((1, 30))
"""wan2.7-r2v ``reference_video``: 1-30 s."""


@dataclass(frozen=True)
class VideoModel:
    """One model's rules."""

    name: str
    kind: Kind
    family: str
    """``wanx2.1``, ``wan2.2``, ``wan2.5``, ``wan2.6`` or ``wan2.7``."""
    prompt_limit: int
    durations: tuple[int, ...]
    """The allowed whole seconds (a contiguous range unless the model lists values)."""
    usage: Usage
    default_duration: int = 5
    sizes: tuple[str, ...] = ()
    """``parameters.size`` values, for the models that take ``size``."""
    default_size: str = "1920*1080"
    resolutions: tuple[str, ...] = ()
    """``parameters.resolution`` tiers, for the models that take ``resolution``."""
    default_resolution: str = "1080P"
    sound: bool = False
    """Makes video with sound (and takes an ``audio_url`` where the kind has one)."""
    shot_type: bool = False
    actual_prompt: bool = True
    """Answers ``actual_prompt`` when ``prompt_extend`` is on (not wan2.6/2.7)."""
    image: ImageRules = LEGACY_SMALL_IMAGE

    @property
    def is_range(self) -> bool:
        return self.durations == tuple(range(self.durations[0], self.durations[-1] + 1))


def _sizes(*tiers: str) -> tuple[str, ...]:
    return tuple(size for tier in tiers for size in LEGACY_SIZES[tier])


def _span(low: int, high: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1))


_FIVE = (5,)

TEXT_TO_VIDEO = (
    VideoModel("wan2.2-t2v-plus", "t2v", "wan2.2", 800, _FIVE, "ratio", sizes=_sizes("480P", "1080P")),
    VideoModel(
        "wan2.5-t2v-preview", "t2v", "wan2.5", 1500, (5, 10), "ratio", sizes=_sizes("480P", "720P", "1080P"),
        sound=True,
    ),
    VideoModel(
        "wan2.6-t2v", "t2v", "wan2.6", 1500, _span(2, 15), "v26", sizes=_sizes("720P", "1080P"), sound=True,
        shot_type=True, actual_prompt=False,
    ),
    VideoModel(
        "wan2.7-t2v", "t2v", "wan2.7", 5000, _span(2, 15), "v27", resolutions=("720P", "1080P"), sound=True,
        actual_prompt=False, image=WAN27_IMAGE,
    ),
)  # fmt: skip

_TURBO = ("480P", "720P")
_PLUS = ("720P",)


def _wanx21(name: str, kind: Kind, durations: tuple[int, ...], tiers: tuple[str, ...]) -> VideoModel:
    """A wanx2.1 image or keyframe model: 800 characters, default 720P, "standard" usage."""
    return VideoModel(name, kind, "wanx2.1", 800, durations, "standard", resolutions=tiers, default_resolution="720P")


IMAGE_TO_VIDEO = (
    _wanx21("wanx2.1-i2v-turbo", "i2v", _span(3, 5), _TURBO),
    _wanx21("wan2.1-i2v-turbo", "i2v", _span(3, 5), _TURBO),
    _wanx21("wanx2.1-i2v-plus", "i2v", _FIVE, _PLUS),
    _wanx21("wan2.1-i2v-plus", "i2v", _FIVE, _PLUS),
    VideoModel(
        "wan2.2-i2v-flash", "i2v", "wan2.2", 800, _FIVE, "sr", resolutions=("480P", "720P", "1080P"),
        default_resolution="720P",
    ),
    VideoModel("wan2.2-i2v-plus", "i2v", "wan2.2", 800, _FIVE, "sr", resolutions=("480P", "1080P")),
    VideoModel(
        "wan2.5-i2v-preview", "i2v", "wan2.5", 1500, (5, 10), "sr", resolutions=("480P", "720P", "1080P"),
        sound=True, image=LEGACY_LARGE_IMAGE,
    ),
    VideoModel(
        "wan2.6-i2v", "i2v", "wan2.6", 1500, _span(2, 15), "v26", resolutions=("720P", "1080P"), sound=True,
        shot_type=True, actual_prompt=False, image=LEGACY_LARGE_IMAGE,
    ),
    VideoModel(
        "wan2.7-i2v", "i2v", "wan2.7", 5000, _span(2, 15), "v27", resolutions=("720P", "1080P"), sound=True,
        actual_prompt=False, image=WAN27_IMAGE,
    ),
)  # fmt: skip

KEYFRAME_TO_VIDEO = (
    _wanx21("wanx2.1-kf2v-plus", "kf2v", _FIVE, _PLUS),
    _wanx21("wan2.1-kf2v-plus", "kf2v", _FIVE, _PLUS),
    VideoModel(
        "wan2.2-kf2v-flash", "kf2v", "wan2.2", 800, _FIVE, "video_sr", resolutions=("480P", "720P", "1080P"),
        default_resolution="720P",
    ),
)  # fmt: skip

REFERENCE_TO_VIDEO = (
    VideoModel(
        "wan2.6-r2v", "r2v", "wan2.6", 1500, _span(2, 10), "v26", sizes=_sizes("720P", "1080P"), sound=True,
        shot_type=True, actual_prompt=False, image=R2V26_IMAGE,
    ),
    VideoModel(
        "wan2.7-r2v", "r2v", "wan2.7", 5000, _span(2, 15), "v27", resolutions=("720P", "1080P"), sound=True,
        actual_prompt=False, image=WAN27_IMAGE,
    ),
)  # fmt: skip

DATED = {"wan2.7-t2v-2026-04-25": "wan2.7-t2v", "wan2.7-i2v-2026-04-25": "wan2.7-i2v"}
"""Dated snapshots, served with the rules of the model they snapshot."""


def _catalogue(*models: VideoModel) -> dict[str, VideoModel]:
    found = {model.name: model for model in models}
    for dated, alias in DATED.items():
        if alias in found:
            found[dated] = found[alias]
    return found


VIDEO_GENERATION_MODELS: Mapping[str, VideoModel] = _catalogue(*TEXT_TO_VIDEO, *IMAGE_TO_VIDEO, *REFERENCE_TO_VIDEO)
"""The lineup on ``aigc/video-generation/video-synthesis`` (beside the wanx2.1 text-to-video models)."""
KEYFRAME_MODELS: Mapping[str, VideoModel] = _catalogue(*KEYFRAME_TO_VIDEO)
"""The models of ``aigc/image2video/video-synthesis``."""
