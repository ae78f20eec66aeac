"""The transport's retry rules, fault by fault, against the emulator on loopback: GETs and downloads ride out every
fault; a submission is re-sent only after replies that created nothing, never after one that may have been lost."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient, RetryPolicy
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.faults import NO_FAULTS, EndpointFaults, FaultPlan
from bailian_mcp.media import DownloadError, download

pytestmark = pytest.mark.slow

T2I = "services/aigc/text2image/image-synthesis"
FAST = RetryPolicy(attempts=8, base_delay=0.005, max_delay=0.02)
CONFIG = EmulatorConfig(pending_seconds=0.01, running_seconds=0.02, submit_rps=0, max_concurrent_tasks=0)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with start_in_thread(CONFIG) as running:
        yield running


@pytest.fixture
async def client(emulator: RunningEmulator) -> AsyncIterator[DashScopeClient]:
    async with DashScopeClient(api_key="sk-stress", base_url=emulator.base_url, retry=FAST, timeout=2.0) as made:
        made.limiter.set_rate("tasks", 0)
        yield made


def faults(emulator: RunningEmulator, seed: int = 5, **classes: EndpointFaults) -> None:
    emulator.state.faults.replace(FaultPlan(seed=seed, **classes))


def only(fault: str) -> EndpointFaults:
    """Every request of the class gets ``fault``."""
    return EndpointFaults(**{fault: 1.0})  # type: ignore[arg-type]


def body(prompt: str) -> dict[str, object]:
    return {"model": "wanx2.1-t2i-turbo", "input": {"prompt": prompt}, "parameters": {"n": 1, "size": "512*512"}}


def submissions(emulator: RunningEmulator) -> list[dict[str, object]]:
    return [entry for entry in emulator.state.requests if entry["method"] == "POST" and "/services/" in entry["path"]]


def created(emulator: RunningEmulator) -> Counter[str]:
    return Counter(task.job.prompt for task in emulator.state.tasks.tasks(emulator.state.now()))  # type: ignore[attr-defined]


async def test_throttled_and_unread_submissions_are_resent_until_one_task_is_made(
    emulator: RunningEmulator, client: DashScopeClient
) -> None:
    faults(emulator, submit=EndpointFaults(throttle=0.4, throttle_burst=2))
    for index in range(20):
        await client.submit(T2I, body(f"kite {index}"))
    assert created(emulator) == Counter({f"kite {index}": 1 for index in range(20)})
    statuses = Counter(entry["status"] for entry in submissions(emulator))
    assert statuses[200] == 20 and statuses[429] == emulator.state.faults.stats()["totals"]["throttle"] > 0


@pytest.mark.parametrize("fault", ["reset_after", "truncate", "malformed"])
async def test_a_submission_whose_reply_was_lost_is_never_resent(
    emulator: RunningEmulator, client: DashScopeClient, fault: str
) -> None:
    faults(emulator, submit=only(fault))
    with pytest.raises(errors.DashScopeConnectionError) as raised:
        await client.submit(T2I, body("a lighthouse"))
    assert raised.value.request_sent
    assert created(emulator) == Counter({"a lighthouse": 1})
    assert len(submissions(emulator)) == 1


async def test_a_reset_before_the_request_was_read_is_not_resent_either(
    emulator: RunningEmulator, client: DashScopeClient
) -> None:
    """Nothing was created, but the client cannot know: on HTTP/1.1 a reset looks the same before and after the
    service read the request, so only a refused connection (nothing sent) lets a POST be sent again."""
    faults(emulator, submit=EndpointFaults(reset_before=1.0))
    with pytest.raises(errors.DashScopeConnectionError) as raised:
        await client.submit(T2I, body("a harbour"))
    assert raised.value.request_sent
    assert created(emulator) == Counter() and emulator.state.faults.stats()["totals"] == {"reset_before": 1}


@pytest.mark.parametrize("fault", ["server_error", "unavailable"])
async def test_a_server_error_reply_on_a_submission_is_retried_because_nothing_was_created(
    emulator: RunningEmulator, client: DashScopeClient, fault: str
) -> None:
    """DashScope's own 500/503 envelope says the task was not created (DESIGN.md: such replies are retried);
    every try reaches the service, and no task is created by any of them."""
    faults(emulator, submit=only(fault))
    with pytest.raises(errors.ServerError):  # every try hits the fault: the retry budget runs out
        await client.submit(T2I, body("a windmill"))
    assert len(submissions(emulator)) == client.retry.attempts and created(emulator) == Counter()


async def test_task_queries_ride_out_every_fault(emulator: RunningEmulator, client: DashScopeClient) -> None:
    task_id = (await client.submit(T2I, body("a bridge"))).task_id
    every = EndpointFaults(
        reset_before=0.08,
        throttle=0.08,
        throttle_burst=2,
        server_error=0.08,
        unavailable=0.08,
        reset_after=0.08,
        truncate=0.08,
        malformed=0.08,
    )
    faults(emulator, task=every)
    for _ in range(40):
        assert (await client.get_task(task_id)).task_id == task_id
    injected = emulator.state.faults.stats()["injected"]["task"]
    assert set(injected) == {"reset_before", "throttle", "server_error", "unavailable", "reset_after", "truncate"} | {
        "malformed"
    }


async def test_downloads_ride_out_resets_cuts_and_stalls(
    emulator: RunningEmulator, client: DashScopeClient, tmp_path: Path
) -> None:
    task = await client.wait((await client.submit(T2I, body("a tower"))).task_id, timeout=5)
    url = task.output["results"][0]["url"]
    whole = httpx.get(url).content
    bad = EndpointFaults(reset_before=0.15, reset_after=0.15, truncate=0.15, stall=0.1, stall_seconds=0.2, slow=0.1)
    faults(emulator, seed=9, download=bad)
    for index in range(12):
        saved = await download(client.http, url, tmp_path / f"{index}.png", max_bytes=10**7, retry=FAST)
        assert saved.sha256 == hashlib.sha256(whole).hexdigest() == hashlib.sha256(saved.path.read_bytes()).hexdigest()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(f"{index}.png" for index in range(12))
    assert len(emulator.state.faults.stats()["injected"]["download"]) >= 4


async def test_an_expired_url_is_a_clear_download_error(
    emulator: RunningEmulator, client: DashScopeClient, tmp_path: Path
) -> None:
    faults(emulator, submit=EndpointFaults(expired_urls=1.0))
    task = await client.wait((await client.submit(T2I, body("a dune"))).task_id, timeout=5)
    emulator.state.faults.replace(NO_FAULTS)
    with pytest.raises(DownloadError, match="answered 403: it has expired"):
        await download(client.http, task.output["results"][0]["url"], tmp_path / "x.png", max_bytes=10**7)
    assert list(tmp_path.iterdir()) == []
