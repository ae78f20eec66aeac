"""The `bailian-mcp` command: serve MCP (default), or run the DashScope emulator on its own."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bailian_mcp import __version__
from bailian_mcp.config import EMULATOR_KEY, REGION_BASE_URLS, Settings, load_settings
from bailian_mcp.errors import ConfigurationError

TRANSPORTS = ("stdio", "sse", "streamable-http")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _serve_options(parser: argparse.ArgumentParser, *, with_defaults: bool = True) -> None:
    """The serving options; on the `serve` subcommand without defaults, so options given before it stay."""

    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    parser.add_argument(
        "--transport", choices=TRANSPORTS, default=default("stdio"), help="MCP transport (default stdio)"
    )
    parser.add_argument("--host", default=default("127.0.0.1"), help="bind address for sse/streamable-http")
    parser.add_argument("--port", type=int, default=default(8000), help="port for sse/streamable-http (default 8000)")
    parser.add_argument(
        "--emulator",
        action="store_true",
        default=default(False),
        help="start the built-in DashScope emulator and use it (offline, no API key needed)",
    )
    parser.add_argument(
        "--allow-unauthenticated-remote",
        action="store_true",
        default=default(False),
        help="let sse/streamable-http bind a non-loopback address without BAILIAN_HTTP_TOKEN (not recommended)",
    )
    parser.add_argument(
        "--region", choices=sorted(REGION_BASE_URLS), default=default(None), help="DashScope region (BAILIAN_REGION)"
    )
    parser.add_argument("--base-url", default=default(None), help="DashScope API base URL (DASHSCOPE_BASE_URL)")
    parser.add_argument("--output-dir", default=default(None), help="where results are saved (BAILIAN_OUTPUT_DIR)")
    parser.add_argument(
        "--log-level",
        default=default("WARNING"),
        choices=LOG_LEVELS,
        type=str.upper,
        help="log level for stderr (default WARNING)",
    )


def build_parser(*, with_commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; `with_commands=False` leaves out the generation and job commands (their options
    come from the tools' parameter models), which serving does not need."""
    parser = argparse.ArgumentParser(
        prog="bailian-mcp",
        description="MCP server for Alibaba Bailian (DashScope) generation models.",
    )
    parser.add_argument("--version", action="version", version=f"bailian-mcp {__version__}")
    _serve_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _serve_options(
        commands.add_parser("serve", help="serve MCP (the default when no command is given)"), with_defaults=False
    )
    emulator = commands.add_parser("emulator", help="run the DashScope emulator alone")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8765)
    emulator.add_argument("--pending-seconds", type=float, default=1.0)
    emulator.add_argument("--running-seconds", type=float, default=3.0)
    emulator.add_argument(
        "--faults",
        metavar="PLAN",
        help="a fault plan to start with: JSON text, or @FILE holding it (the body PUT /__emulator__/faults takes)",
    )
    if with_commands:
        from bailian_mcp.cli.commands import add_commands

        add_commands(commands)
    return parser


_VALUE_OPTIONS = frozenset({"--transport", "--host", "--port", "--region", "--base-url", "--output-dir", "--log-level"})


def _only_serves(argv: Sequence[str]) -> bool:
    """Whether `argv` is the serving options alone (maybe after `serve`): no command, no help wanted."""
    tokens = iter(argv)
    for token in tokens:
        if token in ("-h", "--help"):
            return False
        if token in _VALUE_OPTIONS:
            next(tokens, None)
        elif not token.startswith("-") and token != "serve":
            return False
    return True


def _settings_for_serve(args: argparse.Namespace) -> tuple[Settings, Any]:
    """Settings from env + flags; with --emulator, the emulator is started and used."""
    overrides: dict[str, Any] = {
        "region": args.region,
        "base_url": args.base_url,
        "output_dir": args.output_dir,
    }
    emulator = None
    if args.emulator:
        from bailian_mcp.emulator import start_in_thread

        emulator = start_in_thread()
        overrides.update(base_url=emulator.base_url, api_key=EMULATOR_KEY)
        logging.getLogger("bailian_mcp").warning("Using the built-in DashScope emulator at %s", emulator.base_url)
    return load_settings(**overrides), emulator


STDIO_ON_A_TERMINAL = (
    "bailian-mcp is serving MCP over stdio: it now waits for an MCP client (Claude Desktop, Cursor, "
    "`npx @modelcontextprotocol/inspector`) to talk to it on stdin, so nothing more appears here. To try a tool "
    'from a terminal instead, run a command, e.g. `bailian-mcp --emulator text2image "a red lantern"` '
    "(`bailian-mcp --help` lists them). Ctrl+C stops the server."
)


def serve(args: argparse.Namespace) -> None:
    from bailian_mcp.jobs.stores import check_store
    from bailian_mcp.server import build_server

    settings, emulator = _settings_for_serve(args)
    try:
        check_store(settings)
        if args.transport == "stdio":
            if sys.stdin.isatty():
                print(STDIO_ON_A_TERMINAL, file=sys.stderr, flush=True)
            build_server(settings, log_level=args.log_level).run("stdio")
        else:
            from bailian_mcp.server.http_security import HttpSecurity, add_health_route
            from bailian_mcp.server.http_serving import serve_http

            security = HttpSecurity.from_settings(
                settings, host=args.host, port=args.port, allow_unauthenticated_remote=args.allow_unauthenticated_remote
            )
            if security.warning:
                print(security.warning, file=sys.stderr, flush=True)
            server = build_server(
                settings, log_level=args.log_level, token_verifier=security.token_verifier, auth=security.auth
            )
            add_health_route(server)
            serve_http(
                server,
                args.transport,
                host=args.host,
                port=args.port,
                transport_security=security.transport_security,
                max_connections=settings.http_max_connections,
                header_seconds=settings.http_header_seconds,
                log_level=args.log_level,
                stateless=settings.http_stateless,
            )
    finally:
        if emulator is not None:
            emulator.stop()


def _fault_plan(text: str | None) -> Any:
    """The emulator's fault plan from `--faults` (JSON, or @FILE); ConfigurationError naming what is wrong."""
    from bailian_mcp.emulator import NO_FAULTS, FaultPlan

    if text is None:
        return NO_FAULTS
    source = "the text given"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"--faults: cannot read {source}: {exc.strerror or exc}") from exc
    try:
        return FaultPlan.from_json(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"--faults: {source} is not a usable fault plan: {exc}") from exc


def run_emulator(args: argparse.Namespace) -> None:
    from bailian_mcp.emulator import EmulatorConfig
    from bailian_mcp.emulator import serve as serve_emulator

    config = EmulatorConfig(
        pending_seconds=args.pending_seconds, running_seconds=args.running_seconds, faults=_fault_plan(args.faults)
    )
    serve_emulator(args.host, args.port, config)


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(with_commands=not _only_serves(argv)).parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "WARNING").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "emulator":
            run_emulator(args)
        elif args.command not in (None, "serve"):
            from bailian_mcp.cli.commands import run_command

            raise SystemExit(run_command(args))
        else:
            serve(args)
    except ConfigurationError as exc:
        print(f"bailian-mcp: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except KeyboardInterrupt:
        raise SystemExit(130) from None
