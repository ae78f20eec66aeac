"""BAILIAN_DOWNLOAD_MAX_BYTES: a result larger than the cap is refused. No file is left behind (not even a
partial `.part`), the result says so in a warning, and the result URL is kept so the file can still be had —
by get_task on a server with a larger cap, which saves it then. tests/test_media.py covers `download` itself
(declared and undeclared sizes); this is the cap as the tools apply it, against the emulator's real files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent

from bailian_mcp.config import Settings
from bailian_mcp.emulator import RunningEmulator
from tests.support.services import make_settings, serving

TINY_CAP = 4096


def texts(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def capped(tmp_path: Path, emulator: RunningEmulator, cap: int) -> Settings:
    return make_settings(tmp_path, emulator.base_url, download_max_bytes=cap, wait_seconds=10)


def result_size(url: str) -> int:
    return len(httpx.get(url, timeout=10).content)


async def check_refused(result: CallToolResult, settings: Settings, count: int) -> dict[str, Any]:
    data: dict[str, Any] | None = result.structured_content
    assert data is not None and not result.is_error, texts(result)
    assert data["status"] == "SUCCEEDED" and data["done"] is True
    outputs = data["outputs"]
    assert len(outputs) == count
    for output in outputs:
        assert output["url"] and output["path"] is None and output["bytes"] is None
        assert result_size(output["url"]) > settings.download_max_bytes  # the cap, not something else, refused it
    warnings = data["warnings"]
    assert len(warnings) == count
    assert all(f"over the {settings.download_max_bytes}-byte download cap" in w for w in warnings), warnings
    assert all("Its URL is in the result" in w for w in warnings), warnings
    assert f"Warning: Could not save {outputs[0]['kind']} 0" in texts(result)
    assert [b for b in result.content if isinstance(b, ImageContent)] == []  # no preview of a file not saved
    links = [b for b in result.content if isinstance(b, ResourceLink)]
    assert sorted(str(link.uri) for link in links) == sorted(o["url"] for o in outputs)  # the URLs are kept
    assert files_in(settings.output_dir) == [], files_in(settings.output_dir)  # no file, no .part
    return data


@pytest.mark.parametrize(
    ("tool", "arguments", "count"),
    [
        ("text_to_image", {"prompt": "a detailed city at night", "size": "1440*1440", "n": 2}, 2),
        ("text_to_video", {"prompt": "a wave", "resolution": "832*480"}, 1),
    ],
    ids=["image", "video"],
)
async def test_a_result_over_the_cap_is_refused_and_leaves_no_file(
    emulator: RunningEmulator,
    fast_services: None,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    tool: str,
    arguments: dict[str, Any],
    count: int,
) -> None:
    settings = capped(tmp_path, emulator, TINY_CAP)
    async with serving(settings) as client:
        await check_refused(await client.call_tool(tool, arguments), settings, count)


async def test_a_synchronous_edit_over_the_cap_is_refused_too(
    emulator: RunningEmulator, fast_services: None, clean_env: pytest.MonkeyPatch, tmp_path: Path, input_root: Path
) -> None:
    settings = make_settings(
        tmp_path, emulator.base_url, download_max_bytes=TINY_CAP, input_roots=str(input_root), wait_seconds=10
    )
    async with serving(settings) as client:
        result = await client.call_tool("edit_image", {"image": str(input_root / "photo.png"), "prompt": "x"})
        await check_refused(result, settings, 1)


async def test_get_task_keeps_refusing_under_the_cap_and_saves_the_file_once_it_fits(
    emulator: RunningEmulator, fast_services: None, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    small = capped(tmp_path, emulator, TINY_CAP)
    async with serving(small) as client:
        made = await client.call_tool("text_to_image", {"prompt": "a busy market", "size": "1440*1440"})
        data = await check_refused(made, small, 1)
        again = await client.call_tool("get_task", {"task_id": data["job_id"], "wait_seconds": 0})
        await check_refused(again, small, 1)
    size = result_size(data["outputs"][0]["url"])

    for cap, saved in ((size - 1, False), (size, True)):  # one byte short is refused; exactly the size is not
        async with serving(capped(tmp_path, emulator, cap)) as client:
            result = await client.call_tool("get_task", {"task_id": data["job_id"], "wait_seconds": 0})
        output = (result.structured_content or {})["outputs"][0]
        assert (output["path"] is not None) is saved, texts(result)
        if saved:
            assert output["bytes"] == size and Path(output["path"]).stat().st_size == size
            assert files_in(small.output_dir) == [Path(output["path"])]
        else:
            assert files_in(small.output_dir) == []
