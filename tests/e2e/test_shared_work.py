"""Several servers on one job store (SQLite file, PostgreSQL database), continued: they pace their submissions
together, batch workers send each task once, and streamable HTTP answers without sessions for replicas."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest

from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE, TextToImageParams
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.jobs.services import Services, open_services
from tests.support.emulators import QUICK_EMULATOR, api_requests
from tests.support.services import make_settings
from tests.support.spawned import ENTRY_POINT, INITIALIZE, MCP_ACCEPT, Spawner
from tests.support.stores import StoreLocation, spawned_env


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
def test_a_stateless_http_server_answers_requests_that_belong_to_no_session(spawn: Spawner) -> None:
    """Behind a load balancer, a client's next request may reach another replica, which never saw its session
    (without BAILIAN_HTTP_STATELESS, such a request is refused: 400, no session id)."""
    server = spawn("streamable-http", BAILIAN_HTTP_STATELESS="true")
    legacy = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2025-06-18"}}
    headers = {"Accept": MCP_ACCEPT, "MCP-Protocol-Version": "2025-06-18"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/mcp", json=legacy, headers=headers).status_code == 200
        listing = http.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=headers)
    assert listing.status_code == 200 and "text_to_image" in listing.text, listing.text


@pytest.mark.slow
@pytest.mark.parametrize(
    "store_at", ["postgres"], indirect=True
)  # workers on several machines (claims on SQLite: test_jobs)
def test_two_batch_workers_on_one_store_send_each_task_once(
    tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation
) -> None:
    tasks = [{"model": "wanx2.1-t2i-turbo", "prompt": f"a kite, take {n}"} for n in range(2)]
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
        assert [task["status"] for task in report["tasks"]] == ["SUCCEEDED"] * 3, report
    created = [r for r in api_requests(emulator, "POST", "/services/") if r["status"] != 429]
    assert len(created) == 3, [r["path"] for r in created]
