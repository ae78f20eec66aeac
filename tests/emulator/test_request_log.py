"""The request log and the emulator-only control endpoints."""

from __future__ import annotations

from tests.support.emulator_app import ASYNC, KEY, T2I, Emulator


async def test_log_records_each_request_in_order_with_its_shape(emu: Emulator) -> None:
    task_id = await emu.submit_ok(prompt="一只猫", n=1)
    await emu.http.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {KEY}"}, params={"a": "1"})
    first, second = emu.state.requests
    assert first["method"] == "POST" and first["path"] == T2I
    assert first["body"] == {
        "model": "wan2.2-t2i-flash",
        "input": {"prompt": "一只猫"},
        "parameters": {"n": 1},
    }
    assert first["headers"]["x-dashscope-async"] == "enable"
    assert first["headers"]["content-type"] == "application/json"
    assert first["status"] == 200 and first["query"] == {}
    assert second["method"] == "GET" and second["query"] == {"a": "1"} and second["body"] is None
    assert first["time"] <= second["time"]


async def test_log_redacts_the_api_key(emu: Emulator) -> None:
    await emu.submit()
    await emu.http.get("/api/v1/tasks", headers={"Authorization": "Token abc"})
    bearer, other = emu.state.requests
    assert bearer["headers"]["authorization"] == "Bearer ***"
    assert other["headers"]["authorization"] == "***"
    assert KEY not in repr(emu.state.requests)


async def test_log_records_refused_and_malformed_requests(emu: Emulator) -> None:
    await emu.http.post(T2I, headers=ASYNC, content=b"{broken")
    await emu.http.post(T2I, json={"model": "x"})
    malformed, unauthenticated = emu.state.requests
    assert (malformed["status"], malformed["body"]) == (400, None)
    assert unauthenticated["status"] == 401 and "authorization" not in unauthenticated["headers"]


async def test_control_endpoint_lists_and_clears_the_log_without_a_key(emu: Emulator) -> None:
    await emu.submit()
    listed = await emu.http.get("/__emulator__/requests")
    assert listed.status_code == 200
    assert [entry["path"] for entry in listed.json()] == [T2I]
    assert (await emu.http.delete("/__emulator__/requests")).status_code == 204
    assert (await emu.http.get("/__emulator__/requests")).json() == []
    assert emu.state.requests == []


async def test_health(emu: Emulator) -> None:
    response = await emu.http.get("/__emulator__/health")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert emu.state.requests == []


async def test_result_downloads_are_logged_too(emu: Emulator) -> None:
    task_id = await emu.submit_ok(n=1, size="512*512")
    emu.clock.advance(10)
    url = (await emu.task(task_id))["output"]["results"][0]["url"]
    await emu.http.get(url)
    download = emu.state.requests[-1]
    assert download["path"].startswith("/results/") and download["status"] == 200
    assert set(download["query"]) == {"Expires", "OSSAccessKeyId", "Signature"}
