"""Task queries per job with 1, 10 and 200 jobs in flight: each job polling for itself (`GET /tasks/{id}` per poll)
beside one poller for the process (`TaskWatcher`: polls falling due together answered by the task list, then one
GET per ended task). Same tasks (the emulator, ~6 s each), same poll timing, DashScope's 20 task queries a second.

    .venv/bin/python bench/poll_sharing.py            # --sizes 1,10,200; --quick: 1,10,50
Reported: task queries per job, and when the last job was done (the price of sharing a window: up to 0.2 s a
poll, 20 ms per other task followed).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from _common import API_KEY, emit_json, log, parser, print_table, running_emulator

from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.dashscope.watcher import TaskWatcher

EMULATOR = {"pending_seconds": 0.5, "running_seconds": 6.0, "submit_rps": 0, "max_concurrent_tasks": 1000}
MODEL = "wanx2.1-t2i-turbo"
PATH = "services/aigc/text2image/image-synthesis"


async def follow(base_url: str, jobs: int, shared: bool) -> float:
    """Submit `jobs` tasks at once, then follow them all (each alone, or through one watcher)."""
    client = DashScopeClient(api_key=API_KEY, base_url=base_url, limiter=RateLimiter())
    watcher = TaskWatcher(client)
    async with client, anyio.create_task_group() as group:
        group.start_soon(watcher.run)
        body = {"model": MODEL, "input": {"prompt": "a lighthouse"}, "parameters": {"size": "1024*1024", "n": 1}}
        task_ids = [(await client.submit(PATH, body)).task_id for _ in range(jobs)]
        started = time.monotonic()

        async def one(task_id: str) -> None:
            wait = watcher.wait if shared else client.wait
            snapshot = await wait(task_id, timeout=600, model=MODEL)
            assert snapshot.status == "SUCCEEDED" and snapshot.output.get("results"), snapshot

        async with anyio.create_task_group() as followers:
            for task_id in task_ids:
                followers.start_soon(one, task_id)
        group.cancel_scope.cancel()
    return time.monotonic() - started


def run(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for jobs in sizes:
        for shared in (False, True):
            with running_emulator(**EMULATOR) as emulator:
                wall = anyio.run(follow, emulator.base_url, jobs, shared)
                queries = [r for r in emulator.state.requests if r["method"] == "GET" and "/tasks" in r["path"]]
            rows.append(
                {
                    "jobs": jobs,
                    "poller": "one for the process" if shared else "one per job",
                    "queries": len(queries),
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
        ["jobs in flight", "poller", "task queries", "per job", "all done after s"],
        [[r["jobs"], r["poller"], r["queries"], r["per_job"], r["wall"]] for r in rows],
    )
    emit_json("poll_sharing", {"rows": rows})


if __name__ == "__main__":
    main()
