"""The DashScope transport: one `httpx.AsyncClient`, auth, pacing, retries, task polling.

Knows the wire protocol (paths, headers, envelopes) and nothing of MCP.

Retry rules, so that nothing is paid for twice:
  * GET (task queries, lists) — retried on 429, 5xx, connection failures and malformed
    bodies, with jittered exponential backoff.
  * POST — retried only when the service cannot have acted on it: the connection failed
    before anything was sent, or the reply was 429 (throttled: nothing was created).
    Every other failure after the request may have reached the service is reported,
    never re-sent.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from bailian_mcp import __version__
from bailian_mcp.dashscope import errors, protocol, speech
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.dashscope.polling import DurationHistory, PollPlan, PollSchedule
from bailian_mcp.dashscope.sse import ServerEvent, iter_events
from bailian_mcp.errors import ConfigurationError
from bailian_mcp.lazy_modules import httpx

TASK_QUERY_BUCKET = "tasks"
TASK_QUERY_RPS = 20.0  # DashScope: 20 task queries per second per account

NO_KEY_MESSAGE = (
    "DASHSCOPE_API_KEY is not set: set it to your Bailian API key (https://bailian.console.aliyun.com), "
    "or start the server with --emulator to use the built-in offline emulator."
)


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff for calls that are safe to repeat."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Seconds to sleep before retry number `attempt` (0-based): full jitter over [½, 1]·backoff."""
        backoff = min(self.max_delay, self.base_delay * 2.0**attempt)
        return backoff * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class TaskSnapshot:
    """One reading of `GET /tasks/{id}`."""

    task_id: str
    status: str
    output: Mapping[str, Any]
    usage: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in protocol.TASK_FINAL

    @classmethod
    def from_body(cls, task_id: str, body: Mapping[str, Any]) -> TaskSnapshot:
        output = body.get("output") or {}
        return cls(
            task_id=str(output.get("task_id") or task_id),
            status=str(output.get("task_status") or "UNKNOWN"),
            output=output,
            usage=body.get("usage") or {},
            request_id=body.get("request_id"),
        )


ProgressHook = Callable[[TaskSnapshot], Awaitable[None]]
T = TypeVar("T")


@dataclass
class _OpenStream:
    """A streamed reply, read up to its first result: `first`, then the results still to come in `rest`."""

    response: httpx.Response
    first: dict[str, Any] | None = None
    rest: AsyncGenerator[dict[str, Any], None] | None = None

    async def aclose(self) -> None:
        if self.rest is not None:
            await self.rest.aclose()
        await self.response.aclose()


