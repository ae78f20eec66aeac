"""Client-side pacing so DashScope's own limits are rarely hit.

DashScope limits task *submission* per model (2 RPS for the image models) and
task *queries* per account (20 QPS). `RateLimiter` spaces calls in each named
bucket evenly, so bursts queue locally instead of drawing 429 replies.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import anyio

# Calls are spaced this much wider than 1/rate, so that network jitter cannot bring two
# of them into the same one-second window on the service's side.
SPACING_MARGIN = 1.1


class RateLimiter:
    """Evenly spaced calls per bucket: at most `rate` calls per second each."""

    def __init__(self, rates: Mapping[str, float] | None = None, default_rate: float = 0.0) -> None:
        self._rates = dict(rates or {})
        self._default_rate = default_rate
        self._next_free: dict[str, float] = {}

    def rate(self, bucket: str) -> float:
        return self._rates.get(bucket, self._default_rate)

    def set_rate(self, bucket: str, rate: float) -> None:
        self._rates[bucket] = rate

    async def acquire(self, bucket: str) -> None:
        """Wait until a call in `bucket` may start; returns at once for unlimited buckets."""
        rate = self.rate(bucket)
        if rate <= 0:
            return
        # No await between reading and booking the slot, so the event loop makes this atomic.
        now = time.monotonic()
        start = max(now, self._next_free.get(bucket, now))
        self._next_free[bucket] = start + SPACING_MARGIN / rate
        if start > now:
            await anyio.sleep(start - now)
