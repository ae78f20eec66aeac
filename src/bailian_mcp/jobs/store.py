"""The durable job store (SQLite): a job is recorded before its request is sent (its life: `jobs.status`).

Safe across processes (WAL journal, busy timeout) and on Windows (SQLite's own
locking, no POSIX file locks). The API key is never written here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from bailian_mcp.errors import BailianError, ConfigurationError
from bailian_mcp.jobs.status import JOB_FINAL

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id        TEXT PRIMARY KEY,
    capability    TEXT NOT NULL,
    model         TEXT NOT NULL,
    status        TEXT NOT NULL,
    task_id       TEXT UNIQUE,
    base_url      TEXT NOT NULL,
    params_json   TEXT NOT NULL,
    request_json  TEXT NOT NULL,
    fingerprint   TEXT,
    created_at    REAL NOT NULL,
    submitted_at  REAL,
    updated_at    REAL NOT NULL,
    finished_at   REAL,
    result_json   TEXT,
    error_json    TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
CREATE INDEX IF NOT EXISTS jobs_fingerprint ON jobs (fingerprint);
CREATE TABLE IF NOT EXISTS uploads (
    sha256      TEXT NOT NULL,
    model       TEXT NOT NULL,
    base_url    TEXT NOT NULL,
    url         TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    PRIMARY KEY (sha256, model, base_url)
);
"""

# Columns added since the first schema, with their definitions: added to an older store when it is opened.
_ADDED_COLUMNS = {
    "parent_id": "TEXT",  # the job this one is a part of (one DashScope task of a job made of several)
    "part": "INTEGER",  # its position among the parent's parts, from 0
}


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

    @property
    def final(self) -> bool:
        return self.status in JOB_FINAL

    @property
    def part_count(self) -> int:
        """How many DashScope tasks make this job when it is made of several (0: it is one request)."""
        return len(self.request.get("parts") or ())

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> Job:
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
        )


class JobStoreUnavailableError(ConfigurationError):
    """The job store cannot be opened (a damaged file, something else in its place, no permission): said in one
    line naming the file, SQLite's reason and the ways out. The file is left as it is."""

    def __init__(self, path: Path, exc: sqlite3.Error | OSError) -> None:
        super().__init__(
            f"The job store {path} cannot be opened ({exc}). It was left untouched: move it aside to start with an "
            f"empty store (mv {path} {path}.broken), or set BAILIAN_DATA_DIR to another folder."
        )


class JobStoreWriteError(BailianError):
    """The job store failed under way (a full disk, a read-only file or folder): the cause and the remedy."""

    def __init__(self, path: Path, exc: sqlite3.DatabaseError) -> None:
        self.cause = str(exc)
        super().__init__(
            f"The job store {path} cannot be written ({exc}): free space on its disk, or make it and its folder "
            "writable (or set BAILIAN_DATA_DIR to another folder)."
        )


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex[:16]


QUICK_WRITES_PER_CHECKPOINT = 200
_MISMATCHED = {
    "code": "Interrupted",
    "message": "the task once matched to this job was claimed by the submission that created it",
}


