"""The emulator over a real socket: on a thread (`start_in_thread`) and in the foreground (`serve`)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from bailian_mcp.emulator import EmulatorConfig, start_in_thread
from tests.support.emulator_app import ASYNC, AUTH, T2I

TINY = EmulatorConfig(pending_seconds=0.05, running_seconds=0.1, submit_rps=0)
SHORT = EmulatorConfig(pending_seconds=0.2, running_seconds=0.4)
"""Long enough for a 10 ms poll to see every state even on a loaded machine."""


def test_start_in_thread_serves_on_a_free_port_until_stopped() -> None:
    emu = start_in_thread(TINY)
    try:
        assert emu.root_url.startswith("http://127.0.0.1:") and not emu.root_url.endswith(":0")
        assert emu.base_url == emu.root_url + "/api/v1"
        assert httpx.get(emu.root_url + "/__emulator__/health").json() == {"ok": True}
    finally:
        emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.root_url + "/__emulator__/health")


def test_task_runs_to_success_in_real_time_and_its_png_downloads() -> None:
    with start_in_thread(SHORT) as emu, httpx.Client(base_url=emu.root_url) as http:
        body = {"model": "wanx2.1-t2i-turbo", "input": {"prompt": "a kite"}, "parameters": {"n": 1}}
        task_id = http.post(T2I, headers=ASYNC, json=body).json()["output"]["task_id"]
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            output = http.get(f"/api/v1/tasks/{task_id}", headers=AUTH).json()["output"]
            if output["task_status"] not in seen:
                seen.append(output["task_status"])
            if output["task_status"] == "SUCCEEDED":
                break
            time.sleep(0.01)
        assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]
        url = output["results"][0]["url"]
        assert url.startswith(emu.root_url + "/results/")
        picture = httpx.get(url)
        assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
        assert emu.state.requests[0]["path"] == T2I


def test_two_emulators_run_side_by_side() -> None:
    with start_in_thread(TINY) as one, start_in_thread(TINY) as two:
        assert one.root_url != two.root_url
        httpx.post(one.root_url + T2I, headers=ASYNC, json={"model": "qwen-image", "input": {"prompt": "x"}})
        assert len(one.state.requests) == 1 and two.state.requests == []


def test_start_in_thread_reports_a_port_in_use() -> None:
    with start_in_thread(TINY) as emu:
        port = int(emu.root_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            start_in_thread(TINY, port=port)


@pytest.mark.slow
def test_serve_prints_its_base_url_and_answers() -> None:
    code = (
        "from bailian_mcp.emulator import EmulatorConfig, serve;"
        "serve('127.0.0.1', 0, EmulatorConfig(api_keys=frozenset({'sk-cli'})))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        base_url = line.split()[-1]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
        for _ in range(200):
            try:
                response = httpx.get(base_url + "/tasks/x", headers={"Authorization": "Bearer sk-cli"})
                break
            except httpx.ConnectError:
                time.sleep(0.02)
        assert response.json()["output"]["task_status"] == "UNKNOWN"
    finally:
        process.terminate()
        process.wait(10)
