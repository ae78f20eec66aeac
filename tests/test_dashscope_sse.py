"""Streaming calls (SSE): DashScope's framing as recorded, errors in and before the stream, retry rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import respx

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient, RetryPolicy
from bailian_mcp.dashscope.sse import EventParser, ServerEvent
from tests.support.recordings import RECORDINGS

BASE = "https://dashscope.test/api/v1"
PATH = "services/aigc/text-generation/generation"
URL = f"{BASE}/{PATH}"
SSE_HEADERS = {"content-type": "text/event-stream;charset=UTF-8", "x-request-id": "hdr-request-id"}

# The text-form stream of protocol §4.2 (RAW single-generation-text-sse, incremental_output=true),
# which is not among the recordings beside the spec: framed with a blank line after each event.
TEXT_SSE = (
    'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"null","text":"1+"},"usage":'
    '{"total_tokens":18,"input_tokens":16,"output_tokens":2},"request_id":"5b441aa7-0b9c-9fbc-ae0a-e2b212b71eac"}\n\n'
    'id:2\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"null","text":"1"},"usage":'
    '{"total_tokens":19,"input_tokens":16,"output_tokens":3},"request_id":"5b441aa7-0b9c-9fbc-ae0a-e2b212b71eac"}\n\n'
    'id:3\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"null","text":"等于"},"usage":'
    '{"total_tokens":20,"input_tokens":16,"output_tokens":4},"request_id":"5b441aa7-0b9c-9fbc-ae0a-e2b212b71eac"}\n\n'
    'id:4\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"null","text":"2。"},"usage":'
    '{"total_tokens":22,"input_tokens":16,"output_tokens":6},"request_id":"5b441aa7-0b9c-9fbc-ae0a-e2b212b71eac"}\n\n'
    'id:5\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"stop","text":""},"usage":'
    '{"total_tokens":22,"input_tokens":16,"output_tokens":6},"request_id":"5b441aa7-0b9c-9fbc-ae0a-e2b212b71eac"}\n\n'
)
# RAW parameter-error-sse (protocol §4.2): a refusal after SSE was negotiated is HTTP 200 + event:error.
PARAMETER_ERROR_SSE = (
    "id:1\nevent:error\n:HTTP_STATUS/400\n"
    'data:{"code":"InvalidParameter","message":"Role must be user or assistant and Content length must be greater '
    'than 0","request_id":"7671ecd8-93cc-9ee9-bc89-739f0fd8b809"}\n\n'
)


def make_client(**kwargs: Any) -> DashScopeClient:
    defaults: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": BASE,
        "retry": RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.002),
    }
    defaults.update(kwargs)
    return DashScopeClient(**defaults)


def recorded_bytes(name: str) -> bytes:
    """A recorded body exactly as stored, UTF-8 BOM included."""
    return (RECORDINGS / name).read_bytes()


def sse(content: bytes | str) -> httpx.Response:
    return httpx.Response(200, content=content.encode() if isinstance(content, str) else content, headers=SSE_HEADERS)


def event(number: int, content: str, finish: str = "null", output_tokens: int = 1) -> str:
    data = {
        "output": {"choices": [{"message": {"content": content, "role": "assistant"}, "finish_reason": finish}]},
        "usage": {"total_tokens": 8 + output_tokens, "input_tokens": 8, "output_tokens": output_tokens},
        "request_id": "r-stream",
    }
    return f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(data, ensure_ascii=False)}\n\n"


def error_event(number: int, status: int | None, code: str, message: str) -> str:
    status_line = f":HTTP_STATUS/{status}\n" if status is not None else ""
    data = json.dumps({"code": code, "message": message, "request_id": "r-error"})
    return f"id:{number}\nevent:error\n{status_line}data:{data}\n\n"


class DroppingStream(httpx.AsyncByteStream):
    """Sends `chunks`, then the connection breaks."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        raise httpx.ReadError("connection reset by peer")


