"""A team deployment under load: replicas of `bailian-mcp` (streamable HTTP, stateless) behind HAProxy, one
PostgreSQL job store, one emulator; many clients ask for 1,000 images; with three replicas, one is SIGKILLed
half-way. Side by side: one replica, three replicas.

Reported per run: jobs finished; lost (a recorded job that never ended SUCCEEDED, or an emulator task no finished
job holds: must be 0); calls cut before their job was recorded (nothing was sent; the caller got the error);
duplicate POSTs (a prompt the emulator created twice: must be 0); peak task queries in any one second (DashScope
allows 20 per account: must stay ≤ 20); throttled replies; calls that failed when the replica died; wall time.
After the calls, unfinished jobs are collected through the balancer as a user would (list_tasks, then get_task on
each), once the dead replica's holds have lapsed.

    .venv/bin/python bench/replicas.py                # --jobs 1000 --clients 40; --quick: 200 jobs
Needs HAProxy (apt-get install haproxy) and PostgreSQL's server binaries (.ci/postgres.sh starts a throwaway
cluster and stops it at the end). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
from _common import (
    API_KEY,
    ENTRY_POINT,
    ROOT,
    emit_json,
    emulator_process,
    log,
    parser,
    print_table,
    temp_dir,
    verdict,
)
from mcp import Client

MODELS = ("wanx2.1-t2i-turbo", "wan2.2-t2i-flash", "wanx2.1-t2i-plus", "wan2.2-t2i-plus")
SUBMIT_RPS = 10.0  # per model: the emulator's limit and the replicas' pacing (BAILIAN_IMAGE_RPS)
TASK_QUERY_LIMIT = 20  # DashScope's task queries per second per account
LEASE_SECONDS = 4  # how soon the survivors take over the dead replica's jobs
EMULATOR = {"pending_seconds": 0.2, "running_seconds": 1.0, "submit_rps": SUBMIT_RPS, "max_concurrent_tasks": 200}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (.ci/postgres.sh) for the whole run, in a folder of its own under the temp
    folder (as root, the cluster's user must reach it)."""
    folder = Path(tempfile.gettempdir()) / f"bailian-bench-pg-{os.getpid()}"
    env = {**os.environ, "BAILIAN_PG_STATE": str(folder)}
    script = str(ROOT / ".ci" / "postgres.sh")
    url = subprocess.run(["bash", script, "start"], env=env, check=True, capture_output=True, text=True).stdout
    try:
        yield url.strip()
    finally:
        subprocess.run(["bash", script, "stop"], env=env, check=False)


