"""The MCP face's words for what the core returns as data (tool names, `wait_seconds`)."""

from __future__ import annotations

from bailian_mcp.jobs.wording import Wording

MCP_WORDS = Wording(
    resume="Call get_task with task_id={job_id!r} to wait for it (do not generate again).",
    resume_any="get_task collects them by job_id.",
    list_tasks="list_tasks shows the tasks DashScope created.",
    list_models="list_models shows what is available.",
    confirm="Ask the user; if they agree, call the tool again with the same arguments and confirm=true.",
    waiting="The call waits up to `wait_seconds` for the result, sending progress notifications. A job still "
    "running then comes back with done=false and a job_id: call get_task with it (repeatedly) until done=true. It "
    "is already paid for, so never generate again instead.",
)
