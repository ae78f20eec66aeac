"""text_to_speech with the speech models that have voices of their own: CosyVoice and Qwen-Audio over the HTTP
SpeechSynthesizer endpoint, Qwen-TTS on the multimodal endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bailian_mcp.capabilities.base import BuildContext, ExchangeContext, parse_params
from bailian_mcp.capabilities.text_to_speech import TextToSpeechParams, build
from bailian_mcp.catalog import HTTP_SPEECH_SYNTHESIS, MULTIMODAL_GENERATION
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.errors import InputError

BEIJING = BuildContext(region="cn-beijing")
BASE = "https://dashscope.test/api/v1"
URL = "https://x/a.wav?Expires=1900000000"


def request_for(context: BuildContext = BEIJING, **values: Any) -> Any:
    return build(parse_params(TextToSpeechParams, {"text": "你好，欢迎使用百炼。", **values}), context)


def refusal(**values: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        request_for(**values)
    return caught.value


def test_cosyvoice_sends_every_option_in_input_with_its_default_voice() -> None:
    request = request_for(model="cosyvoice-v3-flash", rate=1.2)
    assert request.path == HTTP_SPEECH_SYNTHESIS.path and request.exchange is not None
    assert request.body == {
        "model": "cosyvoice-v3-flash",
        "input": {
            "text": "你好，欢迎使用百炼。",
            "voice": "longanyang",
            "format": "wav",
            "sample_rate": 24000,
            "volume": 50,
            "rate": 1.2,
            "pitch": 1.0,
        },
    }


def test_a_voice_the_model_lacks_is_refused_with_a_did_you_mean() -> None:
    error = refusal(model="cosyvoice-v3-plus", voice="longanhuann")
    assert error.param == "voice" and "did you mean 'longanhuan'" in str(error)


def test_a_voice_beyond_a_partial_list_is_sent_with_a_warning() -> None:
    request = request_for(model="cosyvoice-v2", voice="longxiaobai")
    assert request.body["input"]["voice"] == "longxiaobai" and "longxiaobai" in request.warnings[0]


def test_qwen3_tts_speaks_text_voice_and_language_on_the_multimodal_endpoint() -> None:
    request = request_for(model="qwen3-tts-flash", voice="Ethan", language_type="Chinese")
    assert request.path == MULTIMODAL_GENERATION.path
    assert request.body["input"] == {"text": "你好，欢迎使用百炼。", "voice": "Ethan", "language_type": "Chinese"}


@pytest.mark.parametrize(
    ("values", "param"),
    [
        ({"rate": 1.5}, "rate"),
        ({"format": "mp3"}, "format"),
        ({"sample_rate": 16000}, "sample_rate"),
        ({"language_type": "Klingon"}, "language_type"),
    ],
)
def test_what_qwen3_tts_cannot_take_is_refused(values: dict[str, Any], param: str) -> None:
    assert refusal(model="qwen3-tts-flash", **values).param == param


def test_language_type_is_only_for_the_models_that_take_it() -> None:
    error = refusal(model="cosyvoice-v3-flash", language_type="Chinese")
    assert error.param == "language_type" and "qwen3-tts-flash" in str(error)


def test_cosyvoice_runs_in_beijing_only() -> None:
    with pytest.raises(InputError) as caught:
        request_for(BuildContext(region="ap-southeast-1"), model="cosyvoice-v3-flash")
    assert caught.value.param == "model" and "cn-beijing" in str(caught.value)


async def test_the_answer_is_the_audio_url_and_the_characters_billed(tmp_path: Path) -> None:
    request = request_for(model="cosyvoice-v3-flash")
    reply = {
        "request_id": "r",
        "output": {
            "finish_reason": "stop",
            "audio": {
                "data": "",
                "url": "https://x/a.wav?Expires=1900000000",
                "id": "audio_r",
                "expires_at": 1900000000,
            },
        },
        "usage": {"characters": 20},
    }

    async def progress(message: str) -> None:
        return None

    with respx.mock:
        route = respx.post(f"{BASE}/{HTTP_SPEECH_SYNTHESIS.path}").mock(return_value=httpx.Response(200, json=reply))
        async with DashScopeClient(api_key="sk-test", base_url=BASE) as client:
            context = ExchangeContext(client=client, progress=progress, output_path=lambda i, s: tmp_path / f"{i}{s}")
            assert request.exchange is not None
            outcome = await request.exchange(context, request)
    assert route.called and "X-DashScope-Async" not in route.calls[0].request.headers
    (audio,) = outcome.outputs
    assert audio.kind == "audio" and audio.url == URL
    assert audio.url_expires_at is not None and audio.url_expires_at.startswith("2030")
    assert outcome.usage == {"characters": 20}
    cost = request.model.price.cost(outcome.usage)
    assert cost is not None and cost.amount == pytest.approx(0.002)
