"""Fault injection: the plan and its checks, the seeded decisions, every fault's effect in-process, and the
socket-level faults (resets, cut and stalled downloads, WebSocket drops) over a real connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from bailian_mcp.emulator import EmulatorConfig, create_app, start_in_thread
from bailian_mcp.emulator.connection import ConnectionDropped
from bailian_mcp.emulator.fault_middleware import MALFORMED_BODY, endpoint_class
from bailian_mcp.emulator.faults import (
    ENDPOINT_CLASSES,
    NO_FAULTS,
    EndpointFaults,
    FaultInjector,
    FaultPlan,
    Latency,
)
from tests.support.emulator_app import ASYNC, AUTH, MULTIMODAL, T2I, TEXTGEN, UPLOADS, Emulator, MakeEmulator
from tests.support.media import data_uri, png_bytes

FAULTS = "/__emulator__/faults"
STATS = "/__emulator__/faults/stats"


def plan(seed: int = 7, **classes: EndpointFaults) -> FaultPlan:
    return FaultPlan(seed=seed, **classes)


def only(**faults: Any) -> EndpointFaults:
    return EndpointFaults(**faults)


async def task_count(emu: Emulator) -> int:
    return len(list(emu.state.tasks.tasks(emu.clock())))


# ---------------------------------------------------------------------------------------------------- the plan


def test_the_default_config_injects_nothing() -> None:
    assert EmulatorConfig().faults == NO_FAULTS and not NO_FAULTS.active
    injector = FaultInjector()
    decisions = [injector.decide(endpoint) for endpoint in ENDPOINT_CLASSES for _ in range(50)]
    assert all(d.fault is None and d.delay == 0 for d in decisions)
    assert injector.outcome("submit") is None
    assert injector.stats() == {"requests": dict.fromkeys(ENDPOINT_CLASSES, 50), "injected": {}, "totals": {}}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EndpointFaults(throttle=1.5), "probability"),
        (lambda: EndpointFaults(server_error=-0.1), "probability"),
        (lambda: EndpointFaults(throttle=True), "probability"),
        (lambda: EndpointFaults(throttle=0.6, reset_after=0.6), "add up to at most 1"),
        (lambda: EndpointFaults(fail=0.7, pending=0.4), "add up to at most 1"),
        (lambda: EndpointFaults(throttle_burst=0), "throttle_burst"),
        (lambda: EndpointFaults(slow_bytes_per_second=0), "slow_bytes_per_second"),
        (lambda: EndpointFaults(stall_seconds=-1), "stall_seconds"),
        (lambda: Latency("normal", 1.0), "distribution"),  # type: ignore[arg-type]
        (lambda: Latency("uniform", 1.0, low=2.0), "low"),
        (lambda: Latency(seconds=-1.0), "seconds"),
        (lambda: FaultPlan(submit=only(stall=0.1)), "submit cannot be given stall"),
        (lambda: FaultPlan(task=only(drop=0.1, fail=0.1)), "task cannot be given drop, fail"),
        (lambda: FaultPlan(websocket=only(reset_before=0.1)), "websocket cannot be given reset_before"),
        (lambda: FaultPlan(download=only(malformed=0.1)), "download cannot be given malformed"),
        (lambda: FaultPlan(seed="x"), "seed"),  # type: ignore[arg-type]
    ],
)
def test_a_plan_that_makes_no_sense_is_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_plan_round_trips_through_json() -> None:
    original = FaultPlan(
        seed=3,
        submit=only(throttle=0.1, throttle_burst=4, reset_after=0.05, fail=0.1, expired_urls=0.05),
        download=only(latency=Latency("exponential", 0.01, max_seconds=0.2), stall=0.01, stall_seconds=2.0),
        websocket=only(drop=0.5),
    )
    text = json.dumps(original.to_json())
    assert FaultPlan.from_json(json.loads(text)) == original
    assert FaultPlan.from_json({}) == NO_FAULTS
    assert FaultPlan.from_json({"task": {"latency": None}}) == NO_FAULTS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"sead": 1}, "no field 'sead'"),
        ({"submit": {"throttel": 0.1}}, "submit has no field 'throttel'"),
        ({"task": {"latency": {"mean": 1}}}, "task.latency has no field 'mean'"),
        ({"sync": {"truncate": "often"}}, "sync: faults.truncate must be a probability"),
    ],
)
def test_a_plan_from_bad_json_says_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan.from_json(data)


# ---------------------------------------------------------------------------------------------------- decisions


def faults_of(injector: FaultInjector, endpoint: Any, count: int) -> list[str | None]:
    return [injector.decide(endpoint).fault for _ in range(count)]


def test_decisions_repeat_for_a_seed_whatever_other_classes_do() -> None:
    chosen = plan(submit=only(throttle=0.2, reset_after=0.1, fail=0.2), task=only(malformed=0.3))
    alone, mixed = FaultInjector(chosen), FaultInjector(chosen)
    other_seed = FaultInjector(FaultPlan(seed=8, submit=chosen.submit, task=chosen.task))
    expected = faults_of(alone, "submit", 200)
    interleaved = []
    for _ in range(200):
        mixed.decide("task")
        mixed.outcome("submit")
        interleaved.append(mixed.decide("submit").fault)
    assert interleaved == expected
    assert faults_of(other_seed, "submit", 200) != expected
    alone.replace(chosen)  # a new plan restarts the streams
    assert faults_of(alone, "submit", 200) == expected


def test_faults_come_at_their_rates() -> None:
    injector = FaultInjector(plan(task=only(server_error=0.1, unavailable=0.05, truncate=0.15, malformed=0.2)))
    counts = Counter(faults_of(injector, "task", 10_000))
    assert abs(counts["server_error"] - 1000) < 150 and abs(counts["unavailable"] - 500) < 100
    assert abs(counts["truncate"] - 1500) < 180 and abs(counts["malformed"] - 2000) < 200
    assert injector.stats()["injected"] == {"task": {k: v for k, v in counts.items() if k is not None}}
    assert injector.stats()["requests"] == {"task": 10_000}


def test_a_throttle_burst_is_n_consecutive_429s_of_its_class() -> None:
    injector = FaultInjector(plan(submit=only(throttle=0.05, throttle_burst=4)))
    seen = faults_of(injector, "submit", 2000)
    runs = []
    run = 0
    for fault in [*seen, None]:
        if fault == "throttle":
            run += 1
        elif run:
            runs.append(run)
            run = 0
    assert len(runs) > 50 and all(length % 4 == 0 for length in runs[:-1])  # bursts of 4 (two may touch)
    assert injector.decide("task").fault is None  # another class is not throttled


def test_latency_distributions() -> None:
    def delays(latency: Latency, count: int = 4000) -> list[float]:
        injector = FaultInjector(plan(sync=only(latency=latency)))
        return [injector.decide("sync").delay for _ in range(count)]

    assert set(delays(Latency("fixed", 0.25), 10)) == {0.25}
    uniform = delays(Latency("uniform", 0.3, low=0.1))
    assert 0.1 <= min(uniform) < 0.12 and 0.28 < max(uniform) <= 0.3
    exponential = delays(Latency("exponential", 0.2, max_seconds=1.0))
    assert 0.18 < statistics.mean(exponential) < 0.22 and max(exponential) == 1.0
    sometimes = delays(Latency("fixed", 0.5, probability=0.25))
    assert 850 < sum(1 for d in sometimes if d) < 1150
    assert FaultInjector(plan(sync=only(latency=Latency("fixed", 0.5)))).stats()["totals"] == {}


def test_outcomes_are_drawn_per_created_task() -> None:
    injector = FaultInjector(plan(submit=only(fail=0.2, partial=0.1, pending=0.1, expired_urls=0.1)))
    counts = Counter(injector.outcome("submit") for _ in range(5000))
    assert abs(counts["fail"] - 1000) < 130 and abs(counts["pending"] - 500) < 90
    assert counts[None] + sum(counts[k] for k in ("fail", "partial", "pending", "expired_urls")) == 5000


@pytest.mark.parametrize(
    ("kind", "path", "headers", "expected"),
    [
        ("http", T2I, [(b"x-dashscope-async", b"enable")], "submit"),
        ("http", T2I, [], "sync"),
        ("http", TEXTGEN, [], "sync"),
        ("http", "/api/v1/tasks", [], "task"),
        ("http", "/api/v1/tasks/abc/cancel", [], "task"),
        ("http", "/results/abc/1.png", [], "download"),
        ("http", "/api/v1/uploads", [], "upload"),
        ("http", "/__oss__/upload", [], "upload"),
        ("websocket", "/api-ws/v1/inference", [], "websocket"),
        ("http", "/__emulator__/requests", [], None),
        ("http", "/__emulator__/faults", [], None),
        ("http", "/elsewhere", [], None),
    ],
)
def test_endpoint_classes(kind: str, path: str, headers: list[tuple[bytes, bytes]], expected: str | None) -> None:
    assert endpoint_class({"type": kind, "path": path, "headers": headers}) == expected


# ---------------------------------------------------------------------------------------------------- control


async def test_control_endpoints_read_replace_and_clear_the_plan(emu: Emulator) -> None:
    assert (await emu.http.get(FAULTS)).json() == NO_FAULTS.to_json()
    wanted = {"seed": 11, "submit": {"throttle": 1.0, "throttle_burst": 2}, "task": {"latency": {"seconds": 0.0}}}
    answer = await emu.http.put(FAULTS, json=wanted)
    assert answer.status_code == 200 and answer.json()["submit"]["throttle_burst"] == 2
    assert emu.state.faults.plan == FaultPlan.from_json(wanted)
    assert [(await emu.submit()).status_code for _ in range(3)] == [429, 429, 429]
    stats = (await emu.http.get(STATS)).json()
    assert stats == {"requests": {"submit": 3}, "injected": {"submit": {"throttle": 3}}, "totals": {"throttle": 3}}
    assert (await emu.http.delete(STATS)).status_code == 204
    assert (await emu.http.get(STATS)).json() == {"requests": {}, "injected": {}, "totals": {}}
    assert (await emu.http.delete(FAULTS)).json() == NO_FAULTS.to_json()
    assert (await emu.submit()).status_code == 200


async def test_a_bad_plan_is_a_400_and_the_old_plan_stays(emu: Emulator) -> None:
    await emu.http.put(FAULTS, json={"task": {"server_error": 0.5}})
    for body in (b"{not json", b'{"task": {"server_error": 2}}', b'{"websocket": {"stall": 0.1}}'):
        answer = await emu.http.put(FAULTS, content=body)
        assert answer.status_code == 400 and answer.json()["error"]
    assert emu.state.faults.plan.task.server_error == 0.5


async def test_the_control_endpoints_never_fail(make_emulator: MakeEmulator) -> None:
    bad = only(reset_before=0.5, reset_after=0.5)
    emu = await make_emulator(faults=FaultPlan(submit=bad, task=bad, sync=bad, download=bad, upload=bad))
    for _ in range(5):
        assert (await emu.http.get("/__emulator__/health")).status_code == 200
        assert (await emu.http.get(FAULTS)).status_code == 200


# ---------------------------------------------------------------------------------------------------- replies


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("throttle", 429, "Throttling.RateQuota"),
        ("server_error", 500, "InternalError"),
        ("unavailable", 503, "ModelServingError"),
    ],
)
async def test_error_replies_create_nothing_and_are_logged(
    make_emulator: MakeEmulator, fault: str, status: int, code: str
) -> None:
    emu = await make_emulator(faults=plan(submit=only(**{fault: 1.0})))
    answer = await emu.submit()
    body = answer.json()
    assert answer.status_code == status and body["code"] == code and body["request_id"]
    assert answer.headers["x-request-id"] == body["request_id"]
    assert await task_count(emu) == 0
    (entry,) = emu.state.requests
    assert (entry["status"], entry["fault"]) == (status, fault)


async def test_a_throttle_burst_passes_after_n_429s(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(throttle=0.5, throttle_burst=3), seed=2))
    statuses = [(await emu.submit()).status_code for _ in range(40)]
    first = statuses.index(429)
    assert statuses[first : first + 3] == [429, 429, 429]
    assert await task_count(emu) == statuses.count(200)


async def test_download_errors_are_oss_xml(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator()
    task_id = await emu.submit_ok(n=1, size="512*512")
    emu.clock.advance(10)
    url = (await emu.task(task_id))["output"]["results"][0]["url"]
    emu.state.faults.replace(plan(download=only(unavailable=1.0)))
    answer = await emu.http.get(url)
    assert answer.status_code == 503 and answer.headers["content-type"] == "application/xml"
    assert "<Code>ModelServingError</Code>" in answer.text


async def test_malformed_replies_are_200_with_garbage_after_the_endpoint_ran(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(malformed=1.0), task=only(malformed=1.0)))
    answer = await emu.submit()
    assert answer.status_code == 200 and answer.content == MALFORMED_BODY
    assert answer.headers["content-length"] == str(len(MALFORMED_BODY))
    with pytest.raises(ValueError):
        answer.json()
    assert await task_count(emu) == 1
    (task,) = emu.state.tasks.tasks(emu.clock())
    polled = await emu.http.get(f"/api/v1/tasks/{task.task_id}", headers=AUTH)
    assert polled.status_code == 200 and polled.content == MALFORMED_BODY


async def test_a_malformed_stream_is_garbage_too(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(sync=only(malformed=1.0)))
    body = {"model": "qwen-turbo", "input": {"prompt": "hello"}}
    answer = await emu.http.post(TEXTGEN, headers={**AUTH, "X-DashScope-SSE": "enable"}, json=body)
    assert answer.status_code == 200 and answer.content == MALFORMED_BODY


async def test_in_process_a_reset_before_reading_raises_and_leaves_no_trace(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(reset_before=1.0)))
    with pytest.raises(ConnectionDropped, match="before the request was read"):
        await emu.submit()
    assert await task_count(emu) == 0 and emu.state.requests == []
    assert emu.state.faults.stats()["totals"] == {"reset_before": 1}


@pytest.mark.parametrize("fault", ["reset_after", "truncate"])
async def test_in_process_a_lost_reply_raises_but_the_task_exists(make_emulator: MakeEmulator, fault: str) -> None:
    emu = await make_emulator(faults=plan(submit=only(**{fault: 1.0})))
    with pytest.raises(ConnectionDropped):
        await emu.submit()
    assert await task_count(emu) == 1
    (entry,) = emu.state.requests
    assert entry["fault"] == fault and entry["status"] == (None if fault == "reset_after" else 200)


async def test_latency_delays_the_request(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(task=only(latency=Latency("fixed", 0.6))))
    started = time.monotonic()
    await emu.http.get("/api/v1/tasks/x", headers=AUTH)
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    await emu.submit()  # another endpoint class: not delayed (0.6 s leaves room for a busy machine)
    assert time.monotonic() - started < 0.6
    assert emu.state.faults.stats()["totals"] == {"latency": 1}


async def test_upload_faults_answer_in_each_hosts_own_words(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(upload=only(server_error=1.0)))
    policy = await emu.http.get(UPLOADS, headers=AUTH, params={"action": "getPolicy", "model": "qwen-image-edit"})
    assert policy.status_code == 500 and policy.json()["code"] == "InternalError"
    form = await emu.http.post("/__oss__/upload", files={"file": ("a.png", b"x")})
    assert form.status_code == 500 and "<Code>InternalError</Code>" in form.text


async def test_a_slow_reply_arrives_whole_and_late_after_the_endpoint_acted(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(slow=1.0, slow_bytes_per_second=400)))
    started = time.monotonic()
    answer = await emu.submit()
    assert answer.status_code == 200 and answer.json()["output"]["task_status"] == "PENDING"
    assert time.monotonic() - started >= len(answer.content) / 400 * 0.8
    assert await task_count(emu) == 1


def test_websocket_error_replies_refuse_the_handshake() -> None:
    app = create_app(EmulatorConfig(faults=plan(websocket=only(unavailable=1.0))))
    with TestClient(app) as client, pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect("/api-ws/v1/inference", headers=dict(AUTH)).__enter__()  # it adds to the dict
    assert denied.value.status_code == 503 and denied.value.json()["code"] == "ModelServingError"


# ---------------------------------------------------------------------------------------------------- outcomes


async def test_a_failed_task_by_probability(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(fail=1.0)))
    task_id = await emu.submit_ok(n=2)
    emu.clock.advance(10)
    output = (await emu.task(task_id))["output"]
    assert output["task_status"] == "FAILED" and output["code"] == "InternalError.Algo"
    assert output["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 2}


async def test_a_partially_failed_task_by_probability(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(partial=1.0)))
    task_id = await emu.submit_ok(n=3, size="512*512")
    single = await emu.submit_ok(n=1, size="512*512")
    emu.clock.advance(10)
    body = await emu.task(task_id)
    results = body["output"]["results"]
    assert body["output"]["task_status"] == "SUCCEEDED" and len(results) == 3
    assert [bool(item.get("url")) for item in results] == [True, True, False]
    assert results[2]["code"] == "InternalError.Timeout"
    assert body["output"]["task_metrics"] == {"TOTAL": 3, "SUCCEEDED": 2, "FAILED": 1}
    assert body["usage"] == {"image_count": 2}
    assert (await emu.http.get(results[1]["url"])).status_code == 200
    assert (await emu.status(single)) == "FAILED"


async def test_a_task_that_stays_pending_holds_no_slot_and_can_be_canceled(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(max_concurrent_tasks=1, faults=plan(submit=only(pending=1.0)))
    stuck = await emu.submit_ok()
    emu.state.faults.replace(NO_FAULTS)
    after = await emu.submit_ok()
    emu.clock.advance(3600)
    assert await emu.status(stuck) == "PENDING" and await emu.status(after) == "SUCCEEDED"
    canceled = await emu.http.post(f"/api/v1/tasks/{stuck}/cancel", headers=AUTH)
    assert canceled.status_code == 200 and await emu.status(stuck) == "CANCELED"


async def test_expired_result_urls_by_probability(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(submit=only(expired_urls=1.0)))
    task_id = await emu.submit_ok(n=1, size="512*512")
    emu.clock.advance(10)
    body = await emu.task(task_id)
    url = body["output"]["results"][0]["url"]
    expires = int(httpx.URL(url).params["Expires"])
    assert expires < emu.state.epoch(emu.clock())
    answer = await emu.http.get(url)
    assert answer.status_code == 403 and "Request has expired." in answer.text
    assert (await emu.task(task_id))["output"]["results"][0]["url"] == url  # stable


async def test_expired_urls_of_a_synchronous_edit(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(faults=plan(sync=only(expired_urls=1.0)))
    image = data_uri(png_bytes(512, 512))
    body = {
        "model": "qwen-image-edit",
        "input": {"messages": [{"role": "user", "content": [{"image": image}, {"text": "add a hat"}]}]},
    }
    answer = await emu.http.post(MULTIMODAL, headers=AUTH, json=body)
    assert answer.status_code == 200
    url = answer.json()["output"]["choices"][0]["message"]["content"][0]["image"]
    assert (await emu.http.get(url)).status_code == 403
    assert emu.state.faults.stats()["injected"] == {"sync": {"expired_urls": 1}}


# ---------------------------------------------------------------------------------------------------- sockets


class ServerErrors(logging.Handler):
    """Collects what uvicorn logs as errors: a fault must look like a network failure, not an app crash."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def server_errors() -> Iterator[ServerErrors]:
    """Enter after the server started (uvicorn's logging set-up drops the handlers it finds)."""
    handler = ServerErrors()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


