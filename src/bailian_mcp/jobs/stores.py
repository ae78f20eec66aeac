"""Which job store a process uses: PostgreSQL when BAILIAN_DATABASE_URL is set, else the SQLite file in the data
folder."""

from __future__ import annotations

import anyio

from bailian_mcp.config import Settings
from bailian_mcp.jobs.store import JobStore
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore


async def open_store(settings: Settings) -> JobStore:
    """The settings' job store, opened and migrated; JobStoreUnavailableError when it cannot be."""
    url = settings.database_url_value()
    if url is None:
        return SQLiteJobStore(
            settings.job_db_path, base_url=settings.resolved_base_url, lease_seconds=settings.lease_seconds
        )
    from bailian_mcp.jobs.store_postgres import PostgresJobStore

    return await PostgresJobStore.open(url, base_url=settings.resolved_base_url, lease_seconds=settings.lease_seconds)


def check_store(settings: Settings) -> None:
    """Open and close the settings' job store: one that cannot be opened is said in one line, before serving."""

    async def check() -> None:
        store = await open_store(settings)
        await store.aclose()

    anyio.run(check)
