"""The server under test without the developer's environment: settings in temporary folders, its services with
polls, retries and pacing shrunk to milliseconds, and an in-memory MCP client on a server built from settings."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from bailian_mcp.config import Settings, all_environment_variables, load_settings
from bailian_mcp.dashscope.client import TASK_QUERY_BUCKET, RetryPolicy
from bailian_mcp.dashscope.polling import PollSchedule
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.server import build_server

SENTINEL = f"sk-SENTINEL-{secrets.token_hex(12)}"
"""An API key, random per run, to look for in everything that leaves the server (it must never be there)."""

SETTINGS_ENV_NAMES = all_environment_variables()
"""Every environment variable the server reads its settings from."""

FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
FAST_POLL = PollSchedule(delays=(0.02,), max_delay=0.05)
QUICK_POLL = PollSchedule(delays=(0.05, 0.1, 0.2), max_delay=0.5)
"""What every in-process client of the suite polls with (the emulator's tasks take 0.2 s; see tests/conftest.py)."""


def make_settings(tmp_path: Path, base_url: str, **overrides: Any) -> Settings:
    """Settings with a test key, data and output folders in `tmp_path`, against `base_url` (an emulator)."""
    values: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": base_url,
        "data_dir": str(tmp_path / "data"),
        "output_dir": str(tmp_path / "out"),
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def quick_services(settings: Settings, *, attempts: int = 3) -> AsyncIterator[Services]:
    """The server's services with polls, retries (`attempts` in all) and task-query pacing shrunk to milliseconds."""
    async with open_services(settings) as opened:
        opened.client.poll = PollSchedule(delays=(0.01,), max_delay=0.01)
        opened.client.retry = RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.002)
        opened.client.limiter.set_rate(TASK_QUERY_BUCKET, 1000)
        yield opened


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Client]:
    """An MCP client connected in memory to the real server built from `settings`."""
    async with Client(build_server(settings)) as client:
        yield client
