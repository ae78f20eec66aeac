"""Quotes: what a request will cost, from what it will be billed for at its model's price, before it is sent."""

from __future__ import annotations

from typing import Any

import pytest

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import BuildContext, Request, parse_params
from bailian_mcp.jobs.quotes import day_start, quote, unquoted

BEIJING = BuildContext(region="cn-beijing")


def request(capability: str, **params: Any) -> Request:
    chosen = CAPABILITIES[capability]
    return chosen.build(parse_params(chosen.params_model, params), BEIJING)


@pytest.mark.parametrize(
    ("capability", "params", "amount", "basis"),
    [
        ("text_to_image", {"prompt": "猫", "n": 3}, 0.42, "3 images × 0.14 CNY/image"),
        ("text_to_video", {"prompt": "a cat", "model": "wanx2.1-t2v-turbo"}, 1.2, "5 seconds × 0.24 CNY/second"),
        (
            "text_to_video",
            {"prompt": "a cat", "model": "wan2.5-t2v-preview", "resolution": "480P", "duration": 10},
            3.0,
            "10 seconds × 0.3 CNY/second at 480P",
        ),
        ("text_to_speech", {"text": "你好, world", "model": "sambert-zhichu-v1"}, 0.0009, "9 characters"),
        ("text_to_speech", {"text": "你好, world", "model": "cosyvoice-v2"}, 0.0022, "11 characters"),
    ],
)
def test_a_request_is_quoted_from_what_it_will_be_billed(
    capability: str, params: dict[str, Any], amount: float, basis: str
) -> None:
    cost = quote(request(capability, **params))
    assert cost is not None and cost.currency == "CNY"
    assert cost.amount == pytest.approx(amount) and cost.basis.startswith(basis)


def test_what_is_billed_only_afterwards_has_no_quote_but_its_price_is_said() -> None:
    answered = request("text_to_text", prompt="hello")
    assert quote(answered) is None and "0.8 CNY/M input tokens" in unquoted(answered)
    recordings = ["https://example.com/a.wav", "https://example.com/b.wav"]
    transcribed = request("speech_to_text", audio=recordings, model="paraformer-v2")
    assert quote(transcribed) is None, "seconds of audio are known once heard"


def test_the_budget_day_starts_at_midnight_utc() -> None:
    assert day_start(1796601600.0 + 3600 * 23 + 7) == 1796601600.0  # 2026-12-07 00:00 UTC, and 23 hours in
