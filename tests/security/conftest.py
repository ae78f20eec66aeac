"""Fixtures for the security suite: emulators made to order on loopback, fast client timings, input files."""

from __future__ import annotations

import dataclasses
import io
import secrets
import socket
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.server import build_server

SENTINEL = f"sk-SENTINEL-{secrets.token_hex(12)}"
SECURITY_EMULATOR = EmulatorConfig(
    pending_seconds=0.02,
    running_seconds=0.05,
    submit_rps=0,
    max_concurrent_tasks=0,
    stream_chunk_seconds=0.0,
    fetch_timeout_seconds=2.0,
)

EmulatorFactory = Callable[..., RunningEmulator]


@pytest.fixture
def start_emulator() -> Iterator[EmulatorFactory]:
    """`start_emulator(**EmulatorConfig overrides)`: an emulator on a free loopback port, stopped at the end."""
    started: list[RunningEmulator] = []

    def start(**overrides: Any) -> RunningEmulator:
        running = start_in_thread(dataclasses.replace(SECURITY_EMULATOR, **overrides))
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()


@pytest.fixture
def emulator(start_emulator: EmulatorFactory) -> RunningEmulator:
    return start_emulator()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_png(path: Path, size: tuple[int, int] = (600, 600), color: tuple[int, int, int] = (40, 90, 200)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x10\x00\xf0\xff" * int(seconds * rate / 2))
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def input_root(tmp_path: Path) -> Path:
    """The only folder local inputs may come from (BAILIAN_INPUT_ROOTS), with a usable image and recording."""
    root = (tmp_path / "allowed").resolve()
    write_png(root / "photo.png")
    write_wav(root / "speech.wav")
    return root


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(settings)) as client:
        yield client
