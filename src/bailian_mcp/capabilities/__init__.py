"""Every capability, by name. Faces (tools, CLI, batch) are derived from this registry."""

from __future__ import annotations

from bailian_mcp.capabilities.base import Capability
from bailian_mcp.capabilities.edit_image import EDIT_IMAGE
from bailian_mcp.capabilities.speech_to_text import SPEECH_TO_TEXT
from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE
from bailian_mcp.capabilities.text_to_speech import TEXT_TO_SPEECH
from bailian_mcp.capabilities.text_to_text import TEXT_TO_TEXT
from bailian_mcp.capabilities.text_to_video import TEXT_TO_VIDEO
from bailian_mcp.capabilities.wanx_edit_image import WANX_EDIT_IMAGE

CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (TEXT_TO_IMAGE, TEXT_TO_TEXT, EDIT_IMAGE, WANX_EDIT_IMAGE, TEXT_TO_VIDEO, TEXT_TO_SPEECH, SPEECH_TO_TEXT)
}
