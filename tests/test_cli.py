"""The `bailian-mcp` command line: version, the emulator subcommand, settings errors."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp import __version__
from bailian_mcp.capabilities import CAPABILITIES
from tests.support.spawned import ENTRY_POINT, free_port

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ENTRY_POINT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def get_json(url: str, *, within: float = 30.0) -> Any:
    """GET `url` as JSON, retrying while the server is still starting."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return json.load(reply)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_version() -> None:
    assert run("--version").stdout.strip() == f"bailian-mcp {__version__}"


def test_an_unexpanded_output_dir_is_refused_with_the_variable_named() -> None:
    done = run(env={"BAILIAN_OUTPUT_DIR": "${HOME}/pictures"})
    assert done.returncode == 2
    assert "BAILIAN_OUTPUT_DIR" in done.stderr and "unexpanded" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_region_is_refused() -> None:
    done = run("--region", "mars-1")
    assert done.returncode == 2 and "mars-1" in done.stderr


def test_emulator_subcommand_serves_dashscope_on_the_given_port() -> None:
    port = free_port()
    process = subprocess.Popen([ENTRY_POINT, "emulator", "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.strip().endswith(f"http://127.0.0.1:{port}/api/v1")
        assert get_json(f"http://127.0.0.1:{port}/__emulator__/health") == {"ok": True}
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/tasks/none")
        try:
            urllib.request.urlopen(request, timeout=2)
        except urllib.error.HTTPError as error:
            assert error.code == 401 and json.load(error)["code"] == "InvalidApiKey"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serving_builds_no_command_parsers_and_anything_else_builds_them_all() -> None:
    from bailian_mcp.cli.main import _only_serves

    assert _only_serves([])
    assert _only_serves(["--transport", "sse", "--port", "9000", "serve", "--host", "127.0.0.1"])
    assert _only_serves(["serve", "--emulator", "--log-level=debug"])
    for argv in (["--help"], ["serve", "-h"], ["text2image", "a cat"], ["--port", "9", "nonsense"], ["emulator"]):
        assert not _only_serves(argv), argv


def test_an_unknown_command_is_named_among_all_the_commands() -> None:
    done = run("--port", "9000", "text2imag")
    assert done.returncode == 2
    assert "invalid choice: 'text2imag'" in done.stderr and "text2image" in done.stderr and "batch" in done.stderr


def test_top_level_help_lists_every_command() -> None:
    done = run("--help")
    assert done.returncode == 0
    capability_commands = [capability.command for capability in CAPABILITIES.values()]
    for command in ("serve", "emulator", *capability_commands, "task", "models", "batch"):
        assert command in done.stdout


def test_the_emulator_starts_with_a_fault_plan_from_a_file(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"seed": 3, "submit": {"throttle": 1.0, "throttle_burst": 2}}))
    port = free_port()
    process = subprocess.Popen(
        [ENTRY_POINT, "emulator", "--port", str(port), "--faults", f"@{plan}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        served = get_json(f"http://127.0.0.1:{port}/__emulator__/faults")
        assert served["seed"] == 3
        assert served["submit"]["throttle"] == 1.0 and served["submit"]["throttle_burst"] == 2
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_unusable_fault_plan_is_refused_naming_the_field() -> None:
    done = run("emulator", "--faults", '{"submit": {"throttel": 0.5}}')
    assert done.returncode == 2
    assert "--faults" in done.stderr and "'throttel'" in done.stderr and "throttle" in done.stderr
    assert "Traceback" not in done.stderr
    missing = run("emulator", "--faults", "@/no/such/plan.json")
    assert missing.returncode == 2 and "cannot read /no/such/plan.json" in missing.stderr
