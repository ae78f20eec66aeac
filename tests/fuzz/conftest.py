"""Fixtures for the fuzz suite: the emulator on loopback with tiny task durations, the real server behind an
in-memory MCP client, client-side pacing and retry delays shrunk so that hundreds of calls fit in seconds."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.emulator import RunningEmulator, start_in_thread
from tests.support.emulators import FUZZ_EMULATOR
from tests.support.fuzz.checks import CrashLog
from tests.support.fuzz.targets import FuzzTarget, Inputs, make_inputs, open_target


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


@pytest.fixture
def fuzz_inputs(tmp_path: Path) -> Inputs:
    return make_inputs(tmp_path)


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
