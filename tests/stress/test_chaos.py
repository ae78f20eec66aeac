"""Chaos: 300 concurrent tool calls through the MCP client against the emulator with every kind of fault on.

The emulator (loopback, tiny task durations) resets connections before and after reading requests, throttles
in bursts, answers 5xx, cuts and garbles replies, slows and stalls downloads, fails, half-fails and strands
tasks, signs expired result URLs and drops speech WebSockets — at modest rates, from a fixed seed. The server
under test is the real one (`build_server`, in-memory MCP client) with its real retry rules (polling the emulator's
tiny tasks quickly, as every in-process test does).

Afterwards every unfinished job is followed with `get_task` (stranded ones cancelled), `list_tasks` adopts what
DashScope has that the store lacks, and the record is checked: no created task is missing from the job store,
no call made two tasks (nor re-sent a request whose reply may have been lost), every saved file is whole (its
checksum matches the record and the emulator's bytes), and every call ended with a result or a clear error.
Run it alone with ``pytest -m chaos -s`` to see its summary.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.faults import NO_FAULTS, EndpointFaults, FaultPlan, Latency
from bailian_mcp.emulator.task_faults import FailedJob, PartialJob
from bailian_mcp.emulator.tasks import Task
from bailian_mcp.jobs.status import JOB_FINAL
from bailian_mcp.jobs.store import Job
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from bailian_mcp.server import build_server
from tests.support import media
from tests.support.services import make_settings

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

SEED = 20240607
CALLS = 300
CONCURRENCY = 50
WAIT_SECONDS = 3
FOLLOW_SECONDS = 45.0

PLAN = FaultPlan(
    seed=SEED,
    submit=EndpointFaults(
        latency=Latency("uniform", 0.02),
        reset_before=0.02,
        throttle=0.04,
        throttle_burst=2,
        server_error=0.015,
        unavailable=0.015,
        reset_after=0.02,
        truncate=0.015,
        malformed=0.015,
        slow=0.02,
        slow_bytes_per_second=100,
        fail=0.04,
        partial=0.04,
        pending=0.02,
        expired_urls=0.03,
    ),
    task=EndpointFaults(
        latency=Latency("exponential", 0.005, max_seconds=0.05),
        reset_before=0.02,
        throttle=0.02,
        throttle_burst=3,
        server_error=0.02,
        unavailable=0.02,
        reset_after=0.02,
        truncate=0.02,
        malformed=0.02,
    ),
    sync=EndpointFaults(
        latency=Latency("uniform", 0.02),
        reset_before=0.02,
        throttle=0.03,
        throttle_burst=2,
        server_error=0.015,
        unavailable=0.015,
        reset_after=0.02,
        truncate=0.02,
        malformed=0.015,
        expired_urls=0.03,
    ),
    download=EndpointFaults(
        latency=Latency("exponential", 0.005, max_seconds=0.05),
        reset_before=0.02,
        throttle=0.02,
        server_error=0.02,
        unavailable=0.02,
        reset_after=0.02,
        truncate=0.03,
        slow=0.05,
        slow_bytes_per_second=512 * 1024,
        stall=0.01,
    ),
    upload=EndpointFaults(
        reset_before=0.03, throttle=0.03, server_error=0.03, reset_after=0.03, truncate=0.03, malformed=0.03
    ),
    websocket=EndpointFaults(latency=Latency("fixed", 0.01), drop=0.15),
)
CHAOS_EMULATOR = EmulatorConfig(
    pending_seconds=0.02,
    running_seconds=0.05,
    submit_rps=500,
    max_concurrent_tasks=0,
    stream_chunk_seconds=0.002,
    fetch_timeout_seconds=2.0,
    faults=PLAN,
)
LOST_REPLY = frozenset({"reset_after", "truncate", "malformed"})
"""Faults after which the service did act on a request: re-sending it could pay twice."""
NOT_REACHED = frozenset({"throttle", "server_error", "unavailable"})
"""Injected replies given instead of running the endpoint."""
TAG = re.compile(r"chaos-\d{3}")
CRASH = re.compile(r"^(Error executing tool \w+(: )?)+")
"""The MCP SDK's prefix; alone, it is all a crash (an unexpected exception) shows."""
ERROR_KIND = re.compile(r" ?\((request_id|[\d ]+bytes)[^)]*\)|(Job|job) \S+")


