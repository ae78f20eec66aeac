"""Everything one emulator instance remembers, reachable as ``app.state.emulator``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from .config import EmulatorConfig
from .faults import FaultInjector
from .outputs import OutputStore
from .ratelimit import SubmitLimiter
from .reqlog import RequestLog
from .signing import UrlSigner
from .tasks import TaskStore
from .upload_store import UploadStore


class EmulatorState:
    """Config, clock, tasks, synchronous outputs, uploads, throttling, URL signing, the request log and
    the fault injector.

    ``clock`` is a monotonic time source in seconds (tests pass a fake one);
    wall-clock times are that clock shifted to the epoch when the state is made.
    """

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._epoch_offset = time.time() - clock()
        self.tasks = TaskStore(config)
        self.outputs = OutputStore(config.result_url_ttl_seconds)
        self.uploads = UploadStore(config.upload_ttl_seconds, config.upload_capacity_mb * 1024 * 1024)
        self.limiter = SubmitLimiter(config.submit_rps)
        self.signer = UrlSigner()
        self.log = RequestLog(lambda: self.epoch(self.now()))
        self.faults = FaultInjector(config.faults)

    def now(self) -> float:
        """Monotonic seconds: what task lifecycles are measured in."""
        return self._clock()

    def epoch(self, moment: float) -> float:
        """The wall-clock (epoch seconds) of a monotonic instant."""
        return moment + self._epoch_offset

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received so far (see `RequestLog`), oldest first."""
        return self.log.entries()


def emulator_state(holder: HTTPConnection | Starlette) -> EmulatorState:
    """The state of the app serving a request, or of an app."""
    app = holder.app if isinstance(holder, HTTPConnection) else holder
    return cast(EmulatorState, app.state.emulator)
