"""Result files: real PNGs of the requested size behind signed, expiring, key-less URLs."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image

from bailian_mcp.emulator.images import render_png
from tests.support.emulator_app import Emulator, MakeEmulator


async def result_urls(emu: Emulator, **submit: Any) -> list[str]:
    task_id = await emu.submit_ok(**submit)
    emu.clock.advance(10)
    return [result["url"] for result in (await emu.task(task_id))["output"]["results"] if "url" in result]


def assert_oss_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/xml")
    assert f"<Code>{code}</Code>" in response.text and response.text.startswith("<?xml")


@pytest.mark.parametrize(
    ("model", "size"),
    [("wan2.2-t2i-flash", "1440*810"), ("qwen-image", "1140*1472"), ("wanx-v1", "720*1280")],
)
async def test_result_is_a_png_of_exactly_the_requested_size(emu: Emulator, model: str, size: str) -> None:
    (url, *_) = await result_urls(emu, model=model, size=size, n=1)
    response = await emu.http.get(url)  # no Authorization: signed URLs need none
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert int(response.headers["content-length"]) == len(response.content)
    picture = Image.open(io.BytesIO(response.content))
    assert picture.format == "PNG"
    assert f"{picture.width}*{picture.height}" == size


async def test_default_size_is_used_when_none_is_given(emu: Emulator) -> None:
    (url,) = await result_urls(emu, model="qwen-image-plus")
    assert Image.open(io.BytesIO((await emu.http.get(url)).content)).size == (1664, 928)


async def test_result_url_looks_like_a_signed_oss_url(emu: Emulator) -> None:
    urls = await result_urls(emu, n=2)
    parts = urlsplit(urls[0])
    assert parts.path.endswith("/1.png") and urls[1].split("?")[0].endswith("/2.png")
    query = parse_qs(parts.query)
    assert set(query) == {"Expires", "OSSAccessKeyId", "Signature"}
    expires = int(query["Expires"][0])
    assert abs(expires - (emu.state.epoch(emu.clock()) + 86400 - 7)) <= 1  # it ended 7 s ago


async def test_result_urls_are_stable_across_queries(emu: Emulator) -> None:
    task_id = await emu.submit_ok(n=1)
    emu.clock.advance(10)
    first = (await emu.task(task_id))["output"]["results"][0]["url"]
    emu.clock.advance(10)
    assert (await emu.task(task_id))["output"]["results"][0]["url"] == first


async def test_public_base_url_addresses_the_results(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(public_base_url="https://files.example.test/prefix")
    (url,) = await result_urls(emu, n=1)
    assert url.startswith("https://files.example.test/prefix/results/")


async def test_same_request_renders_same_bytes_and_seeds_differ(emu: Emulator) -> None:
    first = await result_urls(emu, seed=7, n=2, size="512*512")
    again = await result_urls(emu, seed=7, n=2, size="512*512")
    one, two = [(await emu.http.get(url)).content for url in first]
    assert (await emu.http.get(again[0])).content == one
    assert one != two


async def test_expired_url_is_403_request_has_expired(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(result_url_ttl_seconds=60)
    (url,) = await result_urls(emu, n=1)  # it ended 7 s ago
    emu.clock.advance(52)
    assert (await emu.http.get(url)).status_code == 200
    emu.clock.advance(2)
    response = await emu.http.get(url)
    assert_oss_error(response, 403, "AccessDenied")
    assert "<Message>Request has expired.</Message>" in response.text


async def test_tampered_url_is_403(emu: Emulator) -> None:
    (url,) = await result_urls(emu, n=1)
    expires = parse_qs(urlsplit(url).query)["Expires"][0]
    forged = url.replace(f"Expires={expires}", f"Expires={int(expires) + 1000}")
    assert_oss_error(await emu.http.get(forged), 403, "SignatureDoesNotMatch")
    assert_oss_error(await emu.http.get(url.split("?")[0]), 403, "AccessDenied")


async def test_missing_file_is_404_no_such_key(emu: Emulator) -> None:
    (url,) = await result_urls(emu, n=1)
    assert_oss_error(await emu.http.get(url.replace("/1.png", "/2.png")), 403, "SignatureDoesNotMatch")
    state = emu.state
    expires = int(parse_qs(urlsplit(url).query)["Expires"][0])
    ghost = state.signer.url("http://emu.test/results", "no-such-task/1.png", expires)
    assert_oss_error(await emu.http.get(ghost), 404, "NoSuchKey")


async def test_range_requests_return_partial_content(emu: Emulator) -> None:
    (url,) = await result_urls(emu, n=1, size="512*512")
    whole = (await emu.http.get(url)).content
    head = await emu.http.get(url, headers={"Range": "bytes=0-7"})
    assert head.status_code == 206 and head.content == whole[:8] == b"\x89PNG\r\n\x1a\n"
    assert head.headers["content-range"] == f"bytes 0-7/{len(whole)}"
    tail = await emu.http.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == whole[-10:]
    rest = await emu.http.get(url, headers={"Range": "bytes=100-"})
    assert rest.content == whole[100:]
    beyond = await emu.http.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"


def test_the_largest_picture_renders_at_its_size() -> None:
    """(How fast is a benchmark's question, not a test's: a timed assertion fails on a busy machine.)"""
    data = render_png("the largest picture", 12345, 1440, 1440)
    assert Image.open(io.BytesIO(data)).size == (1440, 1440)