async def collect(client: DashScopeClient, body: Any = None) -> list[dict[str, Any]]:
    return [data async for data in client.stream(PATH, body or {"model": "qwen-max"})]


def contents(events: list[dict[str, Any]]) -> str:
    return "".join(e["output"]["choices"][0]["message"]["content"] for e in events)


# ---------------------------------------------------------------------- the framing parser


def parse(lines: list[str]) -> list[ServerEvent]:
    parser = EventParser()
    events = [e for line in lines if (e := parser.feed(line)) is not None]
    last = parser.close()
    return [*events, last] if last is not None else events


def test_parser_reads_dashscope_framing_with_blank_lines() -> None:
    events = parse(TEXT_SSE.split("\n"))
    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert {e.event for e in events} == {"result"} and {e.status for e in events} == {200}
    assert json.loads(events[0].data)["output"]["text"] == "1+"


def test_parser_splits_events_without_blank_lines_ignores_a_bom_and_flushes_at_the_end() -> None:
    lines = ["\ufeffid:1", "event:result", ":HTTP_STATUS/200", "data:{}", "id:2", "event:error", 'data:{"a":1}']
    events = parse(lines)
    assert events == [
        ServerEvent(event="result", data="{}", id="1", status=200),
        ServerEvent(event="error", data='{"a":1}', id="2", status=None),
    ]


def test_parser_follows_the_sse_rules_for_comments_spaces_and_multi_line_data() -> None:
    events = parse([": keep-alive", "retry: 100", "data: first", "data:second", "", "", "event:result", ""])
    assert events == [ServerEvent(event="message", data="first\nsecond")]


# ---------------------------------------------------------------------- replayed recordings


async def test_the_recorded_message_stream_is_replayed_byte_for_byte(recording: Any) -> None:
    rec = recording("single-generation-message-sse")
    assert rec.request_line.startswith(f"POST /api/v1/{PATH}")
    body = recorded_bytes("single-generation-message-sse.response.body.txt")
    assert body.startswith(b"\xef\xbb\xbf") and b"\n\n" not in body  # BOM, and no blank lines between events
    with respx.mock:
        route = respx.post(URL).mock(return_value=sse(body))
        async with make_client() as client:
            events = await collect(client, rec.request_body)
    sent = route.calls.last.request
    assert sent.headers["X-DashScope-SSE"] == "enable" and sent.headers["Accept"] == "text/event-stream"
    assert sent.headers["Authorization"] == "Bearer sk-test"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert json.loads(sent.content) == rec.request_body
    assert len(events) == 10
    assert contents(events) == (
        "1+1 等于 2。这是最基本的数学加法之一，在十进制计数体系中，任何情况下 1 加上另一个 1 的结果都是 2。"
    )
    finish = [e["output"]["choices"][0]["finish_reason"] for e in events]
    assert finish == ["null"] * 9 + ["stop"]
    assert events[-1]["usage"] == {"total_tokens": 48, "input_tokens": 8, "output_tokens": 40}
    assert route.call_count == 1


async def test_the_text_form_stream_of_the_protocol_notes() -> None:
    with respx.mock:
        respx.post(URL).mock(return_value=sse("\ufeff" + TEXT_SSE))
        async with make_client() as client:
            events = await collect(client)
    assert "".join(e["output"]["text"] for e in events) == "1+1等于2。"
    assert [e["output"]["finish_reason"] for e in events] == ["null"] * 4 + ["stop"]
    assert events[-1]["usage"]["output_tokens"] == 6


async def test_each_event_is_yielded_as_it_arrives_not_after_the_whole_body() -> None:
    release = anyio.Event()

    class SlowStream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield event(1, "first").encode()
            await release.wait()
            yield event(2, "second", "stop", 2).encode()

    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, stream=SlowStream(), headers=SSE_HEADERS))
        async with make_client() as client:
            received = []
            with anyio.fail_after(5):
                async for data in client.stream(PATH, {}):
                    received.append(data)
                    release.set()
    assert contents(received) == "firstsecond"