class DashScopeClient:
    """Async client for DashScope's native HTTP protocol (`{base}/services/...`, `{base}/tasks/...`)."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        poll: PollSchedule | None = None,
        region_hint: str = "",
        timeout: float = 60.0,
        websocket_url: str | None = None,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.websocket_url = websocket_url or protocol.websocket_url(self.base_url)
        self._owns_http = http is None
        self._http = http
        self._timeout = timeout
        self.limiter = limiter or RateLimiter()
        if self.limiter.rate(TASK_QUERY_BUCKET) <= 0:
            self.limiter.set_rate(TASK_QUERY_BUCKET, TASK_QUERY_RPS)
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollSchedule()
        self.history = DurationHistory()
        self._region_hint = region_hint

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared connection pool (also used, without credentials, for result downloads).

        Made on first use: its TLS context and transport imports cost ~40 ms that listing the tools does not need.
        """
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=10.0),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                follow_redirects=True,
            )
        return self._http

    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> DashScopeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ requests

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        if not self._api_key:
            raise ConfigurationError(NO_KEY_MESSAGE)
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"bailian-mcp/{__version__}",
        }
        headers.update(extra or {})
        return headers

    def websocket_headers(self) -> dict[str, str]:
        """Handshake headers for DashScope's WebSocket services (the key, never logged)."""
        headers = self._headers()
        del headers["Accept"]
        return headers

    def _raise_for_reply(self, response: httpx.Response) -> dict[str, Any]:
        """Return the JSON body of a 200 reply, or raise the typed error the reply describes."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if response.status_code == 200:
            if not isinstance(body, dict):
                raise errors.DashScopeConnectionError(
                    f"DashScope answered 200 with a body that is not JSON ({len(response.content)} bytes).",
                    request_sent=True,
                )
            return body
        if isinstance(body, dict):
            raise errors.from_reply(
                response.status_code,
                body.get("code"),
                body.get("message") or body.get("msg"),
                body.get("request_id") or response.headers.get("x-request-id"),
                region_hint=self._region_hint,
            )
        raise errors.from_reply(
            response.status_code,
            "Unknown",
            response.text[:200],
            response.headers.get("x-request-id"),
            region_hint=self._region_hint,
        )

    def _connection_error(self, exc: httpx.TransportError) -> errors.DashScopeConnectionError:
        """A transport failure, saying whether the request may have been received."""
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return errors.DashScopeConnectionError(
                f"Could not connect to DashScope at {self.base_url}: {type(exc).__name__} {exc}",
                request_sent=False,
            )
        return errors.DashScopeConnectionError(
            f"The connection to DashScope failed after the request was sent: {type(exc).__name__} {exc}",
            request_sent=True,
        )

    async def _send(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """One HTTP exchange; connection failures say whether the request may have been received."""
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        return self._raise_for_reply(response)

    async def _retrying(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        deadline: float | None = None,
        pace: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return await self._with_retries(
            lambda: self._send(method, url, **kwargs), idempotent=idempotent, deadline=deadline, pace=pace
        )

    async def _with_retries(
        self,
        attempt_once: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        deadline: float | None = None,
        pace: str | None = None,
    ) -> T:
        """Run `attempt_once` until it succeeds or fails in a way the retry rules do not repeat. Each retry waits
        its backoff, then a slot in the pacing bucket `pace` (a throttled call must not jump the queue of the other
        calls, in this process or in others sharing the pacing)."""
        attempt = 0
        while True:
            try:
                return await attempt_once()
            except errors.DashScopeError as exc:
                if not self._may_retry(exc, idempotent) or attempt + 1 >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt)
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise
                attempt += 1
                await anyio.sleep(delay)
                if pace:
                    await self.limiter.acquire(pace)

    @staticmethod
    def _may_retry(exc: errors.DashScopeError, idempotent: bool) -> bool:
        if idempotent:
            return exc.retryable
        if isinstance(exc, errors.DashScopeConnectionError):
            return not exc.request_sent
        # A 429, or a 5xx in DashScope's own error envelope, is the service saying it created nothing.
        return isinstance(exc, errors.RateLimitError) or (
            isinstance(exc, errors.ServerError) and exc.code not in (None, "Unknown")
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def pace(self, bucket: str) -> None:
        """Wait for a free slot in a pacing bucket (a model's submissions), before a request that must not wait."""
        await self.limiter.acquire(bucket)

    async def synthesize(
        self,
        *,
        model: str,
        text: str,
        parameters: Mapping[str, Any],
        dest: Path,
        on_progress: speech.ProgressHook | None = None,
        bucket: str | None = None,
    ) -> speech.SpeechResult:
        """One speech-synthesis session over DashScope's WebSocket API, its audio saved at `dest` (see
        `speech.synthesize`); paced in `bucket` like the HTTP calls."""
        if bucket:
            await self.limiter.acquire(bucket)
        return await speech.synthesize(
            self.websocket_url,
            self.websocket_headers(),
            model=model,
            text=text,
            parameters=parameters,
            dest=dest,
            on_progress=on_progress,
        )

    async def call(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        bucket: str | None = None,
        paced: bool = False,
    ) -> dict[str, Any]:
        """A synchronous service call (`POST {base}/{path}`); never re-sent once it may have arrived. Each attempt
        waits for a slot in the pacing `bucket` (`paced`: the caller waited for the first one's)."""
        request_headers = self._headers({"Content-Type": "application/json", **(headers or {})})
        if bucket and not paced:
            await self.limiter.acquire(bucket)
        return await self._retrying(
            "POST", self.url(path), idempotent=False, pace=bucket, json=body, headers=request_headers
        )

    async def stream(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        bucket: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """A streamed service call (`POST {base}/{path}` as SSE): yields each `event:result`'s data as it arrives.

        An `event:error` raises the typed error for the status in its `:HTTP_STATUS/NNN` line (400
        when there is none); a refusal before the stream (a JSON error reply) raises as `call` does.
        Retried like `call`: only while nothing can have been created — a connection that failed
        before sending, or a throttled (429) refusal, also one sent as the stream's first event. A
        connection that drops once the stream has begun raises `DashScopeConnectionError` with
        `request_sent=True` and is never re-sent. A plain JSON 200 reply is yielded as one result.
        """
        request_headers = self._headers(
            {
                "Content-Type": "application/json",
                "Accept": "text/event-stream",
                "X-DashScope-SSE": "enable",
                **(headers or {}),
            }
        )
        if bucket:
            await self.limiter.acquire(bucket)
        url = self.url(path)
        opened = await self._with_retries(
            lambda: self._open_stream(url, body, request_headers), idempotent=False, pace=bucket
        )
        try:
            if opened.first is not None:
                yield opened.first
            if opened.rest is not None:
                async for data in opened.rest:
                    yield data
        finally:
            with anyio.CancelScope(shield=True):
                await opened.aclose()

    async def _open_stream(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> _OpenStream:
        """Send the request and read up to the first result, so that a refusal is raised (and maybe retried)."""
        request = self.http.build_request("POST", url, json=body, headers=headers)
        try:
            response = await self.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        opened = _OpenStream(response)
        try:
            if response.status_code != 200 or "application/json" in response.headers.get("content-type", ""):
                try:
                    await response.aread()
                except httpx.TransportError as exc:
                    raise self._connection_error(exc) from exc
                opened.first = self._raise_for_reply(response)
                return opened
            opened.rest = self._results(response)
            opened.first = await anext(opened.rest, None)
            return opened
        except BaseException:
            with anyio.CancelScope(shield=True):
                await opened.aclose()
            raise

    async def _results(self, response: httpx.Response) -> AsyncGenerator[dict[str, Any], None]:
        async with aclosing(self._lines(response)) as lines, aclosing(iter_events(lines)) as events:
            async for event in events:
                data = self._event_data(event, response)
                if data is not None:
                    yield data

    @staticmethod
    async def _lines(response: httpx.Response) -> AsyncGenerator[str, None]:
        try:
            async for line in response.aiter_lines():
                yield line
        except httpx.TransportError as exc:
            raise errors.DashScopeConnectionError(
                f"The connection to DashScope dropped in the middle of the stream: {type(exc).__name__} {exc}",
                request_sent=True,
            ) from exc

    def _event_data(self, event: ServerEvent, response: httpx.Response) -> dict[str, Any] | None:
        """A result event's data; an error event raised as its typed error; other events skipped (None)."""
        try:
            data = json.loads(event.data)
        except json.JSONDecodeError:
            data = None
        if event.event == "error":
            status = event.status if event.status is not None and event.status >= 400 else 400
            if not isinstance(data, dict):
                data = {"code": "Unknown", "message": event.data[:200]}
            raise errors.from_reply(
                status,
                data.get("code"),
                data.get("message") or data.get("msg"),
                data.get("request_id") or response.headers.get("x-request-id"),
                region_hint=self._region_hint,
            )
        if event.event not in ("result", "message"):
            return None
        if not isinstance(data, dict):
            raise errors.DashScopeConnectionError(
                f"DashScope sent a stream event whose data is not a JSON object: {event.data[:200]!r}",
                request_sent=True,
            )
        return data

    async def submit(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        bucket: str | None = None,
        paced: bool = False,
    ) -> TaskSnapshot:
        """Create an async task (`X-DashScope-Async: enable`) and return its first snapshot (PENDING); paced as
        `call` is."""
        reply = await self.call(
            path, body, headers={"X-DashScope-Async": "enable", **(headers or {})}, bucket=bucket, paced=paced
        )
        output = reply.get("output") or {}
        task_id = output.get("task_id")
        if not task_id:
            raise errors.DashScopeConnectionError(
                f"DashScope accepted the task but its reply has no task_id: {json.dumps(reply)[:200]}",
                request_sent=True,
            )
        return TaskSnapshot.from_body(str(task_id), reply)

    async def get(self, path: str, *, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """`GET {base}/{path}` with retries (e.g. the upload policy)."""
        return await self._retrying(
            "GET", self.url(path), idempotent=True, params=dict(params or {}), headers=self._headers()
        )

    async def get_task(self, task_id: str, *, deadline: float | None = None) -> TaskSnapshot:
        """Read a task's status (`GET /tasks/{id}`), retrying transient failures."""
        await self.limiter.acquire(TASK_QUERY_BUCKET)
        body = await self._retrying(
            "GET",
            self.url(f"tasks/{task_id}"),
            idempotent=True,
            deadline=deadline,
            pace=TASK_QUERY_BUCKET,
            headers=self._headers(),
        )
        return TaskSnapshot.from_body(task_id, body)

    async def cancel(self, task_id: str) -> None:
        """Cancel a PENDING task; raises InvalidRequestError (UnsupportedOperation) otherwise.

        Cancelling twice has the same effect as once, so this POST is safe to retry.
        """
        await self._retrying("POST", self.url(f"tasks/{task_id}/cancel"), idempotent=True, headers=self._headers())

    async def list_tasks(self, **query: str | int) -> dict[str, Any]:
        """`GET /tasks` with DashScope's filters (start_time, end_time, model_name, status, page_no, page_size)."""
        await self.limiter.acquire(TASK_QUERY_BUCKET)
        return await self._retrying(
            "GET", self.url("tasks"), idempotent=True, pace=TASK_QUERY_BUCKET, params=query, headers=self._headers()
        )

    async def wait(
        self,
        task_id: str,
        *,
        timeout: float,
        on_poll: ProgressHook | None = None,
        poll_first: bool = True,
        model: str | None = None,
        read: Callable[[str], Awaitable[TaskSnapshot]] | None = None,
    ) -> TaskSnapshot:
        """Poll until the task ends or `timeout` seconds pass; returns the last snapshot read (each poll a
        `get_task`, or `read`: the process's `TaskWatcher`, which answers polls falling due together at once).

        With `model` given, polls are timed from how long that model's tasks took (see
        `polling.PollPlan`), and a finished task teaches the history. The last poll happens at
        the deadline itself, so a task that has just finished is not missed. Transient failures
        of a poll are retried a little past the deadline; a failure that outlasts that
        propagates (the task itself is not affected by it).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        retry_deadline = deadline + self.poll.max_delay
        plan = PollPlan(self.history if model else None, model or "", self.poll)
        if not poll_first:
            await anyio.sleep(min(plan.next_delay(None), max(0.0, deadline - time.monotonic())))
        while True:
            snapshot = await (read(task_id) if read else self.get_task(task_id, deadline=retry_deadline))
            if on_poll is not None:
                await on_poll(snapshot)
            if snapshot.status == "SUCCEEDED" and model:
                self.history.record(model, dict(snapshot.output))
            remaining = deadline - time.monotonic()
            if snapshot.terminal or remaining <= 0:
                return snapshot
            await anyio.sleep(min(plan.next_delay(dict(snapshot.output)), remaining))
