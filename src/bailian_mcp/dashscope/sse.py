"""DashScope's server-sent events, as the service frames them (protocol §4.2).

    id:1
    event:result                   (or `error`)
    :HTTP_STATUS/200               (a comment line carrying the event's HTTP status)
    data:{"output":{...},"usage":{...},"request_id":"..."}
    <blank line>

There is no `[DONE]`: the stream simply ends after the last event. Some recorded streams
have no blank line between events, so a new `id:`/`event:` line after an event's data also
ends that event, and so does the end of the stream. A leading UTF-8 BOM is ignored.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass, field

BOM = "\ufeff"
_STATUS_COMMENT = re.compile(r"^:\s*HTTP_STATUS/(\d{3})\s*$")


@dataclass(frozen=True)
class ServerEvent:
    """One event: its type (`result`, `error`; `message` when the stream names none), data and status."""

    event: str
    data: str
    id: str | None = None
    status: int | None = None  # from the `:HTTP_STATUS/NNN` comment, when there was one


@dataclass
class EventParser:
    """Turns lines (without their line endings) into events, one line at a time."""

    _event: str | None = None
    _id: str | None = None
    _status: int | None = None
    _data: list[str] = field(default_factory=list)
    _first_line: bool = True

    def feed(self, line: str) -> ServerEvent | None:
        """Read one line; returns the event it completed, if any."""
        if self._first_line:
            self._first_line = False
            line = line.removeprefix(BOM)
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            match = _STATUS_COMMENT.match(line)
            if match:
                self._status = int(match[1])
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        completed = None
        if name in ("id", "event") and self._data:
            completed = self._dispatch()  # the previous event had no blank line after it
        if name == "id":
            self._id = value
        elif name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return completed  # other fields (`retry`) and unknown names are ignored, as SSE says

    def close(self) -> ServerEvent | None:
        """The stream ended: the event still being read, if it has data."""
        return self._dispatch()

    def _dispatch(self) -> ServerEvent | None:
        event = None
        if self._data:
            event = ServerEvent(
                event=self._event or "message", data="\n".join(self._data), id=self._id, status=self._status
            )
        self._event, self._status, self._data = None, None, []
        return event


async def iter_events(lines: AsyncIterable[str]) -> AsyncGenerator[ServerEvent, None]:
    """The events of a stream of lines, as they complete."""
    parser = EventParser()
    async for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event
    last = parser.close()
    if last is not None:
        yield last
