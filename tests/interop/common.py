"""What the interop tests share: the tools every framework must list, the three calls each framework makes, and the
checks that a result is usable (a saved image or audio file inside the output folder, the generated text)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.server.tools import JOB_TOOLS

EVERY_TOOL = frozenset(CAPABILITIES) | frozenset(JOB_TOOLS)
"""Every tool the server lists with no BAILIAN_TOOLS filter: a tool per capability, and the job tools."""

PROMPT = "a lighthouse at dusk"
QUESTION = "Say hello to the interop suite."
SPEECH = "你好，欢迎使用百炼。"
CALLS: dict[str, dict[str, object]] = {
    "text_to_image": {"prompt": PROMPT, "size": "768*512"},
    "text_to_text": {"prompt": QUESTION},
    "text_to_speech": {"text": SPEECH},
}
"""The calls each framework makes through its own calling path."""

INTEROP_EXTRA = ".venv/bin/pip install -e '.[test,interop]'"


@dataclass(frozen=True)
class StdioServer:
    """How to spawn `bailian-mcp` over stdio against the module's emulator."""

    command: str
    env: dict[str, str]
    out_dir: Path


def require(module: str) -> ModuleType:
    """Import a framework, or fail (never skip) naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        pytest.fail(f"{error.name} is not installed: the interop tests need the interop extra ({INTEROP_EXTRA})")


def saved_files(text: str, out_dir: Path, suffix: str) -> list[Path]:
    """The files under `out_dir` with this suffix that `text` names (by path)."""
    pattern = re.escape(str(out_dir)) + r"/[^\s\"']+" + re.escape(suffix)
    return [Path(match) for match in re.findall(pattern, text)]


def assert_png(path: Path, out_dir: Path) -> None:
    assert path.is_relative_to(out_dir) and path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def assert_wav(path: Path, out_dir: Path) -> None:
    assert path.is_relative_to(out_dir) and path.is_file(), path
    header = path.read_bytes()[:12]
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE", (path, header)
    assert path.stat().st_size > 44, path


def assert_jpeg(data: bytes) -> None:
    assert data[:3] == b"\xff\xd8\xff" and len(data) > 1000, data[:16]


def is_job_link(uri: str, extension: str) -> bool:
    """A `bailian://jobs/{job_id}/{index}.{extension}` resource URI."""
    return re.fullmatch(r"bailian://jobs/job_[0-9a-f]+/\d+\." + re.escape(extension), uri) is not None