LOOPBACK = EmulatorConfig(pending_seconds=0.01, running_seconds=0.02, submit_rps=0, stream_chunk_seconds=0)
BODY = {"model": "wanx2.1-t2i-turbo", "input": {"prompt": "a kite"}, "parameters": {"n": 1, "size": "512*512"}}


def test_over_a_socket_a_reset_before_reading_creates_nothing() -> None:
    with start_in_thread(LOOPBACK) as emu, server_errors() as errors, httpx.Client() as http:
        emu.state.faults.replace(plan(submit=only(reset_before=1.0)))
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            http.post(emu.root_url + T2I, headers=ASYNC, json=BODY)
        assert list(emu.state.tasks.tasks(emu.state.now())) == [] and emu.state.requests == []
        emu.state.faults.replace(NO_FAULTS)
        assert http.post(emu.root_url + T2I, headers=ASYNC, json=BODY).status_code == 200
    assert errors.messages == []


def test_over_a_socket_a_reset_after_reading_loses_the_reply_of_a_created_task() -> None:
    with start_in_thread(LOOPBACK) as emu, server_errors() as errors, httpx.Client() as http:
        emu.state.faults.replace(plan(submit=only(reset_after=1.0)))
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            http.post(emu.root_url + T2I, headers=ASYNC, json=BODY)
        assert len(list(emu.state.tasks.tasks(emu.state.now()))) == 1
        (entry,) = emu.state.requests
        assert (entry["status"], entry["fault"]) == (None, "reset_after")
    assert errors.messages == []


