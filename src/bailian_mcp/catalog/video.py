"""Video models: text-to-video."""

from __future__ import annotations

from bailian_mcp.catalog.spec import _WAN_RATE, VIDEO_480P, VIDEO_720P, ModelSpec, UnitPrice, VideoModel

MODELS: tuple[ModelSpec, ...] = (
    VideoModel(
        name="wan2.1-t2v-turbo",
        capability="text_to_video",
        summary="Wanxiang 2.1 turbo: faster and cheaper, 480P or 720P.",
        default=True,
        price=UnitPrice(0.24, "second", "video_duration"),
        rate=_WAN_RATE,
        wire_names={"cn-beijing": "wanx2.1-t2v-turbo"},
        aliases=("wanx2.1-t2v-turbo",),
        sizes=VIDEO_480P + VIDEO_720P,
        typical_seconds=120,
    ),
    VideoModel(
        name="wan2.1-t2v-plus",
        capability="text_to_video",
        summary="Wanxiang 2.1 plus: better quality, 720P.",
        price=UnitPrice(0.70, "second", "video_duration"),
        rate=_WAN_RATE,
        wire_names={"cn-beijing": "wanx2.1-t2v-plus"},
        aliases=("wanx2.1-t2v-plus",),
        typical_seconds=300,
    ),
)
