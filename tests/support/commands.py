"""The command line's subcommands (`bailian_mcp.cli.commands`) parsed and run in this process."""

from __future__ import annotations

import argparse

from bailian_mcp.cli.commands import add_commands, run_command


def make_parser() -> argparse.ArgumentParser:
    """A `bailian-mcp` parser with the subcommands only (no top-level options)."""
    parser = argparse.ArgumentParser(prog="bailian-mcp")
    add_commands(parser.add_subparsers(dest="command"))
    return parser


def cli(*argv: str) -> int:
    """Run one subcommand line (`cli("text2image", "a cat", "--json")`); returns its exit code."""
    return run_command(make_parser().parse_args(argv))
