"""Fixtures shared by every test module: recordings of the real service, isolated settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.config import Settings, environment_variables, load_settings

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "spec" / "recordings"


@dataclass(frozen=True)
class Recording:
    """One recorded exchange with the real DashScope (request/response headers and bodies)."""

    name: str

    def _read(self, suffix: str) -> str | None:
        path = RECORDINGS / f"{self.name}.{suffix}"
        return path.read_text(encoding="utf-8-sig") if path.exists() else None

    @property
    def status(self) -> int:
        header = self._read("response.header.txt") or ""
        return int(header.split()[1])

    @property
    def request_line(self) -> str:
        return (self._read("request.header.txt") or "").splitlines()[0]

    @property
    def request_body(self) -> Any:
        text = self._read("request.body.json")
        return json.loads(text) if text else None

    @property
    def response_text(self) -> str:
        return self._read("response.body.txt") or ""

    @property
    def response_body(self) -> Any:
        return json.loads(self.response_text)


@pytest.fixture
def recording() -> Any:
    """`recording("image-synthesis-nosse")`; skips cleanly where the recordings folder is absent."""
    if not RECORDINGS.is_dir():
        pytest.skip("the recordings folder (../shared/spec/recordings) is not beside this checkout")
    return Recording


SETTINGS_ENV_NAMES = tuple(environment_variables().values())


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the server's environment variables set, whatever the developer's shell has."""
    for name in SETTINGS_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def settings(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the developer's environment: temp data and output folders, test key."""
    return load_settings(
        api_key="sk-test",
        base_url="https://dashscope.test/api/v1",
        data_dir=str(tmp_path / "data"),
        output_dir=str(tmp_path / "out"),
    )
