"""The process's long-lived objects (settings, client, job store, runner), opened and closed together."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.catalog import MODELS
from bailian_mcp.config import Settings
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.dashscope.limits import Booking, RateLimiter
from bailian_mcp.jobs import admin
from bailian_mcp.jobs.runner import Runner
from bailian_mcp.jobs.store import JobStore, JobStoreWriteError
from bailian_mcp.jobs.stores import open_store
from bailian_mcp.media import remove_stale_parts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    client: DashScopeClient
    store: JobStore
    runner: Runner


def submit_limiter(settings: Settings) -> RateLimiter:
    """One pacing bucket per model, at the model's submission rate (or BAILIAN_IMAGE_RPS, for the models of the
    capabilities paced as images)."""
    paced_as_images = {c.name for c in CAPABILITIES.values() if c.pacing == "image"}
    rates = {}
    for model in MODELS:
        override = settings.image_submit_rps if model.capability in paced_as_images else None
        rates[model.rate_bucket] = model.rate.submit_rps if override is None else override
    return RateLimiter(rates)


async def learn_durations(store: JobStore, client: DashScopeClient) -> None:
    """Seed the client's task-duration history from finished jobs, so polls are well timed from the start."""
    for job in reversed(await store.list(status="SUCCEEDED", limit=200)):
        if job.result and job.result.get("submitted_at") and job.result.get("finished_at"):
            times = {"submit_time": job.result["submitted_at"], "end_time": job.result["finished_at"]}
            client.history.record(job.model, times)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    client = DashScopeClient(
        api_key=settings.api_key_value(),
        base_url=settings.resolved_base_url,
        limiter=submit_limiter(settings),
        region_hint=settings.region_hint(),
        timeout=settings.http_timeout,
        websocket_url=settings.websocket_url,
    )
    try:
        store = await open_store(settings)
    except BaseException:
        await client.aclose()
        raise
    try:
        client.limiter.share(_booking(store), settings.account())
        await store.mark_lost_submissions(sent_before=time.time() - admin.REPLY_WINDOW)
        await learn_durations(store, client)
        async with anyio.create_task_group() as background:
            background.start_soon(_remove_stale_parts, settings.output_dir)
            background.start_soon(_heartbeat, store)
            runner = Runner(settings=settings, client=client, store=store, background=background)
            yield Services(settings=settings, client=client, store=store, runner=runner)
            background.cancel_scope.cancel()  # exchanges still in flight are recorded as interrupted
    finally:
        await client.aclose()
        await store.aclose()


def _booking(store: JobStore) -> Booking:
    """Slots booked in the job store, for every process on it; while the store cannot be written, at once (the
    jobs themselves then say what failed)."""

    async def book(bucket: str, interval: float) -> float:
        try:
            return await store.book(bucket, interval)
        except JobStoreWriteError:
            return time.time()

    return book


async def _heartbeat(store: JobStore) -> None:
    """Renew this process's holds on its jobs, three times per lease."""
    while True:
        await anyio.sleep(store.lease_seconds / 3)
        try:
            await store.renew_leases()
        except JobStoreWriteError as exc:
            logger.warning("Could not renew this process's holds on its jobs: %s", exc)


async def _remove_stale_parts(folder: Path) -> None:
    """Downloads a killed process left half-written are removed, off the event loop, once the server is up."""
    with contextlib.suppress(OSError):  # an unusable folder is said when a job needs it (OutputFolder.check)
        if folder.is_dir():
            await anyio.to_thread.run_sync(remove_stale_parts, folder)
