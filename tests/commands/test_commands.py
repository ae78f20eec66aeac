"""The subcommands (`bailian_mcp.cli.commands`) run in-process against the emulator: output, --json, exit codes."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.text_to_image import TextToImageParams
from bailian_mcp.cli.options import DEST_PREFIX, add_model_options, collect, field_options
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.jobs.results import JobResult, TaskList
from tests.support.commands import cli, make_parser
from tests.support.emulators import api_requests
from tests.support.media import write_png, write_wav


def result_json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    JobResult.model_validate(data)
    return data


# ---------------------------------------------------------------------------------------------------- options


@pytest.mark.parametrize(("command", "capability"), [(c.command, c.name) for c in CAPABILITIES.values()])
def test_every_params_field_of_every_capability_has_an_option(command: str, capability: str) -> None:
    commands = next(a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    actions = {action.dest: action for action in sub._actions}
    model = CAPABILITIES[capability].params_model
    positional = [a for a in sub._actions if not a.option_strings and a.dest.startswith(DEST_PREFIX)]
    assert len(positional) == 1
    for name, field in model.model_fields.items():
        action = actions[DEST_PREFIX + name]
        if action.option_strings:
            assert action.option_strings[0] == "--" + name.replace("_", "-")
        assert action.default is None  # the model's default applies (and is shown in the help)
        assert (field.description or "")[:20].replace("%", "%%") in (action.help or "")
        if not field.is_required() and field.default not in (None, ""):
            expected = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
            assert f"(default: {expected})" in (action.help or "")
    assert CAPABILITIES[capability].params_model.model_fields.keys() == {
        dest.removeprefix(DEST_PREFIX) for dest in actions if dest.startswith(DEST_PREFIX)
    }


def test_option_shapes_follow_the_field_types() -> None:
    shapes = {c: {o.name: o for o in field_options(CAPABILITIES[c].params_model)} for c in CAPABILITIES}
    assert shapes["text_to_image"]["prompt"].positional and shapes["text_to_image"]["watermark"].kind == "flag"
    assert shapes["text_to_image"]["n"].number is int and shapes["text_to_text"]["temperature"].number is float
    assert shapes["text_to_speech"]["format"].choices == ("wav", "mp3", "pcm")
    assert shapes["wanx_edit_image"]["function"].kind == "choice" and shapes["wanx_edit_image"]["prompt"].positional
    assert shapes["edit_image"]["image"].kind == "list" and shapes["edit_image"]["prompt"].positional
    assert shapes["speech_to_text"]["audio"].positional and shapes["speech_to_text"]["audio"].kind == "list"
    assert shapes["text_to_text"]["messages"].kind == "json" and shapes["text_to_text"]["stop"].one_or_many
    parser = make_parser()
    args = parser.parse_args(["text2image", "cat", "--no-prompt-extend", "--n", "3", "--seed", "seven"])
    options = field_options(TextToImageParams)
    assert collect(args, options) == {"prompt": "cat", "prompt_extend": False, "n": 3, "seed": "seven"}


def test_a_field_added_to_a_params_model_becomes_an_option() -> None:
    class Extended(TextToImageParams):
        style: str | None = Field(None, description="A new parameter.")
        tags: list[str] = Field(default_factory=list, description="Labels.")

    parser = argparse.ArgumentParser()
    options = add_model_options(parser, Extended)
    args = parser.parse_args(["a cat", "--style", "ink", "--tags", "a", "--tags", "b"])
    assert collect(args, options) == {"prompt": "a cat", "style": "ink", "tags": ["a", "b"]}
    assert "A new parameter." in parser.format_help()


# ---------------------------------------------------------------------------------------------------- text2image


def test_text2image_the_briefs_command(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli("text2image", "未来城市", "--model", "wan2.2-t2i-flash", "--size", "1440*810", "--n", "2")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # no progress display: stderr is not a terminal
    assert "SUCCEEDED: Generated 2 image(s), saved 2 locally." in out
    assert "Cost: 0.28 CNY" in out and "1440×810" in out
    paths = [line.split()[2] for line in out.splitlines() if line.startswith("- #")]
    assert len(paths) == 2 and all(Path(p).is_file() and p.startswith(str(env / "out")) for p in paths)
    (sent,) = api_requests(emulator, "POST", "text2image")
    assert sent["body"]["input"]["prompt"] == "未来城市"
    assert sent["body"]["parameters"] == {"size": "1440*810", "n": 2, "prompt_extend": True, "watermark": False}


def test_text2image_json_prints_the_job_result_only(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli("text2image", "a red lantern", "--json", "--no-prompt-extend", "--seed", "42")
    out, _ = capsys.readouterr()
    assert code == 0
    data = result_json(out)
    assert data["status"] == "SUCCEEDED" and data["done"] and len(data["outputs"]) == 1
    assert data["cost"]["amount"] == pytest.approx(0.14)


def test_the_built_in_emulator_option(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("BAILIAN_DATA_DIR", str(tmp_path / "data"))
    assert cli("text2text", "hello", "--model", "qwen-turbo", "--emulator", "--json") == 0
    out, err = capsys.readouterr()
    assert (
        result_json(out)["status"] == "SUCCEEDED" and "Using the built-in DashScope emulator at http://127.0.0.1" in err
    )


def test_output_dir_option(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("text2image", "a boat", "--output-dir", str(env / "elsewhere"), "--json") == 0
    (output,) = result_json(capsys.readouterr().out)["outputs"]
    assert output["path"].startswith(str(env / "elsewhere"))


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["text2image", "x", "--n", "9"], "Invalid n=9: input should be less than or equal to 6"),
        (["text2image", "x", "--model", "wan2.2-t2i-flsh"], "did you mean 'wan2.2-t2i-flash'"),
        (["text2image", "x", "--model", "qwen-image", "--n", "2"], "qwen-image makes at most 1 image"),
        (["text2image", "--n", "2"], "Missing prompt: this parameter is required"),
        (["text2image", "x", "--seed", "seven"], "Invalid seed='seven'"),
        (["text2video", "sunrise time-lapse", "--model", "wan2.1-t2v-plus", "--duration", "10"], "5-second clips"),
        (["text2text", "hi", "--temperature", "2"], "temperature must be in [0, 2)"),
        (["text2text", "hi", "--messages", "[{"], "Invalid messages"),
        (["asr"], "Missing audio: this parameter is required"),
        (["edit-image", "make it blue"], "Missing image: this parameter is required"),
    ],
)
def test_bad_input_exits_2_with_the_tools_message_and_sends_nothing(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    assert cli(*argv) == 2
    out, err = capsys.readouterr()
    assert named in err and "Nothing was sent to DashScope." in err and out == ""
    assert api_requests(emulator) == []


def test_bad_input_with_json_prints_an_error_object(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("text2image", "x", "--n", "0", "--json") == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["type"] == "InputError" and "Invalid n=0" in error["message"]


def test_a_missing_api_key_exits_2(
    env: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.delenv("DASHSCOPE_API_KEY")
    assert cli("text2image", "x") == 2
    assert "DASHSCOPE_API_KEY is not set" in capsys.readouterr().err


def test_an_unusable_setting_exits_2(
    env: Path, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("BAILIAN_OUTPUT_DIR", "${HOME}/pictures")
    assert cli("text2image", "x") == 2
    assert "unexpanded" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("prompt", "shown"),
    [("[emulator:fail] a cat", "InternalError"), ("[emulator:inspect] a cat", "DataInspectionFailed")],
)
def test_service_errors_exit_3(env: Path, capsys: pytest.CaptureFixture[str], prompt: str, shown: str) -> None:
    assert cli("text2image", prompt) == 3
    out, err = capsys.readouterr()
    assert shown in out + err
    if "[emulator:fail]" in prompt:  # a task that failed (a refused submission is an error, on stderr already)
        assert re.search(r"^bailian-mcp: job job_\w+ ended FAILED \(exit 3\)\.$", err, re.MULTILINE), err
    assert err.strip()


def test_a_partial_success_exits_4(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("text2image", "[emulator:partial] two cats", "--n", "2") == 4
    out, err = capsys.readouterr()
    assert "Generated 1 image(s)" in out and "1 of 2 failed" in out and "#1: failed" in out
    assert "ended SUCCEEDED in part (exit 4)." in err


# ---------------------------------------------------------------------------------------------------- video, task get


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0.1, running_seconds=0.5)])
def test_text2video_still_running_exits_4_and_task_get_finishes_it(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("text2video", "sunrise time-lapse", "--model", "wan2.1-t2v-plus", "--wait", "0") == 4
    out, err = capsys.readouterr()
    job_id = out.split("Continue with: bailian-mcp task get ")[1].split()[0]
    assert job_id.startswith("job_") and "PENDING" in out
    assert f"bailian-mcp: job {job_id} is still PENDING (exit 4)." in err

    assert cli("task", "get", job_id, "--wait", "20") == 0
    out, _ = capsys.readouterr()
    assert "SUCCEEDED" in out and ".mp4" in out and "Cost: 3.5 CNY" in out
    assert len(api_requests(emulator, "POST", "video-synthesis")) == 1

    assert cli("task", "get", job_id, "--json") == 0  # finished: the stored result, nothing re-sent
    assert result_json(capsys.readouterr().out)["status"] == "SUCCEEDED"
    assert len(api_requests(emulator, "POST", "video-synthesis")) == 1


def test_task_get_of_an_unknown_job_exits_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("task", "get", "job_nope") == 2
    assert "no job or task with this id" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- text2text


def test_text2text_prints_the_text_alone_on_stdout(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli("text2text", "write a tech article", "--model", "qwen-turbo", "--system", "Be brief.")
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith('You asked: "write a tech article".') and "Cost:" not in out
    assert "text_to_text · qwen-turbo · SUCCEEDED" in err and "Cost:" in err and "job_id=" in err
    (sent,) = api_requests(emulator, "POST", "text-generation")
    assert sent["body"]["input"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["body"]["parameters"]["max_tokens"] == 1500


def test_text2text_list_and_json_options(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    history = [{"role": "user", "content": "My name is Li."}, {"role": "assistant", "content": "Hello Li."}]
    code = cli(
        "text2text", "What is my name?", "--messages", json.dumps(history), "--stop", "END", "--stop", "\n\n", "--json"
    )
    assert code == 0
    data = result_json(capsys.readouterr().out)
    assert data["text"] and data["finish_reason"] == "stop"
    (sent,) = api_requests(emulator, "POST", "text-generation")
    assert sent["body"]["input"]["messages"][:2] == history
    assert sent["body"]["parameters"]["stop"] == ["END", "\n\n"]


def test_text2text_reads_the_prompt_from_stdin(
    env: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("summarise this file"))
    assert cli("text2text", "-", "--stop", "xyz") == 0
    assert "summarise this file" in capsys.readouterr().out
    (sent,) = api_requests(emulator, "POST", "text-generation")
    assert sent["body"]["parameters"]["stop"] == "xyz"


def test_text2text_keeps_a_partial_answer_and_exits_4(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("text2text", "[emulator:stream-error] tell me a story") == 4
    out, err = capsys.readouterr()
    assert out.strip() and "FAILED" in err and "InternalError" in err


# ---------------------------------------------------------------------------------------------------- image edits


def test_edit_image_takes_a_relative_path(
    env: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_png(env / "poster.png", (640, 480))
    monkeypatch.chdir(env)
    assert cli("edit-image", "把文字改成“开业大吉”", "--image", "poster.png") == 0
    out, _ = capsys.readouterr()
    assert "edit_image · qwen-image-edit · SUCCEEDED" in out and "640×480" in out and "Cost: 0.3 CNY" in out
    (edit,) = api_requests(emulator, "POST", "multimodal-generation")
    assert edit["body"]["input"]["messages"][0]["content"][0]["image"].startswith("oss://")


def test_edit_image_refuses_a_tiny_image(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    small = write_png(env / "small.png", (200, 200))
    assert cli("edit-image", "x", "--image", str(small)) == 2
    assert "200×200" in capsys.readouterr().err and api_requests(emulator) == []


def test_wanx_edit_expands_an_image(env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_png(env / "cactus.png", (600, 600))
    argv = ["wanx-edit", "extend the desert", "--function", "expand", "--base-image-url", str(base)]
    assert cli(*argv, "--top-scale", "1.5", "--bottom-scale", "1.5", "--json") == 0
    data = result_json(capsys.readouterr().out)
    assert (data["outputs"][0]["width"], data["outputs"][0]["height"]) == (600, 1200)
    (sent,) = api_requests(emulator, "POST", "image2image")
    assert sent["body"]["parameters"]["top_scale"] == 1.5


def test_wanx_edit_offers_the_functions_as_choices(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        make_parser().parse_args(["wanx-edit", "x", "--function", "enhance"])
    assert exited.value.code == 2
    assert "invalid choice: 'enhance'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- audio


def test_tts_then_asr(env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("tts", "你好，欢迎使用百炼。", "--model", "sambert-zhichu-v1", "--json") == 0
    speech = result_json(capsys.readouterr().out)
    (audio,) = speech["outputs"]
    assert audio["path"].endswith(".wav") and Path(audio["path"]).is_file()

    assert cli("asr", audio["path"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "你好，欢迎使用百炼。"
    assert "speech_to_text · fun-asr · SUCCEEDED" in err and "Cost:" in err


def test_asr_language_is_the_short_name_of_language_hints(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = write_wav(env / "hello.wav")
    assert cli("asr", str(recording), "--language", "en", "--json") == 0
    (sent,) = api_requests(emulator, "POST", "transcription")
    assert sent["body"]["model"] == "fun-asr" and sent["body"]["parameters"]["language_hints"] == ["en"]
    assert cli("asr", str(recording), "--language", "klingon") == 2
    assert "language_hints" in capsys.readouterr().err


def test_tts_format_choice_and_asr_partial(
    env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("tts", "Good morning.", "--model", "sambert-en-v1", "--format", "mp3", "--json") == 0
    good = result_json(capsys.readouterr().out)["outputs"][0]["path"]
    assert good.endswith(".mp3")
    missing = f"{emulator.root_url}/results/none/missing.wav"
    assert cli("asr", good, missing, "--model", "paraformer-en-v1") == 4
    out, err = capsys.readouterr()
    assert "Good morning." in out and "#1: failed" in err


# ---------------------------------------------------------------------------------------------------- task list, cancel


# Its own emulator: DashScope lists every task of the account, and the shared emulator has other tests' tasks.
@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=0.05, running_seconds=0.16)])
def test_task_list_table_and_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("text2image", "a kite", "--json") == 0
    job_id = result_json(capsys.readouterr().out)["job_id"]
    assert cli("text2text", "hello", "--model", "qwen-turbo") == 0
    capsys.readouterr()

    assert cli("task", "list") == 0
    out, _ = capsys.readouterr()
    assert job_id in out and "text_to_text" in out and "Total: 2 job(s) (2 SUCCEEDED)." in out
    assert "Total cost: 0.14" in out

    assert cli("task", "list", "--capability", "text2image", "--status", "SUCCEEDED", "--json") == 0
    listing = TaskList.model_validate_json(capsys.readouterr().out)
    assert [job.job_id for job in listing.jobs] == [job_id]


def test_task_list_refuses_an_unknown_capability(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("task", "list", "--capability", "paint") == 2
    assert "the capabilities are text_to_image" in capsys.readouterr().err


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(pending_seconds=30, running_seconds=1)])
def test_task_cancel(env: Path, emulator: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("text2image", "a slow cat", "--wait", "0", "--json") == 4
    job_id = result_json(capsys.readouterr().out)["job_id"]
    assert cli("task", "cancel", job_id) == 0
    assert "was cancelled before it ran" in capsys.readouterr().out
    assert cli("task", "cancel", job_id) == 0
    assert "nothing to cancel" in capsys.readouterr().out
    assert len(api_requests(emulator, "POST", "/cancel")) == 1
    assert cli("task", "cancel", "job_nope") == 2


# ---------------------------------------------------------------------------------------------------- models


def test_models_table_and_json(capsys: pytest.CaptureFixture[str], clean_env: pytest.MonkeyPatch) -> None:
    assert cli("models") == 0
    out, _ = capsys.readouterr()
    assert "wan2.2-t2i-flash" in out and "qwen-turbo" in out and "0.14 CNY/image" in out and "2/s, 2 at once" in out
    assert cli("models", "--capability", "text2video", "--json") == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert [m["name"] for m in models] == [m.name for m in catalog.models_for("text_to_video")]
    assert [m["name"] for m in models][:2] == ["wan2.1-t2v-turbo", "wan2.1-t2v-plus"]
    assert models[0]["limits"]["durations"] == [5]
    assert cli("models", "--capability", "paint") == 2


def test_a_file_in_the_current_folder_may_be_given_though_no_input_root_holds_it(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shell user's current folder is an input root too (the confinement is for agents)."""
    work = env / "work"
    write_png(work / "frame.png", (640, 480))
    monkeypatch.setenv("BAILIAN_INPUT_ROOTS", str(env / "elsewhere"))
    monkeypatch.chdir(work)
    assert cli("image2video", "frame.png", "--prompt", "the sun rises", "--wait", "0", "--json") == 4
    assert json.loads(capsys.readouterr().out)["capability"] == "image_to_video"
    write_png(env / "outside.png", (640, 480))
    assert cli("image2video", str(env / "outside.png"), "--json") == 2  # in no root and not here: refused