def fresh_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def replicas(count: int, folder: Path, env: dict[str, str]) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    try:
        for n in range(count):
            port = free_port()
            log_file = (folder / f"replica-{n}.log").open("wb")
            process = subprocess.Popen(
                [ENTRY_POINT, "--transport", "streamable-http", "--port", str(port), "--log-level", "WARNING"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            started.append(Replica(port, process))
        for replica in started:
            wait_healthy(f"http://127.0.0.1:{replica.port}", replica.process)
        yield started
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in started:
            try:
                replica.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                replica.process.kill()


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


@contextmanager
def haproxy(folder: Path, backends: list[Replica]) -> Iterator[str]:
    """HAProxy balancing round-robin over `backends`, health-checked on /healthz; retries only connections that
    failed before the request went out (a POST is never sent twice by the balancer)."""
    port = free_port()
    servers = "\n".join(
        f"    server r{n} 127.0.0.1:{replica.port} check inter 300ms fall 2 rise 2"
        for n, replica in enumerate(backends)
    )
    config = folder / "haproxy.cfg"
    config.write_text(
        f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 180s
    timeout server 180s
    retries 2
    option redispatch
frontend mcp
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""
    )
    process = subprocess.Popen(
        [shutil.which("haproxy") or "haproxy", "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "haproxy.log").open("wb"),
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Load:
    jobs: int
    kill_at: int | None  # after this many calls have started, SIGKILL the victim
    victim: Replica | None
    started: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    job_ids: dict[int, str] = field(default_factory=dict)
    killed_at: float | None = None


async def call_images(url: str, load: Load, clients: int) -> None:
    """`clients` MCP clients over streamable HTTP through the balancer, each asking for images until `load.jobs`
    calls have started; each call waits up to 120 s for its image."""

    async def client_loop() -> None:
        while load.started < load.jobs:
            in_flight = False
            try:
                async with Client(f"{url}/mcp") as client:
                    while load.started < load.jobs:
                        index = next_call()
                        in_flight = True
                        result = await client.call_tool("text_to_image", arguments(index))
                        in_flight = False
                        record(index, result.structured_content or {}, result.content)
            except Exception as exc:  # the replica died under the call: the connection (and the session) is gone
                if in_flight:
                    load.outcomes[f"call failed ({type(exc).__name__})"] += 1

    def next_call() -> int:
        index = load.started
        load.started += 1
        if load.kill_at is not None and index == load.kill_at and load.victim is not None:
            os.kill(load.victim.process.pid, signal.SIGKILL)
            load.killed_at = time.monotonic()
            log(f"killed the replica on port {load.victim.port} after {index} calls")
        return index

    def arguments(index: int) -> dict[str, Any]:
        model = MODELS[index % len(MODELS)]
        return {"prompt": f"bench job {index}", "model": model, "size": "512*512", "wait_seconds": 120}

    def record(index: int, content: dict[str, Any], blocks: Any) -> None:
        if content.get("job_id"):
            load.job_ids[index] = str(content["job_id"])
        status = str(content.get("status")) if content else "error: " + str(blocks)[:60]
        load.outcomes[status if content.get("done", True) else f"{status} (handle)"] += 1

    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(client_loop)


async def collect(url: str, database: str, seconds: float) -> dict[str, int]:
    """As a user would after an outage: list the jobs (which reconciles lost replies with DashScope's task list),
    then get_task every job not finished, through the balancer, until all end or `seconds` pass. Returns the jobs'
    final statuses (read from the store)."""
    deadline = time.monotonic() + seconds
    async with Client(f"{url}/mcp") as client:
        while True:
            await client.call_tool("list_tasks", {"limit": 10, "since_hours": 1})
            statuses = job_statuses(database)
            open_jobs = [job_id for job_id, status in statuses.items() if status not in FINAL]
            if not open_jobs or time.monotonic() > deadline:
                return dict(Counter(statuses.values()))
            with anyio.move_on_after(max(1.0, deadline - time.monotonic())):
                async with anyio.create_task_group() as group:
                    for job_id in open_jobs:
                        group.start_soon(client.call_tool, "get_task", {"task_id": job_id, "wait_seconds": 5})
            await anyio.sleep(1)


FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN", "REJECTED")


def job_statuses(database: str) -> dict[str, str]:
    """Every job of the store (not its parts) and its status."""
    import psycopg

    with psycopg.connect(database) as db:
        return dict(db.execute("SELECT job_id, status FROM jobs WHERE parent_id IS NULL").fetchall())


def figures_from(requests: list[dict[str, Any]], jobs: int) -> dict[str, Any]:
    """What DashScope (the emulator) saw: created tasks per prompt, task queries per second, throttled replies."""
    created = Counter(
        str((r.get("body") or {}).get("input", {}).get("prompt"))
        for r in requests
        if r["method"] == "POST" and "image-synthesis" in r["path"] and r["status"] == 200
    )
    queries = [r["time"] for r in requests if r["method"] == "GET" and r["path"].startswith("/api/v1/tasks")]
    per_second = Counter(int(moment) for moment in queries)
    return {
        "tasks_created": sum(created.values()),
        "prompts_created": len(created),
        "duplicate_posts": sum(n - 1 for n in created.values() if n > 1),
        "never_created": jobs - len(created),
        "task_queries": len(queries),
        "peak_task_queries_per_second": max(per_second.values(), default=0),
        "throttled": sum(1 for r in requests if r["status"] == 429),
    }


def store_figures(database: str) -> dict[str, Any]:
    """The job store's view: jobs by status, adopted tasks, emulator tasks held by a finished job."""
    import psycopg

    with psycopg.connect(database) as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
        adopted = db.execute("SELECT count(*) FROM jobs WHERE fingerprint = 'adopted'").fetchone()
        succeeded_tasks = db.execute(
            "SELECT count(DISTINCT task_id) FROM jobs WHERE status = 'SUCCEEDED' AND task_id IS NOT NULL"
        ).fetchone()
    return {
        "jobs_by_status": statuses,
        "adopted": int(adopted[0]) if adopted else 0,
        "succeeded_tasks": int(succeeded_tasks[0]) if succeeded_tasks else 0,
    }


def run(count: int, jobs: int, clients: int, pg_url: str, folder: Path) -> dict[str, Any]:
    database = fresh_database(pg_url, f"replicas_{count}")
    with ExitStack() as stack:
        emulator = stack.enter_context(emulator_process(**EMULATOR))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BAILIAN_", "DASHSCOPE_"))},
            "DASHSCOPE_API_KEY": API_KEY,
            "DASHSCOPE_BASE_URL": emulator.base_url,
            "BAILIAN_DATABASE_URL": database,
            "BAILIAN_DATA_DIR": str(folder / f"data-{count}"),
            "BAILIAN_OUTPUT_DIR": str(folder / f"out-{count}"),
            "BAILIAN_HTTP_STATELESS": "true",
            "BAILIAN_RESULT_MODE": "url",
            "BAILIAN_IMAGE_RPS": str(SUBMIT_RPS),
            "BAILIAN_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        backends = stack.enter_context(replicas(count, folder, env))
        url = stack.enter_context(haproxy(folder, backends))
        load = Load(jobs, kill_at=jobs // 2 if count > 1 else None, victim=backends[-1] if count > 1 else None)
        log(f"{count} replica(s): {jobs} jobs from {clients} clients")
        started = time.monotonic()
        anyio.run(call_images, url, load, clients)
        called = time.monotonic()
        if load.killed_at is not None:
            time.sleep(LEASE_SECONDS + 1)  # the dead replica's holds lapse
        final = anyio.run(collect, url, database, 120.0)
        finished = time.monotonic()
        seen = figures_from(emulator.requests(), jobs)
    store = store_figures(database)
    succeeded, recorded = final.get("SUCCEEDED", 0), sum(final.values())
    return {
        "replicas": count,
        "jobs": jobs,
        "calls": dict(load.outcomes),
        "final": final,
        "jobs_finished": succeeded,
        # a recorded job that did not finish, or a task DashScope made that no finished job holds
        "lost": recorded - succeeded + max(0, seen["tasks_created"] - store["succeeded_tasks"]),
        # calls cut before their job was recorded: nothing was sent, the caller got the error
        "never_recorded": jobs - recorded,
        **seen,
        **store,
        "calls_seconds": round(called - started, 1),
        "wall_seconds": round(finished - started, 1),
    }


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--jobs", type=int, default=1000)
    cli.add_argument("--clients", type=int, default=40)
    args = cli.parse_args()
    jobs = 200 if args.quick else args.jobs
    if shutil.which("haproxy") is None:
        raise SystemExit("HAProxy is needed: apt-get install haproxy")
    results = []
    with temp_dir("replicas") as folder, postgres() as pg_url:
        for count in (1, 3):
            results.append(run(count, jobs, args.clients, pg_url, folder))
    rows = [
        [
            r["replicas"],
            f"{r['jobs_finished']}/{r['jobs']}",
            r["lost"],
            r["duplicate_posts"],
            r["peak_task_queries_per_second"],
            r["task_queries"],
            r["throttled"],
            sum(n for outcome, n in r["calls"].items() if outcome.startswith("call failed")),
            r["never_recorded"],
            r["adopted"],
            r["calls_seconds"],
            r["wall_seconds"],
        ]
        for r in results
    ]
    print_table(
        f"{jobs} image jobs, {args.clients} clients, HAProxy, PostgreSQL; with 3 replicas one is SIGKILLed half-way",
        [
            "replicas",
            "finished",
            "lost",
            "duplicate POSTs",
            "peak task queries/s",
            "task queries",
            "throttled",
            "calls cut by the kill",
            "cut before recording (nothing sent)",
            "adopted",
            "calls s",
            "wall s",
        ],
        rows,
    )
    met = all(
        r["lost"] == 0 and r["duplicate_posts"] == 0 and r["peak_task_queries_per_second"] <= TASK_QUERY_LIMIT
        for r in results
    )
    print(f"\nnothing lost, nothing paid twice, task queries ≤ {TASK_QUERY_LIMIT}/s: {verdict(met)}")
    emit_json("replicas", {"runs": results, "met": met})


if __name__ == "__main__":
    main()
