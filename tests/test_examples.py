"""The examples run as written (offline, against the built-in emulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_claude_desktop_config_is_valid_json_with_both_setups() -> None:
    config = json.loads((EXAMPLES / "claude_desktop_config.json").read_text())
    servers = config["mcpServers"]
    assert servers["bailian"]["command"].endswith("/bin/bailian-mcp")
    assert servers["bailian-offline"]["args"] == ["--emulator"]


@pytest.mark.slow
def test_generate_image_example_runs_offline(tmp_path: Path) -> None:
    env = {**os.environ, "BAILIAN_DATA_DIR": str(tmp_path / "data"), "BAILIAN_OUTPUT_DIR": str(tmp_path / "out")}
    env.pop("DASHSCOPE_API_KEY", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "generate_image.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tools: text_to_image" in done.stdout and "get_task" in done.stdout
    assert "Generated 2 image(s)" in done.stdout
    saved = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("  /")]
    assert len(saved) == 2 and all(Path(path).is_file() for path in saved)
