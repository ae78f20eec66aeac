"""Reading input files: URL checks, loopback downloads, ``data:`` URIs and ``oss://`` upload keys."""

from __future__ import annotations

import base64

import pytest

from bailian_mcp.emulator.envelope import ServiceError
from bailian_mcp.emulator.sources import UNRESOLVED_OSS, URL_ERROR, Sources, Unreadable
from bailian_mcp.emulator.upload_store import StoredFile, UploadStore
from tests.support.emulators import FileServer


def sources(*, resolve: bool = True, now: float = 0.0) -> Sources:
    store = UploadStore(ttl=100.0, capacity_bytes=1000)
    store.put(StoredFile("dir/a.txt", b"hello", "text/plain", 0.0))
    return Sources(store, resolve, now, timeout=5.0)


@pytest.mark.parametrize(
    "ref",
    [
        "http://example.test/a.png",
        "https://example.test/a.png",
        "data:image/png;base64,AAAA",
        "oss://dir/a.txt",
        "oss://dir/本地 照片.png",
    ],
)
def test_accepted_references(ref: str) -> None:
    assert sources().check(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        None,
        "",
        42,
        "ftp://host/a.png",
        "file:///tmp/a.png",
        "/tmp/a.png",
        "http://例子.test/图.png",
        "http://",
        "oss://",
    ],
)
def test_refused_references_are_url_errors(ref: object) -> None:
    with pytest.raises(ServiceError) as refused:
        sources().check(ref)
    assert (refused.value.status, refused.value.code, refused.value.message) == (400, "InvalidParameter", URL_ERROR)


def test_oss_keys_need_the_resolve_header() -> None:
    with pytest.raises(ServiceError) as refused:
        sources(resolve=False).check("oss://dir/a.txt")
    assert (
        refused.value.message
        == UNRESOLVED_OSS
        == ("The provided URL does not appear to be valid. Ensure it is correctly formatted.")
    )


def test_data_uris_can_be_refused_by_the_caller() -> None:
    with pytest.raises(ServiceError):
        sources().check("data:audio/wav;base64,AAAA", allow_data=False)


async def test_reads_a_loopback_url(files: FileServer) -> None:
    url = files.add("sources/a.bin", b"\x00\x01payload")
    assert await sources().read(url, 100) == b"\x00\x01payload"


async def test_a_missing_url_is_unreadable(files: FileServer) -> None:
    with pytest.raises(Unreadable) as unreadable:
        await sources().read(files.url("sources/none.bin"), 100)
    assert unreadable.value.message == URL_ERROR and not unreadable.value.too_large


async def test_a_closed_port_is_unreadable() -> None:
    with pytest.raises(Unreadable):
        await sources().read("http://127.0.0.1:9/a.png", 100)


async def test_a_download_over_the_limit_stops_as_too_large(files: FileServer) -> None:
    url = files.add("sources/big.bin", b"x" * 5000)
    with pytest.raises(Unreadable) as unreadable:
        await sources().read(url, 1000)
    assert unreadable.value.too_large


async def test_reads_data_uris() -> None:
    ref = "data:image/png;base64," + base64.b64encode(b"\x89PNG...").decode()
    assert await sources().read(ref, 100) == b"\x89PNG..."


@pytest.mark.parametrize("ref", ["data:image/png;base64,%%%", "data:image/png,plain"])
async def test_bad_data_uris_are_unreadable(ref: str) -> None:
    with pytest.raises(Unreadable):
        await sources().read(ref, 100)


async def test_reads_upload_keys_until_they_expire() -> None:
    assert await sources(now=99.0).read("oss://dir/a.txt", 100) == b"hello"
    with pytest.raises(Unreadable):
        await sources(now=100.0).read("oss://dir/a.txt", 100)
    with pytest.raises(Unreadable):
        await sources().read("oss://dir/other.txt", 100)
