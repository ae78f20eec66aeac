"""What every fuzzed call must come back as: a result, or an error a caller can read — never a crash."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult, TextContent

from bailian_mcp.emulator import RunningEmulator

CALL_TIMEOUT = 30.0  # seconds; far above any call against the fast emulator, so only a hang trips it


class CrashLog(logging.Handler):
    """Collects the tracebacks the server logs for unexpected tool exceptions (the SDK's crash path)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)

    def drain(self) -> str:
        """One line per crash: the innermost exception and the project frame it came from."""
        lines = [
            record.getMessage() + ": " + innermost(record.exc_info[1]) for record in self.records if record.exc_info
        ]
        self.records.clear()
        return "\n".join(lines)


def innermost(exc: BaseException | None) -> str:
    """`Type: message` of the root cause, with the deepest frame of this project's code it passed through."""
    while exc is not None and exc.__cause__ is not None:
        exc = exc.__cause__
    if exc is None:
        return "?"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/bailian_mcp/" in f.filename]
    where = f" at {frames[-1].filename.split('/src/')[-1]}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:160]}{where}"


def result_text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def shown(arguments: dict[str, Any]) -> str:
    text = repr(arguments)
    return text if len(text) <= 300 else text[:300] + f"... ({len(text)} characters)"


def emulator_crashes(emulator: RunningEmulator, since: int) -> str:
    """Requests from `since` on that the emulator answered with its catch-all 500 (an emulator crash, not one
    of its documented failures, which carry their own codes such as InternalError.Algo)."""
    crashed = [r for r in emulator.state.requests[since:] if r["status"] == 500 and "[emulator:" not in str(r["body"])]
    return "; ".join(f"{r['method']} {r['path']} -> 500" for r in crashed)


async def call_checked(
    client: Client, tool: str, arguments: dict[str, Any], crashes: CrashLog, emulator: RunningEmulator | None = None
) -> CallToolResult:
    """Call `tool` (bounded in time) and fail the test unless the outcome is a result or a clear error.

    A JSON-RPC error (the SDK's "internal error") raises out of `call_tool` and fails the test by itself."""
    crashes.drain()
    seen = len(emulator.state.requests) if emulator is not None else 0
    with anyio.fail_after(CALL_TIMEOUT):
        result = await client.call_tool(tool, arguments)
    problem = problem_with(tool, result)
    if problem is None and emulator is not None and (crashed := emulator_crashes(emulator, seen)):
        problem = f"the emulator crashed: {crashed}"
    crash = crashes.drain()
    if problem or crash:
        raise AssertionError(
            f"{tool} with {shown(arguments)}: {problem or 'the server logged a crash'}; "
            f"result text {result_text(result)[:200]!r}; server log: {crash or 'nothing'}"
        )
    return result


def problem_with(tool: str, result: CallToolResult) -> str | None:
    """Why `result` is not acceptable, or None."""
    text = result_text(result)
    if "Traceback (most recent call last)" in text:
        return "a traceback reached the client"
    if not result.is_error:
        if result.structured_content is None:
            return "a successful result without structured content"
        return None
    bare = f"Error executing tool {tool}"
    if not text.strip():
        return "an error without any text"
    if text.strip() == bare or text.startswith(f"{bare}: {bare}"):
        return "an unexpected exception inside the tool (the SDK's bare 'Error executing tool')"
    return None
