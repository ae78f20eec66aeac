"""Huge inputs and outputs on one machine: refused or described without reading them into memory, while the server
keeps answering pings."""

from __future__ import annotations

import resource
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from bailian_mcp.config import Settings
from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.server import build_server
from bailian_mcp.server.resources import INLINE_MAX_BYTES
from tests.support.emulators import api_requests
from tests.support.services import make_settings

GB = 1024**3
WAV_HEAD = b"RIFF\xff\xff\xff\x7fWAVEfmt "  # a WAV header, so the file gets as far as the upload policy


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of `size` bytes starting with `head` that takes no room on disk (and would take `size` of memory if
    read)."""
    with path.open("wb") as file:
        file.write(head)
        file.truncate(size)
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    return folder


@pytest.fixture
async def client(tmp_path: Path, emulator: RunningEmulator, inputs: Path) -> AsyncIterator[Client]:
    settings: Settings = make_settings(tmp_path, emulator.base_url, input_roots=str(inputs))
    async with Client(build_server(settings), mode="legacy") as opened:
        yield opened


async def test_a_huge_image_and_a_huge_recording_are_refused_at_once_and_pings_are_answered(
    client: Client, inputs: Path, emulator: RunningEmulator
) -> None:
    image, recording = sparse(inputs / "huge.png", 3 * GB), sparse(inputs / "huge.wav", 2 * GB, WAV_HEAD)
    before = peak_rss_mb()
    slowest_ping = 0.0
    results = {}

    async def call(name: str, arguments: dict[str, object]) -> None:
        started = time.monotonic()
        results[name] = (await client.call_tool(name, arguments), time.monotonic() - started)

    async with anyio.create_task_group() as group:
        group.start_soon(call, "edit_image", {"image": str(image), "prompt": "make it blue"})
        group.start_soon(call, "speech_to_text", {"audio": [str(recording)], "model": "paraformer-v2"})
        while len(results) < 2:
            started = time.monotonic()
            await client.send_ping()
            slowest_ping = max(slowest_ping, time.monotonic() - started)
            await anyio.sleep(0.02)
    edited, edit_seconds = results["edit_image"]
    heard, heard_seconds = results["speech_to_text"]
    assert edited.is_error and "3072.0 MB" in str(edited.content[0]) and edit_seconds < 1
    assert heard.is_error and "temporary storage takes files of at most" in str(heard.content[0])
    assert heard_seconds < 1 and slowest_ping < 0.5
    assert peak_rss_mb() - before < 100, "nothing was read into memory"
    assert not [r for r in api_requests(emulator, "POST") if "/services/" in r["path"] or "upload" in r["path"]]


async def test_a_large_output_read_as_a_resource_is_described_not_sent(client: Client) -> None:
    made = await client.call_tool("text_to_image", {"prompt": "a cat"})
    assert made.structured_content is not None
    job_id, output = made.structured_content["job_id"], made.structured_content["outputs"][0]
    with Path(output["path"]).open("r+b") as file:  # the saved file grows past what is sent inline
        file.truncate(INLINE_MAX_BYTES + 1)
    before = peak_rss_mb()
    (content,) = (await client.read_resource(f"bailian://jobs/{job_id}/0.png")).contents
    assert content.mime_type == "text/plain" and isinstance(getattr(content, "text", None), str)
    assert (
        output["path"] in content.text and str(INLINE_MAX_BYTES + 1) in content.text and output["url"] in content.text
    )
    assert peak_rss_mb() - before < 20
    small = await client.call_tool("text_to_image", {"prompt": "a dog"})
    assert small.structured_content is not None
    blob = (await client.read_resource(f"bailian://jobs/{small.structured_content['job_id']}/0.png")).contents[0]
    assert blob.mime_type == "image/png" and getattr(blob, "blob", "")


async def test_a_huge_data_uri_is_refused_before_it_is_decoded(client: Client) -> None:
    huge = "data:image/png;base64," + "A" * (40 * 1024 * 1024)
    result = await client.call_tool("edit_image", {"image": huge, "prompt": "x"})
    assert result.is_error and "MB; allowed" in str(result.content[0])


async def test_no_part_file_of_a_killed_download_survives_a_restart(tmp_path: Path, emulator: RunningEmulator) -> None:
    import subprocess
    import sys

    from bailian_mcp.media import PART_OWNER

    settings = make_settings(tmp_path, emulator.base_url)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    day = settings.output_dir / "2026-12-06"
    day.mkdir(parents=True)
    left = day / f".job_x-0.mp4.{PART_OWNER.rsplit('-', 1)[0]}-{ended.stdout.strip()}.0a1b2c3d.part"
    left.write_bytes(b"half a video")
    async with Client(build_server(settings)) as client:
        await client.list_tools()
        with anyio.fail_after(5):
            while left.exists():
                await anyio.sleep(0.02)
