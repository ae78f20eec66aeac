"""Speech to text (Paraformer file transcription): the request `build` sends, the per-file outputs `parse`
reads, the transcripts `finish` reads out of the saved JSON, and whole jobs through the runner."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.speech_to_text import (
    PATH,
    SPEECH_TO_TEXT,
    UNREADABLE,
    SpeechToTextParams,
    build,
    finish,
    parse,
)
from bailian_mcp.config import Settings
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile
from bailian_mcp.jobs.results import ErrorInfo, OutputFile, Segment
from bailian_mcp.jobs.services import Services
from tests.support.media import write_wav
from tests.support.services import quick_services

BEIJING = BuildContext(region="cn-beijing")
SAMPLE = "https://dashscope.oss-cn-beijing.aliyuncs.com/samples/audio/paraformer/hello_world_female2.wav"
OTHER = "https://dashscope.oss-cn-beijing.aliyuncs.com/samples/audio/paraformer/rich_text_exaple_1.wav"
RESULT_HOST = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com"
TRANSCRIPT_URL = f"{RESULT_HOST}/prod/paraformer-v2/20240912/f86ec806-1.json?Expires=1726211500&Signature=x"
END_TIME = "2024-09-12 15:11:40.903"

# The §9 transcript (DOC-PARA, real 2025-09 capture), two words per sentence kept.
TRANSCRIPT: dict[str, Any] = {
    "file_url": SAMPLE,
    "properties": {
        "audio_format": "pcm_s16le",
        "channels": [0],
        "original_sampling_rate": 16000,
        "original_duration_in_milliseconds": 3834,
    },
    "transcripts": [
        {
            "channel_id": 0,
            "content_duration_in_milliseconds": 3720,
            "text": "Hello world, 这里是阿里巴巴语音实验室。",
            "sentences": [
                {
                    "begin_time": 100,
                    "end_time": 3820,
                    "text": "Hello world, 这里是阿里巴巴语音实验室。",
                    "sentence_id": 1,
                    "speaker_id": 0,
                    "words": [
                        {"begin_time": 100, "end_time": 596, "text": "Hello ", "punctuation": ""},
                        {"begin_time": 596, "end_time": 844, "text": "world", "punctuation": ", "},
                    ],
                }
            ],
        }
    ],
}


def body_for(context: BuildContext = BEIJING, **params: Any) -> dict[str, Any]:
    return build(SpeechToTextParams(**params), context).body


def rejection(context: BuildContext = BEIJING, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        build(parse_params(SpeechToTextParams, params), context)
    return caught.value


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    return folder


@pytest.fixture
def local(roots: Path) -> BuildContext:
    return BuildContext(region="cn-beijing", input_roots=[roots])


# ---------------------------------------------------------------------- the request body


def test_paraformer_v1_sends_the_file_urls_and_no_language_hints() -> None:
    request = build(SpeechToTextParams(audio=[SAMPLE], model="paraformer-v1"), BEIJING)
    assert request.path == PATH == "services/audio/asr/transcription"
    assert request.model.name == "paraformer-v1" and request.warnings == ()
    assert request.body == {
        "model": "paraformer-v1",
        "input": {"file_urls": [SAMPLE]},
        "parameters": {"diarization_enabled": False, "disfluency_removal_enabled": False},
    }


def test_paraformer_en_v1_is_paraformer_v2_with_an_english_hint() -> None:
    request = build(SpeechToTextParams(audio=[SAMPLE], model="paraformer-en-v1"), BEIJING)
    assert request.model.name == "paraformer-en-v1"
    assert request.body == {
        "model": "paraformer-v2",
        "input": {"file_urls": [SAMPLE]},
        "parameters": {"diarization_enabled": False, "disfluency_removal_enabled": False, "language_hints": ["en"]},
    }


def test_paraformer_v2_with_every_parameter() -> None:
    assert body_for(
        audio=[SAMPLE, OTHER],
        model="paraformer-v2",
        language_hints=["ZH", "en", "zh"],
        diarization=True,
        speaker_count=2,
        disfluency_removal=True,
    ) == {
        "model": "paraformer-v2",
        "input": {"file_urls": [SAMPLE, OTHER]},
        "parameters": {
            "diarization_enabled": True,
            "disfluency_removal_enabled": True,
            "speaker_count": 2,
            "language_hints": ["zh", "en"],
        },
    }


def test_paraformer_v2_without_hints_sends_none_and_en_v1_takes_the_callers_hints() -> None:
    assert "language_hints" not in body_for(audio=[SAMPLE], model="paraformer-v2")["parameters"]
    assert body_for(audio=[SAMPLE], model="paraformer-en-v1", language_hints=["en", "zh"])["parameters"][
        "language_hints"
    ] == ["en", "zh"]


def test_diarization_without_a_speaker_count_lets_the_service_decide() -> None:
    assert body_for(audio=[SAMPLE], diarization=True)["parameters"] == {
        "diarization_enabled": True,
        "disfluency_removal_enabled": False,
    }


def test_one_string_and_a_json_encoded_list_are_accepted_as_audio() -> None:
    assert parse_params(SpeechToTextParams, {"audio": f"  {SAMPLE} "}).audio == [SAMPLE]
    assert parse_params(SpeechToTextParams, {"audio": json.dumps([SAMPLE, OTHER])}).audio == [SAMPLE, OTHER]
    assert parse_params(SpeechToTextParams, {"audio": [SAMPLE], "language_hints": '["ja"]'}).language_hints == ["ja"]


def test_urls_with_non_ascii_characters_are_percent_encoded_and_oss_urls_pass() -> None:
    oss = "oss://dashscope-instant/abc/2025-07-12/x/meeting.wav"
    assert body_for(audio=["https://example.com/录音.mp3", oss])["input"]["file_urls"] == [
        "https://example.com/%E5%BD%95%E9%9F%B3.mp3",
        oss,
    ]


def test_a_local_file_becomes_a_placeholder_the_runner_uploads(roots: Path, local: BuildContext) -> None:
    path = write_wav(roots / "meeting.wav")
    body = body_for(local, audio=[str(path), SAMPLE])
    placeholder, url = body["input"]["file_urls"]
    assert url == SAMPLE
    assert isinstance(placeholder, LocalFile)
    assert placeholder.path == path.resolve() and placeholder.size == path.stat().st_size
    assert placeholder.mime_type in ("audio/x-wav", "audio/wav")


# ---------------------------------------------------------------------- validated before paying


def test_no_audio_is_refused() -> None:
    empty: Any
    for empty in ([], "", "[]"):
        error = rejection(audio=empty)
        assert error.param == "audio" and "at least 1" in str(error)
    assert "Missing audio" in str(rejection())


def test_more_than_100_files_are_refused() -> None:
    error = rejection(audio=[f"https://example.com/{i}.wav" for i in range(101)])
    assert error.param == "audio" and "100" in str(error)
    # build's own check (the per-model limit) holds for parameters that skipped validation, too
    params = SpeechToTextParams.model_construct(
        audio=[f"https://example.com/{i}.wav" for i in range(101)],
        model="paraformer-v1",
        language_hints=None,
        diarization=False,
        speaker_count=None,
        disfluency_removal=False,
    )
    with pytest.raises(InputError, match="at most 100 files per call"):
        build(params, BEIJING)


def test_a_malformed_json_list_is_refused_with_an_example() -> None:
    assert "does not parse" in str(rejection(audio='["https://example.com/a.wav"'))


def test_language_hints_on_paraformer_v1_name_the_models_that_take_them() -> None:
    error = rejection(audio=[SAMPLE], model="paraformer-v1", language_hints=["en"])
    assert error.param == "language_hints"
    assert "paraformer-v1 takes no language hints" in str(error)
    assert "paraformer-en-v1" in str(error) and "paraformer-v2" in str(error)


def test_an_unknown_language_code_is_refused_with_the_list() -> None:
    error = rejection(audio=[SAMPLE], model="paraformer-v2", language_hints=["english"])
    assert error.param == "language_hints" and "zh, en, ja, yue, ko, de, fr, ru" in str(error)


def test_speaker_count_needs_diarization_and_a_range() -> None:
    error = rejection(audio=[SAMPLE], speaker_count=3)
    assert error.param == "speaker_count" and "diarization=true" in str(error)
    assert rejection(audio=[SAMPLE], diarization=True, speaker_count=1).param == "speaker_count"
    assert rejection(audio=[SAMPLE], diarization=True, speaker_count=101).param == "speaker_count"


def test_a_file_that_is_not_audio_is_refused(roots: Path, local: BuildContext) -> None:
    notes = roots / "notes.txt"
    notes.write_text("hello")
    error = rejection(local, audio=[str(notes)])
    assert error.param == "audio" and "not an audio or video file" in str(error)


def test_a_path_outside_the_allowed_folders_is_refused(tmp_path: Path, local: BuildContext) -> None:
    outside = write_wav(tmp_path / "elsewhere.wav")
    error = rejection(local, audio=[SAMPLE, str(outside)])
    assert error.param == "audio[1]" and "BAILIAN_INPUT_ROOTS" in str(error)


def test_hidden_files_and_relative_paths_are_refused(roots: Path, local: BuildContext) -> None:
    hidden = write_wav(roots / ".secret.wav")
    assert "hidden files" in str(rejection(local, audio=[str(hidden)]))
    assert "absolute path" in str(rejection(local, audio=["meeting.wav"]))
    assert "not data: URIs" in str(rejection(local, audio=["data:audio/wav;base64,UklGRg=="]))
    assert "no such file" in str(rejection(local, audio=[str(roots / "missing.wav")]))
    assert rejection(local, audio=[SAMPLE, "  "]).param == "audio[1]"


def test_paraformer_is_refused_outside_beijing_and_the_default_goes_where_fun_asr_goes() -> None:
    for region in ("ap-southeast-1", "us-east-1"):
        error = rejection(BuildContext(region=region), audio=[SAMPLE], model="paraformer-v1")
        assert error.param == "model" and "only in cn-beijing" in str(error)
    assert build(SpeechToTextParams(audio=[SAMPLE]), BuildContext(region="ap-southeast-1")).model.name == "fun-asr"
    error = rejection(BuildContext(region="us-east-1"), audio=[SAMPLE])
    assert error.param == "model" and "fun-asr" in str(error) and "ap-southeast-1" in str(error)


def test_the_default_is_fun_asr_for_its_accuracy() -> None:
    request = build(SpeechToTextParams(audio=[SAMPLE]), BEIJING)
    assert request.model.name == "fun-asr" and request.body["model"] == "fun-asr"
    assert request.body["input"] == {"file_urls": [SAMPLE]}


def test_an_unknown_model_gets_a_did_you_mean() -> None:
    error = rejection(audio=[SAMPLE], model="parafromer-v1")
    assert error.param == "model" and "did you mean 'paraformer-v1'?" in str(error)
    assert "is a text_to_image model" in str(rejection(audio=[SAMPLE], model="qwen-image"))


def test_the_same_recording_twice_is_refused(roots: Path, local: BuildContext) -> None:
    error = rejection(audio=[SAMPLE, OTHER, SAMPLE])
    assert error.param == "audio[2]" and "same recording as audio[0]" in str(error)
    first = write_wav(roots / "a.wav")
    copy = write_wav(roots / "b.wav")  # same bytes under another name: it would be the same upload
    assert "same recording as audio[0]" in str(rejection(local, audio=[str(first), str(copy)]))
    assert "same recording" in str(rejection(local, audio=[str(first), f"file://{first}"]))


# ---------------------------------------------------------------------- parse: one output per file


def snapshot(results: list[dict[str, Any]], failed: int) -> TaskSnapshot:
    body = {
        "request_id": "f9e1afad",
        "output": {
            "task_id": "f86ec806",
            "task_status": "SUCCEEDED",
            "submit_time": "2024-09-12 15:11:40.041",
            "scheduled_time": "2024-09-12 15:11:40.071",
            "end_time": END_TIME,
            "results": results,
            "task_metrics": {"TOTAL": len(results), "SUCCEEDED": len(results) - failed, "FAILED": failed},
        },
        "usage": {"duration": 9},
    }
    return TaskSnapshot.from_body("f86ec806", body)


GOOD = {"file_url": SAMPLE, "transcription_url": TRANSCRIPT_URL, "subtask_status": "SUCCEEDED"}
BAD = {
    "file_url": OTHER,
    "code": "InvalidFile.DownloadFailed",
    "message": "The audio file cannot be downloaded.",
    "subtask_status": "FAILED",
}


def test_parse_reads_a_succeeded_subtask_as_a_transcript_url() -> None:
    assert parse(snapshot([GOOD], 0)) == [
        OutputFile(
            index=0,
            kind="transcript",
            source=SAMPLE,
            url=TRANSCRIPT_URL,
            url_expires_at="2024-09-13T07:11:40Z",
        )
    ]


def test_parse_reads_a_failed_subtask_as_that_files_error() -> None:
    assert parse(snapshot([BAD], 1)) == [
        OutputFile(
            index=0,
            kind="transcript",
            source=OTHER,
            error=ErrorInfo(code="InvalidFile.DownloadFailed", message="The audio file cannot be downloaded."),
        )
    ]


def test_parse_keeps_the_good_files_beside_the_failed_ones_in_order() -> None:
    outputs = parse(snapshot([BAD, GOOD], 1))
    assert [(o.index, o.source, o.url is not None, o.error is not None) for o in outputs] == [
        (0, OTHER, False, True),
        (1, SAMPLE, True, False),
    ]


def test_parse_of_an_unsigned_url_expires_a_day_after_the_end_and_a_bare_failure_is_named() -> None:
    unsigned = {**GOOD, "transcription_url": f"{RESULT_HOST}/a.json"}
    bare = {"file_url": OTHER, "subtask_status": "FAILED"}
    good, bad = parse(snapshot([unsigned, bare], 1))
    assert good.url_expires_at == "2024-09-13T07:11:40.903000Z"
    assert bad.error is not None and bad.error.code == "SubtaskFailed" and bad.url is None


# ---------------------------------------------------------------------- finish: reading saved transcripts


def saved(tmp_path: Path, content: str | bytes, name: str = "job-0.json") -> OutputFile:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return OutputFile(index=0, kind="transcript", source=SAMPLE, url=TRANSCRIPT_URL, path=str(path))


def test_finish_reads_text_sentences_and_duration(tmp_path: Path) -> None:
    [output] = finish([saved(tmp_path, json.dumps(TRANSCRIPT, ensure_ascii=False))])
    assert output.error is None
    assert output.text == "Hello world, 这里是阿里巴巴语音实验室。"
    assert output.segments == [Segment(begin_ms=100, end_ms=3820, text=output.text, speaker_id=0)]
    assert output.duration_seconds == pytest.approx(3.834)
    assert output.url == TRANSCRIPT_URL and output.source == SAMPLE


def test_finish_joins_channels_and_merges_their_sentences_into_one_timeline(tmp_path: Path) -> None:
    stereo = {
        "properties": {"original_duration_in_milliseconds": 5000},
        "transcripts": [
            {
                "channel_id": 0,
                "text": "你好。再见。",
                "sentences": [
                    {"begin_time": 0, "end_time": 900, "text": "你好。"},
                    {"begin_time": 3000, "end_time": 3900, "text": "再见。"},
                ],
            },
            {"channel_id": 1, "text": "Hi.", "sentences": [{"begin_time": 1000, "end_time": 1800, "text": "Hi."}]},
        ],
    }
    [output] = finish([saved(tmp_path, json.dumps(stereo))])
    assert output.text == "你好。再见。\nHi."
    assert [(s.begin_ms, s.text, s.speaker_id) for s in output.segments or []] == [
        (0, "你好。", None),
        (1000, "Hi.", None),
        (3000, "再见。", None),
    ]


def test_finish_of_a_transcript_without_words_gives_empty_text(tmp_path: Path) -> None:
    [output] = finish([saved(tmp_path, json.dumps({"properties": {}, "transcripts": []}))])
    assert output.text == "" and output.segments == [] and output.error is None and output.duration_seconds is None


def test_finish_leaves_a_transcript_that_was_not_saved_with_its_url(tmp_path: Path) -> None:
    not_downloaded = OutputFile(index=0, kind="transcript", source=SAMPLE, url=TRANSCRIPT_URL)
    deleted = not_downloaded.model_copy(update={"index": 1, "path": str(tmp_path / "gone.json")})
    failed = OutputFile(index=2, kind="transcript", source=OTHER, error=ErrorInfo(code="X", message="y"))
    assert finish([not_downloaded, deleted, failed]) == [not_downloaded, deleted, failed]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        b"\xff\xfe\x00garbage",
        "[1, 2]",
        json.dumps({"transcripts": [{"sentences": [{"begin_time": "soon", "end_time": 2, "text": "x"}]}]}),
    ],
    ids=["truncated", "binary", "not-an-object", "bad-times"],
)
def test_finish_marks_an_unreadable_transcript_instead_of_raising(tmp_path: Path, content: str | bytes) -> None:
    original = saved(tmp_path, content)
    [output] = finish([original])
    assert output.error is not None and output.error.code == UNREADABLE == "TranscriptUnreadable"
    assert str(tmp_path) in output.error.message
    assert output.text is None and output.segments is None
    assert output.path == original.path and output.url == TRANSCRIPT_URL


# ---------------------------------------------------------------------- whole jobs through the runner

BASE = "https://dashscope.test/api/v1"
TASK_IDS = ("f86ec806-5c6a-4d2a-9f4e-0cba2ab2b7a1", "7bac899c-06ec-4a79-8875-3b3d5e2a1c01")
POLICY: dict[str, Any] = {
    "data": {
        "policy": "eyJleHBpcmF0aW9uIjoiMjAyNS0wNy0xMlQxMjoxMDoyNC40ODhaIiwiY29uZGl0aW9ucyI6W119",
        "signature": "n3dNX/aD3+WAly0QgzsURfiIk00=",
        "upload_dir": "dashscope-instant/52afe077fb4825c6d74411758cb1ab98/2025-07-12/"
        "b744f4f8-1a9c-9c6b-950d-0d327e331f2f",
        "upload_host": "https://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com",
        "expire_in_seconds": 300,
        "max_file_size_mb": 1024,
        "capacity_limit_mb": 999999999,
        "oss_access_key_id": "accessKeyId",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
    },
    "request_id": "b744f4f8-1a9c-9c6b-950d-0d327e331f2f",
}


@pytest.fixture
def local_settings(settings: Settings, roots: Path) -> Settings:
    return settings.model_copy(update={"input_roots": [roots]})


@pytest.fixture
async def services(local_settings: Settings) -> AsyncIterator[Services]:
    async with quick_services(local_settings, attempts=2) as opened:
        yield opened


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def task(task_id: str, status: str, **extra: Any) -> httpx.Response:
    output: dict[str, Any] = {"task_id": task_id, "task_status": status, "submit_time": "2024-09-12 15:11:40.041"}
    body: dict[str, Any] = {"request_id": f"r-{status.lower()}", "output": output}
    if status == "SUCCEEDED":
        output.update(end_time=END_TIME, task_metrics={"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1}, **extra)
        body["usage"] = {"duration": 9}
    return httpx.Response(200, json=body)


def serve_task(mock: respx.MockRouter, runs: int = 1) -> tuple[respx.Route, respx.Route]:
    """The submit route and the transcript download route: each run creates a task that reads PENDING,
    then SUCCEEDED with one good and one failed file."""
    created = [
        httpx.Response(200, json={"output": {"task_status": "PENDING", "task_id": task_id}, "request_id": "r0"})
        for task_id in TASK_IDS[:runs]
    ]
    submit = mock.post(f"/{PATH}").mock(side_effect=created)
    for task_id in TASK_IDS[:runs]:
        polls = [task(task_id, "PENDING"), task(task_id, "SUCCEEDED", results=[GOOD, BAD])]
        mock.get(f"/tasks/{task_id}").mock(side_effect=polls)
    download = mock.get(TRANSCRIPT_URL).mock(
        return_value=httpx.Response(200, json=TRANSCRIPT, headers={"content-type": "application/json"})
    )
    return submit, download


async def test_a_transcription_job_is_submitted_followed_read_and_priced(
    services: Services, mock: respx.MockRouter, local_settings: Settings
) -> None:
    submit_route, download = serve_task(mock)
    params = SpeechToTextParams(audio=[SAMPLE, OTHER], model="paraformer-en-v1")

    result = await services.runner.run(SPEECH_TO_TEXT, params, wait_seconds=5)

    assert submit_route.call_count == 1
    submit = submit_route.calls.last.request
    assert submit.headers["X-DashScope-Async"] == "enable"
    assert "X-DashScope-OssResourceResolve" not in submit.headers
    assert json.loads(submit.content) == {
        "model": "paraformer-v2",
        "input": {"file_urls": [SAMPLE, OTHER]},
        "parameters": {"diarization_enabled": False, "disfluency_removal_enabled": False, "language_hints": ["en"]},
    }
    assert download.call_count == 1

    assert result.done and result.status == "SUCCEEDED" and result.task_id == TASK_IDS[0]
    assert result.capability == "speech_to_text" and result.model == "paraformer-en-v1"
    assert result.text == "Hello world, 这里是阿里巴巴语音实验室。"
    good, bad = result.outputs
    assert good.kind == bad.kind == "transcript"
    assert good.source == SAMPLE and good.error is None and good.url == TRANSCRIPT_URL
    assert good.segments == [Segment(begin_ms=100, end_ms=3820, text=result.text, speaker_id=0)]
    assert good.duration_seconds == pytest.approx(3.834)
    assert good.path is not None and good.path.endswith(f"{result.job_id}-0.json")
    assert Path(good.path).parent.parent == local_settings.output_dir
    assert json.loads(Path(good.path).read_text(encoding="utf-8")) == TRANSCRIPT
    assert bad.source == OTHER and bad.error is not None and bad.error.code == "InvalidFile.DownloadFailed"
    assert bad.path is None and bad.text is None
    assert result.usage == {"duration": 9.0}
    assert result.cost is not None and result.cost.currency == "CNY"
    assert result.cost.amount == pytest.approx(9 * 0.00008)
    assert "1 of 2 failed" in result.message

    job = await services.store.get(result.job_id)
    assert job is not None and job.result == result.model_dump(mode="json")


async def test_a_transcript_that_could_not_be_downloaded_keeps_its_url(
    services: Services, mock: respx.MockRouter
) -> None:
    serve_task(mock)[1].mock(return_value=httpx.Response(404))
    result = await services.runner.run(SPEECH_TO_TEXT, SpeechToTextParams(audio=[SAMPLE, OTHER]), wait_seconds=5)
    good = result.outputs[0]
    assert result.done and good.error is None and good.url == TRANSCRIPT_URL
    assert good.path is None and good.text is None and result.text is None
    assert any("Could not save transcript 0" in warning for warning in result.warnings)


@pytest.mark.slow
async def test_a_local_recording_is_uploaded_once_and_sent_as_oss(
    services: Services, mock: respx.MockRouter, roots: Path
) -> None:
    path = write_wav(roots / "meeting.wav")
    policy = mock.get("/uploads", params={"action": "getPolicy", "model": "paraformer-v1"}).mock(
        return_value=httpx.Response(200, json=POLICY)
    )
    upload = mock.post(POLICY["data"]["upload_host"]).mock(return_value=httpx.Response(200))
    upload_dir = POLICY["data"]["upload_dir"]
    params = SpeechToTextParams(audio=[str(path), OTHER], model="paraformer-v1")

    submit, _ = serve_task(mock, runs=2)
    results = [await services.runner.run(SPEECH_TO_TEXT, params, wait_seconds=5) for _ in range(2)]

    assert policy.call_count == 1 and upload.call_count == 1, "the second run reuses the cached upload"
    form = upload.calls.last.request
    assert form.headers["content-type"].startswith("multipart/form-data")
    assert f'name="key"\r\n\r\n{upload_dir}/'.encode() in form.content
    assert path.read_bytes() in form.content
    submits = [call.request for call in submit.calls]
    assert len(submits) == 2
    bodies = [json.loads(request.content) for request in submits]
    assert bodies[0] == bodies[1]
    sent_url, other = bodies[0]["input"]["file_urls"]
    assert sent_url.startswith(f"oss://{upload_dir}/") and sent_url.endswith(".wav") and other == OTHER
    assert all(request.headers["X-DashScope-OssResourceResolve"] == "enable" for request in submits)
    assert all(request.headers["X-DashScope-Async"] == "enable" for request in submits)
    assert all(r.done and r.text == "Hello world, 这里是阿里巴巴语音实验室。" for r in results)


# ---------------------------------------------------------------------- qwen3-asr-flash-filetrans: one file_url


def test_qwen3_filetrans_sends_one_file_url_string_with_its_options() -> None:
    params = SpeechToTextParams(audio=[SAMPLE], model="qwen3-asr-flash-filetrans", language_hints=["ja"], itn=True)
    request = build(params, BEIJING)
    assert request.path == PATH and request.exchange is None, "a task, like Paraformer's"
    assert request.body == {
        "model": "qwen3-asr-flash-filetrans",
        "input": {"file_url": SAMPLE},
        "parameters": {"enable_itn": True, "language": "ja"},
    }
    several = build(SpeechToTextParams(audio=[SAMPLE, OTHER], model="qwen3-asr-flash-filetrans"), BEIJING)
    assert several.body == {} and [part.source for part in several.parts] == [SAMPLE, OTHER]
    assert [part.body["input"] for part in several.parts] == [{"file_url": SAMPLE}, {"file_url": OTHER}]
    assert all(part.path == several.path and not part.parts for part in several.parts)
    error = rejection(audio=[SAMPLE, OTHER], model="qwen3-asr-flash")
    assert error.param == "audio" and "one file per call" in str(error) and "qwen3-asr-flash-filetrans" in str(error)
    assert rejection(audio=[SAMPLE], model="qwen3-asr-flash-filetrans", diarization=True).param == "diarization"


def test_qwen_audio_filetrans_sends_one_url_in_file_urls_per_task() -> None:
    params = SpeechToTextParams(audio=[SAMPLE, OTHER], model="qwen-audio-3.1-asr-flash-filetrans", diarization=True)
    several = build(params, BEIJING)
    assert [part.body["input"] for part in several.parts] == [{"file_urls": [SAMPLE]}, {"file_urls": [OTHER]}]
    assert several.parts[0].body["parameters"]["diarization_enabled"] is True
    single = build(SpeechToTextParams(audio=[SAMPLE], model="qwen-audio-3.1-asr-flash-filetrans"), BEIJING)
    assert not single.parts and single.body["input"] == {"file_urls": [SAMPLE]}


def test_a_one_file_task_answers_with_a_singular_result() -> None:
    url = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/x.json?Expires=1900000000"
    body = {
        "request_id": "r",
        "output": {
            "task_id": "t",
            "task_status": "SUCCEEDED",
            "end_time": "2025-10-27 13:57:47.079",
            "result": {"transcription_url": url},
        },
        "usage": {"seconds": 3},
    }
    (output,) = parse(TaskSnapshot.from_body("t", body))
    assert output.kind == "transcript" and output.url == url and output.error is None
    body["output"]["result"] = {}
    (missing,) = parse(TaskSnapshot.from_body("t", body))
    assert missing.error is not None and missing.url is None
