"""The emulator stands alone: no imports from the rest of the package, and a light import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import bailian_mcp.emulator

PACKAGE = Path(bailian_mcp.emulator.__file__).parent


def test_emulator_imports_nothing_else_from_the_package() -> None:
    for source in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("bailian_mcp") or name.startswith("bailian_mcp.emulator"), (
                    f"{source.name} imports {name}"
                )


@pytest.mark.slow
def test_importing_the_emulator_loads_no_heavy_module() -> None:
    heavy = "{'PIL', 'uvicorn', 'websockets', 'httpx', 'aiohttp'}"
    code = f"import sys, bailian_mcp.emulator; print(sorted({heavy} & set(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