# ---------------------------------------------------------------------- errors in the stream


async def test_a_refusal_sent_as_the_first_event_raises_its_typed_error_and_is_not_resent() -> None:
    with respx.mock:
        route = respx.post(URL).mock(return_value=sse(PARAMETER_ERROR_SSE))
        async with make_client() as client:
            with pytest.raises(errors.InvalidRequestError) as caught:
                await collect(client)
    assert route.call_count == 1
    assert caught.value.status == 400 and caught.value.code == "InvalidParameter"
    assert caught.value.request_id == "7671ecd8-93cc-9ee9-bc89-739f0fd8b809"
    assert "Role must be user or assistant" in str(caught.value)


async def test_an_error_event_mid_stream_raises_after_the_results_before_it() -> None:
    body = event(1, "Hello") + event(2, " world", output_tokens=2) + error_event(3, 500, "InternalError", "boom")
    received: list[dict[str, Any]] = []
    with respx.mock:
        route = respx.post(URL).mock(return_value=sse(body))
        async with make_client() as client:
            with pytest.raises(errors.ServerError) as caught:
                async for data in client.stream(PATH, {}):
                    received.append(data)
    assert contents(received) == "Hello world"
    assert caught.value.status == 500 and caught.value.code == "InternalError"
    assert caught.value.service_message == "boom" and caught.value.request_id == "r-error"
    assert route.call_count == 1, "a stream that has begun is never re-sent"


async def test_an_error_event_without_a_status_line_counts_as_400() -> None:
    body = error_event(1, None, "DataInspectionFailed", "Output data may contain inappropriate content.")
    with respx.mock:
        respx.post(URL).mock(return_value=sse(body))
        async with make_client() as client:
            with pytest.raises(errors.ContentRejectedError) as caught:
                await collect(client)
    assert caught.value.status == 400 and caught.value.code == "DataInspectionFailed"


async def test_an_error_event_without_its_own_request_id_takes_the_reply_header() -> None:
    with respx.mock:
        respx.post(URL).mock(return_value=sse('id:1\nevent:error\n:HTTP_STATUS/403\ndata:{"code":"AccessDenied"}\n\n'))
        async with make_client() as client:
            with pytest.raises(errors.PermissionDeniedError) as caught:
                await collect(client)
    assert caught.value.request_id == "hdr-request-id"


async def test_an_event_that_is_not_json_is_a_connection_error_after_sending() -> None:
    with respx.mock:
        route = respx.post(URL).mock(return_value=sse('id:1\nevent:result\ndata:{"output":{\n\n'))
        async with make_client() as client:
            with pytest.raises(errors.DashScopeConnectionError) as caught:
                await collect(client)
    assert caught.value.request_sent and route.call_count == 1


# ---------------------------------------------------------------------- errors before the stream


@pytest.mark.parametrize(
    ("name", "status", "error_type", "code"),
    [
        ("parameter-error-nosse", 400, errors.InvalidRequestError, "InvalidParameter"),
        ("auth-error-nosse", 401, errors.AuthenticationError, "InvalidApiKey"),
    ],
)
async def test_a_recorded_refusal_before_the_stream_raises_like_call(
    recording: Any, name: str, status: int, error_type: type[errors.DashScopeError], code: str
) -> None:
    rec = recording(name)
    assert rec.status == status
    body = recorded_bytes(f"{name}.response.body.txt")
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(status, content=body))
        async with make_client() as client:
            with pytest.raises(error_type) as caught:
                await collect(client)
    assert caught.value.status == status and caught.value.code == code
    assert route.call_count == 1


async def test_a_5xx_envelope_before_the_stream_is_retried_because_nothing_was_generated() -> None:
    failed = httpx.Response(500, json={"code": "InternalError", "message": "x", "request_id": "r"})
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[failed, sse(event(1, "ok", "stop"))])
        async with make_client() as client:
            events = await collect(client)
    assert route.call_count == 2 and len(events) == 1


