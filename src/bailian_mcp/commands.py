"""The `bailian-mcp` subcommands: every capability from a shell, the job store, the catalogue and batches.

    text2image "未来城市" --model wan2.2-t2i-flash --size 1440*810 --n 2
    text2text "write a tech article" --model qwen-turbo
    text2video "sunrise time-lapse" --model wan2.1-t2v-plus
    edit-image "make it a watercolour" --image photo.png        wanx-edit "..." --function expand --base-image-url a.png
    tts "你好" --model sambert-zhichu-v1                          asr meeting.wav other.mp3
    task get|list|cancel        models        batch tasks.json

Each generation command's options are derived from its capability's Params model
(`cli_options`), validated by `parse_params` and run by the same `Runner` as the MCP tools.
`cli.py` adds these commands with `add_commands(subparsers)` and runs them with
`run_command(args)`, which returns the process's exit code (EXIT_CODES).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from rich.console import Console

from bailian_mcp import batch as batch_runner
from bailian_mcp import catalog, job_admin
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import Capability, parse_params
from bailian_mcp.cli_options import COMMAND_CAPABILITIES, FieldOption, absolute_paths, add_model_options, collect
from bailian_mcp.config import EMULATOR_KEY, REGION_BASE_URLS, Settings, load_settings
from bailian_mcp.dashscope.client import NO_KEY_MESSAGE
from bailian_mcp.dashscope.errors import DashScopeError
from bailian_mcp.errors import BailianError, ConfigurationError, InputError
from bailian_mcp.media import DownloadError
from bailian_mcp.results import JobResult, TaskList
from bailian_mcp.runner import SubmitUncertainError
from bailian_mcp.runtime import Services, open_services
from bailian_mcp.tool_results import summary
from bailian_mcp.tools import ListModelsParams, ListTasksParams, TaskHandle

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_SERVICE = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130

EXIT_CODES = """\
exit codes:
  0    done: everything asked for was made
  2    bad input or settings (the message says what and what is allowed); nothing was sent
  3    DashScope refused or failed the request (or could not be reached); nothing usable was made
  4    partial: some outputs failed (or a text stopped part-way), or the job is still running when
       the wait ran out (continue with: bailian-mcp task get JOB_ID); for a batch, some tasks
       did not succeed while others did
  130  interrupted (Ctrl-C); a job already submitted keeps its record: task get / batch again resumes it"""

DEFAULT_WAIT = 600.0
BATCH_WAIT = 1800.0
BATCH_CONCURRENCY = 4
# Capabilities whose product is text: it goes to stdout alone, the summary to stderr.
TEXT_PRODUCTS = frozenset({"text_to_text", "speech_to_text"})
COMMAND_NAMES = frozenset({*COMMAND_CAPABILITIES, "task", "models", "batch"})

Handler = Callable[[argparse.Namespace, "Context"], Awaitable[int]]


# ---------------------------------------------------------------------------------------------------- output


@dataclass
class Context:
    """What a command runs with: its settings (built on demand, so bad input exits before they are read)."""

    overrides: dict[str, Any]
    json: bool

    def settings(self) -> Settings:
        return load_settings(**self.overrides)

    def emit_json(self, data: Any) -> None:
        print(json.dumps(data, ensure_ascii=False, indent=2))

    def error(self, exc: BaseException) -> int:
        """Print `exc` for a person (stderr) or a machine (stdout JSON); the exit code it means."""
        code = exit_code_for_error(exc)
        print(f"bailian-mcp: {exc}", file=sys.stderr)
        if self.json:
            self.emit_json(
                {"error": {"type": type(exc).__name__, "code": getattr(exc, "code", None), "message": str(exc)}}
            )
        return code


def exit_code_for_error(exc: BaseException) -> int:
    if isinstance(exc, DashScopeError | SubmitUncertainError | DownloadError):
        return EXIT_SERVICE
    return EXIT_INPUT  # InputError, ConfigurationError, and requests this tool cannot carry out


def exit_code_for(result: JobResult) -> int:
    """0 made it all; 4 made part of it, or still running; 3 nothing made (failed, cancelled, expired, refused)."""
    if not result.done:
        return EXIT_PARTIAL
    if result.status == "SUCCEEDED":
        failed = result.error is not None or any(o.error is not None for o in result.outputs)
        return EXIT_PARTIAL if failed else EXIT_OK
    produced = bool(result.text) or any(o.error is None and (o.path or o.url) for o in result.outputs)
    return EXIT_PARTIAL if produced else EXIT_SERVICE


def print_result(result: JobResult, context: Context, *, text_shown: bool = False) -> None:
    """--json: the JobResult. Otherwise the text (for text products) on stdout, and what was made, where it was
    saved, the cost and warnings (stdout, or stderr after a text)."""
    if context.json:
        print(result.model_dump_json(indent=2))
        return
    text_product = result.capability in TEXT_PRODUCTS and bool(result.text)
    if text_product and result.text and not text_shown:
        sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")
        sys.stdout.flush()
    lines = summary(result)
    if not result.done:
        lines += f"\nStill {result.status}. Continue with: bailian-mcp task get {result.job_id} --wait 600"
    print(lines, file=sys.stderr if text_product else sys.stdout)


def report_result(result: JobResult, context: Context, *, text_shown: bool = False) -> int:
    """Print the result (see print_result) and return its exit code; a job that did not fully succeed is also
    named on stderr, in one line, for scripts that only read that."""
    print_result(result, context, text_shown=text_shown)
    code = exit_code_for(result)
    if code != EXIT_OK and not context.json:
        where = f"job {result.job_id} is still {result.status}" if not result.done else f"job {result.job_id}"
        outcome = "" if not result.done else f" ended {result.status}" + (" in part" if code == EXIT_PARTIAL else "")
        print(f"bailian-mcp: {where}{outcome} (exit {code}).", file=sys.stderr)
    return code


def _stdout_console() -> Console:
    from rich.console import Console  # rich loads only for commands that print, not when serving MCP

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    return console


async def _guarded(context: Context, action: Callable[[], Awaitable[int]]) -> int:
    try:
        return await action()
    except BailianError as exc:
        return context.error(exc)


async def _with_services(context: Context, action: Callable[[Services], Awaitable[int]]) -> int:
    """Run `action` with the services open; a BailianError becomes its exit code (inside the task group)."""
    settings = context.settings()
    async with open_services(settings) as services:
        return await _guarded(context, lambda: action(services))


# ---------------------------------------------------------------------------------------------------- generation


def _generation_handler(capability: Capability, options: list[FieldOption]) -> Handler:
    async def generate(args: argparse.Namespace, context: Context) -> int:
        raw = absolute_paths(collect(args, options), options, Path.cwd())
        params = parse_params(capability.params_model, raw)

        async def run(services: Services) -> int:
            from bailian_mcp.progress_display import JobDisplay

            streamed = False

            async def print_piece(piece: str) -> None:  # text2text: the answer appears as it is generated
                nonlocal streamed
                if context.json:
                    return
                if not streamed:
                    display.stop()
                    streamed = True
                sys.stdout.write(piece)
                sys.stdout.flush()

            with JobDisplay(f"{capability.name} · {params.model}") as display:
                result = await services.runner.run(
                    capability, params, wait_seconds=args.wait, progress=display, on_text=print_piece
                )
            if streamed:
                sys.stdout.write("\n")
            return report_result(result, context, text_shown=streamed)

        return await _with_services(context, run)

    return generate


# ---------------------------------------------------------------------------------------------------- task


def _handle(args: argparse.Namespace, options: list[FieldOption]) -> str:
    return parse_params(TaskHandle, collect(args, options)).task_id


def _task_get(options: list[FieldOption]) -> Handler:
    async def task_get(args: argparse.Namespace, context: Context) -> int:
        handle = _handle(args, options)

        async def run(services: Services) -> int:
            from bailian_mcp.progress_display import JobDisplay

            with JobDisplay(f"job {handle}") as display:
                result = await services.runner.resume(handle, wait_seconds=args.wait, progress=display)
            return report_result(result, context)

        return await _with_services(context, run)

    return task_get


def _task_cancel(options: list[FieldOption]) -> Handler:
    async def task_cancel(args: argparse.Namespace, context: Context) -> int:
        handle = _handle(args, options)

        async def run(services: Services) -> int:
            result = await job_admin.cancel_job(services.store, services.client, handle)
            print_result(result, context)
            return EXIT_OK if result.done else EXIT_PARTIAL

        return await _with_services(context, run)

    return task_cancel


def _capability_filter(value: str | None) -> str | None:
    """A capability name (or a command name such as text2image), checked."""
    if value is None:
        return None
    name = COMMAND_CAPABILITIES.get(value, value)
    if name not in CAPABILITIES:
        choices = ", ".join([*CAPABILITIES, *COMMAND_CAPABILITIES])
        raise InputError("capability", value, f"the capabilities are {choices}")
    return name


def _task_list(options: list[FieldOption]) -> Handler:
    async def task_list(args: argparse.Namespace, context: Context) -> int:
        raw = collect(args, options)
        if "capability" in raw:
            raw["capability"] = _capability_filter(raw["capability"])
        params = parse_params(ListTasksParams, raw)

        async def run(services: Services) -> int:
            listing = await job_admin.list_jobs(services.store, services.client, **params.model_dump())
            if context.json:
                print(listing.model_dump_json(indent=2))
            else:
                _print_task_table(listing)
            return EXIT_OK

        return await _with_services(context, run)

    return task_list


def _print_task_table(listing: TaskList) -> None:
    console = _stdout_console()
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
    if listing.message:
        console.print(listing.message, markup=False)


# ---------------------------------------------------------------------------------------------------- models


def _models(options: list[FieldOption]) -> Handler:
    async def models(args: argparse.Namespace, context: Context) -> int:
        raw = collect(args, options)
        if "capability" in raw:
            raw["capability"] = _capability_filter(raw["capability"])
        params = parse_params(ListModelsParams, raw)
        entries = catalog.catalogue(params.capability)
        if context.json:
            context.emit_json({"models": entries})
            return EXIT_OK
        console = _stdout_console()
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
        return EXIT_OK

    return models


# ---------------------------------------------------------------------------------------------------- batch


def _batch_path(text: str, what: str) -> Path:
    """A path the batch command was given, made absolute; refused when no file can have it (a NUL in it)."""
    try:
        return Path(text).expanduser().resolve()
    except (OSError, ValueError) as exc:
        raise batch_runner.BatchFileError(
            f"The {what} {text!r} is not a usable path ({exc}). Nothing was sent."
        ) from None


async def _batch(args: argparse.Namespace, context: Context) -> int:
    path = _batch_path(args.file, "batch file")
    tasks = batch_runner.read_batch(path)
    report_path = (
        _batch_path(args.report, "report path (--report)") if args.report else batch_runner.default_report_path(path)
    )

    async def run(services: Services) -> int:
        batch_runner.check(tasks, services.settings, scope=str(path), base_dir=path.parent)
        problems = batch_runner.problems_text(tasks)
        if problems:
            print(problems, file=sys.stderr)
        if args.dry_run:
            lines = await batch_runner.plan(services, tasks, retry_failed=args.retry_failed)
            if context.json:
                context.emit_json({"dry_run": True, "plan": lines, "problems": problems or None})
            else:
                for line in lines:
                    print(line)
            return EXIT_INPUT if problems else EXIT_OK
        if any(t.error is None for t in tasks):
            if not services.client.has_api_key:
                raise ConfigurationError(NO_KEY_MESSAGE)
            services.runner.check_output_dir()
        from bailian_mcp.progress_display import BatchDisplay

        display = BatchDisplay([t.label for t in tasks])
        batch_run = batch_runner.BatchRun(
            services,
            tasks,
            display,
            concurrency=args.concurrency,
            wait_seconds=args.wait,
            retry_failed=args.retry_failed,
        )
        started = time.time()
        interrupted = True
        try:
            with display:
                await batch_run.run()
            interrupted = False
        finally:
            if interrupted:
                with anyio.CancelScope(shield=True):
                    await batch_run.settle()
            report = batch_runner.build_report(
                batch_run, batch_file=path, report_path=report_path, started=started, interrupted=interrupted
            )
            try:
                batch_runner.write_report(report, report_path)
            except OSError as exc:
                print(f"bailian-mcp: could not write the report to {report_path}: {exc}", file=sys.stderr)
                report = report.model_copy(update={"report": None})
            if interrupted:
                print(
                    f"Interrupted. Report: {report_path}. Run the same command again to resume: tasks already "
                    "submitted are followed, not sent again.",
                    file=sys.stderr,
                )
        if context.json:
            print(report.model_dump_json(indent=2))
        else:
            print(batch_runner.report_text(report))
        return batch_runner.exit_code(report)

    return await _with_services(context, run)


# ---------------------------------------------------------------------------------------------------- parsers


def _common_options() -> argparse.ArgumentParser:
    """Options every subcommand takes. Those the top-level parser also has default to 'not given' here, so
    `bailian-mcp --emulator text2image ...` and `bailian-mcp text2image ... --emulator` both work."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--json", action="store_true", help="print the result as JSON on stdout (nothing else there)")
    group.add_argument("--output-dir", default=argparse.SUPPRESS, help="where results are saved (BAILIAN_OUTPUT_DIR)")
    group.add_argument(
        "--emulator",
        action="store_true",
        default=argparse.SUPPRESS,
        help="start the built-in DashScope emulator and use it (offline, no API key needed)",
    )
    group.add_argument(
        "--region",
        choices=sorted(REGION_BASE_URLS),
        default=argparse.SUPPRESS,
        help="DashScope region (BAILIAN_REGION)",
    )
    group.add_argument("--base-url", default=argparse.SUPPRESS, help="DashScope API base URL (DASHSCOPE_BASE_URL)")
    return common


