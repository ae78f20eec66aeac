"""The MCP face: tools, resources and content derived from the capabilities, and the HTTP transports' guard."""

from bailian_mcp.server.app import build_server

__all__ = ["build_server"]