@dataclass
class Call:
    index: int
    tool: str
    arguments: dict[str, Any]
    result: CallToolResult | None = None
    failure: BaseException | None = None
    seconds: float = 0.0

    @property
    def tag(self) -> str:
        return f"chaos-{self.index:03d}"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def plan_calls(inputs: Path) -> list[Call]:
    """Per 30 calls: 16 text_to_image, 4 text_to_text, 4 edit_image (1 from a local file), 2 wanx_edit_image,
    2 text_to_speech, 1 speech_to_text (a local recording), and a list_tasks (which adopts what DashScope has
    and the store lacks, as an agent looking around would, while submissions are in flight); every prompt,
    text and file unique to its call."""
    data_uri = media.data_uri(media.png_bytes(512, 512, (30, 120, 200)))
    calls = []
    for index in range(CALLS):
        tag, slot = f"chaos-{index:03d}", index % 30
        wait = {"wait_seconds": WAIT_SECONDS}
        if slot == 0:
            call = Call(index, "list_tasks", {"since_hours": 1, "limit": 20, "status": "SUCCEEDED"})
        elif slot < 17:
            n = 2 if index % 4 == 0 else 1
            call = Call(index, "text_to_image", {"prompt": f"{tag} a red kite", "size": "512*512", "n": n, **wait})
        elif slot < 21:
            call = Call(index, "text_to_text", {"prompt": f"{tag}: say hello", "max_tokens": 40, **wait})
        elif slot < 25:
            image = data_uri
            if slot == 24:
                image = str(media.write_png(inputs / f"{tag}.png", (512, 512), (index % 256, 80, 40)))
            call = Call(index, "edit_image", {"image": image, "prompt": f"{tag} add a hat", **wait})
        elif slot < 27:
            arguments = {"function": "stylization_all", "base_image_url": data_uri, "prompt": f"{tag} ink"}
            call = Call(index, "wanx_edit_image", {**arguments, **wait})
        elif slot < 29:
            call = Call(index, "text_to_speech", {"text": f"{tag} 你好，世界。", **wait})
        else:
            recording = media.write_wav(inputs / f"{tag}.wav", (4000 + index) / 16000)  # its length is its own
            call = Call(index, "speech_to_text", {"audio": [str(recording)], **wait})
        calls.append(call)
    return calls


@pytest.fixture
def chaos_emulator() -> Iterator[RunningEmulator]:
    with start_in_thread(CHAOS_EMULATOR) as running:
        yield running


def call_tag(job: Job) -> str | None:
    match = TAG.search(json.dumps(job.params, ensure_ascii=False))
    return match.group(0) if match else None


def task_tag(task: Task, tags_by_url: dict[str, str]) -> str | None:
    job: Any = task.job
    while isinstance(job, FailedJob | PartialJob):
        job = job.job
    prompt = getattr(job, "prompt", None)
    if isinstance(prompt, str) and (match := TAG.search(prompt)):
        return match.group(0)
    urls = [subtask.file_url for subtask in getattr(job, "subtasks", ())]
    return next((tags_by_url[url] for url in urls if url in tags_by_url), None)


def body_tag(body: Any, tags_by_url: dict[str, str]) -> str | None:
    text = json.dumps(body, ensure_ascii=False)
    if match := TAG.search(text):
        return match.group(0)
    return next((tag for url, tag in tags_by_url.items() if url in text), None)


async def run_calls(client: Client, calls: list[Call]) -> None:
    gate = anyio.Semaphore(CONCURRENCY)

    async def one(call: Call) -> None:
        async with gate:
            started = time.monotonic()
            try:
                call.result = await client.call_tool(call.tool, call.arguments)
            except Exception as exc:  # an MCP-level failure: the checks below report it
                call.failure = exc
            call.seconds = time.monotonic() - started

    async with anyio.create_task_group() as group:
        for call in calls:
            group.start_soon(one, call)


