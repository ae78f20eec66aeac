"""The job store in a SQLite file (the default): safe across processes (WAL journal, busy timeout) and on Windows
(SQLite's own locking, no POSIX file locks)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from bailian_mcp.jobs import migrations
from bailian_mcp.jobs.store import LEASE_SECONDS, JobStore, JobStoreUnavailableError, JobStoreWriteError, Row, Statement

QUICK_WRITES_PER_CHECKPOINT = 200


def _dict_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, values, strict=True)}


class SQLiteJobStore(JobStore):
    """Reads, and writes that must wait for the database, run on a worker thread. The short writes of a job's
    life (record, status, result) are tried first right where they are asked for, on a second connection
    that never waits: the database free, such a write takes tens of microseconds, less than handing it to a
    thread; the database busy (another process writing, a transaction under way), it goes to the thread.
    That connection never checkpoints the journal itself; every QUICK_WRITES_PER_CHECKPOINT writes, a
    thread does."""

    def __init__(self, path: Path, *, base_url: str = "", lease_seconds: float = LEASE_SECONDS) -> None:
        super().__init__(where=str(path), base_url=base_url, lease_seconds=lease_seconds)
        self.path = path
        self._lock = threading.Lock()
        # One worker thread at a time: the connection is used by one thread at a time anyway, and waiting here
        # costs nothing, where waiting on the lock would hold threads from the shared pool.
        self._worker = anyio.CapacityLimiter(1)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
            self._db.row_factory = _dict_row
            with self._lock:
                self._db.execute("PRAGMA busy_timeout = 30000")
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
        except (sqlite3.Error, OSError, migrations.NewerSchemaError) as exc:
            raise JobStoreUnavailableError(
                path,
                exc,
                f"It was left untouched: move it aside to start with an empty store (mv {path} {path}.broken), or "
                "set BAILIAN_DATA_DIR to another folder.",
            ) from None
        self._quick_lock = threading.Lock()
        self._quick = sqlite3.connect(str(path), timeout=0, check_same_thread=False, isolation_level=None)
        self._quick.execute("PRAGMA busy_timeout = 0")
        self._quick.execute("PRAGMA synchronous = NORMAL")
        self._quick.execute("PRAGMA wal_autocheckpoint = 0")
        self._quick_writes = 0

    def _migrate(self) -> None:
        """Bring the schema up to date in one transaction (another process opening the store meanwhile waits)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(migrations.VERSION_TABLE)
            row = self._db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                columns = [column["name"] for column in self._db.execute("PRAGMA table_info(jobs)")]
                version = migrations.unnumbered_version(columns)
                self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            else:
                version = row["version"]
            migrations.check_known(version)
            for statement in migrations.pending(version):
                self._db.execute(statement)
            self._db.execute("UPDATE schema_version SET version = ?", (migrations.LATEST,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock, self._quick_lock:
            self._quick.close()
            self._db.close()

    async def aclose(self) -> None:
        self.close()

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
        """A short write, done at once when the database is free, else on a worker thread that waits for it."""
        changed = self._try_quick(sql, args)
        if changed is None:
            changed = await anyio.to_thread.run_sync(self._run_write, sql, args, limiter=self._worker)
        if self._quick_writes >= QUICK_WRITES_PER_CHECKPOINT:
            self._quick_writes = 0
            await self._query("PRAGMA wal_checkpoint(PASSIVE)")
        return changed

    def _run_write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock, self._failures():
            return self._db.execute(sql, args).rowcount

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        with self._lock, self._failures():
            rows: list[Row] = self._db.execute(sql, args).fetchall()
            return rows

    async def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        return await anyio.to_thread.run_sync(self._run, sql, args, limiter=self._worker)

    def _run_transaction(self, statements: Sequence[Statement]) -> None:
        with self._lock, self._failures(), self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                self._db.execute(sql, args)

    async def _transaction(self, statements: Sequence[Statement]) -> None:
        await anyio.to_thread.run_sync(self._run_transaction, statements, limiter=self._worker)

    async def _serialized_write(self, sql: str, args: tuple[Any, ...]) -> int:
        """SQLite runs one statement's reads and its write in one transaction, one writer at a time."""
        return await self._write(sql, args)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """SQLite failing (a full disk, a read-only file, damage found under way) as a JobStoreWriteError."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise  # a rule of the schema, not the store failing
        except sqlite3.DatabaseError as exc:
            raise JobStoreWriteError(self.path, exc) from None
