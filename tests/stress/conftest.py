"""The stress suites: the client and the server against the emulator with faults on (`pytest -m chaos` selects
the chaos run; it runs with the rest of the suite too)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: hundreds of concurrent tool calls against the emulator with faults on")
