"""The 2026 recognition models: fun-asr (file transcription like Paraformer, with its own languages, one hint at a
time) and qwen3-asr-flash (one short recording answered at once on the multimodal endpoint)."""

from __future__ import annotations

from typing import Any

import pytest

from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.speech_to_text import SpeechToTextParams, build
from bailian_mcp.catalog import MULTIMODAL_GENERATION
from bailian_mcp.errors import InputError

SINGAPORE = BuildContext(region="ap-southeast-1")
URL = "https://example.com/meeting.mp3"


def request_for(context: BuildContext = SINGAPORE, **params: Any) -> Any:
    return build(parse_params(SpeechToTextParams, {"audio": [URL], "model": "fun-asr", **params}), context)


def test_fun_asr_runs_in_singapore_with_one_of_its_languages() -> None:
    body = request_for(language_hints=["vi"]).body
    assert body["model"] == "fun-asr" and body["input"]["file_urls"] == [URL]
    assert body["parameters"]["language_hints"] == ["vi"]


def test_fun_asr_takes_one_language_hint() -> None:
    with pytest.raises(InputError) as caught:
        request_for(language_hints=["zh", "en"])
    assert caught.value.param == "language_hints" and "1 language hint" in str(caught.value)


def test_a_code_fun_asr_lacks_is_refused_with_its_codes() -> None:
    with pytest.raises(InputError) as caught:
        request_for(language_hints=["yue"])
    assert "fun-asr's language codes are" in str(caught.value) and "vi" in str(caught.value)


def test_qwen3_asr_flash_sends_one_audio_message_with_its_options() -> None:
    request = request_for(model="qwen3-asr-flash", language_hints=["yue"], itn=True)
    assert request.path == MULTIMODAL_GENERATION.path and request.exchange is not None
    assert request.body == {
        "model": "qwen3-asr-flash",
        "input": {"messages": [{"role": "user", "content": [{"audio": URL}]}]},
        "parameters": {"asr_options": {"enable_itn": True, "language": "yue"}},
    }


def test_qwen3_asr_flash_is_the_us_model_in_virginia() -> None:
    request = request_for(BuildContext(region="us-east-1"), model="qwen3-asr-flash")
    assert request.body["model"] == "qwen3-asr-flash-us"


@pytest.mark.parametrize(
    ("values", "param"),
    [
        ({"audio": [URL, URL.replace("meeting", "call")]}, "audio"),
        ({"diarization": True}, "diarization"),
        ({"language_hints": ["zh", "en"]}, "language_hints"),
    ],
)
def test_what_qwen3_asr_flash_cannot_take_is_refused(values: dict[str, Any], param: str) -> None:
    with pytest.raises(InputError) as caught:
        request_for(model="qwen3-asr-flash", **values)
    assert caught.value.param == param


def test_itn_is_only_for_the_models_that_take_it() -> None:
    with pytest.raises(InputError) as caught:
        request_for(itn=True)
    assert caught.value.param == "itn" and "qwen3-asr-flash" in str(caught.value)
