"""The cold-start baseline: a minimal one-tool `MCPServer` on stdio (same SDK, same Python as bailian-mcp)."""

from __future__ import annotations

from mcp.server import MCPServer

server = MCPServer("minimal")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run("stdio")
