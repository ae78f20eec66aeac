"""Task query, lifecycle, failures, cancel, expiry, queueing and throttling (protocol §2, §11.2)."""

from __future__ import annotations

import re

from tests.support.emulator_app import ASYNC, AUTH, Emulator, MakeEmulator, assert_error

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}")
CANCEL_REFUSED = "Failed to cancel the task, please confirm if the task is in PENDING status."


async def cancel(emu: Emulator, task_id: str) -> tuple[int, dict[str, object]]:
    response = await emu.http.post(f"/api/v1/tasks/{task_id}/cancel", headers=AUTH)
    assert response.headers["x-request-id"] == response.json()["request_id"]
    return response.status_code, response.json()


async def test_submit_answers_pending_with_a_uuid_task_id(emu: Emulator) -> None:
    body = (await emu.submit()).json()
    assert set(body) == {"output", "request_id"}
    assert body["output"]["task_status"] == "PENDING"
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", body["output"]["task_id"]
    )


async def test_lifecycle_pending_running_succeeded_with_the_recorded_shapes(emu: Emulator) -> None:
    task_id = await emu.submit_ok(n=2)
    zeros = {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 0}

    pending = await emu.task(task_id)
    assert set(pending) == {"request_id", "output"}
    assert pending["output"] == {
        "task_id": task_id,
        "task_status": "PENDING",
        "submit_time": pending["output"]["submit_time"],
        "task_metrics": zeros,
    }
    assert TIME.fullmatch(pending["output"]["submit_time"])

    emu.clock.advance(1.5)
    running = (await emu.task(task_id))["output"]
    assert list(running) == ["task_id", "task_status", "submit_time", "scheduled_time", "task_metrics"]
    assert running["task_status"] == "RUNNING" and running["task_metrics"] == zeros

    emu.clock.advance(1.5)
    done = await emu.task(task_id)
    output = done["output"]
    assert list(output) == [
        "task_id", "task_status", "submit_time", "scheduled_time", "end_time", "results", "task_metrics"
    ]  # fmt: skip
    assert output["task_status"] == "SUCCEEDED"
    assert output["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0}
    assert done["usage"] == {"image_count": 2}
    assert output["submit_time"] < output["scheduled_time"] < output["end_time"]
    assert all(set(result) == {"orig_prompt", "actual_prompt", "url"} for result in output["results"])


async def test_times_are_utc_plus_8(emu: Emulator) -> None:
    from datetime import datetime, timedelta, timezone

    task_id = await emu.submit_ok()
    submit_time = (await emu.task(task_id))["output"]["submit_time"]
    expected = datetime.fromtimestamp(emu.state.epoch(emu.clock()), timezone(timedelta(hours=8)))
    assert submit_time == expected.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


async def test_query_by_post_works_like_get(emu: Emulator) -> None:
    task_id = await emu.submit_ok()
    response = await emu.http.post(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["output"]["task_status"] == "PENDING"


async def test_any_valid_key_sees_any_task(emu: Emulator) -> None:
    task_id = await emu.submit_ok()
    response = await emu.http.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": "Bearer sk-other"})
    assert response.json()["output"]["task_status"] == "PENDING"


async def test_unknown_task_is_200_unknown(emu: Emulator) -> None:
    body = await emu.task("1111")
    assert set(body) == {"request_id", "output"}
    assert body["output"] == {"task_id": "1111", "task_status": "UNKNOWN"}


async def test_task_answers_unknown_after_its_ttl(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(task_ttl_seconds=60)
    task_id = await emu.submit_ok()
    emu.clock.advance(59.9)
    assert await emu.status(task_id) == "SUCCEEDED"
    emu.clock.advance(0.1)
    assert await emu.status(task_id) == "UNKNOWN"


async def test_fail_trigger_ends_failed_with_algo_error(emu: Emulator) -> None:
    task_id = await emu.submit_ok(prompt="a cat [emulator:fail]", n=3)
    emu.clock.advance(1.5)
    assert await emu.status(task_id) == "RUNNING"
    emu.clock.advance(2)
    body = await emu.task(task_id)
    output = body["output"]
    assert output["task_status"] == "FAILED"
    assert output["code"] == "InternalError.Algo"
    assert output["message"] == "Inference error: emulated failure."
    assert output["task_metrics"] == {"TOTAL": 3, "SUCCEEDED": 0, "FAILED": 3}
    assert "results" not in output and "usage" not in body
    assert {"submit_time", "scheduled_time", "end_time"} <= set(output)


async def test_fail_trigger_on_qwen_image_has_no_task_metrics(emu: Emulator) -> None:
    task_id = await emu.submit_ok("qwen-image", prompt="[emulator:fail] a cat")
    emu.clock.advance(5)
    output = (await emu.task(task_id))["output"]
    assert output["task_status"] == "FAILED" and "task_metrics" not in output


async def test_partial_trigger_succeeds_with_a_failed_last_item(emu: Emulator) -> None:
    task_id = await emu.submit_ok(prompt="a cat [emulator:partial]", n=3)
    emu.clock.advance(5)
    body = await emu.task(task_id)
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert [("url" in result) for result in output["results"]] == [True, True, False]
    assert output["results"][-1] == {
        "code": "InternalError.Timeout",
        "message": "An internal timeout error has occured during execution, "
        "please try again later or contact service support.",
    }
    assert output["task_metrics"] == {"TOTAL": 3, "SUCCEEDED": 2, "FAILED": 1}
    assert body["usage"] == {"image_count": 2}


async def test_partial_trigger_with_one_picture_is_a_failure(emu: Emulator) -> None:
    task_id = await emu.submit_ok(prompt="a cat [emulator:partial]", n=1)
    emu.clock.advance(5)
    assert await emu.status(task_id) == "FAILED"


async def test_cancel_pending_task_succeeds_and_it_becomes_canceled(emu: Emulator) -> None:
    task_id = await emu.submit_ok()
    status, body = await cancel(emu, task_id)
    assert status == 200 and set(body) == {"request_id"}
    output = (await emu.task(task_id))["output"]
    assert output["task_status"] == "CANCELED"
    emu.clock.advance(10)
    assert await emu.status(task_id) == "CANCELED"


async def test_cancel_is_refused_while_running_and_after_success(emu: Emulator) -> None:
    task_id = await emu.submit_ok()
    emu.clock.advance(1.5)
    status, body = await cancel(emu, task_id)
    assert (status, body["code"], body["message"]) == (400, "UnsupportedOperation", CANCEL_REFUSED)
    emu.clock.advance(5)
    status, body = await cancel(emu, task_id)
    assert (status, body["code"]) == (400, "UnsupportedOperation")
    assert await emu.status(task_id) == "SUCCEEDED"


async def test_cancel_of_canceled_or_unknown_task_is_refused(emu: Emulator) -> None:
    task_id = await emu.submit_ok()
    assert (await cancel(emu, task_id))[0] == 200
    assert (await cancel(emu, task_id))[0] == 400
    status, body = await cancel(emu, "no-such-task")
    assert (status, body["code"]) == (400, "UnsupportedOperation")


async def test_tasks_beyond_the_concurrency_limit_wait_pending(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(max_concurrent_tasks=2)
    first, second, third = [await emu.submit_ok() for _ in range(3)]
    emu.clock.advance(1.5)
    assert [await emu.status(t) for t in (first, second, third)] == ["RUNNING", "RUNNING", "PENDING"]
    emu.clock.advance(1.5)  # t=3: the first two end, the third gets a slot
    assert [await emu.status(t) for t in (first, second, third)] == ["SUCCEEDED", "SUCCEEDED", "PENDING"]
    emu.clock.advance(1.5)  # t=4.5: pending_seconds after its slot
    assert await emu.status(third) == "RUNNING"
    emu.clock.advance(2)
    assert await emu.status(third) == "SUCCEEDED"


async def test_queued_task_can_be_canceled_and_frees_its_place(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(max_concurrent_tasks=1)
    first, second, third = [await emu.submit_ok() for _ in range(3)]
    emu.clock.advance(0.5)
    assert (await cancel(emu, second))[0] == 200
    emu.clock.advance(2.6)  # t=3.1: the first ended at 3, the third got the slot at 3
    assert [await emu.status(t) for t in (first, second, third)] == ["SUCCEEDED", "CANCELED", "PENDING"]
    emu.clock.advance(1)
    assert await emu.status(third) == "RUNNING"


async def test_canceling_a_slot_holder_frees_the_slot_at_once(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(max_concurrent_tasks=1)
    first, second = await emu.submit_ok(), await emu.submit_ok()
    emu.clock.advance(0.5)
    assert (await cancel(emu, first))[0] == 200
    emu.clock.advance(1.1)  # the second got the slot at 0.5, runs from 1.5
    assert await emu.status(second) == "RUNNING"


async def test_concurrency_is_counted_per_key_and_model(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(max_concurrent_tasks=1)
    busy = await emu.submit_ok("wan2.2-t2i-flash")
    other_model = await emu.submit_ok("wan2.2-t2i-plus")
    other_key = await emu.submit_ok(headers={**ASYNC, "Authorization": "Bearer sk-second"})
    emu.clock.advance(1.5)
    assert [await emu.status(t) for t in (busy, other_model, other_key)] == ["RUNNING"] * 3


async def test_third_submission_within_a_second_is_throttled(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(submit_rps=2)
    await emu.submit_ok()
    emu.clock.advance(0.5)
    await emu.submit_ok()
    emu.clock.advance(0.4)
    response = await emu.submit()
    assert_error(response, 429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
    assert len(list(emu.state.tasks.tasks(emu.clock()))) == 2
    await emu.submit_ok("wan2.2-t2i-plus")  # another model has its own window
    emu.clock.advance(0.2)  # the first submission left the window
    await emu.submit_ok()


async def test_refused_submissions_do_not_count_towards_the_rate(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(submit_rps=1)
    assert (await emu.submit(n=9)).status_code == 400
    await emu.submit_ok()
    assert (await emu.submit()).status_code == 429