class JobStore:
    """All job records (and the upload cache); every method is a short transaction.

    Reads, and writes that must wait for the database, run on a worker thread. The short writes of a job's
    life (record, status, result) are tried first right where they are asked for, on a second connection
    that never waits: the database free, such a write takes tens of microseconds, less than handing it to a
    thread; the database busy (another process writing, a transaction under way), it goes to the thread.
    That connection never checkpoints the journal itself; every QUICK_WRITES_PER_CHECKPOINT writes, a
    thread does.

    `base_url` scopes the upload cache: an upload only exists on the service it was made on.
    """

    def __init__(self, path: Path, *, base_url: str = "") -> None:
        self.path = path
        self.base_url = base_url
        self._lock = threading.Lock()
        # One worker thread at a time: the connection is used by one thread at a time anyway, and waiting here
        # costs nothing, where waiting on the lock would hold threads from the shared pool.
        self._worker = anyio.CapacityLimiter(1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            with self._lock:
                self._db.execute("PRAGMA busy_timeout = 30000")
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._db.executescript(_SCHEMA)
                self._add_missing_columns()
        except (sqlite3.Error, OSError) as exc:
            raise JobStoreUnavailableError(path, exc) from None
        self._quick_lock = threading.Lock()
        self._quick = sqlite3.connect(str(path), timeout=0, check_same_thread=False, isolation_level=None)
        self._quick.execute("PRAGMA busy_timeout = 0")
        self._quick.execute("PRAGMA synchronous = NORMAL")
        self._quick.execute("PRAGMA wal_autocheckpoint = 0")
        self._quick_writes = 0
        # Tasks DashScope created whose ids could not be written (a full disk): task id -> job id, until they are.
        self.unrecorded: dict[str, str] = {}

    def _add_missing_columns(self) -> None:
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                try:
                    self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")
                except sqlite3.OperationalError as exc:  # another process added it meanwhile
                    if "duplicate column" not in str(exc):
                        raise
        self._db.execute("CREATE UNIQUE INDEX IF NOT EXISTS jobs_parent ON jobs (parent_id, part)")

    def close(self) -> None:
        with self._lock, self._quick_lock:
            self._quick.close()
            self._db.close()

    def _try_quick(self, sql: str, args: tuple[Any, ...]) -> int | None:
        """Run a write on the quick connection if nothing has to be waited for: the rows it changed, or None if
        something had to be waited for."""
        if not self._quick_lock.acquire(blocking=False):
            return None
        try:
            changed = self._quick.execute(sql, args).rowcount
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):  # or extended codes
                raise JobStoreWriteError(self.path, exc) from None
            return None
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise JobStoreWriteError(self.path, exc) from None
        finally:
            self._quick_lock.release()
        self._quick_writes += 1
        return changed

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        """A short write, done at once when the database is free, else on a worker thread that waits for it: the
        number of rows it changed."""
        changed = self._try_quick(sql, args)
        if changed is None:
            changed = await anyio.to_thread.run_sync(self._run_write, sql, args, limiter=self._worker)
        if self._quick_writes >= QUICK_WRITES_PER_CHECKPOINT:
            self._quick_writes = 0
            await self._arun("PRAGMA wal_checkpoint(PASSIVE)")
        return changed

    def _run_write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock, self._failures():
            return self._db.execute(sql, args).rowcount

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock, self._failures():
            return self._db.execute(sql, args).fetchall()

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """SQLite failing (a full disk, a read-only file, damage found under way) as a JobStoreWriteError."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a rule of the schema, not the store failing
        except sqlite3.DatabaseError as exc:
            raise JobStoreWriteError(self.path, exc) from None

    async def _arun(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return await anyio.to_thread.run_sync(self._run, sql, args, limiter=self._worker)

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
    ) -> Job:
        """Record a job about to be sent: SUBMITTING (a task about to be created), or RUNNING (a direct exchange
        about to start, or the tasks of a job made of several); `parent_id` and `part` for one of those tasks.
        One write; the Job is built from what was written."""
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
            created_at=(now := time.time()),
            submitted_at=None,
            updated_at=now,
            finished_at=None,
            result=None,
            error=None,
            parent_id=parent_id,
            part=part,
        )
        await self._write(
            "INSERT INTO jobs (job_id, capability, model, status, base_url, params_json, request_json,"
            " fingerprint, created_at, updated_at, parent_id, part) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )
        return job

    async def adopt(self, *, task_id: str, capability: str, model: str, status: str, created_at: float) -> Job:
        """Record a task DashScope has that this store did not know (created elsewhere with the same key)."""
        job_id = new_job_id()
        now = time.time()
        await self._arun(
            "INSERT OR IGNORE INTO jobs (job_id, capability, model, status, task_id, base_url, params_json,"
            " request_json, fingerprint, created_at, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '{}', '{}',"
            " 'adopted', ?, ?, ?)",
            (job_id, capability, model, status, task_id, self.base_url, created_at, created_at, now),
        )
        job = await self.by_task(task_id)
        assert job is not None
        return job

    def _attach(self, job_id: str, task_id: str, status: str) -> None:
        now = time.time()
        with self._lock, self._failures(), self._db:  # one transaction
            self._db.execute("BEGIN IMMEDIATE")
            # The job that paid for a task takes it back from whoever holds it: a listing may have adopted it
            # while the submission's reply was on the way, or matched it to another job whose reply was lost.
            self._db.execute(
                "DELETE FROM jobs WHERE task_id = ? AND fingerprint = 'adopted' AND job_id != ?", (task_id, job_id)
            )
            self._db.execute(
                "UPDATE jobs SET task_id = NULL, status = 'SUBMIT_UNCERTAIN', result_json = NULL, finished_at = NULL,"
                " error_json = ?, updated_at = ? WHERE task_id = ? AND job_id != ?",
                (json.dumps(_MISMATCHED), now, task_id, job_id),
            )
            self._db.execute(
                "UPDATE jobs SET task_id = ?, status = ?, submitted_at = COALESCE(submitted_at, ?), updated_at = ?,"
                " error_json = NULL WHERE job_id = ?",
                (task_id, status, now, now, job_id),
            )

    async def attach_task(self, job_id: str, task_id: str, status: str) -> None:
        await anyio.to_thread.run_sync(self._attach, job_id, task_id, status, limiter=self._worker)

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
        rows = await self._arun(
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
        now = time.time()
        await self._write(
            "UPDATE jobs SET status = ?, result_json = ?, updated_at = ?, finished_at = COALESCE(finished_at, ?)"
            " WHERE job_id = ?",
            (status, json.dumps(result, ensure_ascii=False), now, now, job_id),
        )

    async def get(self, job_id: str) -> Job | None:
        rows = await self._arun("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        return Job._from_row(rows[0]) if rows else None

    async def by_task(self, task_id: str) -> Job | None:
        rows = await self._arun("SELECT * FROM jobs WHERE task_id = ?", (task_id,))
        return Job._from_row(rows[0]) if rows else None

    async def parts(self, parent_id: str) -> list[Job]:
        """The recorded tasks of a job made of several, in order (a part not yet recorded is missing)."""
        rows = await self._arun("SELECT * FROM jobs WHERE parent_id = ? ORDER BY part", (parent_id,))
        return [Job._from_row(row) for row in rows]

    async def find_by_fingerprint(self, fingerprint: str) -> Job | None:
        """The newest job carrying `fingerprint`."""
        rows = await self._arun(
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
        """Submissions sent before `sent_before` that still have no task on record (a reply lost, or one that could
        not be written, in a process that has ended) as SUBMIT_UNCERTAIN: DashScope's task list can then give them
        back their task (admin.sync_remote)."""
        error = {"code": "Interrupted", "message": "no task was recorded for this submission"}
        await self._write(
            "UPDATE jobs SET status = 'SUBMIT_UNCERTAIN', error_json = ? WHERE status = 'SUBMITTING'"
            " AND task_id IS NULL AND submitted_at IS NOT NULL AND submitted_at < ?",
            (json.dumps(error), sent_before),
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
        rows = await self._arun(f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", (*args, limit))
        return [Job._from_row(r) for r in rows]

    async def find_upload(self, sha256: str, model: str, *, valid_after: float) -> str | None:
        rows = await self._arun(
            "SELECT url FROM uploads WHERE sha256 = ? AND model = ? AND base_url = ? AND expires_at > ?",
            (sha256, model, self.base_url, valid_after),
        )
        return str(rows[0]["url"]) if rows else None

    async def remember_upload(self, sha256: str, model: str, url: str, expires_at: float) -> None:
        await self._arun(
            "INSERT OR REPLACE INTO uploads (sha256, model, base_url, url, expires_at) VALUES (?, ?, ?, ?, ?)",
            (sha256, model, self.base_url, url, expires_at),
        )
