"""Task-submission throttling: a sliding one-second window per (api key, model) (protocol §11.2)."""

from __future__ import annotations

from collections import deque


class SubmitLimiter:
    """Admits at most ``ceil(rps)`` submissions per sliding second per key; ``rps == 0`` admits all.

    Refused submissions do not count: only created tasks fill the window.
    """

    def __init__(self, rps: float) -> None:
        self._rps = rps
        self._recent: dict[tuple[str, str], deque[float]] = {}

    def admit(self, key: tuple[str, str], now: float) -> bool:
        if self._rps <= 0:
            return True
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self._rps:
            return False
        recent.append(now)
        return True