class Problems(list[str]):
    """What the checks found wrong; reported together, after the summary."""

    def check(self, ok: object, message: str) -> bool:
        if not ok:
            self.append(message)
        return bool(ok)


async def follow_up(client: Client, calls: list[Call], stranded: int, problems: Problems) -> tuple[int, int]:
    """`get_task` every job that came back unfinished until only the ``stranded`` tasks (never to be scheduled)
    are left, for at most `FOLLOW_SECONDS`; then cancel those, as an agent would. Each job is asked twice at once
    (an impatient agent), which must not corrupt its files.

    Edits queue behind the client's pacing (2 submissions a second per model, as DashScope allows), so some
    come back as handles and finish later. Returns (get_task calls, cancel_task calls)."""
    waiting = [
        call.result.structured_content["job_id"]
        for call in calls
        if call.result is not None
        and call.result.structured_content
        and not call.result.structured_content.get("done", True)
    ]
    polls = cancels = 0
    deadline = time.monotonic() + FOLLOW_SECONDS
    still: set[str] = set()

    async def poll(job_id: str) -> None:
        result = await client.call_tool("get_task", {"task_id": job_id, "wait_seconds": 2})
        outcome_of(f"get_task {job_id}", result, problems)
        if result.structured_content is not None and not result.structured_content["done"]:
            still.add(job_id)

    while waiting and time.monotonic() < deadline:
        still.clear()
        polls += 2 * len(waiting)
        async with anyio.create_task_group() as group:
            for job_id in waiting:
                group.start_soon(poll, job_id)
                group.start_soon(poll, job_id)
        waiting = sorted(still)
        if len(waiting) <= stranded:  # only the tasks that will never be scheduled are left
            break
    for job_id in waiting:
        cancels += 1
        result = await client.call_tool("cancel_task", {"task_id": job_id})
        content = result.structured_content
        problems.check(
            content is not None and content["status"] == "CANCELED", f"{job_id} did not end: {text_of(result)}"
        )
    return polls, cancels


def outcome_of(what: str, result: CallToolResult, problems: Problems) -> str:
    """How a call ended: its status, or the kind of its error. An error must say what happened: not a crash's
    bare "Error executing tool X", not a traceback."""
    text, content = text_of(result), result.structured_content
    problems.check("Traceback" not in text, f"{what}: a traceback: {text}")
    if content is not None and "jobs" in content:
        return "listed"
    if content is not None:
        problems.check(str(content.get("job_id", "")).startswith("job_"), f"{what}: no job id: {content}")
        return str(content.get("status")) + ("" if content.get("done") else " (handle)")
    message = CRASH.sub("", text)
    if not problems.check(result.is_error and len(message) > 40, f"{what}: an error without a message: {text!r}"):
        return "error without a message"
    return "error: " + ERROR_KIND.sub("", message).split(" — ")[0].split(": ")[0][:70]


def check_calls(calls: list[Call], problems: Problems) -> Counter[str]:
    """Every call ended with a result or a clear error; returns the outcomes."""
    outcomes: Counter[str] = Counter()
    for call in calls:
        what = f"{call.tag} {call.tool}"
        if problems.check(call.failure is None and call.result is not None, f"{what}: MCP failure {call.failure!r}"):
            assert call.result is not None
            outcomes[outcome_of(what, call.result, problems)] += 1
    return outcomes


def tags_by_file_url(jobs: list[Job]) -> dict[str, str]:
    """The uploaded recordings (``oss://``) of the speech_to_text calls, to the call that sent each."""
    return {
        url: tag
        for job in jobs
        if (tag := call_tag(job)) is not None
        for url in job.request.get("input", {}).get("file_urls", [])
    }


def submissions(emulator: RunningEmulator, jobs: list[Job], problems: Problems) -> dict[str, list[dict[str, Any]]]:
    """The service requests (``POST /services/...``) the emulator logged, per call, in order."""
    tags_by_url = tags_by_file_url(jobs)
    posts: dict[str, list[dict[str, Any]]] = {}
    for entry in emulator.state.requests:
        if entry["method"] == "POST" and "/services/" in entry["path"]:
            tag = body_tag(entry["body"], tags_by_url)
            if problems.check(tag is not None, f"a request of no call: {entry['path']}"):
                posts.setdefault(str(tag), []).append(entry)
    return posts


