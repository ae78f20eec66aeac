"""Fault injection: a seeded plan of what goes wrong, per endpoint class, and the dice that decide it.

A `FaultPlan` (``EmulatorConfig.faults``; by default nothing goes wrong) gives each endpoint class
its own `EndpointFaults`. The running emulator keeps the plan in ``state.faults`` (a
`FaultInjector`), where tests replace it in-process, and behind the control endpoints
``GET``/``PUT``/``DELETE /__emulator__/faults`` (the plan as JSON; ``PUT`` replaces it, ``DELETE``
switches faults off) and ``GET``/``DELETE /__emulator__/faults/stats`` (what was injected, per
class and kind).

Endpoint classes (`endpoint_class` in `fault_middleware`):

``submit``     ``POST /api/v1/services/...`` with ``X-DashScope-Async: enable`` (creates a task)
``task``       ``/api/v1/tasks`` and ``/api/v1/tasks/{id}[/cancel]`` (queries, lists, cancels)
``sync``       ``POST /api/v1/services/...`` without it (text generation, synchronous image models)
``download``   ``GET /results/...`` (signed result URLs)
``upload``     ``GET /api/v1/uploads`` (the policy) and ``POST /__oss__/upload`` (the form upload)
``websocket``  the speech-synthesis WebSocket ``/api-ws/v1/inference``

The emulator's own ``/__emulator__/`` endpoints never fail.

Request faults — at most one per request, drawn in this order (their probabilities add up to ≤ 1):

``reset_before`` (all but websocket)
    The connection is reset (TCP RST) as soon as the request head has arrived, before its body
    is read: the service did nothing and the request is not in the request log. The client
    sees a reset with no reply (httpx: ``ReadError``/``RemoteProtocolError``) — on an HTTP/1.1
    connection that is all a client can see, so it cannot tell this apart from ``reset_after``.
``throttle`` and ``throttle_burst`` (all)
    A burst of ``throttle_burst`` consecutive 429 ``Throttling.RateQuota`` replies: this
    request and the next ``throttle_burst - 1`` requests of the class. Nothing is created.
``server_error`` (all)
    500 ``InternalError``, without running the endpoint (nothing is created).
``unavailable`` (all)
    503 ``ModelServingError``, without running the endpoint.
``reset_after`` (all but websocket)
    The endpoint runs (a task IS created, an edit IS made), then the connection is reset with no
    reply: the "pay twice" trap, a client must not send it again. Logged with status ``None``.
``truncate`` (all but websocket)
    The reply's headers (with its full ``Content-Length``) and half of its body (a stream: its
    first chunk), then the connection is closed. The endpoint did run.
``malformed`` (submit, task, sync, upload)
    The endpoint runs, then its body is replaced by bytes that are not JSON (its status kept:
    "200 with garbage").
``slow`` and ``slow_bytes_per_second`` (all but websocket)
    The reply's body is sent at ``slow_bytes_per_second`` (a slow download; elsewhere, a reply that
    arrives long after the endpoint acted).
``stall`` and ``stall_seconds`` (download)
    The headers and half the body, then nothing: until the client gives up (or ``stall_seconds``
    pass; then the connection is closed).
``drop`` (websocket)
    A speech synthesis stops after its first audio frame: the server goes away without a close
    frame or ``task-finished`` (the client sees close code 1006).

``latency`` (all, independent of the above)
    A `Latency` before the request is read: ``fixed`` (``seconds``), ``uniform`` (between ``low``
    and ``seconds``) or ``exponential`` (mean ``seconds``), at most ``max_seconds``, applied to a
    ``probability`` of the requests.

Error replies are the service's own: the flat JSON envelope under ``/api/``, an OSS XML error
on the OSS paths (``/results/``, ``/__oss__/upload``), a refused handshake (HTTP status and JSON
body) on the WebSocket. Resets, cuts and stalls act on the request's TCP connection, which the
emulator's uvicorn protocol hands to each request (see `connection`); in-process (an ASGI
transport, no socket) such a request raises `connection.ConnectionDropped` instead.

Outcome faults — drawn once per task created (submit) or per synchronous answer with files
(sync), at most one each (probabilities add up to ≤ 1), independently of the request faults:

``fail`` (submit)
    The task ends FAILED ``InternalError.Algo``, as with the ``[emulator:fail]`` trigger.
``partial`` (submit)
    A task with two or more result images SUCCEEDS with its last image replaced by an
    ``InternalError.Timeout`` item (as ``[emulator:partial]``); any other task fails instead.
``pending`` (submit)
    The task is never scheduled: it stays PENDING until it is canceled or expires.
``expired_urls`` (submit, sync)
    Its result URLs are signed with an ``Expires`` already in the past: downloads get OSS's 403
    ``AccessDenied`` "Request has expired.".

Determinism: every class draws from its own ``random.Random`` streams seeded from the plan's
``seed`` (one for request faults, one for latencies, one for outcomes), one draw per decision,
so for a given seed the n-th request of a class always gets the same fault, however requests
of other classes interleave. Replacing the plan restarts the streams; the stats keep counting
until they are cleared.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

EndpointClass = Literal["submit", "task", "sync", "download", "upload", "websocket"]
ENDPOINT_CLASSES: tuple[EndpointClass, ...] = get_args(EndpointClass)

REQUEST_FAULTS = (
    "reset_before",
    "throttle",
    "server_error",
    "unavailable",
    "reset_after",
    "truncate",
    "malformed",
    "slow",
    "stall",
    "drop",
)
"""Request faults, in the order a draw is matched against their probabilities."""
OUTCOME_FAULTS = ("fail", "partial", "pending", "expired_urls")
"""Faults of what a created task (or a synchronous answer) turns out to be."""

_HTTP_FAULTS = {"reset_before", "reset_after", "truncate", "slow"}
_ERROR_REPLIES = {"throttle", "server_error", "unavailable"}
APPLICABLE: dict[EndpointClass, frozenset[str]] = {
    "submit": frozenset(_ERROR_REPLIES | _HTTP_FAULTS | {"malformed", "fail", "partial", "pending", "expired_urls"}),
    "task": frozenset(_ERROR_REPLIES | _HTTP_FAULTS | {"malformed"}),
    "sync": frozenset(_ERROR_REPLIES | _HTTP_FAULTS | {"malformed", "expired_urls"}),
    "download": frozenset(_ERROR_REPLIES | _HTTP_FAULTS | {"stall"}),
    "upload": frozenset(_ERROR_REPLIES | _HTTP_FAULTS | {"malformed"}),
    "websocket": frozenset(_ERROR_REPLIES | {"drop"}),
}
"""The faults each endpoint class can be given (``latency`` applies to all)."""

FAULT_SCOPE_KEY = "bailian_emulator.fault"
"""Where a request's `Decision` travels in its ASGI scope (read by the request log and the endpoints)."""

