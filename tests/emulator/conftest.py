"""Fixtures for the emulator tests: an in-process emulator on a fake clock, a loopback file server for URL
inputs, and the recordings folder."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.emulator import EmulatorConfig
from tests.support.emulator_app import FAST, Emulator, FakeClock, MakeEmulator
from tests.support.emulators import FileServer
from tests.support.recordings import RECORDINGS


@pytest.fixture
async def make_emulator() -> AsyncIterator[MakeEmulator]:
    """``await make_emulator(config=FAST, **overrides)`` -> a fresh `Emulator` on its own fake clock."""
    made: list[Emulator] = []

    async def make(config: EmulatorConfig = FAST, **overrides: Any) -> Emulator:
        if overrides:
            config = dataclasses.replace(config, **overrides)
        emulator = Emulator(config, FakeClock())
        made.append(emulator)
        return emulator

    yield make
    for emulator in made:
        await emulator.http.aclose()


@pytest.fixture
async def emu(make_emulator: MakeEmulator) -> Emulator:
    return await make_emulator()


@pytest.fixture
def recordings() -> Path:
    if not RECORDINGS.is_dir():
        pytest.skip(f"recordings folder not found: {RECORDINGS}")
    return RECORDINGS


@pytest.fixture(scope="session")
def files() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()
