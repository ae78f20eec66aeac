"""End-to-end fixtures: the emulator on a loopback port and the real server behind an MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client

from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.server import build_server
from tests.support.emulators import QUICK_EMULATOR
from tests.support.services import make_settings


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module (or with indirect parametrisation) for other emulator behaviour."""
    return QUICK_EMULATOR


@pytest.fixture
def emulator(emulator_config: EmulatorConfig) -> Iterator[RunningEmulator]:
    running = start_in_thread(emulator_config)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def server_settings(tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch) -> Settings:
    return make_settings(tmp_path, emulator.base_url)


@pytest.fixture
async def mcp_client(server_settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(server_settings)) as client:
        yield client
