"""Several servers on one job store (SQLite file, PostgreSQL database): a job one of them works on is never
declared dead by another, a submission whose sender died is given the task it paid for whichever tool looks
first, and nothing is ever sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.emulator.faults import EndpointFaults, FaultPlan, Latency
from bailian_mcp.server import build_server
from tests.support.emulators import QUICK_EMULATOR, api_requests
from tests.support.services import make_settings
from tests.support.spawned import ENTRY_POINT
from tests.support.stores import StoreLocation, spawned_env

SLOW_TEXT = replace(QUICK_EMULATOR, faults=FaultPlan(sync=EndpointFaults(latency=Latency("fixed", 1.8))))
SLOW_REPLY = replace(QUICK_EMULATOR, faults=FaultPlan(submit=EndpointFaults(slow=1.0, slow_bytes_per_second=80)))


def made(emulator: RunningEmulator) -> list[Any]:
    return list(emulator.state.tasks.tasks(emulator.state.now()))


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [SLOW_TEXT])
async def test_a_slow_job_in_one_server_is_waited_for_by_another_and_sent_once(
    tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation, emulator_config: EmulatorConfig
) -> None:
    server_a = StdioServerParameters(command=ENTRY_POINT, env=spawned_env(tmp_path, emulator, store_at))
    settings_b = make_settings(tmp_path, emulator.base_url, output_dir=str(tmp_path / "out-b"), **store_at.settings)
    async with Client(server_a) as a, Client(build_server(settings_b)) as b:
        handle = structured(await a.call_tool("text_to_text", {"prompt": "说一句话", "wait_seconds": 1}))
        assert not handle["done"]
        seen = structured(await b.call_tool("get_task", {"task_id": handle["job_id"], "wait_seconds": 20}))
        assert seen["status"] == "SUCCEEDED" and seen["done"] and seen["text"], seen
        again = structured(await a.call_tool("get_task", {"task_id": handle["job_id"], "wait_seconds": 0}))
        assert again["text"] == seen["text"] and again.get("error") is None
        listed = structured(await b.call_tool("list_tasks", {}))
    assert [job["status"] for job in listed["jobs"]] == ["SUCCEEDED"] and listed["jobs"][0]["error"] is None
    assert len(api_requests(emulator, "POST", "/generation")) == 1


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [SLOW_REPLY])
@pytest.mark.parametrize("store_at", ["sqlite"], indirect=True)  # one machine (PostgreSQL: test_jobs)
async def test_a_task_whose_sender_died_goes_to_its_job_even_when_a_listing_adopted_it_first(
    tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation, emulator_config: EmulatorConfig
) -> None:
    env = spawned_env(tmp_path, emulator, store_at, BAILIAN_LEASE_SECONDS="1")
    sender = subprocess.Popen(
        [ENTRY_POINT, "text2image", "a lighthouse", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with anyio.fail_after(20):  # the task is made; its reply trickles back
            while not made(emulator):
                await anyio.sleep(0.05)
    finally:
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait()
    (task,) = made(emulator)
    settings_b = make_settings(tmp_path, emulator.base_url, output_dir=str(tmp_path / "out-b"), **store_at.settings)
    async with Client(build_server(settings_b)) as b:
        early = structured(await b.call_tool("list_tasks", {}))  # the dead sender's hold has not lapsed yet
        assert early["adopted"] == 1 and len(early["jobs"]) == 2, early
        await anyio.sleep(1.2)
        listed = structured(await b.call_tool("list_tasks", {}))
        (job,) = listed["jobs"]
        assert job["task_id"] == task.task_id and not job["adopted"], listed
        done = structured(await b.call_tool("get_task", {"task_id": job["job_id"], "wait_seconds": 20}))
    assert done["status"] == "SUCCEEDED" and done["job_id"] == job["job_id"]
    assert len(api_requests(emulator, "POST", "/image-synthesis")) == 1
