"""The job store's schema, as numbered migrations that both stores (SQLite, PostgreSQL) run in order.

The SQL is written once for both: types both understand (``DOUBLE PRECISION`` is REAL to SQLite), and statements
both accept. A store records the last migration it ran in ``schema_version``; opening a store runs the ones after
it in one transaction, so that two processes opening a store at once do not both migrate it. Stores made before
the versions were numbered have no ``schema_version``: their version is read from their columns.
"""

from __future__ import annotations

from collections.abc import Collection

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: jobs and the upload cache
    (
        """CREATE TABLE IF NOT EXISTS jobs (
            job_id        TEXT PRIMARY KEY,
            capability    TEXT NOT NULL,
            model         TEXT NOT NULL,
            status        TEXT NOT NULL,
            task_id       TEXT UNIQUE,
            base_url      TEXT NOT NULL,
            params_json   TEXT NOT NULL,
            request_json  TEXT NOT NULL,
            fingerprint   TEXT,
            created_at    DOUBLE PRECISION NOT NULL,
            submitted_at  DOUBLE PRECISION,
            updated_at    DOUBLE PRECISION NOT NULL,
            finished_at   DOUBLE PRECISION,
            result_json   TEXT,
            error_json    TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at)",
        "CREATE INDEX IF NOT EXISTS jobs_fingerprint ON jobs (fingerprint)",
        """CREATE TABLE IF NOT EXISTS uploads (
            sha256      TEXT NOT NULL,
            model       TEXT NOT NULL,
            base_url    TEXT NOT NULL,
            url         TEXT NOT NULL,
            expires_at  DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (sha256, model, base_url)
        )""",
    ),
    # 2: jobs made of several DashScope tasks (each task a job row of its own, pointing at its parent)
    (
        "ALTER TABLE jobs ADD COLUMN parent_id TEXT",
        "ALTER TABLE jobs ADD COLUMN part INTEGER",
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_parent ON jobs (parent_id, part)",
    ),
    # 3: holds on jobs (the process working on one, until when), pacing shared by every process, batch claims
    (
        "ALTER TABLE jobs ADD COLUMN owner TEXT",
        "ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION",
        "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner)",
        """CREATE TABLE IF NOT EXISTS pacing (
            bucket     TEXT PRIMARY KEY,
            next_free  DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS claims (
            fingerprint  TEXT NOT NULL,
            replaces     TEXT NOT NULL,
            owner        TEXT NOT NULL,
            until        DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (fingerprint, replaces)
        )""",
    ),
    # 4: duties one process at a time does for all (polling an account's tasks), and the polls asked of it
    (
        """CREATE TABLE IF NOT EXISTS duties (
            duty   TEXT PRIMARY KEY,
            owner  TEXT NOT NULL,
            until  DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS polls (
            task_id        TEXT PRIMARY KEY,
            scope          TEXT NOT NULL,
            asked          INTEGER NOT NULL,
            answered       INTEGER NOT NULL,
            asked_at       DOUBLE PRECISION NOT NULL,
            snapshot_json  TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS polls_scope ON polls (scope)",
    ),
    # 5: what a job was quoted before it was sent, and what it cost (CNY), for the daily budget
    (
        "ALTER TABLE jobs ADD COLUMN quoted_cny DOUBLE PRECISION",
        "ALTER TABLE jobs ADD COLUMN cost_cny DOUBLE PRECISION",
    ),
)

LATEST = len(MIGRATIONS)
VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


def unnumbered_version(job_columns: Collection[str]) -> int:
    """The version of a store made before versions were recorded, from its jobs table's columns (none: empty)."""
    if not job_columns:
        return 0
    return 2 if "parent_id" in job_columns else 1


def pending(version: int) -> list[str]:
    """The statements that bring a store at `version` up to date, in order."""
    return [statement for migration in MIGRATIONS[version:] for statement in migration]


class NewerSchemaError(Exception):
    """The store was made by a newer bailian-mcp (its schema has migrations this one does not know)."""


def check_known(version: int) -> None:
    if version > LATEST:
        raise NewerSchemaError(f"its schema is version {version}; this bailian-mcp knows versions up to {LATEST}")
