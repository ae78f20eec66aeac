"""Result files: streamed, size-capped, checksummed downloads saved atomically; image probes and previews."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx
from PIL import Image

from bailian_mcp.dashscope.client import RetryPolicy
from bailian_mcp.media import DownloadError, download, image_info, preview_jpeg, suffix_for
from tests.support.media import png_bytes

URL = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/a.png"
SIGNED = URL + "?Expires=1709372335&OSSAccessKeyId=LTAI&Signature=c2VjcmV0"
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------- download


async def test_download_saves_the_file_with_its_size_checksum_and_type(http: httpx.AsyncClient, tmp_path: Path) -> None:
    data = png_bytes(64, 48)
    dest = tmp_path / "out" / "2024-03-01" / "job_1-0.png"
    with respx.mock:
        route = respx.get(URL).mock(
            return_value=httpx.Response(200, content=data, headers={"content-type": "image/png"})
        )
        saved = await download(http, SIGNED, dest, max_bytes=10_000_000, retry=FAST)
    assert route.call_count == 1
    assert saved.path == dest and dest.read_bytes() == data
    assert saved.size == len(data) and saved.sha256 == hashlib.sha256(data).hexdigest()
    assert saved.mime_type == "image/png"
    assert leftovers(dest.parent) == ["job_1-0.png"]


async def test_the_download_request_carries_no_credentials(http: httpx.AsyncClient, tmp_path: Path) -> None:
    with respx.mock:
        route = respx.get(URL).mock(return_value=httpx.Response(200, content=b"x"))
        await download(http, SIGNED, tmp_path / "a.png", max_bytes=100, retry=FAST)
    assert "authorization" not in {k.lower() for k in route.calls.last.request.headers}
    assert route.calls.last.request.url.params["Signature"] == "c2VjcmV0"


async def test_without_a_content_type_the_mime_type_is_guessed_from_the_name(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(200, content=png_bytes(64, 48)))
        saved = await download(http, URL, tmp_path / "a.png", max_bytes=10_000_000, retry=FAST)
    assert saved.mime_type == "image/png"


async def test_a_large_file_arriving_in_many_chunks_is_checksummed_whole(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 2000  # 512 000 bytes, several 64 KiB chunks

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 10_000):
            yield data[start : start + 10_000]

    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(200, content=chunks()))
        saved = await download(http, URL, tmp_path / "big.bin", max_bytes=10_000_000, retry=FAST)
    assert saved.size == len(data) and saved.sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "big.bin").read_bytes() == data


async def test_a_transient_failure_is_retried(http: httpx.AsyncClient, tmp_path: Path) -> None:
    data = png_bytes(64, 48)
    with respx.mock:
        route = respx.get(URL).mock(
            side_effect=[httpx.ReadTimeout("slow"), httpx.Response(503), httpx.Response(200, content=data)]
        )
        saved = await download(http, URL, tmp_path / "a.png", max_bytes=10_000_000, retry=FAST)
    assert route.call_count == 3 and saved.sha256 == hashlib.sha256(data).hexdigest()
    assert leftovers(tmp_path) == ["a.png"]


async def test_a_truncated_body_is_retried_then_saved_whole(http: httpx.AsyncClient, tmp_path: Path) -> None:
    data = png_bytes(64, 48)
    truncated = httpx.Response(200, content=data[:50], headers={"content-length": str(len(data))})
    with respx.mock:
        route = respx.get(URL).mock(side_effect=[truncated, httpx.Response(200, content=data)])
        saved = await download(http, URL, tmp_path / "a.png", max_bytes=10_000_000, retry=FAST)
    assert route.call_count == 2
    assert saved.size == len(data) and (tmp_path / "a.png").read_bytes() == data


async def test_a_body_always_shorter_than_its_content_length_fails_after_the_retries(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with respx.mock:
        route = respx.get(URL).mock(
            side_effect=lambda request: httpx.Response(200, content=b"abc", headers={"content-length": "10"})
        )
        with pytest.raises(DownloadError) as caught:
            await download(http, SIGNED, tmp_path / "a.png", max_bytes=1000, retry=FAST)
    assert route.call_count == FAST.attempts
    assert "3 of 10 bytes" in str(caught.value)
    assert "Signature" not in str(caught.value), "the signed query string is not repeated in errors"
    assert leftovers(tmp_path) == [], "neither the file nor a .part is left behind"


@pytest.mark.parametrize("status", [403, 404])
async def test_an_expired_url_is_a_download_error_that_says_so_and_is_not_retried(
    http: httpx.AsyncClient, tmp_path: Path, status: int
) -> None:
    with respx.mock:
        route = respx.get(URL).mock(return_value=httpx.Response(status, text="<Error>AccessDenied</Error>"))
        with pytest.raises(DownloadError) as caught:
            await download(http, SIGNED, tmp_path / "a.png", max_bytes=1000, retry=FAST)
    assert route.call_count == 1
    message = str(caught.value)
    assert str(status) in message and "expired" in message and "24 h" in message
    assert URL in message and "Signature" not in message
    assert leftovers(tmp_path) == []


async def test_a_declared_size_over_the_cap_is_refused_without_writing(http: httpx.AsyncClient, tmp_path: Path) -> None:
    with respx.mock:
        route = respx.get(URL).mock(return_value=httpx.Response(200, content=b"x" * 2000))
        with pytest.raises(DownloadError) as caught:
            await download(http, URL, tmp_path / "a.png", max_bytes=1000, retry=FAST)
    assert route.call_count == 1
    assert "1000-byte download cap" in str(caught.value)
    assert leftovers(tmp_path) == []


async def test_an_undeclared_size_over_the_cap_stops_the_download_and_leaves_nothing(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"y" * 4096

    with respx.mock:
        route = respx.get(URL).mock(return_value=httpx.Response(200, content=endless()))
        with pytest.raises(DownloadError, match="over the 10000-byte download cap"):
            await download(http, URL, tmp_path / "a.png", max_bytes=10_000, retry=FAST)
    assert route.call_count == 1
    assert leftovers(tmp_path) == []


async def test_a_failed_download_leaves_an_existing_file_untouched(http: httpx.AsyncClient, tmp_path: Path) -> None:
    dest = tmp_path / "a.png"
    dest.write_bytes(b"previous result")
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(200, content=b"abc", headers={"content-length": "99"}))
        with pytest.raises(DownloadError):
            await download(http, URL, dest, max_bytes=1000, retry=FAST)
    assert dest.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == ["a.png"]


async def test_a_successful_download_replaces_an_existing_file(http: httpx.AsyncClient, tmp_path: Path) -> None:
    dest = tmp_path / "a.png"
    dest.write_bytes(b"stale")
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(200, content=b"fresh"))
        await download(http, URL, dest, max_bytes=1000, retry=FAST)
    assert dest.read_bytes() == b"fresh" and leftovers(tmp_path) == ["a.png"]


async def test_a_gzip_encoded_reply_is_saved_decoded_and_not_taken_for_truncated(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    # Content-Length counts the bytes on the wire (compressed); the saved file is the decoded body.
    data = b'{"transcripts": [{"text": "hello"}]}' * 200
    wire = gzip.compress(data)
    reply = httpx.Response(
        200,
        content=wire,
        headers={"content-encoding": "gzip", "content-length": str(len(wire)), "content-type": "application/json"},
    )
    with respx.mock:
        route = respx.get(URL).mock(return_value=reply)
        saved = await download(http, URL, tmp_path / "result.json", max_bytes=10_000_000, retry=FAST)
    assert route.call_count == 1
    assert (tmp_path / "result.json").read_bytes() == data
    assert saved.size == len(data) and saved.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("url", "suffix"),
    [
        (SIGNED, ".png"),
        ("https://x.test/v/video.MP4?Expires=1", ".mp4"),
        ("https://x.test/no-suffix", ".bin"),
        ("https://x.test/weird.suffixtoolong", ".bin"),
    ],
)
def test_suffix_for_reads_the_url_path_not_its_query(url: str, suffix: str) -> None:
    assert suffix_for(url, ".bin") == suffix


# ---------------------------------------------------------------------- images


async def test_image_info_reads_the_size_of_a_png(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(1664, 928))
    info = await image_info(path)
    assert info is not None and (info.width, info.height) == (1664, 928)


async def test_image_info_of_a_non_image_is_none(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"<html>not an image</html>")
    assert await image_info(path) is None
    assert await image_info(tmp_path / "missing.png") is None


@pytest.mark.parametrize(("max_side", "max_bytes"), [(512, 512 * 1024), (256, 30_000), (200, 8_000)])
async def test_preview_is_a_jpeg_within_the_side_and_byte_limits(tmp_path: Path, max_side: int, max_bytes: int) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(1024, 768, noise=True))
    preview = await preview_jpeg(path, max_side=max_side, max_bytes=max_bytes)
    assert preview is not None
    assert len(preview) <= max_bytes
    with Image.open(io.BytesIO(preview)) as image:
        assert image.format == "JPEG"
        assert max(image.size) <= max_side
        assert image.width > image.height, "the aspect ratio is kept"


async def test_preview_keeps_a_small_image_at_its_size(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(100, 80))
    preview = await preview_jpeg(path, max_side=512, max_bytes=100_000)
    assert preview is not None
    with Image.open(io.BytesIO(preview)) as image:
        assert image.size == (100, 80)


async def test_preview_of_an_rgba_png_is_a_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    # Half-transparent RGBA, made here: tests/support/media makes opaque RGB pictures only.
    Image.new("RGBA", (300, 300), (0, 0, 255, 128)).save(path)
    preview = await preview_jpeg(path, max_side=128, max_bytes=50_000)
    assert preview is not None and preview[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("max_bytes", [0, -1, 10, 200])
async def test_preview_is_none_when_no_jpeg_fits_the_budget(tmp_path: Path, max_bytes: int) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(1024, 768, noise=True))
    assert await preview_jpeg(path, max_side=512, max_bytes=max_bytes) is None


async def test_preview_of_a_non_image_is_none(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"not an image")
    assert await preview_jpeg(path, max_side=512, max_bytes=100_000) is None


def test_a_restart_removes_the_part_files_of_downloads_that_died(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    from bailian_mcp.media import PART_OWNER, STALE_PART_SECONDS, part_path, remove_stale_parts

    day = tmp_path / "2026-12-07"
    day.mkdir()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = PART_OWNER.rsplit("-", 1)[0]
    dead = day / f".job_a-0.png.{host}-{ended.stdout.strip()}.0a1b2c3d.part"
    ours = part_path(day / "job_b-0.png")
    old_elsewhere = day / ".job_c-0.png.other_host-7.0a1b2c3d.part"
    fresh_elsewhere = day / ".job_d-0.png.other_host-7.0a1b2c3d.part"
    saved = day / "job_e-0.png"
    for path in (dead, ours, old_elsewhere, fresh_elsewhere, saved):
        path.write_bytes(b"x")
    long_ago = time.time() - STALE_PART_SECONDS - 60
    os.utime(old_elsewhere, (long_ago, long_ago))

    assert remove_stale_parts(tmp_path) == 2
    assert not dead.exists() and not old_elsewhere.exists()
    assert ours.exists() and fresh_elsewhere.exists() and saved.exists(), "live downloads and results stay"
