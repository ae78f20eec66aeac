"""Fixtures for the subcommands run in process: one emulator per configuration shared by a module's tests, fast
polls, and the settings a user sets in the environment."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bailian_mcp.dashscope import client as client_module
from bailian_mcp.dashscope.polling import PollSchedule
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from tests.support.emulators import QUICK_EMULATOR


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module (or with indirect parametrisation) for other emulator behaviour."""
    return QUICK_EMULATOR


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[EmulatorConfig, RunningEmulator]]:
    """One emulator per configuration, shared by a module's tests (starting and stopping one takes 0.2 s)."""
    running: dict[EmulatorConfig, RunningEmulator] = {}
    yield running
    for instance in running.values():
        instance.stop()


@pytest.fixture
def emulator(emulator_config: EmulatorConfig, emulators: dict[EmulatorConfig, RunningEmulator]) -> RunningEmulator:
    """The emulator for this test's configuration, its request log cleared. Each test uses its own API key
    (see `env`), so the emulator's rate and concurrency limits, kept per key and model, start afresh."""
    if emulator_config not in emulators:
        emulators[emulator_config] = start_in_thread(emulator_config)
    running = emulators[emulator_config]
    running.state.log.clear()
    return running


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll task status every 0.1-0.3 s instead of the production 1-5 s (the emulator's tasks take 0.2 s)."""
    monkeypatch.setattr(client_module, "PollSchedule", functools.partial(PollSchedule, delays=(0.1,), max_delay=0.3))


@pytest.fixture
def env(tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch) -> Path:
    """The CLI's settings from the environment, as a user sets them: folders in tmp_path, the emulator's URL."""
    clean_env.setenv("BAILIAN_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("BAILIAN_OUTPUT_DIR", str(tmp_path / "out"))
    clean_env.setenv("DASHSCOPE_BASE_URL", emulator.base_url)
    clean_env.setenv("DASHSCOPE_API_KEY", f"sk-test-{uuid.uuid4().hex}")
    return tmp_path
