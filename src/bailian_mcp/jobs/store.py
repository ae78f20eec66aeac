"""The durable job store: a job is recorded before its request is sent (its life: `jobs.status`).

`JobStore` holds every query, written once; two stores run them: `SQLiteJobStore` (the default, a file in the
data folder) and `PostgresJobStore` (``BAILIAN_DATABASE_URL``, for many machines). `open_store` picks one.

Many processes may share a store. A job being worked on (sent, followed, its files saved) is *held* by the process
doing it: `owner` names the process and `lease_until` says until when the hold stands; a heartbeat renews it
(`renew_leases`), so a process that dies loses its holds within `lease_seconds`, and others take its jobs over.
A *duty* (polling an account's tasks) is led by one process at a time, on a lease of its own; the polls
other processes ask of it, and its answers, are rows of `polls` (`jobs.polls`). The API key is never written here.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from bailian_mcp.errors import BailianError, ConfigurationError
from bailian_mcp.jobs.status import JOB_FINAL

Row = Mapping[str, Any]
Statement = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Job:
    job_id: str
    capability: str
    model: str
    status: str
    task_id: str | None
    base_url: str
    params: dict[str, Any]
    request: dict[str, Any]
    fingerprint: str | None
    created_at: float
    submitted_at: float | None
    updated_at: float
    finished_at: float | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    parent_id: str | None = None
    part: int | None = None
    owner: str | None = None
    lease_until: float | None = None

    @property
    def final(self) -> bool:
        return self.status in JOB_FINAL

    @property
    def part_count(self) -> int:
        """How many DashScope tasks make this job when it is made of several (0: it is one request)."""
        return len(self.request.get("parts") or ())

    @classmethod
    def _from_row(cls, row: Row) -> Job:
        return cls(
            job_id=row["job_id"],
            capability=row["capability"],
            model=row["model"],
            status=row["status"],
            task_id=row["task_id"],
            base_url=row["base_url"],
            params=json.loads(row["params_json"]),
            request=json.loads(row["request_json"]),
            fingerprint=row["fingerprint"],
            created_at=row["created_at"],
            submitted_at=row["submitted_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
            result=json.loads(row["result_json"]) if row["result_json"] else None,
            error=json.loads(row["error_json"]) if row["error_json"] else None,
            parent_id=row["parent_id"],
            part=row["part"],
            owner=row["owner"],
            lease_until=row["lease_until"],
        )


class JobStoreUnavailableError(ConfigurationError):
    """The job store cannot be opened (a damaged file, something else in its place, no permission, a database that
    cannot be reached): said in one line naming the store, the reason and the ways out. Nothing is changed."""

    def __init__(self, where: str | Path, reason: object, remedy: str) -> None:
        super().__init__(f"The job store {where} cannot be opened ({reason}). {remedy}")


class JobStoreWriteError(BailianError):
    """The job store failed under way (a full disk, a read-only file or folder, a lost database): the cause and the
    remedy."""

    def __init__(self, where: str | Path, cause: object, remedy: str | None = None) -> None:
        self.cause = str(cause)
        remedy = remedy or (
            "free space on its disk, or make it and its folder writable (or set BAILIAN_DATA_DIR to another folder)"
        )
        super().__init__(f"The job store {where} cannot be written ({cause}): {remedy}.")


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex[:16]


def process_name() -> str:
    """This process among all those sharing a store: host, process id, and a nonce (process ids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


LEASE_SECONDS = 30.0
"""How long a hold on a job stands without being renewed: a process that dies loses its jobs this long after."""
_MISMATCHED = {
    "code": "Interrupted",
    "message": "the task once matched to this job was claimed by the submission that created it",
}
LOST = {"code": "Interrupted", "message": "no task was recorded for this submission"}
_UNDER_WAY = "('SUBMITTING', 'PENDING', 'RUNNING', 'SUSPENDED')"
_SPENT_SINCE = (
    "SELECT COALESCE(SUM(CASE WHEN status IN ('REJECTED', 'FAILED', 'CANCELED') THEN 0"
    " ELSE COALESCE(cost_cny, quoted_cny, 0) END), 0) FROM jobs WHERE parent_id IS NULL AND created_at >= ?"
)
"""What the jobs recorded since a moment cost or are quoted (CNY); nothing for those that ended charging nothing."""


@dataclass(frozen=True)
class Budget:
    """A cap on spending (CNY) for the jobs recorded since `since` (the day's start)."""

    limit_cny: float
    since: float


@dataclass(frozen=True)
class Spending:
    """The jobs recorded since `since`: what they cost (the ones under way at their quotes), and how much of that
    is the quotes of jobs under way."""

    since: float
    spent_cny: float
    under_way_cny: float


class OverBudgetError(BailianError):
    """A job whose quote would take the day's spending over the budget: refused before anything was sent."""

    def __init__(self, budget: Budget, spending: Spending, quoted_cny: float | None) -> None:
        self.budget, self.spending, self.quoted_cny = budget, spending, quoted_cny
        cost = "its price is not known before it is sent" if quoted_cny is None else f"it is quoted {quoted_cny:g} CNY"
        super().__init__(
            f"Refused before sending: {cost}, and {spending.spent_cny:.4g} CNY of today's budget of "
            f"{budget.limit_cny:g} CNY (BAILIAN_BUDGET_CNY, per UTC day, every process on this job store) is spent "
            f"or committed. Raise BAILIAN_BUDGET_CNY to allow it, or wait for the next day (UTC)."
        )


class JobStore(ABC):
    """All job records, holds on them, the shared pacing and the upload cache; every method is a short transaction.

    The queries are written once, with ``?`` placeholders and SQL both databases speak; a subclass runs them
    (`_write`, `_query`, `_transaction`) and opens, migrates and closes its database.

    `base_url` scopes the upload cache: an upload only exists on the service it was made on.
    """

    def __init__(self, *, where: str, base_url: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self.where = where
        self.base_url = base_url
        self.lease_seconds = lease_seconds
        self.owner = process_name()
        self._holds: Counter[str] = Counter()
        self._claimed = False  # whether this process has claimed a batch task (whose claims the heartbeat renews)
        # Tasks DashScope created whose ids could not be written (a full disk): task id -> job id, until they are.
        self.unrecorded: dict[str, str] = {}

    # ------------------------------------------------------------------ what a store provides

    @abstractmethod
    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        """One writing statement: the number of rows it changed."""

    @abstractmethod
    async def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        """One statement returning rows (a SELECT, or a write with RETURNING)."""

    @abstractmethod
    async def _transaction(self, statements: Sequence[Statement]) -> None:
        """Statements run together or not at all, other writers kept out meanwhile."""

    @abstractmethod
    async def _serialized_write(self, sql: str, args: tuple[Any, ...]) -> int:
        """One write that reads what it decides by (the day's spending), run while every other such write waits:
        the rows it changed."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the database."""

    # ------------------------------------------------------------------ jobs

    async def create(
        self,
        *,
        capability: str,
        model: str,
        base_url: str,
        params: Mapping[str, Any],
        request: Mapping[str, Any],
        fingerprint: str | None = None,
        status: str = "SUBMITTING",
        parent_id: str | None = None,
        part: int | None = None,
        quoted_cny: float | None = None,
        budget: Budget | None = None,
    ) -> Job:
        """Record a job about to be sent: SUBMITTING (a task about to be created), or RUNNING (a direct exchange
        about to start, or the tasks of a job made of several); `parent_id` and `part` for one of those tasks.
        The job is held by this process (the caller releases it). One write; the Job is built from what was
        written.

        `quoted_cny`: what the job is expected to cost. With a `budget`, the job is recorded only if that keeps the
        day's spending (`spending`) within it — checked and written at once, however many processes record jobs —
        else OverBudgetError (a job without a quote is recorded while the budget is not used up)."""
        now = time.time()
        job = Job(
            job_id=new_job_id(),
            capability=capability,
            model=model,
            status=status,
            task_id=None,
            base_url=base_url,
            params=dict(params),
            request=dict(request),
            fingerprint=fingerprint,
            created_at=now,
            submitted_at=None,
            updated_at=now,
            finished_at=None,
            result=None,
            error=None,
            parent_id=parent_id,
            part=part,
            owner=self.owner,
            lease_until=now + self.lease_seconds,
        )
        columns = (
            "job_id, capability, model, status, base_url, params_json, request_json, fingerprint, created_at,"
            " updated_at, parent_id, part, owner, lease_until, quoted_cny"
        )
        values = (
            job.job_id,
            capability,
            model,
            status,
            base_url,
            json.dumps(params, ensure_ascii=False),
            json.dumps(request, ensure_ascii=False),
            fingerprint,
            now,
            now,
            parent_id,
            part,
            self.owner,
            job.lease_until,
            quoted_cny,
        )
        marks = ", ".join("?" for _ in values)
        if budget is None:
            await self._write(f"INSERT INTO jobs ({columns}) VALUES ({marks})", values)
        else:
            within = "<" if quoted_cny is None else "<="
            written = await self._serialized_write(
                f"INSERT INTO jobs ({columns}) SELECT {marks} WHERE ({_SPENT_SINCE}) + ? {within} ?",
                (*values, budget.since, quoted_cny or 0.0, budget.limit_cny),
            )
            if not written:
                raise OverBudgetError(budget, await self.spending(since=budget.since), quoted_cny)
        self._holds[job.job_id] += 1
        return job

    async def adopt(self, *, task_id: str, capability: str, model: str, status: str, created_at: float) -> Job:
        """Record a task DashScope has that this store did not know (created elsewhere with the same key)."""
        await self._write(
            "INSERT INTO jobs (job_id, capability, model, status, task_id, base_url, params_json, request_json,"
            " fingerprint, created_at, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', '{}', 'adopted', ?,"
            " ?, ?) ON CONFLICT DO NOTHING",
            (new_job_id(), capability, model, status, task_id, self.base_url, created_at, created_at, time.time()),
        )
        job = await self.by_task(task_id)
        assert job is not None
        return job

    async def attach_task(self, job_id: str, task_id: str, status: str) -> None:
        """Record the task a job's submission created. The job that paid for a task takes it back from whoever holds
        it: a listing may have adopted it while the submission's reply was on the way, or matched it to another job
        whose reply was lost."""
        now = time.time()
        await self._transaction(
            [
                ("DELETE FROM jobs WHERE task_id = ? AND fingerprint = 'adopted' AND job_id != ?", (task_id, job_id)),
                (
                    "UPDATE jobs SET task_id = NULL, status = 'SUBMIT_UNCERTAIN', result_json = NULL,"
                    " finished_at = NULL, error_json = ?, updated_at = ? WHERE task_id = ? AND job_id != ?",
                    (json.dumps(_MISMATCHED), now, task_id, job_id),
                ),
                (
                    "UPDATE jobs SET task_id = ?, status = ?, submitted_at = COALESCE(submitted_at, ?),"
                    " updated_at = ?, error_json = NULL WHERE job_id = ?",
                    (task_id, status, now, now, job_id),
                ),
            ]
        )

    async def claim_sending(self, job_id: str) -> bool:
        """Record that a job's submission goes out (before its reply, which may never come): False, and nothing
        recorded, when it went out before (from this process or another), so that it is never sent twice."""
        now = time.time()
        changed = await self._write(
            "UPDATE jobs SET submitted_at = ?, updated_at = ? WHERE job_id = ? AND submitted_at IS NULL",
            (now, now, job_id),
        )
        return changed == 1

    async def unanswered(self, *, since: float) -> list[Job]:
        """Jobs sent since `since` whose submission has no task on record: lost replies (SUBMIT_UNCERTAIN) and
        replies still on their way (SUBMITTING)."""
        rows = await self._query(
            "SELECT * FROM jobs WHERE task_id IS NULL AND status IN ('SUBMITTING', 'SUBMIT_UNCERTAIN')"
            " AND submitted_at IS NOT NULL AND submitted_at >= ? ORDER BY submitted_at",
            (since,),
        )
        return [Job._from_row(row) for row in rows]

    async def set_status(self, job_id: str, status: str, *, error: Mapping[str, Any] | None = None) -> None:
        now = time.time()
        finished = now if status in JOB_FINAL else None
        await self._write(
            "UPDATE jobs SET status = ?, updated_at = ?, finished_at = COALESCE(finished_at, ?),"
            " error_json = COALESCE(?, error_json) WHERE job_id = ?",
            (status, now, finished, json.dumps(error, ensure_ascii=False) if error else None, job_id),
        )

    async def save_result(self, job_id: str, status: str, result: Mapping[str, Any]) -> None:
        """Store a job's result (its own error, if any, is in it: an earlier one on record is dropped), and its cost
        in CNY when the result says it."""
        now = time.time()
        cost = result.get("cost")
        cost_cny = cost["amount"] if isinstance(cost, Mapping) and cost.get("currency") == "CNY" else None
        await self._write(
            "UPDATE jobs SET status = ?, result_json = ?, error_json = NULL, updated_at = ?,"
            " finished_at = COALESCE(finished_at, ?), cost_cny = COALESCE(?, cost_cny) WHERE job_id = ?",
            (status, json.dumps(result, ensure_ascii=False), now, now, cost_cny, job_id),
        )

    async def spending(self, *, since: float) -> Spending:
        """What the jobs recorded since `since` cost (CNY): what finished jobs cost, and what the jobs still under
        way were quoted. A job that ended with nothing charged (refused, failed, cancelled) counts nothing; one made
        of several tasks counts once."""
        rows = await self._query(
            f"SELECT ({_SPENT_SINCE}) AS spent, (SELECT COALESCE(SUM(quoted_cny), 0) FROM jobs WHERE parent_id IS NULL"
            f" AND created_at >= ? AND cost_cny IS NULL AND status IN {_UNDER_WAY}) AS under_way",
            (since, since),
        )
        return Spending(since=since, spent_cny=float(rows[0]["spent"]), under_way_cny=float(rows[0]["under_way"]))

    async def get(self, job_id: str) -> Job | None:
        rows = await self._query("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        return Job._from_row(rows[0]) if rows else None

    async def by_task(self, task_id: str) -> Job | None:
        rows = await self._query("SELECT * FROM jobs WHERE task_id = ?", (task_id,))
        return Job._from_row(rows[0]) if rows else None

    async def parts(self, parent_id: str) -> list[Job]:
        """The recorded tasks of a job made of several, in order (a part not yet recorded is missing)."""
        rows = await self._query("SELECT * FROM jobs WHERE parent_id = ? ORDER BY part", (parent_id,))
        return [Job._from_row(row) for row in rows]

    async def find_by_fingerprint(self, fingerprint: str) -> Job | None:
        """The newest job carrying `fingerprint`."""
        rows = await self._query(
            "SELECT * FROM jobs WHERE fingerprint = ? ORDER BY created_at DESC LIMIT 1", (fingerprint,)
        )
        return Job._from_row(rows[0]) if rows else None

    async def find(self, handle: str) -> Job | None:
        """A job by its job id or by its DashScope task id (recording first a task id that could not be written)."""
        job = await self.get(handle) or await self.by_task(handle)
        pending = {job_id: task_id for task_id, job_id in self.unrecorded.items()}
        task_id = handle if handle in self.unrecorded else pending.get(job.job_id) if job else None
        if task_id is None:
            return job
        await self.attach_task(self.unrecorded[task_id], task_id, "PENDING")
        del self.unrecorded[task_id]
        return await self.by_task(task_id)

    async def mark_lost_submissions(self, *, sent_before: float) -> None:
        """Submissions with no task on record that nobody is waiting for any more, as SUBMIT_UNCERTAIN: their
        sender's hold lapsed (it died with the reply on its way), or, for a job never held, they were sent before
        `sent_before`. DashScope's task list can then give them back their task (admin.sync_remote)."""
        await self._write(
            "UPDATE jobs SET status = 'SUBMIT_UNCERTAIN', error_json = ? WHERE status = 'SUBMITTING'"
            " AND task_id IS NULL AND submitted_at IS NOT NULL"
            " AND (lease_until < ? OR (lease_until IS NULL AND submitted_at < ?))",
            (json.dumps(LOST), time.time(), sent_before),
        )

    async def list(
        self,
        *,
        status: str | None = None,
        capability: str | None = None,
        since: float | None = None,
        limit: int = 50,
    ) -> list[Job]:
        """Jobs newest first; the tasks of a job made of several are not listed apart from it."""
        clauses: list[str] = ["parent_id IS NULL"]
        args: list[Any] = []
        if status:
            clauses.append("status = ?")
            args.append(status)
        if capability:
            clauses.append("capability = ?")
            args.append(capability)
        if since is not None:
            clauses.append("created_at >= ?")
            args.append(since)
        where = f"WHERE {' AND '.join(clauses)}"
        rows = await self._query(f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", (*args, limit))
        return [Job._from_row(r) for r in rows]

    # ------------------------------------------------------------------ holds

    def held_elsewhere(self, job: Job) -> bool:
        """Whether another process holds the job: it is working on it, and others wait for what it records."""
        return job.owner != self.owner and job.lease_until is not None and job.lease_until >= time.time()

    def holds(self, job_id: str) -> bool:
        """Whether this process holds the job (a call of this process is working on it)."""
        return self._holds[job_id] > 0

    async def hold(self, job_id: str) -> bool:
        """Take the job for this process, unless another holds it: whether it is now this process's."""
        if self._holds[job_id] > 0:
            self._holds[job_id] += 1
            return True
        now = time.time()
        changed = await self._write(
            "UPDATE jobs SET owner = ?, lease_until = ? WHERE job_id = ?"
            " AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)",
            (self.owner, now + self.lease_seconds, job_id, self.owner, now),
        )
        if changed:
            self._holds[job_id] += 1
        return changed == 1

    async def release(self, job_id: str) -> None:
        """One of this process's holds on the job ends; the last one lets others take the job."""
        self._holds[job_id] -= 1
        if self._holds[job_id] > 0:
            return
        del self._holds[job_id]
        with anyio.CancelScope(shield=True), suppress(JobStoreWriteError):  # a hold not released lapses
            await self._write("UPDATE jobs SET lease_until = NULL WHERE job_id = ? AND owner = ?", (job_id, self.owner))

    @asynccontextmanager
    async def holding(self, job_id: str) -> AsyncIterator[bool]:
        """Hold the job for the block if nobody else does (yields whether it does), then release it."""
        held = await self.hold(job_id)
        try:
            yield held
        finally:
            if held:
                await self.release(job_id)

    async def renew_leases(self) -> None:
        """Extend every hold and claim of this process (the heartbeat)."""
        until = time.time() + self.lease_seconds
        if self._holds:
            await self._write(
                "UPDATE jobs SET lease_until = ? WHERE owner = ? AND lease_until IS NOT NULL", (until, self.owner)
            )
        if self._claimed:
            await self._write("UPDATE claims SET until = ? WHERE owner = ?", (until, self.owner))

    async def claim(self, fingerprint: str, *, replaces: str | None) -> bool:
        """Claim the sending of the job marked `fingerprint` (a batch task), as the first job of it or as the one
        that replaces job `replaces`: whether this process won it. Many batch workers on one store each send a
        task once; a claim whose process died lapses like a hold."""
        now = time.time()
        changed = await self._write(
            "INSERT INTO claims (fingerprint, replaces, owner, until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (fingerprint, replaces) DO UPDATE SET owner = excluded.owner, until = excluded.until"
            " WHERE claims.until < ?",
            (fingerprint, replaces or "", self.owner, now + self.lease_seconds, now),
        )
        self._claimed = self._claimed or changed == 1
        return changed == 1

    # ------------------------------------------------------------------ pacing shared by every process

    async def book(self, bucket: str, interval: float) -> float:
        """Book the next free slot of `bucket` (calls `interval` seconds apart, across every process on the store):
        the time (epoch seconds) at which this call may start."""
        now = time.time()
        rows = await self._query(
            "INSERT INTO pacing (bucket, next_free) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET next_free ="
            " CASE WHEN pacing.next_free > ? THEN pacing.next_free + ? ELSE ? END RETURNING next_free",
            (bucket, now + interval, now, interval, now + interval),
        )
        return float(rows[0]["next_free"]) - interval

    # ------------------------------------------------------------------ duties and the polls asked of them

    async def lead(self, duty: str, *, seconds: float) -> bool:
        """Take the duty (one process at a time does it for all), or keep it for `seconds` more, unless another
        process has it: whether this process has it now."""
        now = time.time()
        changed = await self._write(
            "INSERT INTO duties (duty, owner, until) VALUES (?, ?, ?) ON CONFLICT (duty) DO UPDATE SET"
            " owner = excluded.owner, until = excluded.until WHERE duties.owner = ? OR duties.until < ?",
            (duty, self.owner, now + seconds, self.owner, now),
        )
        return changed == 1

    async def led_elsewhere(self, duty: str) -> bool:
        """Whether another process has the duty (its lease standing)."""
        rows = await self._query(
            "SELECT 1 FROM duties WHERE duty = ? AND owner <> ? AND until >= ?", (duty, self.owner, time.time())
        )
        return bool(rows)

    async def step_down(self, duty: str) -> None:
        await self._write("DELETE FROM duties WHERE duty = ? AND owner = ?", (duty, self.owner))

    async def ask(self, scope: str, task_ids: Sequence[str]) -> dict[str, int]:
        """Ask whoever polls for `scope` for the tasks' status: each ask's number, which the answer will carry."""
        if not task_ids:
            return {}
        values = ", ".join("(?, ?, 1, 0, ?)" for _ in task_ids)
        now = time.time()
        rows = await self._query(
            f"INSERT INTO polls (task_id, scope, asked, answered, asked_at) VALUES {values} ON CONFLICT (task_id)"
            " DO UPDATE SET asked = polls.asked + 1, asked_at = excluded.asked_at RETURNING task_id, asked",
            tuple(arg for task_id in task_ids for arg in (task_id, scope, now)),
        )
        return {row["task_id"]: int(row["asked"]) for row in rows}

    async def open_asks(self, scope: str) -> dict[str, int]:
        """The asks for `scope` not answered yet: task id -> the number of its latest ask."""
        rows = await self._query("SELECT task_id, asked FROM polls WHERE scope = ? AND asked > answered", (scope,))
        return {row["task_id"]: int(row["asked"]) for row in rows}

    async def answer(self, answers: Mapping[str, tuple[int, str | None]]) -> None:
        """Answer asks: task id -> (the number of the ask answered, the status as JSON, or None: not read)."""
        await self._transaction(
            [
                (  # never back, never ahead of the asks (a row forgotten and made again starts from 1)
                    "UPDATE polls SET answered = ?, snapshot_json = ?"
                    " WHERE task_id = ? AND answered < ? AND asked >= ?",
                    (number, snapshot, task_id, number, number),
                )
                for task_id, (number, snapshot) in answers.items()
            ]
        )

    async def answers(self, task_ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """The latest answers about the tasks: task id -> (the number of the ask answered, the status as JSON)."""
        if not task_ids:
            return {}
        marks = ", ".join("?" for _ in task_ids)
        rows = await self._query(
            f"SELECT task_id, answered, snapshot_json FROM polls WHERE task_id IN ({marks})", tuple(task_ids)
        )
        return {row["task_id"]: (int(row["answered"]), row["snapshot_json"]) for row in rows}

    async def forget_asks(self, task_ids: Sequence[str], *, asked_before: float = 0.0) -> None:
        """Remove the answered asks about the tasks (this process follows them no more; an ask still open is
        another's), and every ask last made before `asked_before` (their askers are gone)."""
        marks = ", ".join("?" for _ in task_ids) or "NULL"
        await self._write(
            f"DELETE FROM polls WHERE (task_id IN ({marks}) AND asked <= answered) OR asked_at < ?",
            (*task_ids, asked_before),
        )

    # ------------------------------------------------------------------ the upload cache

    async def find_upload(self, sha256: str, model: str, *, valid_after: float) -> str | None:
        rows = await self._query(
            "SELECT url FROM uploads WHERE sha256 = ? AND model = ? AND base_url = ? AND expires_at > ?",
            (sha256, model, self.base_url, valid_after),
        )
        return str(rows[0]["url"]) if rows else None

    async def remember_upload(self, sha256: str, model: str, url: str, expires_at: float) -> None:
        await self._write(
            "INSERT INTO uploads (sha256, model, base_url, url, expires_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (sha256, model, base_url) DO UPDATE SET url = excluded.url, expires_at = excluded.expires_at",
            (sha256, model, self.base_url, url, expires_at),
        )
