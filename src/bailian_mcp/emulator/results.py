"""Result files behind signed URLs, answered like OSS: no API key, XML errors, byte ranges.

A result URL is ``{root}/results/{task_id}/{name}?Expires=…&OSSAccessKeyId=emulator&Signature=…``
where ``root`` is ``EmulatorConfig.public_base_url`` or the root of the request
that read the task. Files are numbered from 1 (``1.png``, ``2.png`` …). Synchronous
answers (of the image models) file their results in `outputs.OutputStore` and are served
the same way, under their output id instead of a task id. The ``expired_urls`` fault (see
`faults`) signs a task's or an answer's URLs with an ``Expires`` one second before it was made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .oss import oss_error, oss_request_id
from .outputs import Output
from .state import EmulatorState, emulator_state
from .tasks import ResultFile, Task

RESULTS_PREFIX = "results"


def _signed_urls(state: EmulatorState, owner: str, files: Sequence[ResultFile], made_at: float, root: str) -> list[str]:
    expires = int(state.epoch(made_at) + state.config.result_url_ttl_seconds)
    if state.faults.urls_expired(owner):  # the expired_urls fault
        expires = int(state.epoch(made_at)) - 1
    base = f"{root.rstrip('/')}/{RESULTS_PREFIX}"
    return [state.signer.url(base, f"{owner}/{file.name}", expires) for file in files]


def result_urls(state: EmulatorState, task: Task, root: str) -> list[str]:
    """The signed URL of each of a finished task's files; stable across queries."""
    assert task.ends_at is not None
    return _signed_urls(state, task.task_id, task.job.files, task.ends_at, root)


def output_urls(state: EmulatorState, output: Output, root: str) -> list[str]:
    """The signed URL of each file of a synchronous answer."""
    return _signed_urls(state, output.output_id, output.files, output.made_at, root)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


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
        return oss_error(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
    expires = int(expires_text)
    if not state.signer.verify(key, expires, signature):
        return oss_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    moment = state.now()
    now = state.epoch(moment)
    if now > expires:
        return oss_error(403, "AccessDenied", "Request has expired.", Expires=_iso(expires), ServerTime=_iso(now))
    task = state.tasks.get(task_id, moment)
    file = None
    if task is not None and task.progress(moment).status == "SUCCEEDED":
        file = next((candidate for candidate in task.job.files if candidate.name == name), None)
    elif task is None:
        file = state.outputs.file(task_id, name, moment)
    if file is None:
        return oss_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    content = await anyio.to_thread.run_sync(file.render)
    headers = {"Accept-Ranges": "bytes", "x-oss-request-id": oss_request_id()}
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
