"""Every capability, by name. Faces (tools, CLI, batch) are derived from this registry."""

from __future__ import annotations

from typing import Any

from bailian_mcp.capabilities.base import AsyncTaskCapability
from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE

ASYNC_CAPABILITIES: dict[str, AsyncTaskCapability[Any]] = {c.name: c for c in (TEXT_TO_IMAGE,)}
