"""Fixtures for the security suite: emulators made to order on loopback, and a folder of input files."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.emulator import RunningEmulator, start_in_thread
from tests.support.emulators import SECURITY_EMULATOR, EmulatorFactory
from tests.support.media import write_png, write_wav


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


@pytest.fixture
def input_root(tmp_path: Path) -> Path:
    """The only folder local inputs may come from (BAILIAN_INPUT_ROOTS), with a usable image and recording."""
    root = (tmp_path / "allowed").resolve()
    write_png(root / "photo.png")
    write_wav(root / "speech.wav")
    return root
