"""One poller for all the processes of an account, through the job store (`TaskWatcher`'s `SharedPolls`).

The process holding the store's duty ``poller:<account>`` polls DashScope for every process of the account; the
others write their asks in the store's ``polls`` table and read the answers there. The store failing (a full disk,
a database away) never stops a poll: this process then polls for itself.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Mapping

from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.jobs.store import JobStore, JobStoreWriteError

logger = logging.getLogger(__name__)
POLLER_LEASE_SECONDS = 5.0
"""How long the lead stands unless kept: a leader killed leaves the others' polls unanswered this long at most
(shorter still with a shorter BAILIAN_LEASE_SECONDS). Kept by a write every third of it, while there is polling."""
STALE_ASK_SECONDS = 3600.0
"""Asks not renewed for this long are dropped when a poller steps down (their askers are gone)."""


def _dumped(snapshot: TaskSnapshot | None) -> str | None:
    if snapshot is None:
        return None
    return json.dumps(
        {"output": dict(snapshot.output), "usage": dict(snapshot.usage), "request_id": snapshot.request_id},
        ensure_ascii=False,
    )


def _loaded(task_id: str, text: str | None) -> TaskSnapshot | None:
    return None if text is None else TaskSnapshot.from_body(task_id, json.loads(text))


class StorePolls:
    """The poller's duty and the asks of an account (`account`: a digest of its key and service) in a job store.

    While the store cannot be written, this process polls alone: it leads, and takes no other process's asks (it
    could not answer them, and would read them again and again)."""

    def __init__(self, store: JobStore, account: str) -> None:
        self.store = store
        self.scope = account
        self.duty = f"poller:{account}"
        self.lease_seconds = min(store.lease_seconds, POLLER_LEASE_SECONDS)
        self.alone = False

    def _failed(self, exc: JobStoreWriteError) -> None:
        if not self.alone:
            logger.warning("Polling alone: the job store cannot share the poller (%s)", exc)
        self.alone = True

    async def lead(self) -> bool:
        try:
            leading = await self.store.lead(self.duty, seconds=self.lease_seconds)
        except JobStoreWriteError as exc:
            self._failed(exc)
            return True
        self.alone = False
        return leading

    async def led_elsewhere(self) -> bool:
        try:
            return await self.store.led_elsewhere(self.duty)
        except JobStoreWriteError:
            return False

    async def step_down(self) -> None:
        try:
            await self.store.step_down(self.duty)
            await self.store.forget_asks((), asked_before=time.time() - STALE_ASK_SECONDS)
        except JobStoreWriteError:
            return

    async def ask(self, task_ids: Collection[str]) -> dict[str, int]:
        try:
            return await self.store.ask(self.scope, sorted(task_ids))
        except JobStoreWriteError:
            return {}

    async def open_asks(self) -> dict[str, int]:
        if self.alone:
            return {}
        try:
            return await self.store.open_asks(self.scope)
        except JobStoreWriteError:
            return {}

    async def answer(self, answers: Mapping[str, tuple[int, TaskSnapshot | None]]) -> None:
        try:
            await self.store.answer({task_id: (n, _dumped(snapshot)) for task_id, (n, snapshot) in answers.items()})
        except JobStoreWriteError as exc:
            self._failed(exc)  # the askers read the tasks themselves once their asks go unanswered too long

    async def answers(self, task_ids: Collection[str]) -> dict[str, tuple[int, TaskSnapshot | None]]:
        try:
            rows = await self.store.answers(sorted(task_ids))
        except JobStoreWriteError:
            return {}
        return {task_id: (n, _loaded(task_id, text)) for task_id, (n, text) in rows.items()}

    async def forget(self, task_ids: Collection[str]) -> None:
        try:
            await self.store.forget_asks(sorted(task_ids))
        except JobStoreWriteError:
            return
