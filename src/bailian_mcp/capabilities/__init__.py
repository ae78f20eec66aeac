"""Every capability, by name: the one registry every face (MCP tools, CLI subcommands, batch sections, tool groups,
pacing) is derived from when it is built. A capability registered here before the server or the command line is
built is served by all of them."""

from __future__ import annotations

from bailian_mcp.capabilities.base import Capability
from bailian_mcp.capabilities.edit_image import EDIT_IMAGE
from bailian_mcp.capabilities.image_to_video import IMAGE_TO_VIDEO
from bailian_mcp.capabilities.reference_to_video import REFERENCE_TO_VIDEO
from bailian_mcp.capabilities.speech_to_text import SPEECH_TO_TEXT
from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE
from bailian_mcp.capabilities.text_to_speech import TEXT_TO_SPEECH
from bailian_mcp.capabilities.text_to_text import TEXT_TO_TEXT
from bailian_mcp.capabilities.text_to_video import TEXT_TO_VIDEO
from bailian_mcp.capabilities.wanx_edit_image import WANX_EDIT_IMAGE

CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        TEXT_TO_IMAGE,
        TEXT_TO_TEXT,
        EDIT_IMAGE,
        WANX_EDIT_IMAGE,
        TEXT_TO_VIDEO,
        IMAGE_TO_VIDEO,
        REFERENCE_TO_VIDEO,
        TEXT_TO_SPEECH,
        SPEECH_TO_TEXT,
    )
}


def capability_named(name: str) -> Capability | None:
    """The capability called `name`, or whose CLI command is `name` (text2image), if any."""
    key = name.strip()
    return CAPABILITIES.get(key) or next((c for c in CAPABILITIES.values() if c.command == key), None)
