"""``GET /api/v1/tasks``: filters, paging, item shape (protocol §2.4)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.support.emulator_app import AUTH, Emulator, MakeEmulator, assert_error

UTC8 = timezone(timedelta(hours=8))


async def list_tasks(emu: Emulator, **query: Any) -> dict[str, Any]:
    response = await emu.http.get("/api/v1/tasks", headers=AUTH, params=query)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == response.json()["request_id"]
    body: dict[str, Any] = response.json()
    return body


def compact(emu: Emulator, offset: float = 0.0) -> str:
    """The fake clock's current wall time, shifted, as ``yyyyMMddHHmmss`` UTC+8."""
    return datetime.fromtimestamp(emu.state.epoch(emu.clock() + offset), UTC8).strftime("%Y%m%d%H%M%S")


async def test_list_is_newest_first_with_the_recorded_item_fields(emu: Emulator) -> None:
    first = await emu.submit_ok()
    emu.clock.advance(5)
    second = await emu.submit_ok("qwen-image")
    body = await list_tasks(emu)
    assert set(body) == {"request_id", "total", "total_page", "page_no", "page_size", "data"}
    assert (body["total"], body["total_page"], body["page_no"], body["page_size"]) == (2, 1, 1, 10)
    assert [item["task_id"] for item in body["data"]] == [second, first]
    done, pending = body["data"][1], body["data"][0]
    assert done["status"] == "SUCCEEDED" and pending["status"] == "PENDING"
    assert set(done) == {
        "api_key_id", "caller_parent_id", "caller_uid", "end_time", "gmt_create", "model_name",
        "region", "request_id", "start_time", "status", "task_id", "user_api_unique_key",
    }  # fmt: skip
    assert "start_time" not in pending and "end_time" not in pending
    assert done["gmt_create"] < done["start_time"] < done["end_time"]
    assert isinstance(done["gmt_create"], int) and done["gmt_create"] > 10**12  # epoch milliseconds
    assert done["region"] == "cn-beijing" and done["model_name"] == "wan2.2-t2i-flash"
    assert done["user_api_unique_key"] == "apikey:v1:aigc:text2image:image-synthesis:wan2.2-t2i-flash"


async def test_list_item_request_id_is_the_submission_one(emu: Emulator) -> None:
    submitted = (await emu.submit()).json()
    item = (await list_tasks(emu))["data"][0]
    assert item["request_id"] == submitted["request_id"]


async def test_list_filters_by_model_and_status(emu: Emulator) -> None:
    done = await emu.submit_ok("qwen-image")
    emu.clock.advance(5)
    await emu.submit_ok("qwen-image")
    await emu.submit_ok("wanx2.1-t2i-turbo")
    assert (await list_tasks(emu, model_name="qwen-image"))["total"] == 2
    only = await list_tasks(emu, model_name="qwen-image", status="SUCCEEDED")
    assert [item["task_id"] for item in only["data"]] == [done]
    assert (await list_tasks(emu, status="RUNNING"))["total"] == 0


async def test_list_filters_by_api_key_id_and_region(emu: Emulator) -> None:
    await emu.submit_ok()
    key_id = (await list_tasks(emu))["data"][0]["api_key_id"]
    assert (await list_tasks(emu, api_key_id=key_id))["total"] == 1
    assert (await list_tasks(emu, api_key_id="0"))["total"] == 0
    assert (await list_tasks(emu, region="cn-beijing"))["total"] == 1
    assert (await list_tasks(emu, region="ap-southeast-1"))["total"] == 0


async def test_list_filters_by_creation_time(emu: Emulator) -> None:
    early = await emu.submit_ok()
    emu.clock.advance(3600)
    late = await emu.submit_ok()
    window = {"start_time": compact(emu, -60), "end_time": compact(emu)}
    assert [item["task_id"] for item in (await list_tasks(emu, **window))["data"]] == [late]
    before = await list_tasks(emu, end_time=compact(emu, -60))
    assert [item["task_id"] for item in before["data"]] == [early]


async def test_list_pages(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator()
    ids = [await emu.submit_ok() for _ in range(5)]
    page = await list_tasks(emu, page_no=2, page_size=2)
    assert (page["total"], page["total_page"], page["page_no"], page["page_size"]) == (5, 3, 2, 2)
    assert [item["task_id"] for item in page["data"]] == [ids[2], ids[1]]
    assert (await list_tasks(emu, page_no=4, page_size=2))["data"] == []
    assert len((await list_tasks(emu, page_size=100))["data"]) == 5


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": "101"},
        {"page_size": "0"},
        {"page_no": "0"},
        {"page_no": "x"},
        {"start_time": "2024-03-01"},
    ],
)
async def test_list_refuses_bad_paging_and_times(emu: Emulator, query: dict[str, str]) -> None:
    assert_error(await emu.http.get("/api/v1/tasks", headers=AUTH, params=query), 400, "InvalidParameter")


async def test_list_leaves_out_expired_tasks(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(task_ttl_seconds=100)
    await emu.submit_ok()
    emu.clock.advance(50)
    kept = await emu.submit_ok()
    emu.clock.advance(60)
    assert [item["task_id"] for item in (await list_tasks(emu))["data"]] == [kept]
