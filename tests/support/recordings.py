"""The recorded exchanges with the real DashScope (../shared/spec/recordings, beside this checkout)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "spec" / "recordings"


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
