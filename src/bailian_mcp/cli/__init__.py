"""The command-line face: `bailian-mcp` serves MCP, runs the emulator, or runs a capability as a subcommand."""

from bailian_mcp.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