def check_no_task_lost_or_doubled(
    emulator: RunningEmulator, jobs: list[Job], posts: dict[str, list[dict[str, Any]]], problems: Problems
) -> Counter[str]:
    """Every task the emulator created has a job; no call made two; a task is adopted only when its submission's
    reply was lost (the job is SUBMIT_UNCERTAIN), never when the reply arrived."""
    tags_by_url = tags_by_file_url(jobs)
    tasks = {task.task_id: task for task in emulator.state.tasks.tasks(emulator.state.now())}
    holders = Counter(job.task_id for job in jobs if job.task_id)
    lost = [task_id for task_id in tasks if task_id not in holders]
    problems.check(not lost, f"{len(lost)} task(s) the emulator created are not in the job store: {lost}")
    per_call = Counter(task_tag(task, tags_by_url) for task in tasks.values())
    doubled = {tag: count for tag, count in per_call.items() if count > 1 or tag is None}
    problems.check(not doubled, f"calls that created more than one task (None: of no call): {doubled}")
    own = {tag: job for job in jobs if (tag := call_tag(job)) is not None}
    problems.check(len(own) == sum(job.fingerprint != "adopted" for job in jobs), "not one job per call")
    for job in jobs:
        if job.task_id is None or not problems.check(job.task_id in tasks, f"{job.job_id}: no such task"):
            continue
        tag = task_tag(tasks[job.task_id], tags_by_url)
        if job.fingerprint == "adopted":
            owner = own.get(str(tag))
            problems.check(
                owner is not None and owner.task_id is None and owner.status == "SUBMIT_UNCERTAIN",
                f"adopted task {job.task_id} belongs to {tag}, whose job is {owner and (owner.job_id, owner.status)}",
            )
            answered = [
                entry
                for entry in posts.get(str(tag), [])
                if entry["status"] == 200 and entry.get("fault") not in LOST_REPLY
            ]
            problems.check(
                not answered,
                f"{tag}: DashScope answered its submission (HTTP 200, task {job.task_id}) but the task is not its "
                f"job's: it was adopted as {job.job_id}, and {owner and owner.job_id} is {owner and owner.status} "
                f"({owner and owner.error})",
            )
        else:
            problems.check(tag == call_tag(job), f"{job.job_id} of {call_tag(job)} holds the task of {tag}")
    return Counter("adopted" if job.fingerprint == "adopted" else "own" for job in jobs if job.task_id)


def check_never_resent(posts: dict[str, list[dict[str, Any]]], problems: Problems) -> None:
    """Per call: at most one request reached a synchronous endpoint, and nothing was sent again after a request
    whose reply was lost once the service had acted on it."""
    for tag, entries in posts.items():
        faults = [entry.get("fault") for entry in entries]
        lost = [index for index, fault in enumerate(faults) if fault in LOST_REPLY]
        problems.check(not lost or lost[0] == len(entries) - 1, f"{tag} sent again after its reply was lost: {faults}")
        if entries[0]["headers"].get("x-dashscope-async") != "enable":
            reached = [entry for entry in entries if entry.get("fault") not in NOT_REACHED]
            problems.check(len(reached) <= 1, f"{tag} reached a synchronous endpoint {len(reached)} times: {faults}")


