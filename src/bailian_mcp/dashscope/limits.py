"""Client-side pacing so DashScope's own limits are rarely hit.

DashScope limits task *submission* per model (2 RPS for the image models) and
task *queries* per account (20 QPS). `RateLimiter` spaces calls in each named
bucket evenly, so bursts queue instead of drawing 429 replies: within the process,
or, once `share`d, across every process that books its slots in the same place
(the job store).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

import anyio

# Calls are spaced this much wider than 1/rate, so that network jitter cannot bring two
# of them into the same one-second window on the service's side.
SPACING_MARGIN = 1.1

Booking = Callable[[str, float], Awaitable[float]]
"""Books the next slot of a bucket whose calls are `interval` seconds apart: the time (epoch seconds) it starts."""


class RateLimiter:
    """Evenly spaced calls per bucket: at most `rate` calls per second each."""

    def __init__(self, rates: Mapping[str, float] | None = None, default_rate: float = 0.0) -> None:
        self._rates = dict(rates or {})
        self._default_rate = default_rate
        self._next_free: dict[str, float] = {}
        self._booking: Booking | None = None
        self._scope = ""

    def rate(self, bucket: str) -> float:
        return self._rates.get(bucket, self._default_rate)

    def set_rate(self, bucket: str, rate: float) -> None:
        self._rates[bucket] = rate

    def share(self, booking: Booking, scope: str) -> None:
        """Book slots with `booking` from now on, the buckets' names prefixed with `scope` (the account), so that
        every process booking there keeps to the rates together."""
        self._booking, self._scope = booking, scope

    async def acquire(self, bucket: str) -> None:
        """Wait until a call in `bucket` may start; returns at once for unlimited buckets."""
        rate = self.rate(bucket)
        if rate <= 0:
            return
        if self._booking is not None:
            start = await self._booking(f"{self._scope}/{bucket}", SPACING_MARGIN / rate)
            if (delay := start - time.time()) > 0:
                await anyio.sleep(delay)
            return
        # No await between reading and booking the slot, so the event loop makes this atomic.
        now = time.monotonic()
        start = max(now, self._next_free.get(bucket, now))
        self._next_free[bucket] = start + SPACING_MARGIN / rate
        if start > now:
            await anyio.sleep(start - now)
