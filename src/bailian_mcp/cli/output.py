"""What a command prints and the exit code it ends with: results, errors, and the job and model tables.

Human output by default (rich tables on stdout, progress on stderr); `--json` puts exactly one JSON document on
stdout. A capability whose product is text has that text alone on stdout, the summary on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.cli.wording import SHELL_WORDS
from bailian_mcp.config import Settings, load_settings
from bailian_mcp.dashscope.errors import DashScopeError
from bailian_mcp.errors import BailianError
from bailian_mcp.exit_codes import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_SERVICE
from bailian_mcp.jobs.results import JobResult, TaskList
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.jobs.submission import SubmitUncertainError
from bailian_mcp.jobs.summary import spending_line, summary
from bailian_mcp.media import DownloadError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_CODES = """\
exit codes:
  0    done: everything asked for was made
  2    bad input or settings (the message says what and what is allowed); nothing was sent
  3    DashScope refused or failed the request (or could not be reached); nothing usable was made
  4    partial: some outputs failed (or a text stopped part-way), or the job is still running when
       the wait ran out (continue with: bailian-mcp task get JOB_ID); for a batch, some tasks
       did not succeed while others did
  130  interrupted (Ctrl-C); a job already submitted keeps its record: task get / batch again resumes it"""


@dataclass
class Output:
    """How a command reports: for a person or as JSON; and the settings it runs with (built on demand, so that bad
    input exits before they are read).

    `input_roots` are folders a shell user's local inputs may come from besides BAILIAN_INPUT_ROOTS (the current
    folder, a batch file's folder): the person typing a path can read it anyway; the confinement is for agents.
    """

    overrides: dict[str, Any]
    json: bool
    input_roots: list[Path] = field(default_factory=list)

    def settings(self) -> Settings:
        settings = load_settings(**self.overrides)
        if not self.input_roots:
            return settings
        return settings.model_copy(update={"input_roots": [*settings.allowed_input_roots, *self.input_roots]})

    def emit_json(self, data: Any) -> None:
        print(json.dumps(data, ensure_ascii=False, indent=2))

    def error(self, exc: BaseException) -> int:
        """Print `exc` for a person (stderr) or a machine (stdout JSON); the exit code it means."""
        text = SHELL_WORDS.error(exc)
        print(f"bailian-mcp: {text}", file=sys.stderr)
        if self.json:
            self.emit_json({"error": {"type": type(exc).__name__, "code": getattr(exc, "code", None), "message": text}})
        return exit_code_for_error(exc)

    async def guarded(self, action: Callable[[], Awaitable[int]]) -> int:
        """`action`'s exit code; a BailianError it raises is printed and becomes its exit code."""
        try:
            return await action()
        except BailianError as exc:
            return self.error(exc)

    async def with_services(self, action: Callable[[Services], Awaitable[int]]) -> int:
        """Run `action` with the services open (a BailianError is caught inside their task group)."""
        async with open_services(self.settings()) as services:
            return await self.guarded(lambda: action(services))


def exit_code_for_error(exc: BaseException) -> int:
    if isinstance(exc, DashScopeError | SubmitUncertainError | DownloadError):
        return EXIT_SERVICE
    return EXIT_INPUT  # InputError, ConfigurationError, and requests this tool cannot carry out


def exit_code_for(result: JobResult) -> int:
    """0 made it all (or a dry run); 4 made part of it, or still running; 3 nothing made (failed, cancelled,
    expired, refused)."""
    if result.status == "DRY_RUN":
        return EXIT_OK
    if not result.done:
        return EXIT_PARTIAL
    if result.status == "SUCCEEDED":
        return EXIT_OK if result.complete else EXIT_PARTIAL
    return EXIT_PARTIAL if result.produced else EXIT_SERVICE


def _text_product(result: JobResult) -> bool:
    capability = CAPABILITIES.get(result.capability)
    return capability is not None and capability.product == "text" and bool(result.text)


def print_result(result: JobResult, out: Output, *, text_shown: bool = False) -> None:
    """--json: the JobResult. Otherwise the text (for text products) on stdout, and what was made, where it was
    saved, the cost and warnings (stdout, or stderr after a text)."""
    result = SHELL_WORDS.result(result)
    if out.json:
        print(result.model_dump_json(indent=2))
        return
    text_product = _text_product(result)
    if text_product and result.text and not text_shown:
        sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")
        sys.stdout.flush()
    print(summary(result), file=sys.stderr if text_product else sys.stdout)


def report_result(result: JobResult, out: Output, *, text_shown: bool = False) -> int:
    """Print the result (see print_result) and return its exit code; a job that did not fully succeed is also
    named on stderr, in one line, for scripts that only read that."""
    print_result(result, out, text_shown=text_shown)
    code = exit_code_for(result)
    if code != EXIT_OK and not out.json:
        where = f"job {result.job_id} is still {result.status}" if not result.done else f"job {result.job_id}"
        outcome = "" if not result.done else f" ended {result.status}" + (" in part" if code == EXIT_PARTIAL else "")
        print(f"bailian-mcp: {where}{outcome} (exit {code}).", file=sys.stderr)
    return code


def stdout_console() -> Console:
    from rich.console import Console  # rich loads only for commands that print, not when serving MCP

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    return console


def print_task_table(listing: TaskList) -> None:
    console = stdout_console()
    from rich.table import Table

    table = Table(title=f"{len(listing.jobs)} job(s), newest first", title_justify="left")
    for column in ("job_id", "task_id", "capability", "model", "status", "outputs", "cost", "created (UTC)"):
        table.add_column(column, overflow="fold")
    for job in listing.jobs:
        cost = f"{job.cost.amount:g} {job.cost.currency}" if job.cost else ""
        table.add_row(
            job.job_id,
            job.task_id or "",
            job.capability,
            job.model,
            job.status,
            str(job.outputs),
            cost,
            job.created_at[:19].replace("T", " "),
        )
    console.print(table)
    by_status: dict[str, int] = {}
    for job in listing.jobs:
        by_status[job.status] = by_status.get(job.status, 0) + 1
    counts = ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
    console.print(f"Total: {len(listing.jobs)} job(s)" + (f" ({counts})" if counts else "") + ".", markup=False)
    for total in listing.total_cost:
        console.print(f"Total cost: {total.amount:g} {total.currency} ({total.basis}).", markup=False)
    if listing.today is not None:
        console.print(spending_line(listing.today), markup=False)
    if listing.message:
        console.print(listing.message, markup=False)


def print_model_table(entries: list[dict[str, Any]]) -> None:
    console = stdout_console()
    from rich.table import Table

    table = Table(title=f"{len(entries)} model(s)", title_justify="left")
    for column in ("capability", "model", "price", "rate", "regions", "summary"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        rate = entry["rate_limit"]
        table.add_row(
            entry["capability"],
            entry["name"],
            entry["price"],
            f"{rate['submit_per_second']:g}/s, {rate['concurrent_tasks']} at once",
            ", ".join(entry["regions"]),
            entry["summary"],
        )
    console.print(table)
