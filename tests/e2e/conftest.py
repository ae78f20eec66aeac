"""End-to-end fixtures: the emulator on a loopback port and the real server behind an MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from bailian_mcp.config import Settings, load_settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.server import build_server

FAST = EmulatorConfig(pending_seconds=0.05, running_seconds=0.15)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module (or with indirect parametrisation) for other emulator behaviour."""
    return FAST


@pytest.fixture
def emulator(emulator_config: EmulatorConfig) -> Iterator[RunningEmulator]:
    running = start_in_thread(emulator_config)
    try:
        yield running
    finally:
        running.stop()


def make_settings(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": base_url,
        "data_dir": str(tmp_path / "data"),
        "output_dir": str(tmp_path / "out"),
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def server_settings(tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch) -> Settings:
    return make_settings(tmp_path, emulator.base_url)


@pytest.fixture
async def mcp_client(server_settings: Settings) -> AsyncIterator[Client]:
    async with Client(build_server(server_settings)) as client:
        yield client


def api_requests(emulator: RunningEmulator, method: str | None = None, path_part: str = "") -> list[dict[str, Any]]:
    """The requests the emulator's API received (from its request log)."""
    return [r for r in emulator.state.requests if (method is None or r["method"] == method) and path_part in r["path"]]