def finished_url(emu: Any, http: httpx.Client) -> str:
    task_id = http.post(emu.root_url + T2I, headers=ASYNC, json=BODY).json()["output"]["task_id"]
    for _ in range(200):
        output = http.get(f"{emu.base_url}/tasks/{task_id}", headers=AUTH).json()["output"]
        if output["task_status"] == "SUCCEEDED":
            return str(output["results"][0]["url"])
        time.sleep(0.01)
    raise AssertionError("the task did not finish")


def test_over_a_socket_downloads_are_cut_stalled_and_slowed() -> None:
    with start_in_thread(LOOPBACK) as emu, server_errors() as errors, httpx.Client(timeout=5) as http:
        url = finished_url(emu, http)
        whole = http.get(url).content
        emu.state.faults.replace(plan(download=only(truncate=1.0)))
        with pytest.raises(httpx.RemoteProtocolError, match=f"received {len(whole) // 2} bytes, expected {len(whole)}"):
            http.get(url)
        emu.state.faults.replace(plan(download=only(stall=1.0)))
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.get(url, timeout=0.3)
        assert time.monotonic() - started < 2
        emu.state.faults.replace(plan(download=only(stall=1.0, stall_seconds=0.1)))
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(url)
        rate = max(len(whole) * 4, 1)  # a quarter of a second for the file
        emu.state.faults.replace(plan(download=only(slow=1.0, slow_bytes_per_second=rate)))
        started = time.monotonic()
        assert http.get(url).content == whole
        assert time.monotonic() - started >= 0.2
        emu.state.faults.replace(NO_FAULTS)
        assert http.get(url).content == whole
        assert emu.state.faults.stats()["injected"]["download"] == {"truncate": 1, "stall": 2, "slow": 1}
    assert errors.messages == []


