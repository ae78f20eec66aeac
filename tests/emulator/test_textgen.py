"""Text generation without streaming (protocol §4.1): the rules, the reply and the answer's shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.textgen import MODELS, reply_text, tokens
from tests.support.emulator_app import ASYNC, AUTH, TEXTGEN, Emulator, assert_error

ROLE_ERROR = "Role must be user or assistant and Content length must be greater than 0"


async def generate(
    emu: Emulator, payload: dict[str, Any] | None = None, model: str = "qwen-plus", **params: Any
) -> httpx.Response:
    body = {"model": model, "input": {"prompt": "What is 1+1?"} if payload is None else payload, "parameters": params}
    return await emu.http.post(TEXTGEN, headers=AUTH, json=body)


def test_model_table_has_the_documented_models() -> None:
    assert set(MODELS) == {
        "qwen-turbo", "qwen-plus", "qwen-max", "qwen-long", "qwen3-max",
        "qwen-plus-latest", "qwen-turbo-latest", "qwen-max-latest",
    }  # fmt: skip
    assert MODELS["qwen-max"].max_output_tokens == 8192


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_every_model_answers(emu: Emulator, model: str) -> None:
    response = await generate(emu, model=model)
    assert response.status_code == 200, response.text


async def test_text_answer_has_the_recorded_shape(emu: Emulator) -> None:
    response = await generate(emu, {"prompt": "请问 1+1 是多少？"}, model="qwen-max")
    body = response.json()
    assert list(body) == ["output", "usage", "request_id"]
    assert list(body["output"]) == ["finish_reason", "text"]
    assert body["output"]["finish_reason"] == "stop"
    assert "请问 1+1 是多少？" in body["output"]["text"]
    usage = body["usage"]
    assert list(usage) == ["prompt_tokens_details", "total_tokens", "output_tokens", "input_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens"] == len(tokens("请问 1+1 是多少？"))
    assert usage["output_tokens"] == len(tokens(body["output"]["text"]))
    assert response.headers["x-request-id"] == body["request_id"]


async def test_message_answer_has_the_recorded_shape(emu: Emulator) -> None:
    payload = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]}
    body = (await generate(emu, payload, result_format="message")).json()
    assert list(body["output"]) == ["choices"]
    (choice,) = body["output"]["choices"]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and "Hi there" in choice["message"]["content"]
    assert list(body["usage"]) == ["total_tokens", "output_tokens", "input_tokens"]
    assert body["usage"]["input_tokens"] == len(tokens("Be brief.")) + len(tokens("Hi there"))


@pytest.mark.parametrize(
    ("model", "shape"), [("qwen-turbo", "text"), ("qwen-long", "message"), ("qwen3-max", "message")]
)
async def test_default_result_format_follows_the_model(emu: Emulator, model: str, shape: str) -> None:
    output = (await generate(emu, model=model)).json()["output"]
    assert ("choices" in output) == (shape == "message")


async def test_the_reply_answers_the_last_user_message(emu: Emulator) -> None:
    payload = {
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": "second question"},
        ]
    }
    text = (await generate(emu, payload)).json()["output"]["text"]
    assert text == reply_text("second question")
    assert (await generate(emu, payload)).json()["output"]["text"] == text  # deterministic


def test_tokens_are_runs_of_four_ascii_letters_or_single_characters() -> None:
    assert tokens("Hello, 世界!") == ["Hell", "o", ",", " 世", "界", "!"]
    assert "".join(tokens("  spaced   out  ")) == "  spaced   out  "


async def test_max_tokens_cuts_the_reply_with_finish_reason_length(emu: Emulator) -> None:
    output = (await generate(emu, max_tokens=5)).json()
    assert output["output"]["finish_reason"] == "length"
    assert output["usage"]["output_tokens"] == 5
    assert output["output"]["text"] == "".join(tokens(reply_text("What is 1+1?"))[:5])


async def test_a_stop_string_cuts_the_reply(emu: Emulator) -> None:
    output = (await generate(emu, stop=["deterministic", "never there"])).json()["output"]
    assert output == {"finish_reason": "stop", "text": reply_text("What is 1+1?").split("deterministic")[0]}


@pytest.mark.parametrize("stop", ["x", ["a", "b"], [37763, 367], [[37763, 367]], []])
async def test_every_stop_form_is_accepted(emu: Emulator, stop: object) -> None:
    assert (await generate(emu, stop=stop)).status_code == 200


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, 'Either "prompt" or "messages" must exist and cannot both be none'),
        ({"prompt": ""}, 'Either "prompt" or "messages" must exist and cannot both be none'),
        ({"prompt": "1+1?", "messages": []}, ROLE_ERROR),
        ({"messages": [{"role": "user", "content": ""}]}, ROLE_ERROR),
        ({"messages": [{"role": "robot", "content": "hi"}]}, ROLE_ERROR),
        ({"messages": [{"role": "user", "content": 7}]}, ROLE_ERROR),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "late"}]}, ROLE_ERROR),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, ROLE_ERROR),
        ({"messages": ["hi"]}, ROLE_ERROR),
        ({"messages": "hi"}, ROLE_ERROR),
    ],
)
async def test_input_rules(emu: Emulator, payload: dict[str, Any], message: str) -> None:
    assert_error(await generate(emu, payload), 400, "InvalidParameter", message)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"temperature": 2.0}, "Temperature should be in [0.0, 2.0)"),
        ({"temperature": -0.1}, "Temperature should be in [0.0, 2.0)"),
        ({"temperature": "hot"}, "Temperature should be in [0.0, 2.0)"),
        ({"top_p": 0}, "Range of top_p should be (0.0, 1.0]"),
        ({"top_p": 1.01}, "Range of top_p should be (0.0, 1.0]"),
        ({"top_k": -1}, "Parameter top_k be greater than or equal to 0"),
        ({"top_k": 1.5}, "Parameter top_k be greater than or equal to 0"),
        ({"max_tokens": 0}, "Range of max_tokens should be [1, 8192]"),
        ({"max_tokens": 8193}, "Range of max_tokens should be [1, 8192]"),
        ({"seed": -1}, "Range of seed should be [0, 9223372036854775807]"),
        ({"seed": 2**63}, "Range of seed should be [0, 9223372036854775807]"),
        ({"stop": [1, "a"]}, 'The "stop" parameter must be of type str, list[str], list[int] or list[list[int]]'),
        ({"stop": 5}, 'The "stop" parameter must be of type str, list[str], list[int] or list[list[int]]'),
        ({"result_format": "xml"}, 'The result_format parameter must be "text" or "message"'),
        ({"incremental_output": "yes"}, "The incremental_output parameter must be a boolean"),
        ({"repetition_penalty": 0}, "repetition_penalty should be greater than 0.0"),
        ({"presence_penalty": 2.5}, "Range of presence_penalty should be [-2.0, 2.0]"),
        (
            {"enable_thinking": True, "result_format": "text"},
            'The result_format parameter must be "message" when enable_thinking is true',
        ),
    ],
)
async def test_parameter_rules(emu: Emulator, params: dict[str, Any], message: str) -> None:
    assert_error(await generate(emu, **params), 400, "InvalidParameter", message)


@pytest.mark.parametrize(("model", "limit"), [("qwen-plus-latest", 16384), ("qwen3-max", 65536)])
async def test_max_tokens_limit_is_the_models(emu: Emulator, model: str, limit: int) -> None:
    assert (await generate(emu, model=model, max_tokens=limit)).status_code == 200
    response = await generate(emu, model=model, max_tokens=limit + 1)
    assert_error(response, 400, "InvalidParameter", f"Range of max_tokens should be [1, {limit}]")


async def test_parameter_bounds_are_accepted(emu: Emulator) -> None:
    params = {"temperature": 0, "top_p": 1.0, "top_k": 0, "max_tokens": 1, "seed": 0, "presence_penalty": -2}
    assert (await generate(emu, **params)).status_code == 200


async def test_input_over_the_models_limit_is_refused(emu: Emulator) -> None:
    response = await generate(emu, {"prompt": "字" * 30721}, model="qwen-max")
    assert_error(response, 400, "InvalidParameter", "Range of input length should be [1, 30720]")


async def test_unknown_model_does_not_exist(emu: Emulator) -> None:
    assert_error(await generate(emu, model="qwen-ultra"), 400, "InvalidParameter", "Model not exist.")


async def test_async_header_is_refused(emu: Emulator) -> None:
    body = {"model": "qwen-plus", "input": {"prompt": "hi"}}
    response = await emu.http.post(TEXTGEN, headers=ASYNC, json=body)
    assert_error(response, 403, "AccessDenied", "Current user api does not support asynchronous calls.")


async def test_key_is_checked_first(emu: Emulator) -> None:
    response = await emu.http.post(TEXTGEN, json={"model": "nothing"})
    assert_error(response, 401, "InvalidApiKey", "No API-key provided.")


async def test_unknown_parameters_are_ignored(emu: Emulator) -> None:
    assert (await generate(emu, max_completion_tokens=1500, enable_search=False, foo="bar")).status_code == 200


async def test_inspect_trigger(emu: Emulator) -> None:
    response = await generate(emu, {"prompt": "tell me [emulator:inspect]"})
    assert_error(response, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")


async def test_stream_error_trigger_without_streaming_is_an_internal_error(emu: Emulator) -> None:
    response = await generate(emu, {"prompt": "x [emulator:stream-error]"})
    assert_error(
        response,
        500,
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    )
