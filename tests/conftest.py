"""Fixtures shared by every test module: recordings of the real service, isolated settings."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.config import Settings, environment_variables, load_settings
from bailian_mcp.dashscope.client import TASK_QUERY_BUCKET, DashScopeClient, RetryPolicy
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.dashscope.polling import PollSchedule
from bailian_mcp.jobs import services as runtime
from bailian_mcp.jobs.services import Services, open_services

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "spec" / "recordings"


@dataclass(frozen=True)
class Recording:
    """One recorded exchange with the real DashScope (request/response headers and bodies)."""

    name: str

    def _read(self, suffix: str) -> str | None:
        path = RECORDINGS / f"{self.name}.{suffix}"
        return path.read_text(encoding="utf-8-sig") if path.exists() else None

    @property
    def status(self) -> int:
        header = self._read("response.header.txt") or ""
        return int(header.split()[1])

    @property
    def request_line(self) -> str:
        return (self._read("request.header.txt") or "").splitlines()[0]

    @property
    def request_body(self) -> Any:
        text = self._read("request.body.json")
        return json.loads(text) if text else None

    @property
    def response_text(self) -> str:
        return self._read("response.body.txt") or ""

    @property
    def response_body(self) -> Any:
        return json.loads(self.response_text)


@pytest.fixture
def recording() -> Any:
    """`recording("image-synthesis-nosse")`; skips cleanly where the recordings folder is absent."""
    if not RECORDINGS.is_dir():
        pytest.skip("the recordings folder (../shared/spec/recordings) is not beside this checkout")
    return Recording


SETTINGS_ENV_NAMES = tuple(environment_variables().values())


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the server's environment variables set, whatever the developer's shell has."""
    for name in SETTINGS_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def settings(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's environment: temp data and output folders, test key."""
    return load_settings(
        api_key="sk-test",
        base_url="https://dashscope.test/api/v1",
        data_dir=str(tmp_path / "data"),
        output_dir=str(tmp_path / "out"),
    )


FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
FAST_POLL = PollSchedule(delays=(0.02,), max_delay=0.05)


@pytest.fixture
def fast_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """No client-side pacing, near-instant retries and polls: servers built after it answer in milliseconds."""
    monkeypatch.setattr(runtime, "submit_limiter", lambda settings: RateLimiter({TASK_QUERY_BUCKET: 1000.0}))
    monkeypatch.setattr(
        runtime, "DashScopeClient", functools.partial(DashScopeClient, retry=FAST_RETRY, poll=FAST_POLL)
    )


@asynccontextmanager
async def quick_services(settings: Settings, *, attempts: int = 3) -> AsyncIterator[Services]:
    """The server's services with polls, retries (`attempts` in all) and task-query pacing shrunk to milliseconds."""
    async with open_services(settings) as opened:
        opened.client.poll = PollSchedule(delays=(0.01,), max_delay=0.01)
        opened.client.retry = RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.002)
        opened.client.limiter.set_rate(TASK_QUERY_BUCKET, 1000)
        yield opened