_EXPIRED_MEMORY = 100_000
"""How many owners of expired-URL faults are remembered (oldest forgotten first)."""


def _probability(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}.{name} must be a probability in [0, 1], got {value!r}")


@dataclass(frozen=True)
class Latency:
    """A delay before a request is read."""

    distribution: Literal["fixed", "uniform", "exponential"] = "fixed"
    seconds: float = 0.0
    """``fixed``: the delay; ``uniform``: the upper bound; ``exponential``: the mean."""
    low: float = 0.0
    """``uniform``: the lower bound."""
    max_seconds: float = 60.0
    """No delay is longer (exponential tails)."""
    probability: float = 1.0
    """Share of the requests that are delayed."""

    def __post_init__(self) -> None:
        if self.distribution not in ("fixed", "uniform", "exponential"):
            raise ValueError(f"latency.distribution must be fixed, uniform or exponential, got {self.distribution!r}")
        for name in ("seconds", "low", "max_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"latency.{name} must be a number of seconds >= 0, got {value!r}")
        if self.distribution == "uniform" and self.low > self.seconds:
            raise ValueError("latency.low must not exceed latency.seconds")
        _probability("latency", "probability", self.probability)

    def sample(self, rng: random.Random) -> float:
        """A delay in seconds; always two draws from ``rng``, so streams stay aligned."""
        applies, draw = rng.random(), rng.random()
        if applies >= self.probability:
            return 0.0
        if self.distribution == "uniform":
            delay = self.low + (self.seconds - self.low) * draw
        elif self.distribution == "exponential":
            delay = -self.seconds * math.log(1.0 - draw)
        else:
            delay = self.seconds
        return min(delay, self.max_seconds)


@dataclass(frozen=True)
class EndpointFaults:
    """What goes wrong on one endpoint class: probabilities per request (or per created task) and parameters.

    See the module docstring for what each fault does and where it applies.
    """

    latency: Latency | None = None
    reset_before: float = 0.0
    throttle: float = 0.0
    throttle_burst: int = 1
    server_error: float = 0.0
    unavailable: float = 0.0
    reset_after: float = 0.0
    truncate: float = 0.0
    malformed: float = 0.0
    slow: float = 0.0
    slow_bytes_per_second: int = 64 * 1024
    stall: float = 0.0
    stall_seconds: float = 3600.0
    drop: float = 0.0
    fail: float = 0.0
    partial: float = 0.0
    pending: float = 0.0
    expired_urls: float = 0.0

    def __post_init__(self) -> None:
        for name in (*REQUEST_FAULTS, *OUTCOME_FAULTS):
            _probability("faults", name, getattr(self, name))
        if sum(getattr(self, name) for name in REQUEST_FAULTS) > 1.0 + 1e-9:
            raise ValueError(f"the request faults ({', '.join(REQUEST_FAULTS)}) must add up to at most 1")
        if sum(getattr(self, name) for name in OUTCOME_FAULTS) > 1.0 + 1e-9:
            raise ValueError(f"the outcome faults ({', '.join(OUTCOME_FAULTS)}) must add up to at most 1")
        if isinstance(self.throttle_burst, bool) or not isinstance(self.throttle_burst, int) or self.throttle_burst < 1:
            raise ValueError(f"throttle_burst must be an integer >= 1, got {self.throttle_burst!r}")
        if (
            isinstance(self.slow_bytes_per_second, bool)
            or not isinstance(self.slow_bytes_per_second, int)
            or self.slow_bytes_per_second < 1
        ):
            raise ValueError(f"slow_bytes_per_second must be an integer >= 1, got {self.slow_bytes_per_second!r}")
        if isinstance(self.stall_seconds, bool) or not isinstance(self.stall_seconds, int | float):
            raise ValueError(f"stall_seconds must be a number of seconds, got {self.stall_seconds!r}")
        if not 0 <= self.stall_seconds < math.inf:
            raise ValueError(f"stall_seconds must be a number of seconds >= 0, got {self.stall_seconds!r}")

    def active(self) -> set[str]:
        """The faults with a non-zero probability (``latency`` included when set)."""
        named = {name for name in (*REQUEST_FAULTS, *OUTCOME_FAULTS) if getattr(self, name) > 0}
        if self.latency is not None and self.latency.seconds > 0 and self.latency.probability > 0:
            named.add("latency")
        return named


@dataclass(frozen=True)
class FaultPlan:
    """A seed and the faults of each endpoint class; the default injects nothing."""

    seed: int = 0
    submit: EndpointFaults = field(default_factory=EndpointFaults)
    task: EndpointFaults = field(default_factory=EndpointFaults)
    sync: EndpointFaults = field(default_factory=EndpointFaults)
    download: EndpointFaults = field(default_factory=EndpointFaults)
    upload: EndpointFaults = field(default_factory=EndpointFaults)
    websocket: EndpointFaults = field(default_factory=EndpointFaults)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        for endpoint in ENDPOINT_CLASSES:
            misplaced = self.of(endpoint).active() - APPLICABLE[endpoint] - {"latency"}
            if misplaced:
                raise ValueError(f"{endpoint} cannot be given {', '.join(sorted(misplaced))}")

    def of(self, endpoint: EndpointClass) -> EndpointFaults:
        faults: EndpointFaults = getattr(self, endpoint)
        return faults

    @property
    def active(self) -> bool:
        return any(self.of(endpoint).active() for endpoint in ENDPOINT_CLASSES)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> FaultPlan:
        """A plan from its JSON form (any field may be left out); ValueError says what is wrong."""
        values = _known_fields(cls, data, "the fault plan")
        for endpoint in ENDPOINT_CLASSES:
            if endpoint in values:
                values[endpoint] = _endpoint_faults(endpoint, values[endpoint])
        return cls(**values)


def _known_fields(kind: type[Any], data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object")
    names = {item.name for item in fields(kind)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"{what} has no field {', '.join(map(repr, unknown))}; the fields are {', '.join(sorted(names))}"
        )
    return dict(data)


def _endpoint_faults(endpoint: str, data: object) -> EndpointFaults:
    values = _known_fields(EndpointFaults, data, endpoint)
    if values.get("latency") is not None:
        values["latency"] = Latency(**_known_fields(Latency, values["latency"], f"{endpoint}.latency"))
    try:
        return EndpointFaults(**values)
    except ValueError as error:
        raise ValueError(f"{endpoint}: {error}") from None


NO_FAULTS = FaultPlan()


@dataclass(frozen=True)
class Decision:
    """What happens to one request: a fault (or none) and a delay before it is read."""

    endpoint: EndpointClass
    fault: str | None = None
    delay: float = 0.0


@dataclass
class _Streams:
    requests: random.Random
    latency: random.Random
    outcomes: random.Random
    burst_left: int = 0


def _streams(seed: int, endpoint: str) -> _Streams:
    return _Streams(
        random.Random(f"{seed}/{endpoint}/requests"),
        random.Random(f"{seed}/{endpoint}/latency"),
        random.Random(f"{seed}/{endpoint}/outcomes"),
    )


def _pick(draw: float, faults: EndpointFaults, names: tuple[str, ...]) -> str | None:
    for name in names:
        probability = float(getattr(faults, name))
        if draw < probability:
            return name
        draw -= probability
    return None


class FaultInjector:
    """The current plan, its random streams and throttle bursts, the stats, and the expired-URL owners.

    Thread-safe: tests change the plan from their own thread while the emulator serves.
    """

    def __init__(self, plan: FaultPlan = NO_FAULTS) -> None:
        self._lock = threading.Lock()
        self._plan = plan
        self._streams = {endpoint: _streams(plan.seed, endpoint) for endpoint in ENDPOINT_CLASSES}
        self._requests: Counter[str] = Counter()
        self._injected: dict[str, Counter[str]] = {endpoint: Counter() for endpoint in ENDPOINT_CLASSES}
        self._expired: OrderedDict[str, None] = OrderedDict()

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def replace(self, plan: FaultPlan) -> None:
        """Use ``plan`` from now on, with fresh random streams and no burst under way."""
        with self._lock:
            self._plan = plan
            self._streams = {endpoint: _streams(plan.seed, endpoint) for endpoint in ENDPOINT_CLASSES}

    def decide(self, endpoint: EndpointClass) -> Decision:
        """The fault and delay of the next request of ``endpoint``."""
        with self._lock:
            faults = self._plan.of(endpoint)
            streams = self._streams[endpoint]
            self._requests[endpoint] += 1
            delay = faults.latency.sample(streams.latency) if faults.latency is not None else 0.0
            if streams.burst_left > 0:
                streams.burst_left -= 1
                fault: str | None = "throttle"
            else:
                fault = _pick(streams.requests.random(), faults, REQUEST_FAULTS)
                if fault == "throttle":
                    streams.burst_left = faults.throttle_burst - 1
            if delay > 0:
                self._injected[endpoint]["latency"] += 1
            if fault is not None:
                self._injected[endpoint][fault] += 1
            return Decision(endpoint, fault, delay)

    def outcome(self, endpoint: EndpointClass) -> str | None:
        """The outcome fault of the next task (submit) or synchronous answer (sync) created, if any."""
        with self._lock:
            faults = self._plan.of(endpoint)
            if not any(getattr(faults, name) for name in OUTCOME_FAULTS):
                return None
            fault = _pick(self._streams[endpoint].outcomes.random(), faults, OUTCOME_FAULTS)
            if fault is not None:
                self._injected[endpoint][fault] += 1
            return fault

    def expire_urls(self, owner: str) -> None:
        """Sign the result URLs of ``owner`` (a task id or output id) with an expiry in the past."""
        with self._lock:
            self._expired[owner] = None
            while len(self._expired) > _EXPIRED_MEMORY:
                self._expired.popitem(last=False)

    def urls_expired(self, owner: str) -> bool:
        return owner in self._expired

    def stats(self) -> dict[str, Any]:
        """``requests`` per class, ``injected`` per class and fault, and ``totals`` per fault."""
        with self._lock:
            totals: Counter[str] = Counter()
            for counts in self._injected.values():
                totals.update(counts)
            return {
                "requests": dict(self._requests),
                "injected": {endpoint: dict(counts) for endpoint, counts in self._injected.items() if counts},
                "totals": dict(totals),
            }

    def clear_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            for counts in self._injected.values():
                counts.clear()


def decision_of(scope: Mapping[str, Any]) -> Decision | None:
    """The `Decision` made for the request whose ASGI scope this is (``None`` when none was made)."""
    decision = scope.get(FAULT_SCOPE_KEY)
    return decision if isinstance(decision, Decision) else None
