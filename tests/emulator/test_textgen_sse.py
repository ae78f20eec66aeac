"""Streamed text generation (protocol §4.2): SSE framing, incremental and cumulative output, errors."""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.textgen import reply_text, tokens
from tests.support.emulator_app import AUTH, TEXTGEN, Emulator, MakeEmulator

SSE = {**AUTH, "X-DashScope-SSE": "enable"}


@dataclass
class Event:
    id: int
    event: str
    status: int
    data: dict[str, Any]


def parse_sse(body: str) -> list[Event]:
    """Parse a DashScope stream, insisting on its exact framing: four lines, then one blank line."""
    assert body.endswith("\n\n") and "[DONE]" not in body
    events = []
    for block in body[:-2].split("\n\n"):
        lines = block.split("\n")
        assert len(lines) == 4, block
        assert re.fullmatch(r"id:\d+", lines[0]) and re.fullmatch(r"event:(result|error)", lines[1])
        assert re.fullmatch(r":HTTP_STATUS/\d{3}", lines[2]) and lines[3].startswith("data:{")
        events.append(Event(int(lines[0][3:]), lines[1][6:], int(lines[2][13:]), json.loads(lines[3][5:])))
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    return events


async def stream(
    emu: Emulator, prompt: str = "What is 1+1?", headers: dict[str, str] = SSE, **params: Any
) -> httpx.Response:
    body = {"model": "qwen-max", "input": {"prompt": prompt}, "parameters": params}
    return await emu.http.post(TEXTGEN, headers=headers, json=body)


def texts(events: list[Event]) -> list[str]:
    return [event.data["output"]["text"] for event in events]


async def test_incremental_stream_sends_pieces_then_an_empty_final_event(emu: Emulator) -> None:
    response = await stream(emu, incremental_output=True)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream;charset=UTF-8"
    events = parse_sse(response.text)
    assert len(events) > 5
    assert all(event.event == "result" and event.status == 200 for event in events)
    assert [event.data["output"]["finish_reason"] for event in events] == ["null"] * (len(events) - 1) + ["stop"]
    assert events[-1].data["output"]["text"] == ""
    assert "".join(texts(events)) == reply_text("What is 1+1?")
    request_ids = {event.data["request_id"] for event in events}
    assert request_ids == {response.headers["x-request-id"]}


async def test_usage_is_cumulative_in_every_event(emu: Emulator) -> None:
    events = parse_sse((await stream(emu, incremental_output=True)).text)
    outputs = [event.data["usage"]["output_tokens"] for event in events]
    assert outputs == sorted(outputs) and outputs[0] == 4
    assert outputs[-1] == len(tokens(reply_text("What is 1+1?")))
    for event in events:
        usage = event.data["usage"]
        assert list(usage) == ["total_tokens", "input_tokens", "output_tokens"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_non_incremental_stream_sends_the_whole_text_so_far(emu: Emulator) -> None:
    events = parse_sse((await stream(emu, incremental_output=False)).text)
    so_far = texts(events)
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(so_far))
    assert so_far[-1] == reply_text("What is 1+1?") and events[-1].data["output"]["finish_reason"] == "stop"


async def test_message_stream_has_the_recorded_event_shape(emu: Emulator) -> None:
    events = parse_sse((await stream(emu, result_format="message", incremental_output=True)).text)
    first = events[0].data
    assert list(first) == ["output", "usage", "request_id"]
    assert first["output"] == {
        "choices": [{"message": {"content": first["output"]["choices"][0]["message"]["content"], "role": "assistant"},
                     "finish_reason": "null"}]
    }  # fmt: skip
    assert events[-1].data["output"]["choices"][0]["finish_reason"] == "stop"


async def test_accept_event_stream_alone_turns_streaming_on(emu: Emulator) -> None:
    response = await stream(emu, headers={**AUTH, "Accept": "text/event-stream"})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert len(parse_sse(response.text)) > 1


async def test_max_tokens_ends_the_stream_with_length(emu: Emulator) -> None:
    events = parse_sse((await stream(emu, incremental_output=True, max_tokens=6)).text)
    assert events[-1].data["output"]["finish_reason"] == "length"
    assert events[-1].data["usage"]["output_tokens"] == 6


async def test_qwen3_max_streams_incrementally_by_default(emu: Emulator) -> None:
    body = {"model": "qwen3-max", "input": {"prompt": "hi"}}
    events = parse_sse((await emu.http.post(TEXTGEN, headers=SSE, json=body)).text)
    assert events[-1].data["output"]["choices"][0]["message"]["content"] == ""


@pytest.mark.parametrize(
    ("params", "prompt", "code", "message"),
    [
        ({"temperature": 2.0}, "hi", "InvalidParameter", "Temperature should be in [0.0, 2.0)"),
        ({}, "", "InvalidParameter", 'Either "prompt" or "messages" must exist and cannot both be none'),
        ({}, "hi [emulator:inspect]", "DataInspectionFailed", "Input data may contain inappropriate content."),
    ],
)
async def test_a_refused_stream_is_http_200_with_one_error_event(
    emu: Emulator, params: dict[str, Any], prompt: str, code: str, message: str
) -> None:
    response = await stream(emu, prompt, **params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream;charset=UTF-8"
    (event,) = parse_sse(response.text)
    assert (event.event, event.status) == ("error", 400)
    assert list(event.data) == ["code", "message", "request_id"]
    assert (event.data["code"], event.data["message"]) == (code, message)


async def test_a_bad_key_on_a_stream_is_a_plain_401(emu: Emulator) -> None:
    response = await stream(emu, headers={"X-DashScope-SSE": "enable"})
    assert response.status_code == 401 and response.json()["code"] == "InvalidApiKey"


async def test_stream_error_trigger_fails_midway_with_a_500_event(emu: Emulator) -> None:
    events = parse_sse((await stream(emu, "go [emulator:stream-error]", incremental_output=True)).text)
    assert [event.event for event in events] == ["result", "result", "error"]
    error = events[-1]
    assert error.status == 500 and error.data["code"] == "InternalError"
    assert error.data["message"] == "An internal error has occured, please try again later or contact service support."


async def test_events_are_paced_by_stream_chunk_seconds(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(stream_chunk_seconds=0.01)
    started = time.perf_counter()
    events = parse_sse((await stream(emu)).text)
    assert time.perf_counter() - started >= 0.01 * (len(events) - 1) * 0.9
