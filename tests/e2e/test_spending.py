"""Cost first, driven through the MCP client against the emulator: dry runs, the daily budget, and confirming a
costly call (asked through the client on both protocol versions, or `confirm: true`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, TextContent

from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from bailian_mcp.server import build_server
from tests.support.emulators import api_requests
from tests.support.services import make_settings

VIDEO = {"prompt": "a lighthouse at dusk", "model": "wan2.5-t2v-preview", "duration": 10, "wait_seconds": 0}


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def posts(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return api_requests(emulator, "POST", "synthesis")


async def test_a_dry_run_checks_prices_and_shows_the_request_and_sends_nothing(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    settings = make_settings(tmp_path, emulator.base_url)
    async with Client(build_server(settings)) as client:
        video = await client.call_tool("text_to_video", {**VIDEO, "dry_run": True})
        images = await client.call_tool("text_to_image", {"prompt": "猫", "n": 3, "dry_run": True})
        text = await client.call_tool("text_to_text", {"prompt": "hello", "dry_run": True})
        wrong = await client.call_tool("text_to_video", {**VIDEO, "duration": 7, "dry_run": True})
    data = video.structured_content
    assert data is not None and data["status"] == "DRY_RUN" and data["done"] is True and data["job_id"] == ""
    assert data["cost"] == {"amount": 10.0, "currency": "CNY", "basis": "10 seconds × 1 CNY/second at 1080P"}
    assert data["request"]["body"]["parameters"]["duration"] == 10 and "Would send:" in texts(video)
    assert images.structured_content is not None and images.structured_content["cost"]["amount"] == pytest.approx(0.42)
    assert text.structured_content is not None and text.structured_content["cost"] is None
    assert "priced at 0.8 CNY/M input tokens" in texts(text), "no quote: the price is said instead"
    assert wrong.is_error and "duration" in texts(wrong), "a dry run checks like a real call"
    assert posts(emulator) == [] and api_requests(emulator, "POST", "generation") == []
    store = SQLiteJobStore(settings.job_db_path)
    try:
        assert await store.list() == [], "nothing recorded"
    finally:
        store.close()


async def test_a_call_that_would_cross_the_budget_is_refused_before_sending(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, budget_cny=12.0)
    async with Client(build_server(settings)) as client:
        first = await client.call_tool("text_to_video", VIDEO)
        second = await client.call_tool("text_to_video", VIDEO)
        listing = await client.call_tool("list_tasks", {})
    assert not first.is_error, texts(first)
    assert second.is_error and "10 CNY of today's budget of 12 CNY" in texts(second)
    assert "BAILIAN_BUDGET_CNY" in texts(second) and len(posts(emulator)) == 1
    today = listing.structured_content["today"] if listing.structured_content else None
    assert today is not None and today["budget_cny"] == 12.0 and today["spent_cny"] == 10.0
    assert "10 CNY of the 12 CNY daily budget" in texts(listing)


async def test_a_costly_call_needs_confirm_true_from_a_client_that_cannot_ask(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, confirm_above_cny=5.0)
    async with Client(build_server(settings)) as client:
        schema = {t.name: t.input_schema for t in (await client.list_tools()).tools}["text_to_video"]
        cheap = await client.call_tool("text_to_video", {**VIDEO, "duration": 5, "model": "wanx2.1-t2v-turbo"})
        refused = await client.call_tool("text_to_video", VIDEO)
        assert posts(emulator) and len(posts(emulator)) == 1
        confirmed = await client.call_tool("text_to_video", {**VIDEO, "confirm": True})
    assert schema["properties"]["confirm"]["type"] == "boolean"
    assert not cheap.is_error, "under the threshold: sent at once"
    assert refused.is_error and "quoted 10 CNY" in texts(refused) and "confirm=true" in texts(refused)
    assert not confirmed.is_error and len(posts(emulator)) == 2


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("agree", [True, False])
async def test_a_client_that_can_ask_puts_the_quote_to_the_user(
    tmp_path: Path, emulator: RunningEmulator, mode: str, agree: bool
) -> None:
    asked: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True}) if agree else ElicitResult(action="decline")

    settings = make_settings(tmp_path, emulator.base_url, confirm_above_cny=5.0)
    async with Client(build_server(settings), mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        result = await client.call_tool("text_to_video", VIDEO)
    assert len(asked) == 1 and "quoted 10 CNY (10 seconds × 1 CNY/second at 1080P)" in asked[0]
    if agree:
        assert not result.is_error and result.structured_content is not None
        assert result.structured_content["job_id"].startswith("job_") and len(posts(emulator)) == 1
    else:
        assert result.is_error and "did not confirm" in texts(result) and posts(emulator) == []
    # the model's own confirm=true does not stand in for a user the client can ask
    async with Client(build_server(settings), mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        again = await client.call_tool("text_to_video", {**VIDEO, "confirm": True})
    assert len(asked) == 2 and again.is_error != agree and len(posts(emulator)) == (2 if agree else 0)
