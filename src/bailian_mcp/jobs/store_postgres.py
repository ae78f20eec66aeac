"""The job store in PostgreSQL (``BAILIAN_DATABASE_URL=postgresql://…``): one store for every process on every
machine of a team. psycopg 3 with a connection pool (the ``postgres`` extra)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bailian_mcp.errors import ConfigurationError
from bailian_mcp.jobs import migrations
from bailian_mcp.jobs.store import LEASE_SECONDS, JobStore, JobStoreUnavailableError, JobStoreWriteError, Row, Statement

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

POOL_SIZE = 10
CONNECT_SECONDS = 10.0
_MIGRATION_LOCK = 0x6261696C69616E  # pg_advisory_xact_lock key: one process migrates at a time
_SPENDING_LOCK = 0x6261696C69616E + 1  # one job recorded under the budget at a time
_WRITE_REMEDY = "check that the database is running and reachable, and that BAILIAN_DATABASE_URL's user may write"


def shown_url(url: str) -> str:
    """The database URL without its password, to name it in messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresJobStore(JobStore):
    """Open with `PostgresJobStore.open` (it connects and migrates); every statement borrows a pooled connection."""

    def __init__(self, pool: AsyncConnectionPool[Any], url: str, *, base_url: str, lease_seconds: float) -> None:
        super().__init__(where=shown_url(url), base_url=base_url, lease_seconds=lease_seconds)
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, base_url: str = "", lease_seconds: float = LEASE_SECONDS) -> PostgresJobStore:
        try:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import AsyncConnectionPool
        except ImportError:
            raise ConfigurationError(
                "BAILIAN_DATABASE_URL names a PostgreSQL database, but its driver is not installed: "
                'pip install "bailian-mcp[postgres]".'
            ) from None
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
        )
        try:  # one connection first: a database that cannot be reached is said at once, with its own reason
            connection = await psycopg.AsyncConnection.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=int(CONNECT_SECONDS)
            )
            async with connection:
                await _migrate(connection)
            await pool.open(wait=True, timeout=CONNECT_SECONDS)
        except (psycopg.Error, TimeoutError, migrations.NewerSchemaError) as exc:
            await pool.close()
            raise JobStoreUnavailableError(
                shown_url(url),
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                "Check that the database is running, that BAILIAN_DATABASE_URL is right, and that its user may "
                "create tables (or unset BAILIAN_DATABASE_URL to use a local SQLite store).",
            ) from None
        return cls(pool, url, base_url=base_url, lease_seconds=lease_seconds)

    async def aclose(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        import psycopg

        try:
            async with self._pool.connection() as connection:
                yield connection
        except psycopg.IntegrityError:
            raise  # a rule of the schema, not the store failing
        except (psycopg.Error, TimeoutError) as exc:
            raise JobStoreWriteError(self.where, str(exc).strip() or type(exc).__name__, _WRITE_REMEDY) from None

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        async with self._connection() as connection:
            cursor = await connection.execute(_placeholders(sql), args)
            return cursor.rowcount

    async def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        async with self._connection() as connection:
            cursor = await connection.execute(_placeholders(sql), args)
            rows: list[Row] = await cursor.fetchall()
            return rows

    async def _transaction(self, statements: Sequence[Statement]) -> None:
        async with self._connection() as connection, connection.transaction():
            for sql, args in statements:
                await connection.execute(_placeholders(sql), args)

    async def _serialized_write(self, sql: str, args: tuple[Any, ...]) -> int:
        """The write in a transaction holding an advisory lock (PostgreSQL's reads see only what was committed when
        each statement began: two of these at once would both count the spending without the other's job)."""
        async with self._connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SPENDING_LOCK,))
            cursor = await connection.execute(_placeholders(sql), args)
            return cursor.rowcount


async def _migrate(connection: AsyncConnection[Any]) -> None:
    """Bring the schema up to date in one transaction, one process at a time (an advisory lock)."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await connection.execute(migrations.VERSION_TABLE)
        cursor = await connection.execute("SELECT version FROM schema_version")
        row = await cursor.fetchone()
        if row is None:
            cursor = await connection.execute(
                "SELECT column_name AS name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'jobs'"
            )
            version = migrations.unnumbered_version([found["name"] for found in await cursor.fetchall()])
            await connection.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        else:
            version = row["version"]
        migrations.check_known(version)
        for statement in migrations.pending(version):
            await connection.execute(statement)
        await connection.execute("UPDATE schema_version SET version = %s", (migrations.LATEST,))
