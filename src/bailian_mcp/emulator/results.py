"""Result files behind signed URLs, answered like OSS: no API key, XML errors, byte ranges.

A result URL is ``{root}/results/{task_id}/{name}?Expires=…&OSSAccessKeyId=emulator&Signature=…``
where ``root`` is ``EmulatorConfig.public_base_url`` or the root of the request
that read the task. Files are numbered from 1 (``1.png``, ``2.png`` …).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .envelope import new_request_id
from .state import EmulatorState, emulator_state
from .tasks import Task

RESULTS_PREFIX = "results"


def result_urls(state: EmulatorState, task: Task, root: str) -> list[str]:
    """The signed URL of each of a finished task's files; stable across queries."""
    assert task.ends_at is not None
    expires = int(state.epoch(task.ends_at) + state.config.result_url_ttl_seconds)
    base = f"{root.rstrip('/')}/{RESULTS_PREFIX}"
    return [state.signer.url(base, f"{task.task_id}/{file.name}", expires) for file in task.job.files]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _oss_request_id() -> str:
    return new_request_id().replace("-", "").upper()[:24]


def _oss_error(status: int, code: str, message: str, **extra: str) -> Response:
    request_id = _oss_request_id()
    fields = {"Code": code, "Message": message, "RequestId": request_id, "HostId": "emulator", **extra}
    xml = "".join(f"  <{name}>{escape(value)}</{name}>\n" for name, value in fields.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n{xml}</Error>\n'
    return Response(body, status, media_type="application/xml", headers={"x-oss-request-id": request_id})


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range header; ``None`` = unsatisfiable."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":
        first, last = max(0, size - int(last_text)), size - 1
    else:
        first = int(first_text)
        last = min(int(last_text), size - 1) if last_text else size - 1
    return (first, last) if first <= last else None


async def serve_result(request: Request) -> Response:
    state = emulator_state(request)
    task_id, name = request.path_params["task_id"], request.path_params["name"]
    key = f"{task_id}/{name}"
    expires_text = request.query_params.get("Expires", "")
    signature = request.query_params.get("Signature")
    if not expires_text.isdigit() or signature is None or "OSSAccessKeyId" not in request.query_params:
        return _oss_error(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
    expires = int(expires_text)
    if not state.signer.verify(key, expires, signature):
        return _oss_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    moment = state.now()
    now = state.epoch(moment)
    if now > expires:
        return _oss_error(403, "AccessDenied", "Request has expired.", Expires=_iso(expires), ServerTime=_iso(now))
    task = state.tasks.get(task_id, moment)
    file = None
    if task is not None and task.progress(moment).status == "SUCCEEDED":
        file = next((candidate for candidate in task.job.files if candidate.name == name), None)
    if file is None:
        return _oss_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    content = await anyio.to_thread.run_sync(file.render)
    headers = {"Accept-Ranges": "bytes", "x-oss-request-id": _oss_request_id()}
    range_header = request.headers.get("range")
    if range_header is None:
        return Response(content, 200, media_type=file.media_type, headers=headers)
    span = _byte_range(range_header, len(content))
    if span is None:
        headers["Content-Range"] = f"bytes */{len(content)}"
        return Response(b"", 416, media_type=file.media_type, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
    return Response(content[first : last + 1], 206, media_type=file.media_type, headers=headers)


ROUTES = [Route(f"/{RESULTS_PREFIX}/{{task_id}}/{{name}}", serve_result, methods=["GET"])]