def _wait_option(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--wait",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help=f"{what} (default {default:g}); 0 returns the job's handle at once",
    )


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError("give seconds from 0 to 86400")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("give a number of at least 1")
    return value


def _parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, description: str
) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        parents=[_common_options()],
        help=help_text,
        description="\n\n".join(textwrap.fill(part, 100) for part in description.split("\n\n")),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add every subcommand (COMMAND_NAMES) to the `bailian-mcp` parser's subparsers."""
    for command, name in COMMAND_CAPABILITIES.items():
        capability = CAPABILITIES[name]
        parser = _parser(
            subparsers,
            command,
            f"{capability.title} ({name})",
            capability.description
            + "\n\nText results go to stdout by themselves (the summary to stderr); other results are summarised "
            "on stdout: what was made, where it was saved, the cost and any warnings.",
        )
        _wait_option(parser, DEFAULT_WAIT, "seconds to wait for the result before handing back the job's handle")
        group = parser.add_argument_group(f"parameters (the {name} tool's)")
        options = add_model_options(group, capability.params_model)
        parser.set_defaults(bailian_handler=_generation_handler(capability, options))

    task = subparsers.add_parser("task", help="look after jobs: get, list, cancel")
    task_commands = task.add_subparsers(dest="task_command", metavar="ACTION", required=True)
    get = _parser(
        task_commands,
        "get",
        "wait for a job and show its result",
        "Wait for a job (by job_id or DashScope task_id) and show its result, saving files that are missing. "
        "Never creates or pays for anything.",
    )
    _wait_option(get, DEFAULT_WAIT, "seconds to wait for the job to finish")
    get.set_defaults(bailian_handler=_task_get(add_model_options(get, TaskHandle)))
    listing = _parser(
        task_commands,
        "list",
        "list jobs with status and cost",
        "This machine's jobs (and DashScope's tasks of the last 24 h made with the same key), newest first, "
        "with status, outputs and cost, and the totals.",
    )
    listing.set_defaults(bailian_handler=_task_list(add_model_options(listing, ListTasksParams)))
    cancel = _parser(
        task_commands,
        "cancel",
        "cancel a job still waiting to run",
        "Cancel a job by job_id or task_id. DashScope cancels a task only while it is PENDING (nothing is charged "
        "then); a running task finishes anyway and `task get` collects it. Exit code 4 when it could not be "
        "cancelled because it is already running.",
    )
    cancel.set_defaults(bailian_handler=_task_cancel(add_model_options(cancel, TaskHandle)))

    models = _parser(
        subparsers,
        "models",
        "the models of each capability, with limits and prices",
        "The models each capability offers, with prices, rate limits, regions (and with --json every limit).",
    )
    models.set_defaults(bailian_handler=_models(add_model_options(models, ListModelsParams)))

    batch = _parser(
        subparsers,
        "batch",
        "run a JSON file of tasks (resumable)",
        "Run every task of a JSON file: the brief's {image_tasks, text_tasks, video_tasks}, "
        "'<capability>_tasks' lists (edit_image_tasks, text_to_speech_tasks, ...), or 'tasks' entries naming "
        'their "capability". Every task is checked first and all problems are reported at once; an invalid '
        "task fails alone. Tasks run concurrently within each model's rate and concurrency limits. Running "
        "the same file again resumes it: finished tasks are reused and running ones followed, never paid for "
        "twice.",
    )
    batch.add_argument("file", help="the batch file (JSON)")
    batch.add_argument("--report", help="where to write the JSON report (default: FILE's name + .report.json)")
    batch.add_argument(
        "--concurrency",
        type=_positive,
        default=BATCH_CONCURRENCY,
        help=f"tasks in flight at once, over all models (default {BATCH_CONCURRENCY}); each model also keeps to "
        "its own limit",
    )
    _wait_option(batch, BATCH_WAIT, "seconds to follow each task before leaving it running for a later run")
    batch.add_argument("--dry-run", action="store_true", help="check the tasks and show what would run; send nothing")
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="also submit again the tasks whose earlier job FAILED, expired (UNKNOWN) or is SUBMIT_UNCERTAIN",
    )
    batch.set_defaults(bailian_handler=_batch)


# ---------------------------------------------------------------------------------------------------- running


def run_command(args: argparse.Namespace) -> int:
    """Run the subcommand `args` was parsed for; returns the exit code (see EXIT_CODES)."""
    handler: Handler = args.bailian_handler
    context = Context(
        overrides={
            "output_dir": getattr(args, "output_dir", None),
            "region": getattr(args, "region", None),
            "base_url": getattr(args, "base_url", None),
        },
        json=bool(getattr(args, "json", False)),
    )
    emulator = None
    try:
        if getattr(args, "emulator", False):
            from bailian_mcp.emulator import start_in_thread

            emulator = start_in_thread()
            context.overrides.update(base_url=emulator.base_url, api_key=EMULATOR_KEY)
            from bailian_mcp.progress_display import stderr_console

            stderr_console().print(f"Using the built-in DashScope emulator at {emulator.base_url}", markup=False)
        return anyio.run(_guarded, context, lambda: handler(args, context))
    except KeyboardInterrupt:
        print("bailian-mcp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if emulator is not None:
            emulator.stop()