def check_files(emulator: RunningEmulator, jobs: list[Job], settings: Settings, problems: Problems) -> int:
    """Every saved file is whole: its bytes match the recorded size and checksum, and the emulator's bytes."""
    emulator.state.faults.replace(NO_FAULTS)
    referenced = set()
    checked = 0
    with httpx.Client(timeout=10) as http:
        for job in jobs:
            for output in (job.result or {}).get("outputs", []):
                if not output.get("path"):
                    continue
                path = Path(output["path"])
                if not problems.check(path.is_file(), f"{job.job_id}: {path} is missing"):
                    continue
                data = path.read_bytes()
                referenced.add(path.resolve())
                problems.check(len(data) == output["bytes"], f"{path}: {len(data)} bytes, {output['bytes']} recorded")
                problems.check(hashlib.sha256(data).hexdigest() == output["sha256"], f"{path}: checksum differs")
                if output.get("url"):
                    served = http.get(output["url"])
                    problems.check(served.content == data, f"{path} differs from the emulator's {output['url']}")
                checked += 1
    on_disk = {path.resolve() for path in settings.output_dir.rglob("*") if path.is_file()}
    problems.check(on_disk == referenced, f"files no job records (partial downloads?): {sorted(on_disk - referenced)}")
    return checked


def check_states(emulator: RunningEmulator, jobs: list[Job], problems: Problems) -> Counter[str]:
    """Every job ended, in the state its task ended in."""
    now = emulator.state.now()
    statuses: Counter[str] = Counter()
    for job in jobs:
        statuses[job.status] += 1
        ended = job.status in JOB_FINAL | {"SUBMIT_UNCERTAIN"}
        problems.check(ended, f"{job.job_id} ({call_tag(job)}, {job.capability}) is still {job.status}")
        if ended and job.task_id and job.fingerprint != "adopted":
            task = emulator.state.tasks.get(job.task_id, now)
            seen = task.progress(now).status if task is not None else None
            problems.check(seen == job.status, f"{job.job_id} is {job.status}, its task {seen}")
    return statuses


EXPECTED_FAULTS = {
    "latency",
    "reset_before",
    "reset_after",
    "truncate",
    "malformed",
    "throttle",
    "server_error",
    "unavailable",
    "slow",
    "fail",
    "partial",
    "pending",
    "expired_urls",
    "drop",
}


async def test_chaos(chaos_emulator: RunningEmulator, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    calls = plan_calls(inputs)
    problems = Problems()
    settings = make_settings(tmp_path, chaos_emulator.base_url, image_submit_rps=200.0, http_timeout=2.0)
    async with Client(build_server(settings)) as client:
        await run_calls(client, calls)
        called = time.monotonic()
        stranded = chaos_emulator.state.faults.stats()["injected"].get("submit", {}).get("pending", 0)
        polls, cancels = await follow_up(client, calls, stranded, problems)
        listing = await client.call_tool("list_tasks", {"limit": 500, "since_hours": 1})
        problems.check(not listing.is_error, f"the final list_tasks failed: {text_of(listing)}")
    stats = chaos_emulator.state.faults.stats()
    store = SQLiteJobStore(settings.job_db_path)
    try:
        jobs = await store.list(limit=10_000)
    finally:
        store.close()

    outcomes = check_calls(calls, problems)
    posts = submissions(chaos_emulator, jobs, problems)
    tasks = check_no_task_lost_or_doubled(chaos_emulator, jobs, posts, problems)
    check_never_resent(posts, problems)
    statuses = check_states(chaos_emulator, jobs, problems)
    files = check_files(chaos_emulator, jobs, settings, problems)
    injected = Counter(stats["totals"])
    problems.check(set(injected) >= EXPECTED_FAULTS, f"faults never injected: {EXPECTED_FAULTS - set(injected)}")

    slowest = max(call.seconds for call in calls)
    print(
        f"\nchaos: {CALLS} calls ({dict(Counter(call.tool for call in calls))}), {CONCURRENCY} at a time, seed {SEED}\n"
        f"  emulator requests by class: {stats['requests']}\n"
        f"  faults injected: {dict(injected.most_common())}\n"
        f"  call outcomes: {dict(outcomes.most_common())}\n"
        f"  jobs by final status: {dict(statuses.most_common())}; tasks {dict(tasks)}; files checked {files}\n"
        f"  follow-ups: {polls} get_task, {cancels} cancel_task\n"
        f"  calls took {called - started:.1f} s (slowest {slowest:.1f} s); all in {time.monotonic() - started:.1f} s\n"
        f"  problems: {len(problems)}"
    )
    assert not problems, "\n".join(problems[:25])
