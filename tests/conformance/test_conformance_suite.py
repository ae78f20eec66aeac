"""The official MCP conformance suite (`@modelcontextprotocol/conformance`) against `bailian-mcp --emulator` over
streamable HTTP: every server scenario that applies to a server without the suite's own test tools.

The suite and a Node 22 to run it are installed by `.ci/conformance-env.sh` (the README's test command runs it
first). Scenarios left out, and why:

    tools-call-*, resources-read-*, resources-templates-read,   call the suite's own tools, resources and prompts
    prompts-get-*, json-schema-2020-12, server-sse-polling,     (test_simple_text, test://static-text,
    elicitation-*, input-required-result-*,                     test_reconnection, …), which a real server lacks
    http-custom-header-server-validation
    logging-set-level, tools-call-with-logging                  this server sends no log messages to clients, so it
                                                                does not declare the logging capability
    resources-subscribe, resources-unsubscribe                  its resources do not change once written
    tasks-*, sep-2640-skills-*                                  extensions this server does not offer

Two checks of server-stateless need the suite's diagnostic tool too; `baseline.yml` names them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.spawned import RunningServer, Spawner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / ".conformance" / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
NODE = ROOT / ".conformance" / "node_modules" / ".bin" / "node"
BASELINE = Path(__file__).with_name("baseline.yml")
SCENARIOS = [
    "server-initialize",
    "server-session-lifecycle",
    "ping",
    "tools-list",
    "tools-call-error",
    "resources-list",
    "prompts-list",
    "completion-complete",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
    "server-stateless",
    "caching",
    "http-header-validation",
    "sep-2164-resource-not-found",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    if not SUITE.is_file() or not NODE.exists():
        pytest.fail("the conformance suite is missing: run .ci/conformance-env.sh (the README's test command does)")
    spawner = Spawner(tmp_path_factory)
    try:
        yield spawner("streamable-http")
    finally:
        spawner.stop_all()


@pytest.fixture(scope="module")
def runs(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every scenario run against the server, two at a time (part of a run is the suite waiting on the server)."""
    output = tmp_path_factory.mktemp("conformance")

    def run(scenario: str) -> subprocess.CompletedProcess[str]:
        command = [str(NODE), str(SUITE), "server", "--url", f"{server.url}/mcp", "--scenario", scenario]
        folder = output / scenario
        folder.mkdir()
        return subprocess.run(
            [*command, "--expected-failures", str(BASELINE), "--output-dir", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=folder,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(SCENARIOS, pool.map(run, SCENARIOS), strict=True))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_passes(runs: dict[str, subprocess.CompletedProcess[str]], scenario: str) -> None:
    run = runs[scenario]
    assert run.returncode == 0, f"{scenario}:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
