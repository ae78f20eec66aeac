"""What the fuzz suites call: the real server behind an in-memory MCP client, against the emulator on loopback,
with local input files inside the allowed root (and a few that must be refused)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client

from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.server import build_server
from tests.support.media import WHITE, write_png, write_wav
from tests.support.services import make_settings


@dataclass
class Inputs:
    """Local files inside the allowed root (and a few that must be refused) for the path parameters."""

    root: Path
    image: Path
    mask: Path
    audio: Path
    outside: Path
    hidden: Path
    escape_link: Path
    paths: list[str] = field(default_factory=list)


def make_inputs(tmp_path: Path) -> Inputs:
    """The files in `tmp_path/inputs` (the allowed root) and beside it, and every path the tools get to try."""
    root = (tmp_path / "inputs").resolve()
    root.mkdir()
    outside = write_png(tmp_path / "outside.png")
    hidden_dir = root / ".private"
    hidden_dir.mkdir()
    inputs = Inputs(
        root=root,
        image=write_png(root / "photo.png"),
        mask=write_png(root / "mask.png", color=WHITE),
        audio=write_wav(root / "speech.wav", 0.3),
        outside=outside,
        hidden=write_png(hidden_dir / "secret.png"),
        escape_link=root / "link.png",
    )
    inputs.escape_link.symlink_to(outside)
    inputs.paths = [  # the first four may be read (strategies.USABLE_PATHS); every other one must be refused
        str(inputs.image),
        str(inputs.mask),
        str(inputs.audio),
        inputs.image.as_uri(),
        str(outside),
        str(inputs.hidden),
        str(inputs.escape_link),
        f"{root}/../outside.png",
        f"file://{root}/%2e%2e/outside.png",
        str(root),
        str(root / "missing.png"),
        f"{root}/{'a' * 300}.png",  # a name longer than the file system allows
        f"{root}/photo.png\x00.txt",
        f"file://{root}/%00photo.png",
        "/dev/zero",
        "C:\\inputs\\photo.png",
    ]
    return inputs


@dataclass
class FuzzTarget:
    """One server behind one client, shared by every example of a hypothesis test."""

    client: Client
    emulator: RunningEmulator
    inputs: Inputs
    schemas: dict[str, dict[str, Any]]
    handles: list[str] = field(default_factory=list)

    async def ensure_handles(self) -> list[str]:
        """Real handles for get_task / cancel_task (made on first use): a finished job and a pending one."""
        if not self.handles:
            done = await self.client.call_tool(
                "text_to_image", {"prompt": "a kite", "size": "512*512", "wait_seconds": 2}
            )
            pending = await self.client.call_tool(
                "text_to_image", {"prompt": "a boat", "size": "512*512", "wait_seconds": 0}
            )
            for result in (done, pending):
                assert not result.is_error and result.structured_content is not None, result.content
                self.handles += [result.structured_content["job_id"], result.structured_content["task_id"]]
        return self.handles

    def __repr__(self) -> str:  # hypothesis prints the fixtures of a failing example: keep it to one line
        return f"FuzzTarget(emulator={self.emulator.base_url})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@asynccontextmanager
async def open_target(
    tmp_path: Path, emulator: RunningEmulator, inputs: Inputs, mode: str
) -> AsyncIterator[FuzzTarget]:
    """The real server on `emulator` with `inputs.root` as its input root, behind a client (`mode`: auto, legacy)."""
    settings = make_settings(
        tmp_path,
        emulator.base_url,
        input_roots=str(inputs.root),
        wait_seconds=1,
        preview_max_bytes=16 * 1024,
        download_max_bytes=5 * 1024 * 1024,
    )
    async with Client(build_server(settings), mode=mode) as client:
        schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
        yield FuzzTarget(client, emulator, inputs, schemas)
