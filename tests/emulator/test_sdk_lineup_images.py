"""The official ``dashscope`` SDK 2.0.2 against the emulator's 2026 image lineup: the 1.x classes (ImageSynthesis,
ImageGeneration.call/async_call, MultiModalConversation.call) and, where the SDK routes the model to the right
endpoint, the v2 ``dashscope.Client()`` images and jobs resources — including ``file://`` inputs the SDK uploads
itself (upload policy, form upload, ``oss://`` key, ``X-DashScope-OssResourceResolve``).

Synchronous, like the SDK; the 1.x ``wait`` sleeps at least 1 s, so tasks are tiny (the QUICK configuration) and
pictures small. Everything runs on loopback.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashscope
import httpx
import pytest
from dashscope import MultiModalConversation
from dashscope.aigc.image_generation import ImageGeneration
from dashscope.aigc.image_synthesis import ImageSynthesis
from dashscope.v2.errors import BadRequestError
from PIL import Image

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from tests.support.emulator_app import KEY
from tests.support.emulators import FileServer
from tests.support.media import data_uri, png_bytes

pytestmark = pytest.mark.slow

QUICK = EmulatorConfig(
    pending_seconds=0.05, running_seconds=0.1, submit_rps=0, max_concurrent_tasks=0, stream_chunk_seconds=0
)
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"
GENERATION = "/api/v1/services/aigc/image-generation/generation"
FAST_POLL = {"poll_interval": 0.05, "max_interval": 0.2, "timeout": 30.0}


@pytest.fixture(scope="module")
def quick() -> Iterator[RunningEmulator]:
    with start_in_thread(QUICK) as emu:
        yield emu


@pytest.fixture
def emu(quick: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", quick.base_url)
    return quick


@pytest.fixture
def client(emu: RunningEmulator) -> Iterator[dashscope.Client]:
    with dashscope.Client(api_key=KEY, base_url=emu.base_url, max_retries=0) as made:
        yield made


@pytest.fixture
def local_png(tmp_path: Path) -> Path:
    path = tmp_path / "本地 photo.png"
    path.write_bytes(png_bytes(640, 480))
    return path


def sent(emu: RunningEmulator, path_end: str) -> dict[str, Any]:
    """The last request the emulator received on a path ending with ``path_end``."""
    entry: dict[str, Any] = next(e for e in reversed(emu.state.requests) if str(e["path"]).endswith(path_end))
    return entry


def size_of(url: str) -> tuple[int, int]:
    download = httpx.get(url)
    assert download.status_code == 200, download.text
    picture = Image.open(io.BytesIO(download.content))
    assert picture.format == "PNG"
    return picture.size


def assert_uploaded_then_called(emu: RunningEmulator, path: str) -> dict[str, Any]:
    """The last three requests are the upload policy, the form upload and the call (with the resolve header)."""
    flow = [(e["method"], e["path"], e["status"]) for e in emu.state.requests[-3:]]
    assert flow == [("GET", "/api/v1/uploads", 200), ("POST", "/__oss__/upload", 200), ("POST", path, 200)]
    call: dict[str, Any] = emu.state.requests[-1]
    assert call["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    return call


def images_in(output: Any) -> list[str]:
    return [part["image"] for choice in output.choices for part in choice.message.content if "image" in part]


def user(*images: str, text: str = "a red kite over the sea") -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}, *({"image": image} for image in images)]}]


# --- 1.x ImageSynthesis: text2image and image2image ---------------------------------------------------------


def test_wan25_t2i_preview_through_image_synthesis(emu: RunningEmulator) -> None:
    done = ImageSynthesis.call(
        model="wan2.5-t2i-preview", prompt="a cat", negative_prompt="blur", n=2, size="1696*960", seed=7, api_key=KEY
    )
    assert done.status_code == 200, done
    assert done.output.task_status == "SUCCEEDED" and done.usage.image_count == 2
    assert done.output.task_metrics == {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0}
    assert [result.orig_prompt for result in done.output.results] == ["a cat", "a cat"]
    assert size_of(done.output.results[0].url) == (1696, 960)
    assert sent(emu, "/text2image/image-synthesis")["body"]["parameters"]["size"] == "1696*960"


def test_wan25_t2i_preview_refusal_reads_like_the_real_one(emu: RunningEmulator) -> None:
    response = ImageSynthesis.async_call(model="wan2.5-t2i-preview", prompt="a cat", size="1024*1024", api_key=KEY)
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert response.message.startswith("The size is not match the allowed size: total pixels must be in")


def test_qwen_image_plus_async_through_image_synthesis(emu: RunningEmulator) -> None:
    done = ImageSynthesis.call(model="qwen-image-plus", prompt="一只猫", size="1328*1328", api_key=KEY)
    assert done.output.task_status == "SUCCEEDED" and done.usage.image_count == 1
    assert size_of(done.output.results[0].url) == (1328, 1328)


def test_wan25_i2i_preview_switches_to_image2image_and_uploads(
    emu: RunningEmulator, files: FileServer, local_png: Path
) -> None:
    url = files.add("sdk-lineup/square.png", png_bytes(400, 400))
    submitted = ImageSynthesis.async_call(
        model="wan2.5-i2i-preview", prompt="put the kite in the sky", images=[url, f"file://{local_png}"], n=1,
        api_key=KEY,
    )  # fmt: skip
    assert submitted.status_code == 200, submitted
    call = assert_uploaded_then_called(emu, "/api/v1/services/aigc/image2image/image-synthesis")
    images = call["body"]["input"]["images"]
    assert images[0] == url and images[1].startswith("oss://dashscope-instant/")
    assert images[1].endswith("/本地 photo.png")
    done = ImageSynthesis.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED" and done.usage.image_count == 1
    assert size_of(done.output.results[0].url) == (1472, 1104)  # the last (uploaded) image is 4:3


# --- 1.x ImageGeneration: wan2.6-t2i, wan2.6-image, qwen-image-3.0 ------------------------------------------


def test_wan26_t2i_sync_call(emu: RunningEmulator) -> None:
    response = ImageGeneration.call(
        model="wan2.6-t2i", messages=user(), n=1, size="1280*1280", negative_prompt="blur", seed=1, api_key=KEY
    )
    assert response.status_code == 200, response
    assert response.output.finished is True
    (choice,) = response.output.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content[0]["type"] == "image"
    assert response.usage.image_count == 1 and response.usage.size == "1280*1280"
    assert response.usage.input_tokens == response.usage.output_tokens == 0
    assert size_of(choice.message.content[0]["image"]) == (1280, 1280)


def test_wan26_t2i_explicit_nulls_count_as_absent(emu: RunningEmulator) -> None:
    messages = user()
    response = ImageGeneration.call(
        model="wan2.6-t2i", messages=messages, size=None, n=None, max_images=None, api_key=KEY
    )
    assert response.status_code == 200, response
    assert sent(emu, MULTIMODAL)["body"]["parameters"] == {"size": None, "n": None, "max_images": None}
    assert response.usage.image_count == 4 and len(response.output.choices) == 4


def test_wan26_t2i_async_call_wait_and_fetch(emu: RunningEmulator) -> None:
    submitted = ImageGeneration.async_call(model="wan2.6-t2i", messages=user(), n=2, size="1472*1104", api_key=KEY)
    assert submitted.status_code == 200, submitted
    assert submitted.output.task_status == "PENDING"
    request = sent(emu, GENERATION)
    assert request["body"]["parameters"]["is_async"] is True and request["headers"]["x-dashscope-async"] == "enable"
    done = ImageGeneration.wait(submitted, api_key=KEY)
    assert done.status_code == 200 and done.output.task_status == "SUCCEEDED"
    assert len(done.output.choices) == 2 and done.usage.image_count == 2 and done.usage.size == "1472*1104"
    fetched = ImageGeneration.fetch(submitted.output.task_id, api_key=KEY)
    assert images_in(fetched.output) == images_in(done.output)
    assert size_of(images_in(done.output)[0]) == (1472, 1104)


def test_wan26_image_sync_edit_with_a_local_file_and_a_url(
    emu: RunningEmulator, files: FileServer, local_png: Path
) -> None:
    url = files.add("sdk-lineup/square2.png", png_bytes(300, 300))
    messages = user(url, f"file://{local_png}", text="参考图1的风格和图2的背景")
    response = ImageGeneration.call(model="wan2.6-image", messages=messages, n=1, size="1K", api_key=KEY)
    assert response.status_code == 200, response
    call = assert_uploaded_then_called(emu, MULTIMODAL)
    assert call["body"]["input"]["messages"][0]["content"][2]["image"].startswith("oss://dashscope-instant/")
    assert response.usage.size == "1472*1104" and size_of(images_in(response.output)[0]) == (1472, 1104)


def test_wan26_image_interleaved_stream(emu: RunningEmulator) -> None:
    parts = list(
        ImageGeneration.call(
            model="wan2.6-image", messages=user(text="给我一个2张图的风筝教程"), stream=True, enable_interleave=True,
            max_images=2, size="1024*768", api_key=KEY,
        )
    )  # fmt: skip
    assert len(parts) > 3 and all(part.status_code == 200 for part in parts)
    assert "stream" not in sent(emu, MULTIMODAL)["body"]["parameters"]  # the SDK only sets the SSE header
    contents = [part.output.choices[0].message.content[0] for part in parts]
    assert [item["type"] for item in contents].count("image") == 2
    assert parts[-1].output.choices[0].finish_reason == "stop" and parts[-1].output.finished is True
    assert parts[0].output.choices[0].finish_reason == "null" and parts[0].output.finished is False
    assert parts[-1].usage.image_count == 2 and parts[-1].usage.size == "1024*768"
    text = "".join(item["text"] for item in contents if item["type"] == "text")
    assert "风筝教程" in text
    assert size_of(next(item["image"] for item in contents if item["type"] == "image")) == (1024, 768)


def test_wan26_image_interleaved_async_task(emu: RunningEmulator) -> None:
    submitted = ImageGeneration.async_call(
        model="wan2.6-image", messages=user(text="a 2-step tutorial"), enable_interleave=True, max_images=2,
        size="768*768", api_key=KEY,
    )  # fmt: skip
    assert submitted.status_code == 200, submitted
    done = ImageGeneration.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    (choice,) = done.output.choices
    assert [part["type"] for part in choice.message.content] == ["text", "image", "text", "image"]
    assert done.usage.output_tokens > 0 and done.usage.image_count == 2


def test_wan26_image_refusals_read_like_the_real_ones(emu: RunningEmulator, files: FileServer) -> None:
    url = files.add("sdk-lineup/square3.png", png_bytes(300, 300))
    too_many = ImageGeneration.call(model="wan2.6-image", messages=user(url), n=5, api_key=KEY)
    assert (too_many.status_code, too_many.code, too_many.message) == (400, "InvalidParameter",
                                                                       "Range of n should be [1, 4]")  # fmt: skip
    not_streamed = ImageGeneration.call(model="wan2.6-image", messages=user(), enable_interleave=True, api_key=KEY)
    assert (not_streamed.status_code, not_streamed.code) == (400, "InvalidParameter")
    (streamed_error,) = list(
        ImageGeneration.call(
            model="wan2.6-image", messages=user(), stream=True, enable_interleave=True, n=2, api_key=KEY
        )
    )
    assert (streamed_error.status_code, streamed_error.code, streamed_error.message) == (
        400, "InvalidParameter", "num_images_per_prompt must be 1"
    )  # fmt: skip


def test_qwen_image_3_async_through_image_generation(emu: RunningEmulator, local_png: Path) -> None:
    submitted = ImageGeneration.async_call(
        model="qwen-image-3.0", messages=user(f"file://{local_png}", text="make it autumn"), n=2, api_key=KEY
    )
    assert submitted.status_code == 200, submitted
    assert_uploaded_then_called(emu, GENERATION)
    done = ImageGeneration.wait(submitted, api_key=KEY)
    assert done.output.task_status == "SUCCEEDED"
    (choice,) = done.output.choices
    assert len(choice.message.content) == 2
    usage = done.usage
    assert (usage.output_width, usage.output_height, usage.input_image_count) == (1184, 880, 1)
    assert (usage.input_image_type, usage.output_image_type, usage.output_image_count) == (
        "qima_input_1k", "qima_output_1k", 2
    )  # fmt: skip


# --- 1.x MultiModalConversation: qwen-image-max, qwen-image-edit-max, qwen-image-3.0 -------------------------


def test_qwen_image_max_through_multimodal_conversation(emu: RunningEmulator) -> None:
    response = MultiModalConversation.call(
        model="qwen-image-max", messages=user(), size="1104*1472", negative_prompt="x", prompt_extend=True,
        watermark=False, n=1, api_key=KEY,
    )  # fmt: skip
    assert response.status_code == 200, response
    assert (response.usage.width, response.usage.height, response.usage.image_count) == (1104, 1472, 1)
    assert size_of(response.output.choices[0].message.content[0]["image"]) == (1104, 1472)
    custom = MultiModalConversation.call(model="qwen-image-max", messages=user(), size="900*700", api_key=KEY)
    assert (custom.usage.width, custom.usage.height) == (900, 700)
    refused = MultiModalConversation.call(model="qwen-image-max", messages=user(), n=2, api_key=KEY)
    assert (refused.status_code, refused.code, refused.message) == (
        400, "InvalidParameter", "num_images_per_prompt must be 1."
    )  # fmt: skip


def test_qwen_image_edit_max_with_url_local_file_and_data_uri(
    emu: RunningEmulator, files: FileServer, local_png: Path
) -> None:
    url = files.add("sdk-lineup/a.png", png_bytes(500, 500))
    inline = data_uri(png_bytes(400, 600, kind="JPEG"), "image/jpeg")
    messages = [{"role": "user", "content": [{"image": url}, {"image": f"file://{local_png}"}, {"image": inline},
                                             {"text": "merge them"}]}]  # fmt: skip
    response = MultiModalConversation.call(
        model="qwen-image-edit-max", messages=messages, n=2, size="1024*1536", seed=123, api_key=KEY
    )
    assert response.status_code == 200, response
    assert_uploaded_then_called(emu, MULTIMODAL)
    (choice,) = response.output.choices
    assert len(choice.message.content) == 2 and response.usage.image_count == 2
    assert size_of(choice.message.content[0]["image"]) == (1024, 1536)


def test_qwen_image_3_through_multimodal_conversation(emu: RunningEmulator) -> None:
    response = MultiModalConversation.call(
        model="qwen-image-3.0", messages=user(), size="1536*1024", prompt_extend_mode="agent", api_key=KEY
    )
    assert response.status_code == 200, response
    assert response.usage.output_width == 1536 and response.usage.output_image_type == "qima_output_1k"
    assert size_of(response.output.choices[0].message.content[0]["image"]) == (1536, 1024)


# --- v2 dashscope.Client(): images and jobs ------------------------------------------------------------------


def test_v2_images_generate_wan25_t2i_preview(emu: RunningEmulator, client: dashscope.Client) -> None:
    job = client.images.generate(
        model="wan2.5-t2i-preview", prompt="a cat", negative_prompt="blur", n=1, size="1280x1280", seed=3, **FAST_POLL
    )
    assert job.succeeded and len(job.image_urls) == 1
    assert sent(emu, "/text2image/image-synthesis")["body"]["parameters"]["size"] == "1280*1280"
    assert size_of(job.image_urls[0]) == (1280, 1280)


def test_v2_images_generate_qwen_image_plus_on_text2image(emu: RunningEmulator, client: dashscope.Client) -> None:
    job = client.images.generate(model="qwen-image-plus", prompt="一只猫", size="928*1664", **FAST_POLL)
    assert job.succeeded and size_of(job.image_urls[0]) == (928, 1664)


def test_v2_images_generate_wan26_t2i_synchronously(emu: RunningEmulator, client: dashscope.Client) -> None:
    job = client.images.generate(model="wan2.6-t2i", prompt="a cat", n=2, size="960x1696")
    assert job.succeeded and len(job.image_urls) == 2
    request = sent(emu, MULTIMODAL)
    assert "x-dashscope-async" not in request["headers"]
    assert request["body"]["input"]["messages"][0]["content"] == [{"text": "a cat"}]
    assert size_of(job.image_urls[1]) == (960, 1696)


def test_v2_images_generate_wan26_image_uploads_a_local_file(
    emu: RunningEmulator, client: dashscope.Client, local_png: Path
) -> None:
    job = client.images.generate(
        model="wan2.6-image", prompt="make it snowy", image_urls=[f"file://{local_png}"], n=1, size="1280x720"
    )
    assert job.succeeded and len(job.image_urls) == 1
    call = assert_uploaded_then_called(emu, MULTIMODAL)
    content = call["body"]["input"]["messages"][0]["content"]
    assert content[0] == {"text": "make it snowy"} and content[1]["image"].startswith("oss://dashscope-instant/")
    assert size_of(job.image_urls[0]) == (1280, 720)


def test_v2_image_jobs_for_wan26_image_and_wan26_t2i(
    emu: RunningEmulator, client: dashscope.Client, local_png: Path
) -> None:
    created = client.images.jobs.create(model="wan2.6-image", prompt="edit", image_urls=[str(local_png)], n=2)
    assert created.status == "PENDING" and created.task_id
    assert_uploaded_then_called(emu, GENERATION)
    done = client.images.jobs.wait(created, **FAST_POLL)
    assert done.succeeded and len(done.image_urls) == 2
    assert size_of(done.image_urls[0]) == (1472, 1104)
    t2i = client.images.jobs.wait(client.images.jobs.create(model="wan2.6-t2i", prompt="a cat", n=1), **FAST_POLL)
    assert t2i.succeeded and size_of(t2i.image_urls[0]) == (1280, 1280)
    fetched = client.images.jobs.fetch(t2i.task_id)
    assert fetched.image_urls == t2i.image_urls


@pytest.mark.parametrize("model", ["qwen-image-max", "qwen-image-3.0", "qwen-image-edit-max", "wan2.5-i2i-preview"])
def test_v2_images_sends_the_other_lineup_models_to_text2image_which_refuses_them(
    emu: RunningEmulator, client: dashscope.Client, model: str
) -> None:
    with pytest.raises(BadRequestError) as refused:
        client.images.generate(model=model, prompt="a cat", **FAST_POLL)
    assert refused.value.code == "InvalidParameter" and "Model not exist." in str(refused.value)
    assert sent(emu, "/text2image/image-synthesis")["status"] == 400
