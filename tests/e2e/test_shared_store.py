"""Several servers on one job store (SQLite file, PostgreSQL database): a job one of them works on is never
declared dead by another, a submission whose sender died is given the task it paid for whichever tool looks
first, and nothing is ever sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE, TextToImageParams
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.emulator.faults import EndpointFaults, FaultPlan, Latency
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.server import build_server
from tests.support.emulators import QUICK_EMULATOR, api_requests
from tests.support.services import make_settings
from tests.support.spawned import ENTRY_POINT, INITIALIZE, MCP_ACCEPT, Spawner
from tests.support.stores import StoreLocation

SLOW_TEXT = replace(QUICK_EMULATOR, faults=FaultPlan(sync=EndpointFaults(latency=Latency("fixed", 2.5))))
SLOW_REPLY = replace(QUICK_EMULATOR, faults=FaultPlan(submit=EndpointFaults(slow=1.0, slow_bytes_per_second=4)))


def spawned_env(tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation, **extra: str) -> dict[str, str]:
    """A server process of its own on the shared store."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("BAILIAN_", "DASHSCOPE_"))}
    return {
        **inherited,
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_BASE_URL": emulator.base_url,
        "BAILIAN_DATA_DIR": str(store_at.path.parent),
        "BAILIAN_OUTPUT_DIR": str(tmp_path / "out-a"),
        **store_at.environment,
        **extra,
    }


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


@pytest.mark.parametrize("emulator_config", [replace(QUICK_EMULATOR, submit_rps=4.0)])
async def test_two_servers_on_one_store_keep_to_the_submission_rate_together(
    tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation, emulator_config: EmulatorConfig
) -> None:
    """Each paced alone at 4 submissions a second, two servers would send 8 and draw 429s; they book their slots in
    the store they share."""
    settings = make_settings(tmp_path, emulator.base_url, image_submit_rps=4.0, **store_at.settings)
    async with open_services(settings) as one, open_services(settings) as two:  # a 429 is retried after 0.25-0.5 s

        async def submit(services: Services, n: int) -> None:
            params = TextToImageParams(prompt=f"lantern {n}", model="wanx2.1-t2i-turbo")
            await services.runner.run(TEXT_TO_IMAGE, params, wait_seconds=0)

        async with anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(submit, (one, two)[n % 2], n)
    statuses = Counter(post["status"] for post in api_requests(emulator, "POST", "/image-synthesis"))
    # Unshared, about half are throttled; shared, one may still be, when a loaded machine delays one request and
    # not the next (they leave 10% further apart than the rate).
    assert statuses[200] == 10 and statuses[429] <= 2, statuses


@pytest.mark.slow
@pytest.mark.parametrize(("stateless", "answered"), [("true", 200), ("false", 400)])
def test_a_stateless_http_server_answers_requests_that_belong_to_no_session(
    spawn: Spawner, stateless: str, answered: int
) -> None:
    """Behind a load balancer, a client's next request may reach another replica, which never saw its session."""
    server = spawn("streamable-http", BAILIAN_HTTP_STATELESS=stateless)
    legacy = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2025-06-18"}}
    headers = {"Accept": MCP_ACCEPT, "MCP-Protocol-Version": "2025-06-18"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/mcp", json=legacy, headers=headers).status_code == 200
        listing = http.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
    assert listing.status_code == answered, listing.text
    if answered == 200:
        assert "text_to_image" in listing.text


@pytest.mark.slow
def test_two_batch_workers_on_one_store_send_each_task_once(
    tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation
) -> None:
    tasks = [{"model": "wanx2.1-t2i-turbo", "prompt": f"a kite, take {n}"} for n in range(6)]
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps({"image_tasks": tasks, "text_tasks": [{"prompt": "a haiku"}]}))
    workers = []
    for name in ("one", "two"):
        env = spawned_env(tmp_path, emulator, store_at, BAILIAN_OUTPUT_DIR=str(tmp_path / name))
        report = tmp_path / f"{name}.report.json"
        workers.append(
            subprocess.Popen(
                [ENTRY_POINT, "batch", str(tasks_file), "--report", str(report)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    for worker in workers:
        _, errors = worker.communicate(timeout=90)
        assert worker.returncode == 0, errors.decode()
    for name in ("one", "two"):
        report = json.loads((tmp_path / f"{name}.report.json").read_text())
        assert [task["status"] for task in report["tasks"]] == ["SUCCEEDED"] * 7, report
    created = [r for r in api_requests(emulator, "POST", "/services/") if r["status"] != 429]
    assert len(created) == 7, [r["path"] for r in created]
