"""The command line's words for what the core returns as data (subcommands, `--wait`)."""

from __future__ import annotations

from bailian_mcp.jobs.wording import Wording

DEFAULT_WAIT = 600.0

SHELL_WORDS = Wording(
    resume=f"Continue with: bailian-mcp task get {{job_id}} --wait {DEFAULT_WAIT:g}",
    resume_any="bailian-mcp task get JOB_ID collects them.",
    list_tasks="bailian-mcp task list shows the tasks DashScope created.",
    list_models="bailian-mcp models shows what is available.",
    confirm="To send it, run the command again with --confirm.",
    waiting=f"The command waits up to --wait seconds (default {DEFAULT_WAIT:g}) for the result, showing progress on "
    "a terminal. A job still running then is handed back (exit code 4): continue with bailian-mcp task get "
    "JOB_ID. It is already paid for, so never run the command again instead.",
)
