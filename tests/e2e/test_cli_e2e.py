"""The command line as a user runs it: a separate process, the brief's commands and example file, Ctrl-C, a terminal.

The process builds the full `bailian-mcp` parser (cli.build_parser) with the subcommands added the
way cli.py adds them, so these tests hold before and after cli.py calls `add_commands` itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.batch.report import BatchReport
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from tests.support.emulators import api_requests

pytestmark = pytest.mark.slow

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and terminals")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tasks.json"

BAILIAN_MCP = """
import argparse, sys
from bailian_mcp.cli import build_parser
from bailian_mcp.cli.commands import add_commands, command_names, run_command
parser = build_parser()
commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
if "batch" not in commands.choices:
    add_commands(commands)
args = parser.parse_args()
sys.exit(run_command(args) if args.command in command_names() else "not a command these tests run")
"""


def command(*args: str) -> list[str]:
    return [sys.executable, "-c", BAILIAN_MCP, *args]


@pytest.fixture
def user_env(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DASHSCOPE_API_KEY", "DASHSCOPE_BASE_URL")}
    env.update(BAILIAN_DATA_DIR=str(tmp_path / "data"), BAILIAN_OUTPUT_DIR=str(tmp_path / "out"))
    return env


@pytest.fixture
def service_env(user_env: dict[str, str], emulator: RunningEmulator) -> dict[str, str]:
    return {**user_env, "DASHSCOPE_BASE_URL": emulator.base_url, "DASHSCOPE_API_KEY": "sk-test"}


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def submissions(emulator: RunningEmulator, path_part: str = "/services/") -> list[dict[str, Any]]:
    """The requests that created something (a throttled submission, 429, created nothing and was retried)."""
    return [r for r in api_requests(emulator, "POST", path_part) if r["status"] != 429]


def test_the_briefs_commands_as_typed(service_env: dict[str, str], emulator: RunningEmulator) -> None:
    image = run(
        "text2image", "未来城市", "--model", "wan2.2-t2i-flash", "--size", "1440*810", "--n", "2", env=service_env
    )
    assert image.returncode == 0, image.stderr
    assert "Generated 2 image(s), saved 2 locally." in image.stdout and "Traceback" not in image.stderr
    assert image.stderr == ""  # no progress display when stderr is not a terminal

    text = run("text2text", "write a tech article", "--model", "qwen-turbo", env=service_env)
    assert text.returncode == 0 and text.stdout.startswith('You asked: "write a tech article"')

    video = run("text2video", "sunrise time-lapse", "--model", "wan2.1-t2v-plus", "--duration", "10", env=service_env)
    assert video.returncode == 2 and video.stdout == ""
    assert "Invalid duration=10: wan2.1-t2v-plus makes 5-second clips only" in video.stderr
    assert [r["path"].rsplit("/", 1)[-1] for r in submissions(emulator)] == ["image-synthesis", "generation"]


def test_the_built_in_emulator(user_env: dict[str, str]) -> None:
    done = run("--emulator", "text2text", "hello", "--model", "qwen-turbo", "--json", env=user_env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "SUCCEEDED" and "built-in DashScope emulator" in done.stderr


def test_the_briefs_batch_file_run_twice_submits_each_task_once(
    service_env: dict[str, str], emulator: RunningEmulator, tmp_path: Path
) -> None:
    tasks = Path(shutil.copy(EXAMPLE, tmp_path / "tasks.json"))
    for _ in range(2):
        done = run("batch", "tasks.json", env=service_env, cwd=tmp_path)
        assert done.returncode == 4, done.stderr
        assert "Invalid duration=10: wan2.1-t2v-plus makes 5-second clips only" in done.stderr
        assert "2 succeeded, 1 invalid" in done.stdout
    report = BatchReport.model_validate_json((tmp_path / "tasks.report.json").read_text())
    assert report.file == str(tasks) and [t.outcome for t in report.tasks] == ["reused", "reused", "invalid"]
    assert len(submissions(emulator, "text2image")) == 1
    assert len(submissions(emulator, "text-generation")) == 1
    assert api_requests(emulator, "POST", "video") == []


def store_state(database: Path) -> tuple[int, int]:
    """(image jobs with a DashScope task id, text jobs finished), read from the job store as another process."""
    if not database.exists():
        return 0, 0
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as db:
        try:
            images = db.execute("SELECT count(*) FROM jobs WHERE capability = 'text_to_image' AND task_id IS NOT NULL")
            texts = db.execute("SELECT count(*) FROM jobs WHERE capability = 'text_to_text' AND status = 'SUCCEEDED'")
            return int(images.fetchone()[0]), int(texts.fetchone()[0])
        except sqlite3.OperationalError:  # the store is being created
            return 0, 0


# Interrupted once two image submissions are on record and the text is done. (Interrupted during a submission
# instead, the job is SUBMIT_UNCERTAIN: it may exist on DashScope, so it is neither followed nor sent again.)
@POSIX_ONLY
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0, running_seconds=1.5)])
def test_an_interrupted_batch_resumes_without_a_second_submission(
    service_env: dict[str, str], emulator: RunningEmulator, tmp_path: Path
) -> None:
    prompts = [f"poster {i}" for i in range(4)]
    (tmp_path / "tasks.json").write_text(
        json.dumps({"image_tasks": [{"prompt": p} for p in prompts], "text_tasks": [{"prompt": "a slogan"}]})
    )
    process = subprocess.Popen(
        command("batch", str(tmp_path / "tasks.json")),
        env=service_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while store_state(tmp_path / "data" / "jobs.sqlite3") != (2, 1):  # two images running (the model's limit)
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    interrupted = BatchReport.model_validate_json((tmp_path / "tasks.report.json").read_text())
    assert interrupted.interrupted
    started = [t for t in interrupted.tasks if t.job_id and not t.done]
    assert len(started) == 2 and all(t.task_id for t in started), interrupted.model_dump_json(indent=1)

    done = run("batch", str(tmp_path / "tasks.json"), env=service_env)
    assert done.returncode == 0, done.stderr
    report = BatchReport.model_validate_json((tmp_path / "tasks.report.json").read_text())
    assert report.totals.succeeded == 5 and report.totals.resumed == 2, report.model_dump_json(indent=1)
    for task in started:
        assert report.tasks[task.index].task_id == task.task_id and report.tasks[task.index].outcome == "resumed"
    sent = [r["body"]["input"]["prompt"] for r in submissions(emulator, "text2image")]
    assert sorted(sent) == prompts  # each image submitted once, over both runs
    assert len(submissions(emulator, "text-generation")) == 1


@POSIX_ONLY
def test_a_terminal_gets_a_live_progress_line(service_env: dict[str, str]) -> None:
    import pty

    controller, terminal = pty.openpty()
    env = {**service_env, "TERM": "xterm-256color", "COLUMNS": "120"}
    process = subprocess.Popen(
        command("text2image", "a paper crane"), env=env, stdout=subprocess.PIPE, stderr=terminal, text=True
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    out, _ = process.communicate(timeout=30)
    os.close(controller)
    assert process.returncode == 0 and "Generated 1 image(s)" in out
    display = seen.decode("utf-8", "replace")
    assert "text_to_image · wan2.2-t2i-flash" in display and "0:00:0" in display  # spinner line with elapsed time
    assert "Saving image 1 of 1." in display  # the runner's progress messages
