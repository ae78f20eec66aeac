"""text_to_speech: validation before paying, the request it builds, the exchange, and a whole job through the runner."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, ExchangeContext, Outcome, parse_params
from bailian_mcp.capabilities.text_to_speech import TEXT_TO_SPEECH, TextToSpeechParams, audio_duration, build
from bailian_mcp.config import Settings, load_settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.errors import NOTHING_SENT, InputError
from bailian_mcp.jobs.services import open_services
from bailian_mcp.jobs.submission import SubmitUncertainError
from tests.support.media import mp3_bytes, wav_bytes
from tests.support.sambert import KEY, FakeSambert, Scenario, split

BEIJING = BuildContext(region="cn-beijing")
TEXT = "床前明月光，疑是地上霜。"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSambert]:
    async with FakeSambert() as server:
        yield server


def params(**values: Any) -> TextToSpeechParams:
    return parse_params(TextToSpeechParams, {"text": TEXT, **values})


def rejected(**values: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        build(params(**values), BEIJING)
    assert str(caught.value).endswith(NOTHING_SENT)
    return caught.value


# ---------------------------------------------------------------------- the request


def test_the_defaults_make_the_briefs_chinese_voice_in_wav_at_16_khz() -> None:
    request = build(params(), BEIJING)
    assert request.model.name == "sambert-zhichu-v1"
    assert request.path == "/api-ws/v1/inference"
    assert request.body == {
        "model": "sambert-zhichu-v1",
        "input": {"text": TEXT},
        "parameters": {
            "text_type": "PlainText",
            "format": "wav",
            "sample_rate": 16000,
            "volume": 50,
            "rate": 1.0,
            "pitch": 1.0,
        },
    }


def test_the_briefs_english_voice_is_sent_as_sambert_cindy() -> None:
    request = build(params(model="sambert-en-v1", text="Hello there."), BEIJING)
    assert request.model.name == "sambert-en-v1" and request.body["model"] == "sambert-cindy-v1"


def test_every_choice_reaches_the_parameters() -> None:
    request = build(
        params(model="sambert-brian-v1", format="mp3", sample_rate=24000, rate=2.0, pitch=0.5, volume=100), BEIJING
    )
    assert request.body["model"] == "sambert-brian-v1"
    assert request.body["parameters"] == {
        "text_type": "PlainText",
        "format": "mp3",
        "sample_rate": 24000,
        "volume": 100,
        "rate": 2.0,
        "pitch": 0.5,
    }


def test_model_names_are_forgiving_about_case_and_spaces() -> None:
    assert build(params(model=" Sambert-Zhide-V1 "), BEIJING).body["model"] == "sambert-zhide-v1"


def test_the_schema_offers_every_voice_and_the_formats() -> None:
    schema = TextToSpeechParams.model_json_schema()
    voices = [m.name for m in catalog.models_for("text_to_speech")]
    assert schema["properties"]["model"]["enum"] == voices
    assert schema["properties"]["format"]["enum"] == ["wav", "mp3", "pcm"]
    assert schema["required"] == ["text"]


def test_the_description_tells_chinese_from_english_voices() -> None:
    description = TEXT_TO_SPEECH.description
    chinese, english = description.split("Chinese voices:")[1].split("English voices:")
    assert "sambert-zhichu-v1" in chinese and "sambert-cindy-v1" not in chinese
    assert all(name in english for name in ("sambert-en-v1", "sambert-cindy-v1", "sambert-brian-v1"))
    assert "sambert-en-v1 is the English voice" in description and "spoken by sambert-cindy-v1" in description
    assert "Beijing" in description and "0.0001 CNY/character" in description


# ---------------------------------------------------------------------- validation before paying


def test_text_longer_than_10000_characters_is_refused() -> None:
    build(params(text="字" * 10_000), BEIJING)
    with pytest.raises(InputError) as caught:
        params(text="字" * 10_001)
    assert caught.value.param == "text" and "10000" in str(caught.value)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_or_blank_text_is_refused(text: str) -> None:
    with pytest.raises(InputError) as caught:
        build(params(text=text), BEIJING)
    assert caught.value.param == "text"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("rate", 2.1, "less than or equal to 2"),
        ("rate", 0.4, "greater than or equal to 0.5"),
        ("pitch", 2.5, "less than or equal to 2"),
        ("volume", 101, "less than or equal to 100"),
        ("volume", -1, "greater than or equal to 0"),
        ("format", "ogg", "'wav', 'mp3' or 'pcm'"),
        ("sample_rate", 0, "greater than 0"),
    ],
)
def test_out_of_range_parameters_are_refused(name: str, value: Any, words: str) -> None:
    with pytest.raises(InputError) as caught:
        params(**{name: value})
    assert caught.value.param == name and words in str(caught.value)


def test_edges_of_the_ranges_are_accepted() -> None:
    for values in ({"rate": 0.5, "pitch": 2.0, "volume": 0}, {"rate": 2.0, "pitch": 0.5, "volume": 100}):
        build(params(**values), BEIJING)


def test_a_sample_rate_the_voice_does_not_offer_is_refused_with_the_offers() -> None:
    error = rejected(sample_rate=44100)
    assert error.param == "sample_rate"
    assert "sambert-zhichu-v1 offers 8000, 16000, 22050, 24000, 48000 (default 16000)" in str(error)


def test_an_unknown_model_gets_a_did_you_mean() -> None:
    error = rejected(model="sambert-zhichu")
    assert error.param == "model" and "did you mean 'sambert-zhichu-v1'?" in str(error)


def test_a_model_of_another_capability_is_named_as_such() -> None:
    error = rejected(model="paraformer-v1")
    assert "paraformer-v1 is a speech_to_text model" in str(error)


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(InputError, match="there is no such parameter"):
        params(speaker="zhichu")


def test_a_voice_for_a_sambert_model_is_refused_since_the_model_is_the_voice() -> None:
    error = rejected(voice="zhichu")
    assert error.param == "voice" and "the model is the voice" in str(error)


@pytest.mark.parametrize("region", ["ap-southeast-1", "us-east-1"])
def test_outside_beijing_sambert_is_refused_with_the_way_out(region: str) -> None:
    with pytest.raises(InputError) as caught:
        build(params(), BuildContext(region=region))
    message = str(caught.value)
    assert caught.value.param == "model" and region in message and "BAILIAN_REGION=cn-beijing" in message


# ---------------------------------------------------------------------- durations


def test_durations_come_from_the_wav_header_the_pcm_size_or_the_mp3_bitrate(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    wav.write_bytes(wav_bytes(0.5, 16000))
    assert audio_duration(wav, "wav", 16000, wav.stat().st_size) == pytest.approx(0.5, abs=0.01)
    streamed = bytearray(wav_bytes(0.5, 16000))
    streamed[40:44] = (0xFFFFFFFF).to_bytes(4, "little")  # a streamed header's placeholder data length
    wav.write_bytes(streamed)
    assert audio_duration(wav, "wav", 16000, len(streamed)) == pytest.approx(0.5, abs=0.01)
    pcm = tmp_path / "a.pcm"
    pcm.write_bytes(bytes(48000))
    assert audio_duration(pcm, "pcm", 24000, 48000) == 1.0
    mp3 = tmp_path / "a.mp3"
    mp3.write_bytes(mp3_bytes(40))
    assert audio_duration(mp3, "mp3", 16000, 40 * 417) == pytest.approx(40 * 417 * 8 / 128_000, abs=0.01)
    assert audio_duration(tmp_path / "missing.wav", "wav", 16000, 0) is None


# ---------------------------------------------------------------------- the exchange


async def exchange(fake: FakeSambert, tmp_path: Path, key: str = KEY, **values: Any) -> tuple[Outcome, list[str]]:
    messages: list[str] = []

    async def progress(message: str) -> None:
        messages.append(message)

    async with DashScopeClient(api_key=key, base_url=fake.base_url) as client:
        context = ExchangeContext(
            client=client, progress=progress, output_path=lambda index, suffix: tmp_path / f"job-{index}{suffix}"
        )
        request = build(params(**values), BEIJING)
        assert request.exchange is not None
        outcome = await request.exchange(context, request)
    return outcome, messages


@pytest.mark.parametrize(
    ("audio_format", "data", "mime", "seconds"),
    [
        ("wav", wav_bytes(2.5), "audio/wav", 2.5),
        ("pcm", bytes(96000), "audio/pcm", 3.0),
        ("mp3", mp3_bytes(200), "audio/mpeg", 200 * 417 * 8 / 128_000),
    ],
)
async def test_the_audio_is_saved_where_the_runner_says_and_described(
    fake: FakeSambert, tmp_path: Path, audio_format: str, data: bytes, mime: str, seconds: float
) -> None:
    fake.scenario = Scenario(chunks=split(data, 8192))
    outcome, messages = await exchange(fake, tmp_path, format=audio_format)

    [output] = outcome.outputs
    assert output.index == 0 and output.kind == "audio" and output.error is None
    assert output.path == str(tmp_path / f"job-0.{audio_format}")
    assert Path(output.path).read_bytes() == data
    assert output.bytes == len(data) and output.sha256 == hashlib.sha256(data).hexdigest()
    assert output.mime_type == mime
    assert output.duration_seconds == pytest.approx(seconds, abs=0.01)
    assert outcome.usage == {"characters": len(TEXT)}
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"job-0.{audio_format}"]
    assert messages[0] == f"Synthesizing {len(TEXT)} characters with sambert-zhichu-v1…"
    assert "Receiving audio… 64 KiB" in messages, "progress every 64 KiB of audio"
    assert fake.frames[0]["payload"]["parameters"]["format"] == audio_format
    assert fake.handshakes[0]["Authorization"] == f"Bearer {KEY}"
    assert fake.handshakes[0]["User-Agent"].startswith("bailian-mcp/")


async def test_sambert_en_v1_is_spoken_by_sambert_cindy_on_the_wire(fake: FakeSambert, tmp_path: Path) -> None:
    await exchange(fake, tmp_path, model="sambert-en-v1", text="Hello there.")
    assert fake.frames[0]["payload"]["model"] == "sambert-cindy-v1"


async def test_the_billed_characters_are_what_the_service_reports(fake: FakeSambert, tmp_path: Path) -> None:
    fake.scenario = Scenario(characters=7)
    outcome, _ = await exchange(fake, tmp_path)
    assert outcome.usage == {"characters": 7}


async def test_a_wrong_key_is_an_authentication_error_without_the_key(fake: FakeSambert, tmp_path: Path) -> None:
    with pytest.raises(errors.AuthenticationError) as caught:
        await exchange(fake, tmp_path, key="sk-intl-key-0000")
    assert "Beijing" in str(caught.value) and "sk-intl-key-0000" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- a whole job


@pytest.fixture
def speech_settings(fake: FakeSambert, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Settings:
    """Settings whose base URL's host:port is the fake, so the derived WebSocket URL reaches it."""
    return load_settings(
        api_key=KEY, base_url=fake.base_url, data_dir=str(tmp_path / "data"), output_dir=str(tmp_path / "out")
    )


