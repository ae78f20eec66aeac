"""Task queries per job with 1, 10 and 200 jobs in flight: each job polling for itself (`GET /tasks/{id}` per poll)
beside one poller for the process (`TaskWatcher`: polls falling due together answered by the task list, then one
GET per ended task); and, the jobs spread over three processes on one job store, each process polling for its own
beside one poller for the account (the others' asks and answers passed through the store). Same tasks (the
emulator, ~6 s each), same poll timing, DashScope's 20 task queries a second (booked in the store across processes).

    .venv/bin/python bench/poll_sharing.py            # --sizes 1,10,200; --quick: 1,10,50
The three "processes" are three watchers in this one, each with its own store connection and name, as three
servers would have. Reported: task queries per job, and when the last job was done (the price of sharing a
window: up to 0.1 s a poll; through the store, up to 0.2 s more).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _common import API_KEY, emit_json, log, parser, print_table, running_emulator

from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.dashscope.watcher import TaskWatcher
from bailian_mcp.jobs.polls import StorePolls
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore

EMULATOR = {"pending_seconds": 0.5, "running_seconds": 6.0, "submit_rps": 0, "max_concurrent_tasks": 1000}
MODEL = "wanx2.1-t2i-turbo"
PATH = "services/aigc/text2image/image-synthesis"


POLLERS = {
    "job": "one per job",
    "process": "one for the process",
    "processes": "3 processes, one each",
    "account": "3 processes, one for the account",
}


async def follow(base_url: str, jobs: int, poller: str) -> float:
    """Submit `jobs` tasks at once, then follow them all: each alone, or through the watchers of one process or
    three (each polling for its own, or one leading for all)."""
    processes = 3 if poller in ("processes", "account") else 1
    folder = Path(tempfile.mkdtemp(prefix="poll-sharing-"))
    stores = [SQLiteJobStore(folder / "jobs.sqlite3") for _ in range(processes)]
    clients = [DashScopeClient(api_key=API_KEY, base_url=base_url, limiter=RateLimiter()) for _ in range(processes)]
    watchers = []
    for client, store in zip(clients, stores, strict=True):
        if processes > 1:
            client.limiter.share(store.book, "account")  # the account's 20 queries a second, for all three
        watchers.append(TaskWatcher(client, shared=StorePolls(store, "account") if poller == "account" else None))
    try:
        async with anyio.create_task_group() as group:
            for watcher in watchers:
                group.start_soon(watcher.run)
            body = {"model": MODEL, "input": {"prompt": "a lighthouse"}, "parameters": {"size": "1024*1024", "n": 1}}
            task_ids = [(await clients[0].submit(PATH, body)).task_id for _ in range(jobs)]
            started = time.monotonic()

            async def one(index: int, task_id: str) -> None:
                watcher = watchers[index % processes]
                wait = watcher.client.wait if poller == "job" else watcher.wait
                snapshot = await wait(task_id, timeout=600, model=MODEL)
                assert snapshot.status == "SUCCEEDED" and snapshot.output.get("results"), snapshot

            async with anyio.create_task_group() as followers:
                for index, task_id in enumerate(task_ids):
                    followers.start_soon(one, index, task_id)
            group.cancel_scope.cancel()
    finally:
        for client, store in zip(clients, stores, strict=True):
            await client.aclose()
            store.close()
    return time.monotonic() - started


def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for jobs in sizes:
        for poller in POLLERS if jobs > 1 else ("job", "process"):
            with running_emulator(**EMULATOR) as emulator:
                wall = anyio.run(follow, emulator.base_url, jobs, poller)
                queries = [r for r in emulator.state.requests if r["method"] == "GET" and "/tasks" in r["path"]]
            rows.append(
                {
                    "jobs": jobs,
                    "poller": POLLERS[poller],
                    "queries": len(queries),
                    "lists": sum(1 for r in queries if r["path"].rstrip("/").endswith("/tasks")),
                    "per_job": round(len(queries) / jobs, 2),
                    "wall": round(wall, 1),
                }
            )
            log(f"{jobs} jobs, {rows[-1]['poller']}: {rows[-1]['per_job']} queries per job")
    return rows


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--sizes", default="1,10,200")
    args = cli.parse_args()
    sizes = [1, 10, 50] if args.quick else [int(n) for n in args.sizes.split(",")]
    rows = run(sizes)
    print_table(
        "Task queries per job (tasks of ~6.5 s, 20 task queries/s)",
        ["jobs in flight", "poller", "task queries", "of them lists", "per job", "all done after s"],
        [[r["jobs"], r["poller"], r["queries"], r["lists"], r["per_job"], r["wall"]] for r in rows],
    )
    emit_json("poll_sharing", {"rows": rows})


if __name__ == "__main__":
    main()
