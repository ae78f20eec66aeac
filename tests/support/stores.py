"""Where a test's job store lives: the SQLite file in the data folder, or a PostgreSQL schema of its own on the
throwaway cluster `.ci/postgres.sh` starts (its URL in BAILIAN_TEST_DATABASE_URL). Without that variable the
PostgreSQL cases are skipped, except in CI (CI=true), where they must run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.jobs.store import JobStore
from bailian_mcp.jobs.store_postgres import PostgresJobStore
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from tests.support.spawned import server_env

TEST_DATABASE_VARIABLE = "BAILIAN_TEST_DATABASE_URL"
STORE_KINDS = ["sqlite", "postgres"]


@dataclass(frozen=True)
class StoreLocation:
    """One store that several processes (or store objects) open; `settings` puts a server on it."""

    kind: str
    path: Path
    url: str | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"database_url": self.url} if self.url else {}

    @property
    def environment(self) -> dict[str, str]:
        return {"BAILIAN_DATABASE_URL": self.url} if self.url else {}

    async def open(self, **options: Any) -> JobStore:
        if self.url:
            return await PostgresJobStore.open(self.url, **options)
        return SQLiteJobStore(self.path, **options)


def database_url() -> str:
    url = os.environ.get(TEST_DATABASE_VARIABLE)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{TEST_DATABASE_VARIABLE} is not set: .ci/run starts a PostgreSQL cluster and sets it")
    pytest.skip(f"no PostgreSQL: set {TEST_DATABASE_VARIABLE} (bash .ci/postgres.sh start prints one)")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections work in a fresh schema of the test database, dropped afterwards."""
    import psycopg

    base = database_url()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def store_location(kind: str, folder: Path) -> Iterator[StoreLocation]:
    path = folder / "data" / "jobs.sqlite3"
    if kind == "sqlite":
        yield StoreLocation(kind, path)
        return
    with postgres_schema() as url:
        yield StoreLocation(kind, path, url)


def spawned_env(tmp_path: Path, emulator: RunningEmulator, store_at: StoreLocation, **extra: str) -> dict[str, str]:
    """A server process of its own on the shared store."""
    return {
        **server_env(tmp_path),
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_BASE_URL": emulator.base_url,
        "BAILIAN_DATA_DIR": str(store_at.path.parent),
        "BAILIAN_OUTPUT_DIR": str(tmp_path / "out-a"),
        **store_at.environment,
        **extra,
    }
