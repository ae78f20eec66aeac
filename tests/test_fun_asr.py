"""fun-asr: file transcription like Paraformer, with its own languages, one hint at a time."""

from __future__ import annotations

from typing import Any

import pytest

from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.speech_to_text import SpeechToTextParams, build
from bailian_mcp.errors import InputError

SINGAPORE = BuildContext(region="ap-southeast-1")
URL = "https://example.com/meeting.mp3"


def request_for(**params: Any) -> Any:
    return build(parse_params(SpeechToTextParams, {"audio": [URL], "model": "fun-asr", **params}), SINGAPORE)


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
