"""`bailian-mcp batch`: the brief's example, every capability, all problems at once, resumption, rate limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.batch.checks import fingerprint
from bailian_mcp.batch.file import BatchFileError, read_batch
from bailian_mcp.batch.report import BatchReport
from bailian_mcp.capabilities.text_to_image import TextToImageParams
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from tests.support.commands import cli
from tests.support.emulators import api_requests
from tests.support.media import write_png

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tasks.json"


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def read_report(path: Path) -> BatchReport:
    return BatchReport.model_validate_json(path.read_text(encoding="utf-8"))


def posts(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """Every request that created something (a task, a generation): not uploads, not cancellations, and not a
    submission the emulator throttled (429: a new run's client does not know the previous run's pace)."""
    return [
        r
        for r in emulator.state.requests
        if ((r["method"] == "POST" and "/services/" in r["path"]) or r["method"] == "WEBSOCKET") and r["status"] != 429
    ]


# ---------------------------------------------------------------------------------------------------- the brief's file


def test_the_briefs_example_runs_and_the_10_second_video_fails_alone(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = Path(shutil.copy(EXAMPLE, env / "tasks.json"))
    assert cli("batch", str(tasks)) == 4
    out, err = capsys.readouterr()
    problems = err.split("▶")[0]  # reported before anything runs
    assert "1 of 3 task(s) are invalid" in problems
    assert "#2 video_tasks[0] text_to_video wan2.1-t2v-plus: Invalid duration=10" in problems
    assert "5-second clips only" in problems
    assert "3 task(s): 2 succeeded, 1 invalid." in out and f"Report: {env / 'tasks.report.json'}" in out

    report = read_report(env / "tasks.report.json")
    image, text, video = report.tasks
    assert (image.source, image.status, image.ok, image.outcome) == ("image_tasks[0]", "SUCCEEDED", True, "submitted")
    assert len(image.outputs) == 2 and all(Path(o.path or "").is_file() for o in image.outputs)
    assert image.task_id and image.job_id and image.cost and image.cost.amount == pytest.approx(0.28)
    assert text.status == "SUCCEEDED" and text.text and "write product copy" in text.text
    assert video.status == "INVALID" and video.error and "5-second clips only" in video.error.message
    assert video.job_id is None and video.outcome == "invalid"
    assert (report.totals.succeeded, report.totals.invalid, report.totals.failed) == (2, 1, 0)
    assert api_requests(emulator, "POST", "video") == []
    assert (
        len(api_requests(emulator, "POST", "text2image")) == 1 and len(api_requests(emulator, "POST", "text-gen")) == 1
    )


def test_json_prints_the_report(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = Path(shutil.copy(EXAMPLE, env / "tasks.json"))
    report_path = env / "reports" / "run.json"
    assert cli("batch", str(tasks), "--json", "--report", str(report_path)) == 4
    printed = BatchReport.model_validate_json(capsys.readouterr().out)
    assert printed.report == str(report_path) and read_report(report_path).tasks == printed.tasks


def test_running_the_file_again_reuses_every_finished_task(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = Path(shutil.copy(EXAMPLE, env / "tasks.json"))
    assert cli("batch", str(tasks)) == 4
    first = read_report(env / "tasks.report.json")
    sent = len(posts(emulator))
    assert sent == 2

    assert cli("batch", str(tasks)) == 4
    second = read_report(env / "tasks.report.json")
    assert len(posts(emulator)) == sent  # nothing submitted twice
    assert [t.outcome for t in second.tasks] == ["reused", "reused", "invalid"]
    assert [t.job_id for t in second.tasks] == [t.job_id for t in first.tasks]
    assert second.tasks[0].outputs == first.tasks[0].outputs and second.tasks[1].text == first.tasks[1].text
    assert "This run: 2 reused." in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0.05, running_seconds=1.0)])
def test_a_batch_left_running_is_resumed_without_a_second_submission(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(
        env / "tasks.json",
        {
            "image_tasks": [{"prompt": "a lighthouse"}, {"prompt": "a windmill"}],
            "video_tasks": [{"prompt": "waves", "model": "wan2.1-t2v-turbo"}],
        },
    )
    assert cli("batch", str(tasks), "--wait", "0.2") == 4  # the wait runs out: all three still running
    first = read_report(env / "tasks.report.json")
    assert first.totals.running == 3 and all(t.job_id and t.task_id for t in first.tasks)
    assert "Run the same command again" in capsys.readouterr().out

    assert cli("batch", str(tasks)) == 0
    second = read_report(env / "tasks.report.json")
    assert [t.outcome for t in second.tasks] == ["resumed"] * 3 and second.totals.succeeded == 3
    assert [t.task_id for t in second.tasks] == [t.task_id for t in first.tasks]
    assert len(posts(emulator)) == 3  # one submission per task, across both runs


# ------------------------------------------------------------------------------------------ file format, validation


def test_every_capability_can_be_batched(
    env: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_png(env / "photo.png", (640, 480))
    write_png(env / "room.png", (600, 600))
    tasks = write(
        env / "tasks.json",
        {
            "_note": "keys starting with _ are ignored",
            "edit_image_tasks": [{"image": "photo.png", "prompt": "make it blue"}],  # relative to the file
            "wanx_edit_image_tasks": [
                {"function": "colorization", "prompt": "colour it", "base_image_url": "room.png"}
            ],
            "tasks": [
                {"capability": "text_to_speech", "text": "Good morning.", "model": "sambert-en-v1"},
                {"capability": "text2image", "prompt": "a kite", "size": "768*768"},
                {"capability": "text_to_text", "prompt": "hello", "model": "qwen-turbo"},
            ],
        },
    )
    monkeypatch.chdir("/")
    assert cli("batch", str(tasks)) == 0
    report = read_report(env / "tasks.report.json")
    assert [t.capability for t in report.tasks] == [
        "edit_image",
        "wanx_edit_image",
        "text_to_speech",
        "text_to_image",
        "text_to_text",
    ]
    assert all(t.ok for t in report.tasks) and report.totals.succeeded == 5
    assert report.tasks[0].source == "edit_image_tasks[0]" and report.tasks[2].source == "tasks[0]"
    assert report.tasks[2].outputs[0].kind == "audio"


def test_every_invalid_task_is_reported_at_once_and_the_valid_one_runs(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(
        env / "tasks.json",
        {
            "image_tasks": [
                {"prompt": "ok"},
                {"prompt": "x", "size": "4000*4000"},
                {"prompt": "x", "model": "qwen-image", "n": 2},
                {"promt": "typo"},
                "a string",
            ],
            "tasks": [{"prompt": "no capability"}, {"capability": "paint", "prompt": "x"}],
            "text_tasks": [{"prompt": "hi", "temperature": 5}],
        },
    )
    assert cli("batch", str(tasks)) == 4
    err = capsys.readouterr().err
    assert "7 of 8 task(s) are invalid and will not be sent:" in err
    for expected in (
        "#1 image_tasks[1] text_to_image: Invalid size='4000*4000'",
        "#2 image_tasks[2] text_to_image qwen-image: Invalid n=2",
        "#3 image_tasks[3] text_to_image: Missing prompt: this parameter is required. Invalid promt='typo': "
        "there is no such parameter",
        "#4 image_tasks[4] text_to_image: a task is a JSON object of parameters, not str",
        "#5 tasks[0] ?: Missing capability",
        "#6 tasks[1] ?: Invalid capability='paint'",
        "#7 text_tasks[0] text_to_text: Invalid temperature=5",
    ):
        assert expected in err
    report = read_report(env / "tasks.report.json")
    assert report.tasks[0].ok and [t.status for t in report.tasks[1:]] == ["INVALID"] * 7
    assert len(posts(emulator)) == 1


def test_a_file_of_only_invalid_tasks_exits_2_and_sends_nothing(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(env / "tasks.json", {"video_tasks": [{"prompt": "sunrise", "duration": 10}]})
    assert cli("batch", str(tasks)) == 2
    assert "Invalid duration=10" in capsys.readouterr().err
    assert emulator.state.requests == [] and read_report(env / "tasks.report.json").totals.invalid == 1


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"imgae_tasks": []}', "unknown key 'imgae_tasks'"),
        ('{"image_tasks": {"prompt": "x"}}', "'image_tasks' must be a list of tasks"),
        ("[1, 2]", "must hold a JSON object of task lists"),
        ('{"image_tasks": [}', "is not valid JSON (line 1"),
        ('{"image_tasks": []}', "holds no tasks"),
    ],
)
def test_a_file_that_is_not_a_batch_exits_2(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], content: str, named: str
) -> None:
    (env / "tasks.json").write_text(content, encoding="utf-8")
    assert cli("batch", str(env / "tasks.json")) == 2
    assert named in capsys.readouterr().err and emulator.state.requests == []


def test_a_missing_file_exits_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("batch", str(env / "none.json")) == 2
    assert "Cannot read the batch file" in capsys.readouterr().err


def test_dry_run_sends_nothing_and_tells_what_would_happen(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(env / "tasks.json", {"image_tasks": [{"prompt": "a cat"}], "text_tasks": [{"prompt": "hi"}]})
    assert cli("batch", str(tasks), "--dry-run") == 0
    planned = capsys.readouterr().out
    assert planned.count("would submit") == 2 and emulator.state.requests == []
    assert "would submit, 0.14 CNY" in planned and "would submit, price known once done" in planned
    assert "Would cost 0.14 CNY (1 priced tasks; 1 more priced only once done)." in planned
    assert cli("batch", str(tasks)) == 0
    capsys.readouterr()
    assert cli("batch", str(tasks), "--dry-run") == 0
    assert capsys.readouterr().out.count("would reuse job") == 2


# ---------------------------------------------------------------------------------------------------- fingerprints


def test_identical_tasks_are_separate_jobs_and_each_is_resumed(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(env / "tasks.json", {"text_tasks": [{"prompt": "a haiku"}, {"prompt": "a haiku"}]})
    assert cli("batch", str(tasks)) == 0
    first = read_report(env / "tasks.report.json")
    assert first.tasks[0].job_id != first.tasks[1].job_id and len(posts(emulator)) == 2

    # Reordered, with a new task first and the defaults written out: the two haikus are still the same tasks.
    write(
        env / "tasks.json",
        {"text_tasks": [{"prompt": "a limerick"}, {"prompt": "a haiku", "max_tokens": 1500}, {"prompt": "a haiku"}]},
    )
    assert cli("batch", str(tasks)) == 0
    second = read_report(env / "tasks.report.json")
    assert [t.outcome for t in second.tasks] == ["submitted", "reused", "reused"]
    assert {t.job_id for t in second.tasks[1:]} == {t.job_id for t in first.tasks}
    assert len(posts(emulator)) == 3


def test_fingerprints_are_stable_and_scoped() -> None:
    def fp(scope: str = "/a/tasks.json", occurrence: int = 0, **params: Any) -> str:
        return fingerprint(
            scope=scope,
            base_url="https://dashscope.aliyuncs.com/api/v1",
            capability="text_to_image",
            params=TextToImageParams.model_validate({"prompt": "cat", **params}),
            occurrence=occurrence,
        )

    assert fp() == fp(n=1, watermark=False) and fp().startswith("batch:")
    assert len({fp(), fp(n=2), fp(occurrence=1), fp(scope="/b/tasks.json")}) == 4


@pytest.mark.slow
def test_a_failed_task_is_reused_unless_retry_failed(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(env / "tasks.json", {"image_tasks": [{"prompt": "[emulator:fail] a cat"}, {"prompt": "a dog"}]})
    assert cli("batch", str(tasks)) == 4
    assert read_report(env / "tasks.report.json").tasks[0].status == "FAILED"
    assert cli("batch", str(tasks)) == 4
    assert len(posts(emulator)) == 2
    assert cli("batch", str(tasks), "--retry-failed") == 4
    report = read_report(env / "tasks.report.json")
    assert [t.outcome for t in report.tasks] == ["submitted", "reused"] and len(posts(emulator)) == 3


@pytest.mark.slow
def test_a_task_the_service_refuses_fails_alone_and_is_submitted_again_next_time(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write(env / "tasks.json", {"image_tasks": [{"prompt": "[emulator:inspect] x"}, {"prompt": "a dog"}]})
    assert cli("batch", str(tasks)) == 4
    refused = read_report(env / "tasks.report.json").tasks[0]
    assert refused.status == "REJECTED" and refused.error and refused.error.code == "DataInspectionFailed"
    assert refused.job_id  # on record, with nothing created
    assert cli("batch", str(tasks)) == 4  # REJECTED created nothing: sent again (and refused again)
    assert len([r for r in posts(emulator) if "[emulator:inspect]" in r["body"]["input"]["prompt"]]) == 2
    assert len(posts(emulator)) == 3


def test_read_batch_orders_tasks_as_in_the_file(tmp_path: Path) -> None:
    tasks = read_batch(
        write(tmp_path / "t.json", {"text_tasks": [{"prompt": "a"}], "image_tasks": [{"prompt": "b"}, {"prompt": "c"}]})
    )
    assert [(t.index, t.source) for t in tasks] == [(0, "text_tasks[0]"), (1, "image_tasks[0]"), (2, "image_tasks[1]")]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"text_tasks": [{"prompt": "hi"}]}'.encode("utf-16"), "is not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nests JSON too deeply"),
        (b'{"text_tasks": [' + b'{"prompt": "hi"},' * 1_200_000 + b"]}", "too large for a batch file"),
    ],
    ids=["utf-16", "binary", "deep", "huge"],
)
def test_a_file_that_cannot_be_a_batch_is_refused_saying_why(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "tasks.json"
    path.write_bytes(content)
    with pytest.raises(BatchFileError, match=says) as refused:
        read_batch(path)
    assert str(path) in str(refused.value) and "Nothing was sent" in str(refused.value)


# ---------------------------------------------------------------------------------------------------- limits


# Tasks take longer (1.2 s) than the gap between two submissions (0.55 s at 2 per second), so without the
# per-model limit a third task would be submitted while two are still running.
@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0.05, running_seconds=1.2, submit_rps=2)])
def test_a_large_batch_keeps_to_the_rate_and_concurrency_limits(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 12
    tasks = write(
        env / "tasks.json", {"image_tasks": [{"prompt": f"tile {i}", "size": "512*512"} for i in range(count)]}
    )
    assert cli("batch", str(tasks), "--concurrency", "8") == 0
    assert read_report(env / "tasks.report.json").totals.succeeded == count

    log = emulator.state.requests
    submissions = [r for r in log if r["method"] == "POST" and "text2image" in r["path"]]
    assert len(submissions) == count and all(r["status"] == 200 for r in submissions)  # no 429
    assert not any(r["status"] == 429 for r in log)
    # In flight when each task was submitted: submitted so far minus tasks whose last status poll came before.
    last_poll: dict[str, float] = {}
    for r in log:
        if r["method"] == "GET" and r["path"].startswith("/api/v1/tasks/"):
            last_poll[r["path"]] = r["time"]
    in_flight = [
        number - sum(1 for finished in last_poll.values() if finished < post["time"])
        for number, post in enumerate(submissions, start=1)
    ]
    assert max(in_flight) == 2  # wan2.2-t2i-flash's concurrency (catalog), although --concurrency is 8
    # Submissions per second: never more than the model's rate in any one-second window.
    times = [r["time"] for r in submissions]
    assert all(sum(1 for t in times if start <= t < start + 1.0) <= 2 for start in times)


def test_a_command_prices_a_dry_run_and_sends_a_costly_call_only_when_confirmed(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    video = ["text2video", "--prompt", "a cat", "--model", "wan2.5-t2v-preview", "--duration", "10", "--wait", "0"]
    assert cli(*video, "--dry-run", "--json") == 0
    priced = json.loads(capsys.readouterr().out)
    assert priced["status"] == "DRY_RUN" and priced["cost"]["amount"] == 10.0 and emulator.state.requests == []
    monkeypatch.setenv("BAILIAN_CONFIRM_ABOVE_CNY", "5")
    assert cli(*video) == 2
    assert "run the command again with --confirm" in capsys.readouterr().err and posts(emulator) == []
    assert cli(*video, "--confirm") == 4  # sent, still running
    assert len(posts(emulator)) == 1
