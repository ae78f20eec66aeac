"""The `bailian-mcp` subcommands, as argparse parsers: one per capability (its options derived from its Params model),
the job commands, the catalogue and batches. `main.py` adds them with `add_commands(subparsers)` and runs the one
given with `run_command(args)`, which returns the process's exit code (EXIT_CODES).

    text2image "未来城市" --model wan2.2-t2i-flash --size 1440*810 --n 2
    text2text "write a tech article" --model qwen-turbo
    text2video "sunrise time-lapse" --model wan2.1-t2v-plus
    edit-image "make it a watercolour" --image photo.png        wanx-edit "..." --function expand --base-image-url a.png
    tts "你好" --model sambert-zhichu-v1                          asr meeting.wav other.mp3
    task get|list|cancel        models        batch tasks.json
"""

from __future__ import annotations

import argparse
import functools
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.cli import handlers
from bailian_mcp.cli.options import add_model_options
from bailian_mcp.cli.output import EXIT_CODES, Output
from bailian_mcp.cli.wording import DEFAULT_WAIT, SHELL_WORDS
from bailian_mcp.config import EMULATOR_KEY, REGION_BASE_URLS
from bailian_mcp.exit_codes import EXIT_INTERRUPTED
from bailian_mcp.jobs.params import ListModelsParams, ListTasksParams, TaskHandle

BATCH_WAIT = 1800.0
BATCH_CONCURRENCY = 4
JOB_COMMANDS = ("task", "models", "batch")

Handler = Callable[[argparse.Namespace, Output], Awaitable[int]]


def command_names() -> frozenset[str]:
    """Every subcommand that `run_command` runs: one per capability, and the job commands."""
    return frozenset({*(c.command for c in CAPABILITIES.values()), *JOB_COMMANDS})


TEXT_PRODUCT_NOTE = "Text results go to stdout by themselves (the summary to stderr)."
FILES_PRODUCT_NOTE = "Results are summarised on stdout: what was made, where it was saved, the cost and any warnings."


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


def _confirm_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--confirm", action="store_true", help="send calls quoted above BAILIAN_CONFIRM_ABOVE_CNY")


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
    """Add every subcommand (`command_names()`) to the `bailian-mcp` parser's subparsers."""
    for capability in CAPABILITIES.values():
        note = TEXT_PRODUCT_NOTE if capability.product == "text" else FILES_PRODUCT_NOTE
        parser = _parser(
            subparsers,
            capability.command,
            f"{capability.title} ({capability.name})",
            f"{capability.description}\n\n{SHELL_WORDS.waiting}\n\n{note}",
        )
        _wait_option(parser, DEFAULT_WAIT, "seconds to wait for the result before handing back the job's handle")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and price it, and show what would be sent; send nothing"
        )
        _confirm_option(parser)
        group = parser.add_argument_group(f"parameters (the {capability.name} tool's)")
        options = add_model_options(group, capability.params_model)
        parser.set_defaults(bailian_handler=functools.partial(handlers.generate, capability, options))

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
    get.set_defaults(bailian_handler=functools.partial(handlers.task_get, add_model_options(get, TaskHandle)))
    listing = _parser(
        task_commands,
        "list",
        "list jobs with status and cost",
        "This machine's jobs (and DashScope's tasks of the last 24 h made with the same key), newest first, "
        "with status, outputs and cost, and the totals.",
    )
    listing.set_defaults(
        bailian_handler=functools.partial(handlers.task_list, add_model_options(listing, ListTasksParams))
    )
    cancel = _parser(
        task_commands,
        "cancel",
        "cancel a job still waiting to run",
        "Cancel a job by job_id or task_id. DashScope cancels a task only while it is PENDING (nothing is charged "
        "then); a running task finishes anyway and `task get` collects it. Exit code 4 when it could not be "
        "cancelled because it is already running.",
    )
    cancel.set_defaults(bailian_handler=functools.partial(handlers.task_cancel, add_model_options(cancel, TaskHandle)))

    models = _parser(
        subparsers,
        "models",
        "the models of each capability, with limits and prices",
        "The models each capability offers, with prices, rate limits, regions (and with --json every limit).",
    )
    models.set_defaults(bailian_handler=functools.partial(handlers.models, add_model_options(models, ListModelsParams)))

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
    batch.add_argument(
        "--dry-run", action="store_true", help="check and price the tasks, and show what would run; send nothing"
    )
    _confirm_option(batch)
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="also submit again the tasks whose earlier job FAILED, expired (UNKNOWN) or is SUBMIT_UNCERTAIN",
    )
    batch.set_defaults(bailian_handler=handlers.batch)


# ---------------------------------------------------------------------------------------------------- running


def run_command(args: argparse.Namespace) -> int:
    """Run the subcommand `args` was parsed for; returns the exit code (see EXIT_CODES)."""
    handler: Handler = args.bailian_handler
    out = Output(
        overrides={
            "output_dir": getattr(args, "output_dir", None),
            "region": getattr(args, "region", None),
            "base_url": getattr(args, "base_url", None),
        },
        json=bool(getattr(args, "json", False)),
        input_roots=[Path.cwd()],
    )
    emulator = None
    try:
        if getattr(args, "emulator", False):
            from bailian_mcp.emulator import start_in_thread

            emulator = start_in_thread()
            out.overrides.update(base_url=emulator.base_url, api_key=EMULATOR_KEY)
            from bailian_mcp.cli.progress import stderr_console

            stderr_console().print(f"Using the built-in DashScope emulator at {emulator.base_url}", markup=False)
        try:
            return anyio.run(out.guarded, lambda: handler(args, out))
        except* SystemExit as exits:  # e.g. rich's when stdout, a pipe, is closed early (`| head`): from a task group
            raise exits.exceptions[0] from None
    except KeyboardInterrupt:
        print("bailian-mcp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if emulator is not None:
            emulator.stop()