async def test_a_gateway_error_page_before_the_stream_is_not_resent() -> None:
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(502, content=b"<html>Bad Gateway</html>"))
        async with make_client() as client:
            with pytest.raises(errors.ServerError):
                await collect(client)
    assert route.call_count == 1


async def test_a_throttled_reply_before_the_stream_is_retried() -> None:
    throttled = {"code": "Throttling.RateQuota", "message": "Requests rate limit exceeded", "request_id": "r1"}
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[httpx.Response(429, json=throttled), sse(event(1, "ok", "stop"))])
        async with make_client() as client:
            events = await collect(client)
    assert route.call_count == 2 and contents(events) == "ok"


async def test_throttling_sent_as_the_first_event_is_retried_too() -> None:
    throttled = error_event(1, 429, "Throttling", "Requests throttling triggered.")
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[sse(throttled), sse(event(1, "ok", "stop"))])
        async with make_client() as client:
            events = await collect(client)
    assert route.call_count == 2 and contents(events) == "ok"


async def test_persistent_throttling_ends_in_a_rate_limit_error() -> None:
    throttled = {"code": "Throttling", "message": "Requests throttling triggered.", "request_id": "r"}
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(429, json=throttled))
        async with make_client() as client:
            with pytest.raises(errors.RateLimitError):
                await collect(client)
    assert route.call_count == 4


async def test_a_connection_that_failed_before_sending_is_retried() -> None:
    with respx.mock:
        route = respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), sse(event(1, "ok", "stop"))])
        async with make_client() as client:
            events = await collect(client)
    assert route.call_count == 2 and contents(events) == "ok"


async def test_a_plain_json_reply_is_one_result() -> None:
    reply = {"output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "2"}}]}}
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json=reply))
        async with make_client() as client:
            events = await collect(client)
    assert events == [reply]


# ---------------------------------------------------------------------- a connection that drops


async def test_a_drop_mid_stream_is_a_connection_error_after_sending_and_is_never_resent() -> None:
    received: list[dict[str, Any]] = []
    with respx.mock:
        route = respx.post(URL).mock(
            return_value=httpx.Response(
                200,
                stream=DroppingStream((event(1, "Hel") + event(2, "lo")).encode(), b"id:3\nevent:res"),
                headers=SSE_HEADERS,
            )
        )
        async with make_client() as client:
            with pytest.raises(errors.DashScopeConnectionError) as caught:
                async for data in client.stream(PATH, {}):
                    received.append(data)
    assert caught.value.request_sent
    assert contents(received) == "Hello"
    assert route.call_count == 1


async def test_a_drop_before_the_first_event_is_not_resent_either() -> None:
    with respx.mock:
        route = respx.post(URL).mock(
            return_value=httpx.Response(200, stream=DroppingStream(b"id:1\nevent:result\n"), headers=SSE_HEADERS)
        )
        async with make_client() as client:
            with pytest.raises(errors.DashScopeConnectionError) as caught:
                await collect(client)
    assert caught.value.request_sent and route.call_count == 1


async def test_a_read_timeout_before_the_reply_is_not_resent() -> None:
    with respx.mock:
        route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
        async with make_client() as client:
            with pytest.raises(errors.DashScopeConnectionError) as caught:
                await collect(client)
    assert caught.value.request_sent and route.call_count == 1


async def test_a_consumer_that_stops_early_closes_the_stream() -> None:
    closed = anyio.Event()

    class EndlessStream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            number = 0
            while True:
                number += 1
                yield event(number, "x").encode()

        async def aclose(self) -> None:
            closed.set()

    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, stream=EndlessStream(), headers=SSE_HEADERS))
        async with make_client() as client:
            stream = client.stream(PATH, {})
            async for _ in stream:
                break
            await stream.aclose()
    assert closed.is_set()
