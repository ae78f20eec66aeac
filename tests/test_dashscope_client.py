"""The DashScope client against respx: the real recorded replies, retry rules, polling."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import TASK_QUERY_BUCKET, DashScopeClient, PollSchedule, RetryPolicy, TaskSnapshot
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.errors import ConfigurationError

BASE = "https://dashscope.test/api/v1"
T2I = f"{BASE}/services/aigc/text2image/image-synthesis"
TASK_ID = "9e2b6ef6-285d-4efa-8651-4dbda7d571fa"


def make_client(**kwargs: Any) -> DashScopeClient:
    defaults: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": BASE,
        "retry": RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.002),
        "poll": PollSchedule(delays=(0.01,), max_delay=0.01),
    }
    defaults.update(kwargs)
    return DashScopeClient(**defaults)


def reply(recording: Any) -> httpx.Response:
    """The recorded reply: its status and its exact body bytes."""
    return httpx.Response(recording.status, content=recording.response_text.encode())


async def test_submit_sends_the_recorded_request_shape_and_reads_the_recorded_reply(recording: Any) -> None:
    rec = recording("image-synthesis-nosse")
    with respx.mock:
        route = respx.post(T2I).mock(return_value=reply(rec))
        async with make_client() as client:
            snapshot = await client.submit("services/aigc/text2image/image-synthesis", rec.request_body)
    sent = route.calls.last.request
    assert rec.request_line.startswith("POST /api/v1/services/aigc/text2image/image-synthesis")
    assert sent.headers["X-DashScope-Async"] == "enable"
    assert sent.headers["Authorization"] == "Bearer sk-test"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert json.loads(sent.content) == rec.request_body
    assert snapshot.task_id == TASK_ID and snapshot.status == "PENDING"
    assert snapshot.request_id == "33da8e6b-1309-9a44-be83-352165959608"


@pytest.mark.parametrize(
    ("name", "status"),
    [("get-task-running-nosse", "RUNNING"), ("get-task-image-synthesis-success-nosse", "SUCCEEDED")],
)
async def test_get_task_reads_recorded_snapshots(recording: Any, name: str, status: str) -> None:
    rec = recording(name)
    with respx.mock:
        route = respx.get(f"{BASE}/tasks/{TASK_ID}").mock(return_value=reply(rec))
        async with make_client() as client:
            snapshot = await client.get_task(TASK_ID)
    assert route.calls.last.request.method == "GET"
    assert snapshot.status == status and snapshot.task_id == TASK_ID
    assert snapshot.terminal == (status == "SUCCEEDED")
    if status == "SUCCEEDED":
        assert len(snapshot.output["results"]) == 4 and snapshot.usage == {"image_count": 4}


async def test_recorded_401_becomes_an_authentication_error_that_names_the_region(recording: Any) -> None:
    rec = recording("auth-error-nosse")
    with respx.mock:
        respx.post(T2I).mock(return_value=reply(rec))  # note: the real 401 has no content-type header
        async with make_client(region_hint="this server uses X (BAILIAN_REGION=cn-beijing)") as client:
            with pytest.raises(errors.AuthenticationError) as caught:
                await client.submit("services/aigc/text2image/image-synthesis", {"model": "m"})
    assert caught.value.code == "InvalidApiKey" and caught.value.status == 401
    assert "region" in str(caught.value) and "BAILIAN_REGION=cn-beijing" in str(caught.value)
    assert caught.value.request_id == "a1c0561c-1dfe-98a6-a62f-983577b8bc5e"


async def test_recorded_400_is_an_invalid_request_and_is_not_resent(recording: Any) -> None:
    rec = recording("parameter-error-nosse")
    with respx.mock:
        route = respx.post(f"{BASE}/services/aigc/text-generation/generation").mock(return_value=reply(rec))
        async with make_client() as client:
            with pytest.raises(errors.InvalidRequestError) as caught:
                await client.call("services/aigc/text-generation/generation", rec.request_body)
    assert route.call_count == 1
    assert "Role must be user or assistant" in str(caught.value)


async def test_recorded_cancel_of_a_finished_task_is_unsupported_operation(recording: Any) -> None:
    rec = recording("cancel-completed-task-nosse")
    with respx.mock:
        respx.post(f"{BASE}/tasks/{TASK_ID}/cancel").mock(return_value=reply(rec))
        async with make_client() as client:
            with pytest.raises(errors.InvalidRequestError) as caught:
                await client.cancel(TASK_ID)
    assert caught.value.code == "UnsupportedOperation"
    assert "PENDING" in str(caught.value)


async def test_a_submit_answered_500_in_dashscopes_envelope_is_retried_because_nothing_was_created() -> None:
    failed = httpx.Response(500, json={"code": "InternalError", "message": "boom", "request_id": "r"})
    created = {"output": {"task_status": "PENDING", "task_id": "t1"}, "request_id": "r2"}
    with respx.mock:
        route = respx.post(T2I).mock(side_effect=[failed, httpx.Response(200, json=created)])
        async with make_client() as client:
            snapshot = await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 2 and snapshot.task_id == "t1"


async def test_a_submit_answered_by_a_gateway_error_page_is_never_resent() -> None:
    with respx.mock:
        route = respx.post(T2I).mock(return_value=httpx.Response(502, content=b"<html>Bad Gateway</html>"))
        async with make_client() as client:
            with pytest.raises(errors.ServerError):
                await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 1


async def test_a_submit_that_timed_out_reading_is_never_resent() -> None:
    with respx.mock:
        route = respx.post(T2I).mock(side_effect=httpx.ReadTimeout("slow"))
        async with make_client() as client:
            with pytest.raises(errors.DashScopeConnectionError) as caught:
                await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 1 and caught.value.request_sent


async def test_a_throttled_submit_is_retried_because_nothing_was_created() -> None:
    created = {"output": {"task_status": "PENDING", "task_id": "t1"}, "request_id": "r2"}
    throttled = {
        "code": "Throttling.RateQuota",
        "message": "Requests rate limit exceeded",
        "request_id": "r1",
    }
    with respx.mock:
        route = respx.post(T2I).mock(
            side_effect=[httpx.Response(429, json=throttled), httpx.Response(200, json=created)]
        )
        async with make_client() as client:
            snapshot = await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 2 and snapshot.task_id == "t1"


class CountingLimiter(RateLimiter):
    """Unlimited, counting the slots asked for per bucket."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def acquire(self, bucket: str) -> None:
        self.asked.append(bucket)


