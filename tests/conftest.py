"""Fixtures shared by every test module: recordings of the real service, isolated settings, fast services.
(The helpers they use, and that test modules import, live in tests/support.)"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.config import Settings, load_settings
from bailian_mcp.dashscope import client as dashscope_client
from bailian_mcp.dashscope import watcher as task_watcher
from bailian_mcp.dashscope.client import TASK_QUERY_BUCKET, DashScopeClient
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.jobs import services as runtime
from tests.support.recordings import RECORDINGS, Recording
from tests.support.services import FAST_POLL, FAST_RETRY, QUICK_POLL, SETTINGS_ENV_NAMES
from tests.support.spawned import Spawner
from tests.support.stores import STORE_KINDS, StoreLocation, store_location


@pytest.fixture
def recording() -> Any:
    """`recording("image-synthesis-nosse")`; skips cleanly where the recordings folder is absent."""
    if not RECORDINGS.is_dir():
        pytest.skip("the recordings folder (../shared/spec/recordings) is not beside this checkout")
    return Recording


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


@pytest.fixture
def fast_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """No client-side pacing, near-instant retries and polls: servers built after it answer in milliseconds."""
    monkeypatch.setattr(runtime, "submit_limiter", lambda settings: RateLimiter({TASK_QUERY_BUCKET: 1000.0}))
    monkeypatch.setattr(
        runtime, "DashScopeClient", functools.partial(DashScopeClient, retry=FAST_RETRY, poll=FAST_POLL)
    )


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Every async test runs on asyncio, the server's loop (speech runs on `websockets`, an asyncio library); trio
    being installed (selenium brings it) does not double the suite."""
    return "asyncio"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process clients poll the emulator's 0.2-second tasks every 50-200 ms instead of the real service's first
    second (the schedule itself is tests/test_polling.py's subject), and their process's poller gathers polls for
    20 ms at most instead of 100 and, leading the account's polls, steps down after 0.3 s without any instead of 2
    (tests/test_task_watcher.py)."""
    monkeypatch.setattr(dashscope_client, "PollSchedule", lambda: QUICK_POLL)
    monkeypatch.setattr(task_watcher, "WINDOW_MAX", 0.02)
    monkeypatch.setattr(task_watcher, "LEAD_IDLE_SECONDS", 0.3)  # a leader of in-process tests stops ticking soon


@pytest.fixture(scope="module")
def spawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spawner]:
    """Every server a test module starts is stopped at its end."""
    spawner = Spawner(tmp_path_factory)
    try:
        yield spawner
    finally:
        spawner.stop_all()


@pytest.fixture(params=STORE_KINDS)
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreLocation]:
    """A job store location of each kind (SQLite; PostgreSQL when a test database is given, always in CI)."""
    with store_location(request.param, tmp_path) as location:
        yield location


STARTED_FIRST = ("tests/stress/test_chaos.py", "tests/conformance/", "tests/e2e/test_transports.py")
"""The longest single tests and modules. With `--no-loadscope-reorder` (pyproject.toml) the workers take the modules
in this order: these first, then the others by their number of tests, largest first (xdist's own reordering, which
would leave a module of one long test, the chaos test, to run alone at the end)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    sizes = Counter(item.nodeid.split("::", 1)[0] for item in items)
    items.sort(key=lambda item: (not item.nodeid.startswith(STARTED_FIRST), -sizes[item.nodeid.split("::", 1)[0]]))
