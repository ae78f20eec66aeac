"""The codebase stays typed and lint-clean: the same checks a reviewer runs, as part of the test suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


PYTHON_DIRS = [name for name in ("src", "tests", "bench", "examples") if (ROOT / name).is_dir()]


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", *PYTHON_DIRS], ["ruff", "format", "--check", *PYTHON_DIRS], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_static_checks_pass(command: list[str]) -> None:
    tool = BIN / command[0]
    if not tool.exists():
        pytest.skip(f"{command[0]} is not installed in this environment (pip install -e '.[test]')")
    done = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