async def test_a_throttled_call_waits_for_a_new_slot_before_each_retry() -> None:
    """A retry must queue like any other call: in the shared pacing, other processes booked the slots meanwhile."""
    throttled = httpx.Response(429, json={"code": "Throttling.RateQuota", "message": "slow down", "request_id": "r"})
    created = httpx.Response(200, json={"output": {"task_status": "PENDING", "task_id": "t1"}, "request_id": "r2"})
    task = httpx.Response(200, json={"output": {"task_id": "t1", "task_status": "RUNNING"}, "request_id": "r3"})
    limiter = CountingLimiter()
    with respx.mock:
        respx.post(T2I).mock(side_effect=[throttled, throttled, created])
        respx.get(f"{BASE}/tasks/t1").mock(side_effect=[throttled, task])
        async with make_client(limiter=limiter) as client:
            await client.submit("services/aigc/text2image/image-synthesis", {}, bucket="wanx", paced=True)
            await client.get_task("t1")
    assert limiter.asked == ["wanx", "wanx", TASK_QUERY_BUCKET, TASK_QUERY_BUCKET]


async def test_a_submit_whose_connection_failed_before_sending_is_retried() -> None:
    created = {"output": {"task_status": "PENDING", "task_id": "t1"}, "request_id": "r"}
    with respx.mock:
        route = respx.post(T2I).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=created)])
        async with make_client() as client:
            await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 2


async def test_persistent_throttling_ends_in_a_rate_limit_error_after_the_retry_budget() -> None:
    throttled = {"code": "Throttling", "message": "Requests throttling triggered.", "request_id": "r"}
    with respx.mock:
        route = respx.post(T2I).mock(return_value=httpx.Response(429, json=throttled))
        async with make_client() as client:
            with pytest.raises(errors.RateLimitError) as caught:
                await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 4
    assert "throttled" in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, json={"code": "ModelServingError", "message": "busy", "request_id": "r"}),
        httpx.Response(429, json={"code": "Throttling", "message": "slow down", "request_id": "r"}),
        httpx.Response(200, content=b"<html>gateway</html>"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
    ],
)
async def test_task_queries_retry_transient_failures(failure: Any) -> None:
    good = {"request_id": "r", "output": {"task_id": "t", "task_status": "RUNNING"}}
    side = [failure, httpx.Response(200, json=good)]
    with respx.mock:
        route = respx.get(f"{BASE}/tasks/t").mock(side_effect=side)
        async with make_client() as client:
            snapshot = await client.get_task("t")
    assert route.call_count == 2 and snapshot.status == "RUNNING"


async def test_unknown_task_is_a_terminal_unknown_snapshot() -> None:
    body = {"request_id": "r", "output": {"task_id": "1111", "task_status": "UNKNOWN"}}
    with respx.mock:
        respx.get(f"{BASE}/tasks/1111").mock(return_value=httpx.Response(200, json=body))
        async with make_client() as client:
            snapshot = await client.get_task("1111")
    assert snapshot.status == "UNKNOWN" and snapshot.terminal


async def test_wait_polls_until_the_task_ends_and_reports_each_poll() -> None:
    states = ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    responses = [
        httpx.Response(200, json={"request_id": "r", "output": {"task_id": "t", "task_status": s}}) for s in states
    ]
    seen: list[str] = []

    async def on_poll(snapshot: TaskSnapshot) -> None:
        seen.append(snapshot.status)

    with respx.mock:
        respx.get(f"{BASE}/tasks/t").mock(side_effect=responses)
        async with make_client() as client:
            final = await client.wait("t", timeout=5, on_poll=on_poll)
    assert final.status == "SUCCEEDED" and seen == states


async def test_wait_returns_the_last_snapshot_when_time_runs_out() -> None:
    running = {"request_id": "r", "output": {"task_id": "t", "task_status": "RUNNING"}}
    with respx.mock:
        route = respx.get(f"{BASE}/tasks/t").mock(return_value=httpx.Response(200, json=running))
        async with make_client() as client:
            final = await client.wait("t", timeout=0.5)  # room for two polls even on a busy machine
    assert final.status == "RUNNING" and route.call_count >= 2


async def test_wait_with_no_time_polls_once() -> None:
    running = {"request_id": "r", "output": {"task_id": "t", "task_status": "PENDING"}}
    with respx.mock:
        route = respx.get(f"{BASE}/tasks/t").mock(return_value=httpx.Response(200, json=running))
        async with make_client() as client:
            final = await client.wait("t", timeout=0, poll_first=False)
    assert final.status == "PENDING" and route.call_count == 1


async def test_no_api_key_fails_before_any_request() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(T2I)
        async with make_client(api_key=None) as client:
            with pytest.raises(ConfigurationError, match="DASHSCOPE_API_KEY"):
                await client.submit("services/aigc/text2image/image-synthesis", {})
    assert route.call_count == 0


async def test_downloads_never_carry_the_api_key() -> None:
    async with make_client() as client:
        assert "authorization" not in {k.lower() for k in client.http.headers}
