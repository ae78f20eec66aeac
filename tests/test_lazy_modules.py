"""Modules loaded on first use: serving lists its tools without httpx, rich's progress or the command parsers."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.lazy_modules import load_on_first_use

STARTUP = """
import json, sys
import anyio
from bailian_mcp import cli
from bailian_mcp.config import load_settings
from bailian_mcp.server import build_server
cli.build_parser(with_commands=False)
server = build_server(load_settings())
anyio.run(server.list_tools)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.slow
def test_listing_the_tools_loads_no_http_client_progress_display_or_command_parsers(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STARTUP], capture_output=True, text=True, timeout=60, check=True, cwd=str(tmp_path)
    )
    loaded = set(json.loads(done.stdout))
    for module in (
        "httpx._client",
        "httpcore",
        "rich.progress",
        "bailian_mcp.cli.commands",
        "bailian_mcp.batch.run",
        "PIL",
    ):
        assert module not in loaded, module


async def test_the_connection_pool_is_made_on_first_use_and_closed_with_the_client() -> None:
    client = DashScopeClient(api_key="sk-test", base_url="http://127.0.0.1:9")
    assert client._http is None
    pool = client.http
    assert client.http is pool
    await client.aclose()
    assert pool.is_closed


def test_a_lazy_module_runs_when_an_attribute_is_first_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_probe.py").write_text("import builtins\nbuiltins.LAZY_PROBE_RAN = True\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_probe", raising=False)
    monkeypatch.setattr(builtins, "LAZY_PROBE_RAN", False, raising=False)
    module = load_on_first_use("lazy_probe")
    assert sys.modules["lazy_probe"] is module and getattr(builtins, "LAZY_PROBE_RAN") is False  # noqa: B009
    assert module.VALUE == 42 and getattr(builtins, "LAZY_PROBE_RAN") is True  # noqa: B009
    assert load_on_first_use("lazy_probe") is module


def test_a_missing_module_is_reported_at_once() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        load_on_first_use("no_such_module_here")
