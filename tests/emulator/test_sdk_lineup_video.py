"""The official ``dashscope`` SDK 2.0.2 against the emulator's 2026 video lineup: 1.x ``VideoSynthesis.call`` /
``async_call`` + ``wait`` for every new model (kf2v on its own endpoint), the v2 ``dashscope.Client().videos``
resource for the models it routes to the right endpoint, and local files the SDK uploads itself (upload policy,
form upload, ``oss://`` keys and ``X-DashScope-OssResourceResolve``).

Tasks finish at once (no pending or running time), so ``wait`` answers on its first poll; inputs given by URL
come from a loopback file server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashscope
import httpx
import pytest
from dashscope import VideoSynthesis
from dashscope.common.error import InvalidTask
from dashscope.v2.errors import DashScopeError

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.mp4 import pcm_macroblocks, write_mp4
from bailian_mcp.emulator.video_render import fit_tier
from tests.support.emulator_app import KEY
from tests.support.emulators import FileServer
from tests.support.media import mp3_bytes, mp4_facts, png_bytes, wav_bytes

pytestmark = pytest.mark.slow

INSTANT = EmulatorConfig(
    pending_seconds=0, running_seconds=0, submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0
)
I2V_SUBMIT = "/api/v1/services/aigc/video-generation/video-synthesis"
KF2V_SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis"


def clip_bytes(width: int = 320, height: int = 240, seconds: int = 3) -> bytes:
    luma, chroma = bytes([81]) * (width * height), bytes([90]) * (width * height // 4)
    return write_mp4(width, height, pcm_macroblocks(luma, chroma, chroma, width, height), seconds, 30)


@pytest.fixture(scope="module")
def instant() -> Iterator[RunningEmulator]:
    with start_in_thread(INSTANT) as emu:
        yield emu


@pytest.fixture
def emu(instant: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", instant.base_url)
    return instant


@pytest.fixture(scope="module")
def urls(files: FileServer) -> dict[str, str]:
    made = {
        "frame": png_bytes(750, 1000),
        "wide": png_bytes(800, 600),
        "wav": wav_bytes(3, 8000),
        "mp3": mp3_bytes(160),
        "clip": clip_bytes(),
    }
    return {name: files.add(f"sdk-video/{name}", data) for name, data in made.items()}


@pytest.fixture
def local(tmp_path: Path) -> dict[str, Path]:
    """Local inputs the SDK uploads itself (a name with a space and Chinese, as users have)."""
    paths = {"frame": tmp_path / "首帧 frame.png", "wav": tmp_path / "voice.wav", "clip": tmp_path / "clip.mp4"}
    paths["frame"].write_bytes(png_bytes(640, 480))
    paths["wav"].write_bytes(wav_bytes(3, 8000))
    paths["clip"].write_bytes(clip_bytes(480, 640, 3))
    return paths


def client(emu: RunningEmulator) -> Any:
    return dashscope.Client(api_key=KEY, base_url=emu.base_url)


def facts(url: str) -> dict[str, object]:
    return mp4_facts(httpx.get(url).content)


def submissions(emu: RunningEmulator) -> list[dict[str, Any]]:
    return [e for e in emu.state.requests if str(e["path"]).endswith("/video-synthesis")]


def upload_flow(emu: RunningEmulator, since: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in emu.state.requests[since:]]


def done(response: Any) -> Any:
    """A finished 1.x response, checked SUCCEEDED."""
    assert response.status_code == 200, response
    assert response.output.task_status == "SUCCEEDED", response
    return response


# --- 1.x VideoSynthesis -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kwargs", "size", "seconds"),
    [
        ("wan2.2-t2v-plus", {"size": "832*480"}, (832, 480), 5),
        ("wan2.5-t2v-preview", {"size": "1280*720", "duration": 10, "negative_prompt": "blur"}, (1280, 720), 10),
        (
            "wan2.6-t2v",
            {
                "size": "1280*720",
                "duration": 3,
                "shot_type": "multi",
                "prompt_extend": True,
                "audio": True,
                "watermark": False,
                "seed": 1,
            },
            (1280, 720),
            3,
        ),
        ("wan2.7-t2v", {"resolution": "720P", "ratio": "1:1", "duration": 2}, (960, 960), 2),
    ],
)
def test_1x_text_to_video(
    emu: RunningEmulator, model: str, kwargs: dict[str, Any], size: tuple[int, int], seconds: int
) -> None:
    response = done(VideoSynthesis.call(model=model, prompt="一只小猫在月光下奔跑", api_key=KEY, **kwargs))
    assert facts(response.output.video_url) == {"seconds": float(seconds), "size": size, "frames": seconds * 30}
    if model in ("wan2.2-t2v-plus", "wan2.5-t2v-preview"):
        assert (response.usage.video_duration, response.usage.video_ratio) == (seconds, f"{size[0]}*{size[1]}")
    else:
        assert (response.usage["duration"], response.usage["output_video_duration"]) == (seconds, seconds)
        assert response.usage["SR"] == 720


@pytest.mark.parametrize(
    ("model", "kwargs", "tier"),
    [
        ("wanx2.1-i2v-turbo", {"duration": 3, "resolution": "480P"}, "480P"),
        ("wanx2.1-i2v-plus", {}, "720P"),
        ("wan2.1-i2v-turbo", {}, "720P"),
        ("wan2.1-i2v-plus", {"template": "flying"}, "720P"),
        ("wan2.2-i2v-flash", {"resolution": "480P"}, "480P"),
        ("wan2.2-i2v-plus", {"resolution": "480P", "negative_prompt": "flowers"}, "480P"),
        ("wan2.5-i2v-preview", {"resolution": "480P", "duration": 10, "audio_url": "MP3"}, "480P"),
        ("wan2.6-i2v", {"resolution": "720P", "duration": 2, "shot_type": "multi", "audio_url": "WAV"}, "720P"),
    ],
)
def test_1x_image_to_video(
    emu: RunningEmulator, urls: dict[str, str], model: str, kwargs: dict[str, Any], tier: str
) -> None:
    kwargs = {key: urls[value.lower()] if value in ("MP3", "WAV") else value for key, value in kwargs.items()}
    submitted = VideoSynthesis.async_call(
        model=model, prompt="the cat turns", img_url=urls["frame"], api_key=KEY, **kwargs
    )
    assert submitted.status_code == 200 and submitted.output.task_status == "PENDING", submitted
    response = done(VideoSynthesis.wait(submitted, api_key=KEY))
    seconds = kwargs.get("duration", 5)
    assert facts(response.output.video_url) == {
        "seconds": float(seconds),
        "size": fit_tier(750, 1000, tier),
        "frames": seconds * 30,
    }
    body = submissions(emu)[-1]["body"]
    assert body["input"]["img_url"] == urls["frame"] and body["input"]["extend_prompt"] is True


def test_1x_uploads_local_image_and_audio(emu: RunningEmulator, local: dict[str, Path]) -> None:
    since = len(emu.state.requests)
    response = done(
        VideoSynthesis.call(
            model="wan2.6-i2v",
            prompt="p",
            img_url=f"file://{local['frame']}",
            audio_url=str(local["wav"]),
            resolution="720P",
            api_key=KEY,
        )
    )
    assert facts(response.output.video_url)["size"] == fit_tier(640, 480, "720P")
    flow = upload_flow(emu, since)
    assert flow.count(("GET", "/api/v1/uploads")) == 2 and flow.count(("POST", "/__oss__/upload")) == 2
    submit = submissions(emu)[-1]
    assert submit["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    assert submit["body"]["input"]["img_url"].startswith("oss://dashscope-instant/")
    assert submit["body"]["input"]["img_url"].endswith("/首帧 frame.png")
    assert submit["body"]["input"]["audio_url"].endswith("/voice.wav")
    assert response.usage["duration"] == 5 and response.usage["SR"] == 720


def test_1x_wan27_image_media_with_a_local_clip(
    emu: RunningEmulator, urls: dict[str, str], local: dict[str, Path]
) -> None:
    media = [{"type": "first_clip", "url": f"file://{local['clip']}"}, {"type": "last_frame", "url": urls["wide"]}]
    response = done(
        VideoSynthesis.call(model="wan2.7-i2v", prompt="go on", media=media, resolution="720P", duration=6, api_key=KEY)
    )
    assert facts(response.output.video_url) == {"seconds": 6.0, "size": fit_tier(480, 640, "720P"), "frames": 180}
    assert (response.usage["input_video_duration"], response.usage["output_video_duration"]) == (3, 3)
    sent = submissions(emu)[-1]
    assert sent["body"]["input"]["media"][0]["url"].startswith("oss://")
    assert sent["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    framed = done(
        VideoSynthesis.call(
            model="wan2.7-i2v-2026-04-25",
            media=[{"type": "first_frame", "url": urls["frame"]}, {"type": "driving_audio", "url": urls["wav"]}],
            api_key=KEY,
        )
    )
    assert facts(framed.output.video_url)["size"] == fit_tier(750, 1000, "1080P")
    assert submissions(emu)[-1]["body"]["input"]["prompt"] is None  # the SDK sends prompt: null


def test_1x_wan27_image_refuses_img_url_in_the_task(emu: RunningEmulator, urls: dict[str, str]) -> None:
    submitted = VideoSynthesis.async_call(model="wan2.7-i2v", prompt="p", img_url=urls["frame"], api_key=KEY)
    assert submitted.status_code == 200, submitted
    response = VideoSynthesis.wait(submitted, api_key=KEY)
    assert response.output.task_status == "FAILED"
    assert (response.output["code"], response.output["message"]) == ("InvalidParameter", "Field required: input.media")


@pytest.mark.parametrize(
    ("model", "tier", "usage"),
    [
        ("wanx2.1-kf2v-plus", "720P", {"video_duration": 5, "video_ratio": "standard", "video_count": 1}),
        ("wan2.2-kf2v-flash", "480P", {"video_duration": 5, "video_count": 1, "SR": 480}),
    ],
)
def test_1x_keyframes_go_to_image2video(
    emu: RunningEmulator, urls: dict[str, str], local: dict[str, Path], model: str, tier: str, usage: dict[str, Any]
) -> None:
    response = done(
        VideoSynthesis.call(
            model=model,
            prompt="a turn",
            first_frame_url=f"file://{local['frame']}",
            last_frame_url=urls["wide"],
            resolution=tier,
            api_key=KEY,
        )
    )
    assert facts(response.output.video_url) == {"seconds": 5.0, "size": fit_tier(640, 480, tier), "frames": 150}
    assert {key: response.usage[key] for key in usage} == usage  # the SDK adds its defaults for the others
    sent = submissions(emu)[-1]
    assert sent["path"] == KF2V_SUBMIT and sent["body"]["input"]["first_frame_url"].startswith("oss://")
    assert sent["headers"]["x-dashscope-ossresourceresolve"] == "enable"


def test_1x_reference_to_video(emu: RunningEmulator, urls: dict[str, str], local: dict[str, Path]) -> None:
    refs = [urls["clip"], f"file://{local['frame']}"]
    r2v26 = done(
        VideoSynthesis.call(
            model="wan2.6-r2v",
            prompt="character1 dances with character2",
            reference_urls=refs,
            shot_type="multi",
            audio=True,
            watermark=True,
            size="1280*720",
            api_key=KEY,
        )
    )
    assert facts(r2v26.output.video_url) == {"seconds": 5.0, "size": (1280, 720), "frames": 150}
    assert (r2v26.usage["input_video_duration"], r2v26.usage["duration"], r2v26.usage["size"]) == (3, 8.0, "1280*720")
    assert submissions(emu)[-1]["body"]["input"]["reference_urls"][1].startswith("oss://")
    media = [
        {
            "type": "reference_image",
            "url": urls["frame"],
            "reference_voice": str(local["wav"]),
            "reference_description": "a girl",
        },
        {"type": "reference_video", "url": urls["clip"]},
    ]
    r2v27 = done(
        VideoSynthesis.call(
            model="wan2.7-r2v",
            prompt="图1 and 视频1",
            media=media,
            resolution="720P",
            ratio="3:4",
            duration=10,
            prompt_extend=False,
            api_key=KEY,
        )
    )
    assert facts(r2v27.output.video_url) == {"seconds": 10.0, "size": (832, 1104), "frames": 300}
    assert (r2v27.usage["ratio"], r2v27.usage["input_video_duration"]) == ("3:4", 3)
    assert submissions(emu)[-1]["body"]["input"]["media"][0]["reference_voice"].startswith("oss://")


def test_1x_refusals_read_like_the_real_ones(emu: RunningEmulator, urls: dict[str, str]) -> None:
    response = VideoSynthesis.async_call(model="wan2.6-t2v", prompt="p", duration=20, api_key=KEY)
    assert (response.status_code, response.code, response.message) == (
        400,
        "InvalidParameter",
        "Range of duration should be [2, 15]",
    )
    with pytest.raises(InvalidTask, match="Range of duration should be"):  # call = async_call + wait
        VideoSynthesis.call(model="wan2.6-t2v", prompt="p", duration=20, api_key=KEY)
    missing = VideoSynthesis.async_call(model="wan2.6-i2v", prompt="p", api_key=KEY)
    assert (missing.status_code, missing.code) == (400, "InvalidParameter")
    failed = VideoSynthesis.call(model="wan2.7-t2v", prompt="p", ratio="21:9", api_key=KEY)
    assert failed.status_code == 200 and failed.output.task_status == "FAILED"
    assert failed.output["message"] == "Input should be '16:9', '9:16', '1:1', '4:3' or '3:4': parameters.ratio"


# --- v2 dashscope.Client().videos --------------------------------------------------------------


def test_v2_text_to_video(emu: RunningEmulator, urls: dict[str, str]) -> None:
    videos = client(emu).videos
    job = videos.generate(
        model="wan2.6-t2v",
        prompt="cat",
        size="1280*720",
        duration=4,
        parameters={"shot_type": "multi"},
        extra_input={"audio_url": urls["wav"]},
        poll_interval=0.05,
    )
    assert job.succeeded and facts(job.video_url) == {"seconds": 4.0, "size": (1280, 720), "frames": 120}
    body = submissions(emu)[-1]["body"]
    assert "extend_prompt" not in body["input"] and body["parameters"]["shot_type"] == "multi"
    for model, kwargs, size in (
        ("wan2.2-t2v-plus", {}, (1920, 1080)),
        ("wan2.5-t2v-preview", {"size": "832*480", "duration": 10}, (832, 480)),
        ("wan2.7-t2v", {"resolution": "720P", "ratio": "9:16", "duration": 2}, (720, 1280)),
    ):
        job = videos.generate(model=model, prompt="cat", poll_interval=0.05, **kwargs)
        assert job.succeeded and facts(job.video_url)["size"] == size, model


def test_v2_image_to_video_uploads_a_local_frame(
    emu: RunningEmulator, local: dict[str, Path], urls: dict[str, str]
) -> None:
    videos = client(emu).videos
    since = len(emu.state.requests)
    job = videos.generate(
        model="wan2.6-i2v",
        prompt="cat",
        image_url=f"file://{local['frame']}",
        resolution="720P",
        extra_input={"audio_url": str(local["wav"])},
        poll_interval=0.05,
    )
    assert job.succeeded and facts(job.video_url)["size"] == fit_tier(640, 480, "720P")
    flow = upload_flow(emu, since)
    assert ("GET", "/api/v1/uploads") in flow and flow.count(("POST", "/__oss__/upload")) == 2
    sent = submissions(emu)[-1]
    assert sent["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    assert sent["body"]["input"]["img_url"].startswith("oss://") and "parameters" in sent["body"]
    for model in ("wanx2.1-i2v-turbo", "wan2.1-i2v-plus", "wan2.2-i2v-flash", "wan2.2-i2v-plus", "wan2.5-i2v-preview"):
        job = videos.generate(model=model, image_url=urls["wide"], poll_interval=0.05)
        assert job.succeeded and job.video_url, model
        assert job.usage is not None


def test_v2_wan27_image_media(emu: RunningEmulator, local: dict[str, Path], urls: dict[str, str]) -> None:
    videos = client(emu).videos
    job = videos.generate(
        model="wan2.7-i2v",
        prompt="talk",
        image_url=f"file://{local['frame']}",
        media=[{"type": "driving_audio", "url": urls["wav"]}],
        resolution="720P",
        poll_interval=0.05,
    )
    assert job.succeeded and facts(job.video_url)["size"] == fit_tier(640, 480, "720P")
    media = submissions(emu)[-1]["body"]["input"]["media"]
    assert [item["type"] for item in media] == ["first_frame", "driving_audio"] and media[0]["url"].startswith("oss://")
    clip = videos.generate(
        model="wan2.7-i2v", media=[{"type": "first_clip", "url": urls["clip"]}], duration=5, poll_interval=0.05
    )
    assert clip.succeeded and facts(clip.video_url)["seconds"] == 5.0
    with pytest.raises(DashScopeError) as failed:  # a combination the service does not take fails the task
        videos.generate(
            model="wan2.7-i2v",
            image_url=urls["frame"],
            media=[{"type": "first_clip", "url": urls["clip"]}],
            poll_interval=0.05,
        )
    assert failed.value.code == "InvalidParameter" and "unsupported media combination" in str(failed.value)


def test_v2_reference_to_video(emu: RunningEmulator, local: dict[str, Path], urls: dict[str, str]) -> None:
    videos = client(emu).videos
    job = videos.generate(
        model="wan2.6-r2v",
        prompt="character1 sings",
        extra_input={"reference_urls": [urls["clip"], f"file://{local['frame']}"]},
        parameters={"shot_type": "multi"},
        poll_interval=0.05,
    )
    assert job.succeeded and facts(job.video_url)["size"] == (1920, 1080)
    assert submissions(emu)[-1]["body"]["input"]["reference_urls"][1].startswith("oss://")
    media = [
        {"type": "reference_image", "url": f"file://{local['frame']}", "reference_voice": urls["mp3"]},
        {"type": "reference_video", "url": urls["clip"]},
    ]
    job = videos.generate(
        model="wan2.7-r2v", prompt="图1 and 视频1", media=media, resolution="720P", duration=10, poll_interval=0.05
    )
    assert job.succeeded and facts(job.video_url) == {"seconds": 10.0, "size": (1280, 720), "frames": 300}
    assert submissions(emu)[-1]["headers"]["x-dashscope-ossresourceresolve"] == "enable"


def test_v2_sends_keyframe_models_to_the_wrong_endpoint(emu: RunningEmulator, urls: dict[str, str]) -> None:
    """v2 has no keyframe route (it posts every model to video-generation), where those models do not exist."""
    with pytest.raises(DashScopeError) as refused:
        client(emu).videos.generate(
            model="wan2.2-kf2v-flash", extra_input={"first_frame_url": urls["frame"]}, poll_interval=0.05
        )
    assert refused.value.code == "InvalidParameter" and "Model not exist." in str(refused.value)
    assert submissions(emu)[-1]["path"] == I2V_SUBMIT
