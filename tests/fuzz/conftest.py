"""Fixtures for the fuzz suite: the emulator on loopback with tiny task durations, the real server behind an
in-memory MCP client, client-side pacing and retry delays shrunk so that hundreds of calls fit in seconds."""

from __future__ import annotations

import io
import logging
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.server import build_server
from tests.e2e.conftest import make_settings
from tests.fuzz.checks import CrashLog

FUZZ_EMULATOR = EmulatorConfig(
    pending_seconds=0.01,
    running_seconds=0.03,
    submit_rps=0,
    max_concurrent_tasks=0,
    stream_chunk_seconds=0.0,
    fetch_timeout_seconds=1.0,
)


@pytest.fixture
def crashes() -> Iterator[CrashLog]:
    """The server's crash tracebacks, whatever logger configuration the run has."""
    handler = CrashLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture
def fuzz_emulator() -> Iterator[RunningEmulator]:
    running = start_in_thread(FUZZ_EMULATOR)
    try:
        yield running
    finally:
        running.stop()


def png(path: Path, size: tuple[int, int], color: tuple[int, int, int] = (90, 160, 220)) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def wav(path: Path, seconds: float = 0.3, rate: int = 16000) -> Path:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * int(seconds * rate))
    path.write_bytes(buffer.getvalue())
    return path


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


@pytest.fixture
def fuzz_inputs(tmp_path: Path) -> Inputs:
    root = (tmp_path / "inputs").resolve()
    root.mkdir()
    outside = png(tmp_path / "outside.png", (600, 600))
    hidden_dir = root / ".private"
    hidden_dir.mkdir()
    inputs = Inputs(
        root=root,
        image=png(root / "photo.png", (600, 600)),
        mask=png(root / "mask.png", (600, 600), (255, 255, 255)),
        audio=wav(root / "speech.wav"),
        outside=outside,
        hidden=png(hidden_dir / "secret.png", (600, 600)),
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


@pytest.fixture
async def fuzz_target(
    tmp_path: Path, fast_services: None, fuzz_emulator: RunningEmulator, fuzz_inputs: Inputs, clean_env: Any
) -> AsyncIterator[FuzzTarget]:
    async with open_target(tmp_path, fuzz_emulator, fuzz_inputs, "auto") as target:
        yield target


@pytest.fixture
async def legacy_fuzz_target(
    tmp_path: Path, fast_services: None, fuzz_emulator: RunningEmulator, fuzz_inputs: Inputs, clean_env: Any
) -> AsyncIterator[FuzzTarget]:
    async with open_target(tmp_path, fuzz_emulator, fuzz_inputs, "legacy") as target:
        yield target
