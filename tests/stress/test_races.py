"""Races between tool calls, made certain by slowing the emulator's replies: what an agent does while a paid
request is still on its way must not cost it the job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import TextContent

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.faults import EndpointFaults, FaultPlan
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from bailian_mcp.server import build_server
from tests.support.services import make_settings

pytestmark = pytest.mark.slow

SLOW_SUBMIT_REPLIES = FaultPlan(submit=EndpointFaults(slow=1.0, slow_bytes_per_second=40))
"""The task is created at once; its ~100-byte reply takes ~2.5 s to arrive."""


@pytest.fixture
def slow_emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(pending_seconds=0.01, running_seconds=0.02, submit_rps=0, faults=SLOW_SUBMIT_REPLIES)
    with start_in_thread(config) as running:
        yield running


async def test_list_tasks_while_a_submission_reply_is_on_its_way_keeps_the_job(
    slow_emulator: RunningEmulator, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    """`list_tasks` adopts the new task before the submission's reply arrives; the reply must still attach the
    task to the job that paid for it. Today `JobStore.attach_task` fails (sqlite3.IntegrityError: UNIQUE
    constraint failed: jobs.task_id), the call ends with a bare "Error executing tool text_to_image", and the
    job is recorded SUBMIT_UNCERTAIN ("interrupted while sending") although DashScope answered with its task."""
    settings = make_settings(tmp_path, slow_emulator.base_url)
    async with Client(build_server(settings)) as client:
        arguments = {"prompt": "a race", "size": "512*512", "n": 1, "wait_seconds": 10}
        outcome = {}

        async def generate() -> None:
            outcome["result"] = await client.call_tool("text_to_image", arguments)

        async with anyio.create_task_group() as group:
            group.start_soon(generate)
            while not list(slow_emulator.state.tasks.tasks(slow_emulator.state.now())):
                await anyio.sleep(0.02)
            listing = await client.call_tool("list_tasks", {})
            assert not listing.is_error
        result = outcome["result"]
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    assert not result.is_error, text
    assert result.structured_content is not None and result.structured_content["status"] == "SUCCEEDED"
    store = SQLiteJobStore(settings.job_db_path)
    try:
        jobs = await store.list()
    finally:
        store.close()
    (task,) = slow_emulator.state.tasks.tasks(slow_emulator.state.now())
    holders = [job for job in jobs if job.task_id == task.task_id]
    assert [job.job_id for job in holders] == [result.structured_content["job_id"]]
    assert all(job.status != "SUBMITTING" for job in jobs), [(job.job_id, job.status) for job in jobs]
