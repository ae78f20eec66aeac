"""A job store that cannot be opened (garbage, a truncated database, a folder in its place, a data folder that is a
file): one line naming the file, SQLite's reason and the ways out, exit code 2, and the file left untouched — for
the server and for the command line alike."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from bailian_mcp.jobs.store import JobStoreUnavailableError
from bailian_mcp.jobs.store_postgres import PostgresJobStore
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from tests.support.spawned import ENTRY_POINT, free_port, server_env


def garbage(store: Path) -> Path:
    store.write_bytes(b"this is not a database, whatever its name says " * 100)
    return store


def truncated(store: Path) -> Path:
    with closing(sqlite3.connect(store)) as db, db:
        db.execute("CREATE TABLE filler (x TEXT)")
        db.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    store.write_bytes(store.read_bytes()[:6000])
    return store


def a_folder(store: Path) -> Path:
    store.mkdir()
    return store


def data_dir_is_a_file(store: Path) -> Path:
    store.parent.rmdir()
    store.parent.write_text("not a folder")
    return store.parent


DAMAGE: dict[str, Callable[[Path], Path]] = {
    "garbage": garbage,
    "truncated": truncated,
    "a folder": a_folder,
    "data dir is a file": data_dir_is_a_file,
}


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_the_store_says_which_file_and_what_to_do(tmp_path: Path, damage: str) -> None:
    store = tmp_path / "data" / "jobs.sqlite3"
    store.parent.mkdir()
    damaged = DAMAGE[damage](store)
    before = fingerprint(damaged)
    with pytest.raises(JobStoreUnavailableError) as raised:
        SQLiteJobStore(store)
    message = str(raised.value)
    assert str(store) in message and "BAILIAN_DATA_DIR" in message and "mv " in message and "\n" not in message
    assert fingerprint(damaged) == before


@pytest.mark.slow
@pytest.mark.parametrize("command", [[], ["task", "list"]], ids=["serve", "task list"])
def test_server_and_command_line_stop_with_one_line_and_exit_code_2(tmp_path: Path, command: list[str]) -> None:
    store = tmp_path / "data" / "jobs.sqlite3"
    store.parent.mkdir()
    garbage(store)
    before = fingerprint(store)
    run = subprocess.run(
        [ENTRY_POINT, "--emulator", *command],
        env=server_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = [line for line in run.stderr.splitlines() if "emulator at" not in line]  # the --emulator notice
    assert run.returncode == 2 and len(said) == 1, run.stderr
    assert str(store) in said[0] and "file is not a database" in said[0]
    assert fingerprint(store) == before and not store.with_name("jobs.sqlite3-wal").exists()


async def test_a_database_that_cannot_be_reached_is_said_in_one_line_without_its_password() -> None:
    url = f"postgresql://alice:s3cret@127.0.0.1:{free_port()}/jobs"
    with pytest.raises(JobStoreUnavailableError) as raised:
        await PostgresJobStore.open(url)
    said = str(raised.value)
    assert "s3cret" not in said and "\n" not in said
    assert said.startswith(f"The job store postgresql://alice:***@127.0.0.1:{url.rsplit(':', 1)[1]} cannot be opened")
    assert "BAILIAN_DATABASE_URL" in said