def test_over_a_socket_a_truncated_stream_breaks_after_its_first_event() -> None:
    with start_in_thread(LOOPBACK) as emu, httpx.Client() as http:
        emu.state.faults.replace(plan(sync=only(truncate=1.0)))
        body = {"model": "qwen-turbo", "input": {"prompt": "tell me a long story"}}
        received = []
        with (
            pytest.raises(httpx.RemoteProtocolError),
            http.stream("POST", emu.root_url + TEXTGEN, headers={**AUTH, "X-DashScope-SSE": "enable"}, json=body) as r,
        ):
            for line in r.iter_lines():
                received.append(line)
        assert sum(1 for line in received if line.startswith("data:")) == 1


async def _synthesize(url: str) -> tuple[int, str | None, Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    frame = {
        "header": {"action": "run-task", "task_id": "t" * 32, "streaming": "out"},
        "payload": {
            "task_group": "audio",
            "task": "tts",
            "function": "SpeechSynthesizer",
            "model": "sambert-zhichu-v1",
            "parameters": {},
            "input": {"text": "你好，世界。今天天气很好！" * 4},
        },
    }
    audio, last_event = 0, None
    async with connect(url, additional_headers={"Authorization": AUTH["Authorization"]}) as ws:
        await ws.send(json.dumps(frame))
        try:
            while True:
                message = await ws.recv()
                if isinstance(message, bytes):
                    audio += 1
                else:
                    last_event = json.loads(message)["header"]["event"]
                    if last_event == "task-finished":
                        return audio, last_event, None
        except ConnectionClosed as closed:
            return audio, last_event, closed


def test_over_a_socket_a_websocket_drops_mid_audio_without_a_close_frame() -> None:
    with start_in_thread(LOOPBACK) as emu:
        url = emu.root_url.replace("http://", "ws://") + "/api-ws/v1/inference"
        emu.state.faults.replace(plan(websocket=only(drop=1.0)))
        audio, event, closed = asyncio.run(_synthesize(url))
        assert audio == 1 and event == "task-started" and closed is not None and closed.rcvd is None
        emu.state.faults.replace(NO_FAULTS)
        audio, event, closed = asyncio.run(_synthesize(url))
        assert audio > 1 and event == "task-finished" and closed is None
        assert [entry.get("fault") for entry in emu.state.requests] == ["drop", None]
