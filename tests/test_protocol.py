"""Wire-format facts: the service's UTC+8 timestamps and the expiry of pre-signed result URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bailian_mcp.dashscope.protocol import RESULT_TTL, SERVICE_TZ, parse_service_time, url_expiry


def test_service_time_is_beijing_time() -> None:
    moment = parse_service_time("2024-03-01 17:38:24.817")
    assert moment is not None
    assert moment.utcoffset() == timedelta(hours=8)
    # The recorded create reply carried `Date: Fri, 01 Mar 2024 09:38:24 GMT` for this submit_time.
    assert moment.astimezone(UTC) == datetime(2024, 3, 1, 9, 38, 24, 817000, tzinfo=UTC)


def test_service_time_without_milliseconds_is_read_too() -> None:
    assert parse_service_time("2025-08-13 18:04:35") == datetime(2025, 8, 13, 18, 4, 35, tzinfo=SERVICE_TZ)


@pytest.mark.parametrize("value", [None, "", "yesterday", "2024-03-01T17:38:24Z", "1709260685184"])
def test_a_missing_or_unreadable_service_time_is_none(value: str | None) -> None:
    assert parse_service_time(value) is None


def test_a_signed_url_expires_at_its_expires_parameter() -> None:
    url = (
        "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/a.png?Expires=1709372335&OSSAccessKeyId=x&Signature=y"
    )
    assert url_expiry(url) == "2024-03-02T09:38:55Z"
    assert url_expiry(url, "2020-01-01 00:00:00.000") == "2024-03-02T09:38:55Z", "the signature wins over end_time"


def test_an_unsigned_url_expires_24_hours_after_the_task_ended() -> None:
    assert timedelta(hours=24) == RESULT_TTL
    assert url_expiry("https://x.test/a.png", "2024-03-01 17:38:55.565") == "2024-03-02T09:38:55.565000Z"
    assert url_expiry("https://x.test/a.png?Expires=soon", "2024-03-01 08:00:00") == "2024-03-02T00:00:00Z"


def test_the_expiry_is_unknown_without_a_signature_or_an_end_time() -> None:
    assert url_expiry("https://x.test/a.png") is None
    assert url_expiry("https://x.test/a.png", "not a time") is None
