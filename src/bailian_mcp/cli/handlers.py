"""What each subcommand does once its arguments are parsed: validate (before any settings or service is opened), run
with the services, print, and return the exit code.

Every handler is `handler(args, out) -> exit code`; the ones that need the services hand the rest of their work to
`Output.with_services`.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from bailian_mcp import catalog
from bailian_mcp.batch import checks, report
from bailian_mcp.batch.file import BatchFileError, BatchTask, read_batch
from bailian_mcp.batch.run import BatchRun, plan
from bailian_mcp.capabilities.base import Capability, parse_params
from bailian_mcp.capabilities.fields import absolute_paths
from bailian_mcp.cli.options import FieldOption, collect
from bailian_mcp.cli.output import (
    Output,
    print_model_table,
    print_result,
    print_task_table,
    report_result,
)
from bailian_mcp.cli.wording import SHELL_WORDS
from bailian_mcp.exit_codes import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL
from bailian_mcp.jobs import admin
from bailian_mcp.jobs.params import ListModelsParams, ListTasksParams, TaskHandle
from bailian_mcp.jobs.services import Services

# ---------------------------------------------------------------------------------------------------- generation


async def generate(capability: Capability, options: list[FieldOption], args: argparse.Namespace, out: Output) -> int:
    """Run one job of `capability` with the options given (relative paths of input files made absolute)."""
    raw = absolute_paths(collect(args, options), capability.params_model, Path.cwd())
    params = parse_params(capability.params_model, raw)
    return await out.with_services(functools.partial(_run_job, capability, params, args, out))


async def _run_job(
    capability: Capability, params: Any, args: argparse.Namespace, out: Output, services: Services
) -> int:
    from bailian_mcp.cli.progress import JobDisplay, TextStream

    with JobDisplay(f"{capability.name} · {params.model}") as display:
        stream = TextStream(display, enabled=not out.json)  # a text answer appears as it is generated
        result = await services.runner.run(
            capability,
            params,
            wait_seconds=args.wait,
            progress=display,
            on_text=stream,
            dry_run=args.dry_run,
            confirmed=args.confirm,
        )
    stream.close()
    return report_result(result, out, text_shown=stream.shown)


# ---------------------------------------------------------------------------------------------------- task


def _handle(args: argparse.Namespace, options: list[FieldOption]) -> str:
    return parse_params(TaskHandle, collect(args, options)).task_id


async def task_get(options: list[FieldOption], args: argparse.Namespace, out: Output) -> int:
    handle = _handle(args, options)

    async def run(services: Services) -> int:
        from bailian_mcp.cli.progress import JobDisplay

        with JobDisplay(f"job {handle}") as display:
            result = await services.runner.resume(handle, wait_seconds=args.wait, progress=display)
        return report_result(result, out)

    return await out.with_services(run)


async def task_cancel(options: list[FieldOption], args: argparse.Namespace, out: Output) -> int:
    handle = _handle(args, options)

    async def run(services: Services) -> int:
        result = await admin.cancel_job(services.store, services.client, handle)
        print_result(result, out)
        return EXIT_OK if result.done else EXIT_PARTIAL

    return await out.with_services(run)


async def task_list(options: list[FieldOption], args: argparse.Namespace, out: Output) -> int:
    params = parse_params(ListTasksParams, collect(args, options))

    async def run(services: Services) -> int:
        listing = await admin.list_jobs(
            services.store, services.client, budget_cny=services.settings.budget_cny, **params.model_dump()
        )
        listing = SHELL_WORDS.listing(listing)
        if out.json:
            print(listing.model_dump_json(indent=2))
        else:
            print_task_table(listing)
        return EXIT_OK

    return await out.with_services(run)


# ---------------------------------------------------------------------------------------------------- models


async def models(options: list[FieldOption], args: argparse.Namespace, out: Output) -> int:
    params = parse_params(ListModelsParams, collect(args, options))
    entries = catalog.catalogue(params.capability, region=None if params.all_regions else out.settings().region)
    if out.json:
        out.emit_json({"models": entries})
    else:
        print_model_table(entries)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- batch


def _batch_path(text: str, what: str) -> Path:
    """A path the batch command was given, made absolute; refused when no file can have it (a NUL in it)."""
    try:
        return Path(text).expanduser().resolve()
    except (OSError, ValueError) as exc:
        raise BatchFileError(f"The {what} {text!r} is not a usable path ({exc}). Nothing was sent.") from None


async def batch(args: argparse.Namespace, out: Output) -> int:
    path = _batch_path(args.file, "batch file")
    tasks = read_batch(path)
    out.input_roots.append(path.parent)  # the files a batch names are relative to it
    report_path = (
        _batch_path(args.report, "report path (--report)") if args.report else report.default_report_path(path)
    )
    return await out.with_services(functools.partial(_run_batch, args, out, path, tasks, report_path))


async def _run_batch(
    args: argparse.Namespace, out: Output, path: Path, tasks: list[BatchTask], report_path: Path, services: Services
) -> int:
    checks.check(tasks, services.settings, scope=str(path), base_dir=path.parent)
    problems = checks.problems_text(tasks)
    if problems:
        print(problems, file=sys.stderr)
    if args.dry_run:
        lines = await plan(services, tasks, retry_failed=args.retry_failed)
        if out.json:
            out.emit_json({"dry_run": True, "plan": lines, "problems": problems or None})
        else:
            print("\n".join(lines))
        return EXIT_INPUT if problems else EXIT_OK
    if any(t.error is None for t in tasks):
        services.runner.check_ready()
    from bailian_mcp.cli.progress import BatchDisplay

    display = BatchDisplay([t.label for t in tasks])
    batch_run = BatchRun(
        services,
        tasks,
        display,
        SHELL_WORDS,
        concurrency=args.concurrency,
        wait_seconds=args.wait,
        retry_failed=args.retry_failed,
        confirmed=args.confirm,
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
        written = _write_report(batch_run, path, report_path, started, interrupted)
    if out.json:
        print(written.model_dump_json(indent=2))
    else:
        print(report.report_text(written))
    return report.exit_code(written)


def _write_report(
    batch_run: BatchRun, path: Path, report_path: Path, started: float, interrupted: bool
) -> report.BatchReport:
    """The run's report, written to `report_path` (a failure to write it is said, and the report kept)."""
    built = report.build_report(
        batch_run.reports, batch_file=path, report_path=report_path, started=started, interrupted=interrupted
    )
    try:
        report.write_report(built, report_path)
    except OSError as exc:
        print(f"bailian-mcp: could not write the report to {report_path}: {exc}", file=sys.stderr)
        built = built.model_copy(update={"report": None})
    if interrupted:
        print(
            f"Interrupted. Report: {report_path}. Run the same command again to resume: tasks already "
            "submitted are followed, not sent again.",
            file=sys.stderr,
        )
    return built
