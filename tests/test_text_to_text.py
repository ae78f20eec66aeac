"""text_to_text: the request it builds, every local rule, streaming the answer, and the job around it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bailian_mcp.capabilities import text_to_text
from bailian_mcp.capabilities.base import BuildContext, ExchangeContext, Outcome, Request, parse_params
from bailian_mcp.capabilities.text_to_text import TEXT_TO_TEXT, TextToTextParams, build, execute, read_event
from bailian_mcp.catalog import resolve
from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient, RetryPolicy
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.server.schemas import ClientFriendlySchema
from tests.support.recordings import RECORDINGS

BASE = "https://dashscope.test/api/v1"
PATH = "services/aigc/text-generation/generation"
URL = f"{BASE}/{PATH}"
SSE_HEADERS = {"content-type": "text/event-stream;charset=UTF-8"}
RECORDED_ANSWER = "1+1 等于 2。这是最基本的数学加法之一，在十进制计数体系中，任何情况下 1 加上另一个 1 的结果都是 2。"


def params(**arguments: Any) -> TextToTextParams:
    return parse_params(TextToTextParams, {"prompt": "What is 1+1?", **arguments})


def make(**arguments: Any) -> Request:
    return build(params(**arguments), BuildContext(region="cn-beijing"))


def rejected(**arguments: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        make(**arguments)
    return caught.value


# ---------------------------------------------------------------------- the request


def test_the_defaults_make_a_streamed_messages_request() -> None:
    request = make()
    assert request.path == PATH and request.model.name == "qwen-plus"
    assert request.body == {
        "model": "qwen-plus",
        "input": {"messages": [{"role": "user", "content": "What is 1+1?"}]},
        "parameters": {"result_format": "message", "incremental_output": True, "max_tokens": 1500},
    }


def test_every_parameter_given_goes_into_the_body() -> None:
    request = make(
        model="qwen-max",
        prompt="  And times 3?  ",
        system="  Answer with a number.  ",
        messages=[{"role": "user", "content": "What is 1+1?"}, {"role": "assistant", "content": "2"}],
        max_tokens=100,
        temperature=0.2,
        top_p=0.9,
        seed=1234,
        stop=["\n\n", "END"],
        enable_search=True,
    )
    assert request.body == {
        "model": "qwen-max",
        "input": {
            "messages": [
                {"role": "system", "content": "Answer with a number."},
                {"role": "user", "content": "What is 1+1?"},
                {"role": "assistant", "content": "2"},
                {"role": "user", "content": "And times 3?"},
            ]
        },
        "parameters": {
            "result_format": "message",
            "incremental_output": True,
            "max_tokens": 100,
            "temperature": 0.2,
            "top_p": 0.9,
            "seed": 1234,
            "stop": ["\n\n", "END"],
            "enable_search": True,
        },
    }


def test_a_single_stop_string_a_zero_temperature_and_a_blank_system_prompt() -> None:
    request = make(model="qwen-turbo", stop="。", temperature=0, system="   ", seed=0)
    assert request.body == {
        "model": "qwen-turbo",
        "input": {"messages": [{"role": "user", "content": "What is 1+1?"}]},
        "parameters": {
            "result_format": "message",
            "incremental_output": True,
            "max_tokens": 1500,
            "temperature": 0.0,
            "seed": 0,
            "stop": "。",
        },
    }


def test_consecutive_turns_of_one_role_are_allowed() -> None:
    turns = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]
    request = make(messages=turns)
    assert request.body["input"]["messages"] == [*turns, {"role": "user", "content": "What is 1+1?"}]


def test_messages_sent_as_json_text_are_read_as_the_list() -> None:
    turns = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    request = make(messages=json.dumps(turns, ensure_ascii=False))
    assert request.body["input"]["messages"][:2] == turns
    assert make(messages="  ").body["input"]["messages"] == [{"role": "user", "content": "What is 1+1?"}]


def test_a_stop_list_sent_as_json_text_is_the_list() -> None:
    assert make(stop='["END", "\\n"]').body["parameters"]["stop"] == ["END", "\n"]
    assert make(stop="[done]").body["parameters"]["stop"] == "[done]"


def test_the_largest_answer_each_model_allows_is_accepted() -> None:
    assert make(model="qwen3-max", max_tokens=65536).body["parameters"]["max_tokens"] == 65536
    assert make(model="qwen-plus", max_tokens=8192).body["parameters"]["max_tokens"] == 8192
    assert make(max_tokens=1).body["parameters"]["max_tokens"] == 1


def test_the_schema_offers_the_models_and_the_real_ranges() -> None:
    schema = TextToTextParams.model_json_schema(schema_generator=ClientFriendlySchema)
    properties = schema["properties"]
    assert properties["model"]["enum"] == ["qwen-turbo", "qwen-plus", "qwen-max", "qwen3-max", "qwen-long"]
    assert properties["temperature"] == {**properties["temperature"], "type": "number", "exclusiveMaximum": 2}
    assert properties["top_p"]["exclusiveMinimum"] == 0 and properties["top_p"]["maximum"] == 1
    assert properties["max_tokens"]["default"] == 1500 and properties["max_tokens"]["maximum"] == 65536
    assert properties["messages"]["type"] == "array" and schema["required"] == ["prompt"]
    assert "anyOf" not in json.dumps({k: v for k, v in properties.items() if k != "stop"})
    assert TEXT_TO_TEXT.name == "text_to_text" and "text" in TEXT_TO_TEXT.description


# ---------------------------------------------------------------------- local rules


def test_temperature_two_is_rejected_with_the_range_and_just_below_is_accepted() -> None:
    error = rejected(temperature=2.0)
    assert error.param == "temperature" and "[0, 2)" in str(error) and "Nothing was sent" in str(error)
    assert make(temperature=1.99).body["parameters"]["temperature"] == 1.99
    assert "[0, 2)" in str(rejected(temperature=-0.1))
    assert rejected(temperature=float("nan")).param == "temperature"


def test_top_p_zero_is_rejected_and_one_is_accepted() -> None:
    error = rejected(top_p=0)
    assert error.param == "top_p" and "(0, 1]" in str(error)
    assert make(top_p=1).body["parameters"]["top_p"] == 1.0
    assert rejected(top_p=1.01).param == "top_p"


def test_max_tokens_over_the_model_limit_names_the_limit() -> None:
    error = rejected(model="qwen-plus", max_tokens=8193)
    assert error.param == "max_tokens"
    assert "qwen-plus writes at most 8192 tokens" in str(error) and "qwen3-max allows up to 65536" in str(error)
    assert rejected(max_tokens=0).param == "max_tokens"
    assert rejected(model="qwen3-max", max_tokens=65537).param == "max_tokens"


def test_an_unknown_model_gets_a_did_you_mean() -> None:
    error = rejected(model="qwen-plush")
    assert error.param == "model" and "did you mean 'qwen-plus'?" in str(error)


def test_an_image_model_is_named_as_such() -> None:
    error = rejected(model="wan2.2-t2i-flash")
    assert "wan2.2-t2i-flash is a text_to_image model" in str(error) and "qwen-plus" in str(error)


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([{"role": "system", "content": "be brief"}], "goes in the `system` parameter"),
        ([{"role": "tool", "content": "x"}], "role must be 'user' or 'assistant'"),
        ([{"role": "user", "content": "   "}], "content must be non-empty text"),
        ([{"role": "user"}], "Missing messages.0.content"),
        ([{"role": "user", "content": "x", "name": "bob"}], "no such parameter"),
        ([{"content": "x"}], "Missing messages.0.role"),
        ("not json", "give a list of role/content objects"),
        ('{"role": "user", "content": "x"}', "messages"),
    ],
)
def test_bad_messages_are_rejected_with_the_reason(turns: Any, expected: str) -> None:
    error = rejected(messages=turns)
    assert error.param.startswith("messages") and expected in str(error)


def test_a_blank_or_too_long_prompt_is_rejected() -> None:
    assert rejected(prompt="   ").param == "prompt"
    assert rejected(prompt="").param == "prompt"
    assert rejected(prompt="x" * 30_001).param == "prompt"
    assert make(prompt="字" * 30_000).body["input"]["messages"][0]["content"] == "字" * 30_000


def test_seed_stop_and_unknown_parameters_are_checked() -> None:
    assert rejected(seed=-1).param == "seed"
    assert rejected(seed=2**31).param == "seed"
    assert make(seed=2**31 - 1).body["parameters"]["seed"] == 2**31 - 1
    assert "non-empty" in str(rejected(stop=["a", ""]))
    for nothing in ("", " ", []):  # what a client that must send every parameter sends for none
        assert "stop" not in make(stop=nothing).body["parameters"]
    assert "no such parameter" in str(rejected(top_k=5))


# ---------------------------------------------------------------------- streaming the answer


def event(content: str, finish: str = "null", output_tokens: int = 1) -> str:
    data = {
        "output": {"choices": [{"message": {"content": content, "role": "assistant"}, "finish_reason": finish}]},
        "usage": {"total_tokens": 8 + output_tokens, "input_tokens": 8, "output_tokens": output_tokens},
        "request_id": "r-stream",
    }
    return f"event:result\n:HTTP_STATUS/200\ndata:{json.dumps(data, ensure_ascii=False)}\n\n"


def error_event(status: int, code: str, message: str) -> str:
    return f'event:error\n:HTTP_STATUS/{status}\ndata:{{"code":"{code}","message":"{message}","request_id":"r-e"}}\n\n'


def sse(body: str | bytes) -> httpx.Response:
    return httpx.Response(200, content=body.encode() if isinstance(body, str) else body, headers=SSE_HEADERS)


class Context:
    """An ExchangeContext over a real client, recording progress."""

    def __init__(self, client: DashScopeClient) -> None:
        self.messages: list[str] = []
        self.exchange = ExchangeContext(client=client, progress=self.progress, output_path=self.output_path)

    async def progress(self, message: str) -> None:
        self.messages.append(message)

    def output_path(self, index: int, suffix: str) -> Path:
        raise AssertionError("text generation saves no files")


@pytest.fixture
async def context() -> AsyncIterator[Context]:
    retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)
    async with DashScopeClient(api_key="sk-test", base_url=BASE, retry=retry) as client:
        yield Context(client)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE) as router:
        yield router


async def test_the_recorded_stream_becomes_text_usage_and_finish_reason(
    recording: Any, context: Context, mock: respx.MockRouter
) -> None:
    recording("single-generation-message-sse")
    body = (RECORDINGS / "single-generation-message-sse.response.body.txt").read_bytes()
    route = mock.post(PATH).mock(return_value=sse(body))
    request = make(model="qwen-max")
    outcome = await execute(context.exchange, request)
    assert outcome == Outcome(
        text=RECORDED_ANSWER,
        finish_reason="stop",
        usage={"input_tokens": 8, "output_tokens": 40, "total_tokens": 48},
    )
    sent = route.calls.last.request
    assert json.loads(sent.content) == request.body and sent.headers["X-DashScope-SSE"] == "enable"
    assert context.messages == [], "an answer that streams in within PROGRESS_INTERVAL reports no progress"


async def test_progress_is_reported_per_interval(
    context: Context, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_to_text, "PROGRESS_INTERVAL", 0.0)
    mock.post(PATH).mock(return_value=sse(event("a") + event("bc", output_tokens=3) + event("", "stop", 3)))
    outcome = await execute(context.exchange, make())
    assert outcome.text == "abc"
    assert context.messages == ["Generated 1 token…", "Generated 3 tokens…", "Generated 3 tokens…"]


async def test_an_answer_cut_by_max_tokens_says_length_and_adds_nothing(
    context: Context, mock: respx.MockRouter
) -> None:
    mock.post(PATH).mock(return_value=sse(event("The answer is") + event(" long", "length", 2)))
    outcome = await execute(context.exchange, make(max_tokens=2))
    assert outcome.text == "The answer is long" and outcome.finish_reason == "length" and outcome.error is None


async def test_a_stream_of_whole_texts_so_far_is_not_doubled(context: Context, mock: respx.MockRouter) -> None:
    mock.post(PATH).mock(return_value=sse(event("I") + event("I like") + event("I like apples", "stop", 3)))
    request = make()
    request.body["parameters"]["incremental_output"] = False
    outcome = await execute(context.exchange, request)
    assert outcome.text == "I like apples" and outcome.usage["output_tokens"] == 3


def test_both_result_formats_are_read() -> None:
    assert read_event({"output": {"finish_reason": "null", "text": "1+"}}) == ("1+", None)
    assert read_event({"output": {"finish_reason": "stop", "text": ""}}) == ("", "stop")
    message = {"output": {"choices": [{"message": {"content": "2", "role": "assistant"}, "finish_reason": None}]}}
    assert read_event(message) == ("2", None)
    assert read_event({"output": {}}) == (None, None)


async def test_an_error_after_some_text_keeps_the_text(context: Context, mock: respx.MockRouter) -> None:
    body = event("Once upon") + event(" a time", output_tokens=3) + error_event(500, "InternalError", "boom")
    route = mock.post(PATH).mock(return_value=sse(body))
    outcome = await execute(context.exchange, make())
    assert outcome.text == "Once upon a time" and outcome.finish_reason is None
    assert outcome.usage == {"input_tokens": 8, "output_tokens": 3, "total_tokens": 11}
    assert outcome.error is not None and (outcome.error.code, outcome.error.message) == ("InternalError", "boom")
    assert route.call_count == 1


async def test_a_drop_after_some_text_keeps_the_text(context: Context, mock: respx.MockRouter) -> None:
    class Dropping(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield event("partial").encode()
            raise httpx.ReadError("reset")

    route = mock.post(PATH).mock(return_value=httpx.Response(200, stream=Dropping(), headers=SSE_HEADERS))
    outcome = await execute(context.exchange, make())
    assert outcome.text == "partial" and outcome.error is not None and outcome.error.code == "ConnectionLost"
    assert route.call_count == 1


async def test_an_error_before_any_text_is_raised(context: Context, mock: respx.MockRouter) -> None:
    body = event("") + error_event(400, "DataInspectionFailed", "Output data may contain inappropriate content.")
    mock.post(PATH).mock(return_value=sse(body))
    with pytest.raises(errors.ContentRejectedError):
        await execute(context.exchange, make())


async def test_a_stream_that_ends_unfinished_is_flagged(context: Context, mock: respx.MockRouter) -> None:
    mock.post(PATH).mock(return_value=sse(event("half an ans")))
    outcome = await execute(context.exchange, make())
    assert outcome.text == "half an ans" and outcome.error is not None and outcome.error.code == "IncompleteStream"
    mock.post(PATH).mock(return_value=sse(""))
    with pytest.raises(errors.DashScopeConnectionError) as caught:
        await execute(context.exchange, make())
    assert caught.value.request_sent


# ---------------------------------------------------------------------- the job around it


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings) as opened:
        opened.client.retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)
        yield opened


async def test_the_runner_streams_records_and_prices_a_job(
    recording: Any, services: Services, mock: respx.MockRouter
) -> None:
    recording("single-generation-message-sse")
    body = (RECORDINGS / "single-generation-message-sse.response.body.txt").read_bytes()
    route = mock.post(PATH).mock(return_value=sse(body))
    progress: list[str] = []

    async def report(value: float, message: str) -> None:
        progress.append(message)

    result = await services.runner.run(TEXT_TO_TEXT, params(model="qwen-max"), wait_seconds=5, progress=report)

    assert route.call_count == 1
    assert result.done and result.status == "SUCCEEDED" and result.error is None
    assert result.capability == "text_to_text" and result.model == "qwen-max" and result.task_id is None
    assert result.text == RECORDED_ANSWER and result.finish_reason == "stop"
    assert result.usage == {"input_tokens": 8.0, "output_tokens": 40.0, "total_tokens": 48.0}
    price = resolve("text_to_text", "qwen-max").price
    assert result.cost is not None and result.cost == price.cost(
        {"input_tokens": 8, "output_tokens": 40, "total_tokens": 48}
    )
    assert result.cost.amount == round((8 * 2.4 + 40 * 9.6) / 1_000_000, 8)  # TokenPrice rounds to 8 places
    assert result.cost.currency == "CNY" and "8 input + 40 output tokens" in result.cost.basis
    assert progress == [], "a quick answer reports no progress"

    job = await services.store.get(result.job_id)
    assert job is not None and job.status == "SUCCEEDED" and job.capability == "text_to_text"
    assert job.request == json.loads(route.calls.last.request.content)
    assert job.result == result.model_dump(mode="json")


async def test_the_runner_keeps_partial_text_of_a_failed_stream(services: Services, mock: respx.MockRouter) -> None:
    mock.post(PATH).mock(return_value=sse(event("Hello", output_tokens=2) + error_event(500, "InternalError", "x")))
    result = await services.runner.run(TEXT_TO_TEXT, params(), wait_seconds=5)
    assert result.done and result.status == "FAILED" and result.text == "Hello"
    assert result.error is not None and result.error.code == "InternalError"
    assert result.cost is not None and result.cost.amount == round((8 * 0.8 + 2 * 2.0) / 1_000_000, 8)
    job = await services.store.get(result.job_id)
    assert job is not None and job.status == "FAILED" and job.result is not None and job.result["text"] == "Hello"


async def test_the_runner_reports_a_refused_stream_as_rejected(services: Services, mock: respx.MockRouter) -> None:
    mock.post(PATH).mock(return_value=sse(error_event(400, "InvalidParameter", "Range of max_tokens should be")))
    with pytest.raises(errors.InvalidRequestError):
        await services.runner.run(TEXT_TO_TEXT, params(), wait_seconds=5)
    jobs = await services.store.list()
    assert [job.status for job in jobs] == ["REJECTED"]