async def test_a_job_runs_to_a_saved_priced_audio_file(
    fake: FakeSambert, speech_settings: Settings, tmp_path: Path
) -> None:
    data = wav_bytes(0.75)
    fake.scenario = Scenario(chunks=split(data))
    progress: list[str] = []

    async def report(value: float, message: str) -> None:
        progress.append(message)

    async with open_services(speech_settings) as services:
        result = await services.runner.run(TEXT_TO_SPEECH, params(), wait_seconds=5, progress=report)
        job = await services.store.get(result.job_id)

    assert result.status == "SUCCEEDED" and result.done and result.error is None
    assert result.capability == "text_to_speech" and result.model == "sambert-zhichu-v1" and result.task_id is None
    [output] = result.outputs
    assert output.kind == "audio" and output.path is not None and output.mime_type == "audio/wav"
    path = Path(output.path)
    assert path.read_bytes() == data and path.name == f"{result.job_id}-0.wav"
    assert speech_settings.output_dir in path.parents
    assert output.sha256 == hashlib.sha256(data).hexdigest() and output.bytes == len(data)
    assert output.duration_seconds == pytest.approx(0.75, abs=0.01)
    assert result.usage == {"characters": float(len(TEXT))}
    assert result.cost is not None and result.cost.currency == "CNY"
    assert result.cost.amount == pytest.approx(len(TEXT) * 0.0001)
    assert "Generated 1 audio(s), saved 1 locally." in result.message
    assert any(message.startswith("Synthesizing") for message in progress)

    assert job is not None and job.status == "SUCCEEDED"
    assert job.result == result.model_dump(mode="json")
    assert job.request["model"] == "sambert-zhichu-v1" and job.request["input"] == {"text": TEXT}
    assert KEY not in json.dumps(job.result) + json.dumps(job.request)
    assert fake.frames[0]["payload"]["model"] == "sambert-zhichu-v1"


async def test_a_refused_job_is_recorded_as_rejected(fake: FakeSambert, speech_settings: Settings) -> None:
    fake.key = "sk-another-key"
    async with open_services(speech_settings) as services:
        with pytest.raises(errors.AuthenticationError):
            await services.runner.run(TEXT_TO_SPEECH, params(), wait_seconds=5)
        [job] = await services.store.list(capability="text_to_speech")
    assert job.status == "REJECTED" and job.error is not None and job.error["code"] == "InvalidApiKey"
    assert KEY not in json.dumps(job.error)


async def test_a_dropped_session_is_a_job_of_uncertain_outcome_with_no_file(
    fake: FakeSambert, speech_settings: Settings
) -> None:
    fake.scenario = Scenario(drop_after=2)
    async with open_services(speech_settings) as services:
        with pytest.raises(SubmitUncertainError, match="may have reached DashScope"):
            await services.runner.run(TEXT_TO_SPEECH, params(), wait_seconds=5)
        [job] = await services.store.list(capability="text_to_speech")
    assert job.status == "SUBMIT_UNCERTAIN"
    saved = [p for p in speech_settings.output_dir.rglob("*") if p.is_file()]
    assert saved == []
