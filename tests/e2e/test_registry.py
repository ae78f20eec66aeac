"""A capability is declared once: whatever the registry holds when a face is built is served by every face.

Each test loops over `CAPABILITIES` (never a hand-written list), and one registers a capability of its own — a
renamed copy of text_to_video — to show that registering it is all it takes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from bailian_mcp import catalog, cli
from bailian_mcp.batch.file import read_batch, sections
from bailian_mcp.capabilities import CAPABILITIES, capability_named
from bailian_mcp.capabilities.base import Capability
from bailian_mcp.capabilities.text_to_video import TEXT_TO_VIDEO
from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.jobs.services import submit_limiter
from bailian_mcp.server import build_server
from bailian_mcp.server.app import tool_groups

CLIP = replace(TEXT_TO_VIDEO, name="text_to_clip", title="Text to clip", command="text2clip", batch_sections=())

REGISTER_AND_RUN = """
import sys
from dataclasses import replace
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.text_to_video import TEXT_TO_VIDEO
CAPABILITIES["text_to_clip"] = replace(
    TEXT_TO_VIDEO, name="text_to_clip", title="Text to clip", command="text2clip", batch_sections=()
)
from bailian_mcp import catalog, cli
cli.main(sys.argv[1:])
"""


@pytest.fixture
def clip() -> Iterator[Capability]:
    """The copy, in the registry for the test only."""
    CAPABILITIES[CLIP.name] = CLIP
    try:
        yield CLIP
    finally:
        del CAPABILITIES[CLIP.name]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def help_line(command: str) -> str:
    """The line `bailian-mcp --help` gives `command`."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    return next(line for line in out.getvalue().splitlines() if line.strip().startswith(command + " "))


def help_of(command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.build_parser().parse_args([command, "--help"])
    return out.getvalue()


def test_every_capability_is_a_subcommand_a_batch_section_a_tool_group_and_paced() -> None:
    commands = subcommands()
    by_section = sections()
    groups = tool_groups()
    limiter = submit_limiter(Settings(image_submit_rps=0.5))
    for capability in CAPABILITIES.values():
        assert capability.command in commands, capability.name
        assert f"({capability.name})" in help_line(capability.command)
        assert by_section[f"{capability.name}_tasks"] is capability
        assert all(by_section[section] is capability for section in capability.sections)
        assert capability.name in groups[capability.group]
        assert capability_named(capability.command) is capability and capability_named(capability.name) is capability
        for model in catalog.models_for(capability.name):
            expected = 0.5 if capability.pacing == "image" else model.rate.submit_rps
            assert limiter.rate(model.rate_bucket) == expected, model.name


async def test_every_capability_is_a_tool(mcp_client: Client) -> None:
    tools = {tool.name: tool for tool in (await mcp_client.list_tools()).tools}
    for capability in CAPABILITIES.values():
        assert capability.name in tools
        assert tools[capability.name].title == capability.title


def test_a_registered_capability_is_a_subcommand_with_its_help_line(clip: Capability) -> None:
    assert clip.command in subcommands()
    assert "Text to clip (text_to_clip)" in help_line(clip.command)
    assert "--resolution" in help_of(clip.command) and "--wait" in help_of(clip.command)


def test_a_registered_capability_is_a_batch_section(clip: Capability, tmp_path: Path) -> None:
    batch = tmp_path / "clips.json"
    batch.write_text(json.dumps({"text_to_clip_tasks": [{"prompt": "a sunrise"}]}), encoding="utf-8")
    (task,) = read_batch(batch)
    assert task.capability is clip and task.source == "text_to_clip_tasks[0]"


def test_a_registered_capability_joins_its_tool_group(clip: Capability, server_settings: Settings) -> None:
    assert "text_to_clip" in tool_groups()["video"]


@pytest.mark.slow
async def test_a_registered_capability_is_a_tool_that_runs(clip: Capability, server_settings: Settings) -> None:
    async with Client(build_server(server_settings)) as client:
        assert "text_to_clip" in {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("text_to_clip", {"prompt": "a sunrise", "wait_seconds": 30})
    data = result.structured_content
    assert not result.is_error and data is not None, result.content
    assert data["capability"] == "text_to_clip" and data["status"] == "SUCCEEDED"
    assert Path(data["outputs"][0]["path"]).suffix == ".mp4"


FAST = EmulatorConfig(pending_seconds=0.05, running_seconds=0.15)


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [FAST])
async def test_registered_before_main_runs_it_is_served_over_stdio_and_as_a_command(
    tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE_", "BAILIAN_"))},
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_BASE_URL": emulator.base_url,
        "BAILIAN_DATA_DIR": str(tmp_path / "data"),
        "BAILIAN_OUTPUT_DIR": str(tmp_path / "out"),
    }
    server = StdioServerParameters(command=sys.executable, args=["-c", REGISTER_AND_RUN], env=env)
    async with Client(server) as client:
        assert "text_to_clip" in {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("text_to_clip", {"prompt": "a sunrise", "wait_seconds": 30})
    assert not result.is_error and result.structured_content is not None, result.content
    assert result.structured_content["capability"] == "text_to_clip"

    done = subprocess.run(
        [sys.executable, "-c", REGISTER_AND_RUN, "text2clip", "a sunrise", "--json", "--wait", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["capability"] == "text_to_clip"

    batch = tmp_path / "clips.json"
    batch.write_text(json.dumps({"text_to_clip_tasks": [{"prompt": "a sunrise"}]}), encoding="utf-8")
    planned = subprocess.run(
        [sys.executable, "-c", REGISTER_AND_RUN, "batch", str(batch), "--dry-run", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["plan"] == [
        "#0 text_to_clip_tasks[0] text_to_clip wan2.1-t2v-turbo: would submit, 1.2 CNY",
        "Would cost 1.2 CNY (1 priced tasks).",
    ]
