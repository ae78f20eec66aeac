"""Interop fixtures: one emulator per test module on loopback (tasks finish in a fraction of a second), and the
command and environment that spawn `bailian-mcp` over stdio against it with temporary data and output folders.
The frameworks themselves are imported inside each module's fixtures, so a worker that runs none of a module's tests
never pays for importing that framework."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bailian_mcp.emulator import RunningEmulator, start_in_thread
from tests.interop.common import StdioServer
from tests.support.emulators import QUICK_EMULATOR
from tests.support.spawned import ENTRY_POINT, server_env


@pytest.fixture(scope="module")
def interop_emulator() -> Iterator[RunningEmulator]:
    running = start_in_thread(QUICK_EMULATOR)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def stdio_server(tmp_path_factory: pytest.TempPathFactory, interop_emulator: RunningEmulator) -> StdioServer:
    tmp_path = tmp_path_factory.mktemp("interop")
    env = server_env(tmp_path, DASHSCOPE_API_KEY="sk-test", DASHSCOPE_BASE_URL=interop_emulator.base_url)
    return StdioServer(command=ENTRY_POINT, env=env, out_dir=tmp_path / "out")
