"""Temporary file uploads (protocol §10): an upload policy, an OSS-like form upload, ``oss://`` keys.

``GET /api/v1/uploads?action=getPolicy&model=<model>`` (Bearer key) answers, under ``data``, a
signed policy valid ``expire_in_seconds`` (300) that lets the caller upload below its
``upload_dir``, and an ``upload_host`` on the emulator itself: ``{root}/__oss__/upload``
(outside ``/api/v1``: OSS checks the signed policy, not the API key).

``POST {upload_host}`` takes ``multipart/form-data`` with ``OSSAccessKeyId``, ``Signature``,
``policy``, ``key``, ``x-oss-object-acl``, ``x-oss-forbid-overwrite``, ``success_action_status``,
``x-oss-content-type`` and ``file``, and answers like OSS (XML errors):

* 403 ``AccessDenied`` — no policy/signature, ``Invalid according to Policy: Policy expired.``,
  or a failed policy condition (key outside ``upload_dir``, other acl / overwrite flag);
* 403 ``InvalidAccessKeyId`` / ``SignatureDoesNotMatch`` — a policy the emulator did not sign;
* 400 ``EntityTooLarge`` — a file over ``max_file_size_mb``; 400 ``MalformedPOSTRequest`` /
  ``InvalidPolicyDocument`` — a body or policy that cannot be read;
* 409 ``FileAlreadyExists`` — the key already holds a file;
* 403 ``AccessDenied`` "The capacity of temporary files is exhausted." — the emulator's own
  bound (``upload_capacity_mb``) on all live uploads;
* success: ``success_action_status`` 200 or 204 with an empty body, 201 with a ``PostResponse``.

The file is then readable as ``oss://<key>`` for ``upload_ttl_seconds`` (48 h) by requests
that send ``X-DashScope-OssResourceResolve: enable`` (see `sources`). The real service also
binds a file to the model named in ``getPolicy``; the emulator does not check that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .envelope import CHINA_TZ, invalid_parameter, json_response, new_request_id
from .gateway import authenticate
from .oss import oss_error
from .signing import ACCESS_KEY_ID
from .state import EmulatorState, emulator_state
from .task_api import API_PREFIX
from .upload_store import CapacityExceeded, KeyExists, StoredFile

UPLOAD_PATH = "/__oss__/upload"
POLICY_SECONDS = 300
BUCKET = "dashscope-file-mgr"
_ACL = "private"
_FORBID_OVERWRITE = "true"


def _iso_ms(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _root(request: Request, state: EmulatorState) -> str:
    return (state.config.public_base_url or str(request.base_url)).rstrip("/")


async def get_policy(request: Request) -> Response:
    state = emulator_state(request)
    api_key = authenticate(request, state.config)
    if request.query_params.get("action") != "getPolicy":
        raise invalid_parameter("Required parameter(action) missing or invalid, please check the request parameters.")
    if not request.query_params.get("model"):
        raise invalid_parameter("Required parameter(model) missing or invalid, please check the request parameters.")
    now = state.epoch(state.now())
    request_id = new_request_id()
    owner = hashlib.md5(api_key.encode()).hexdigest()
    day = datetime.fromtimestamp(now, CHINA_TZ).strftime("%Y-%m-%d")
    upload_dir = f"dashscope-instant/{owner}/{day}/{uuid.uuid4()}"
    max_bytes = state.config.upload_max_file_mb * 1024 * 1024
    document = {
        "expiration": _iso_ms(now + POLICY_SECONDS),
        "conditions": [
            ["content-length-range", 0, max_bytes],
            ["starts-with", "$key", upload_dir],
            {"bucket": BUCKET},
            {"x-oss-object-acl": _ACL},
            {"x-oss-forbid-overwrite": _FORBID_OVERWRITE},
        ],
    }
    policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
    data = {
        "policy": policy,
        "signature": state.signer.mac(policy),
        "upload_dir": upload_dir,
        "upload_host": _root(request, state) + UPLOAD_PATH,
        "expire_in_seconds": POLICY_SECONDS,
        "max_file_size_mb": state.config.upload_max_file_mb,
        "capacity_limit_mb": state.config.upload_capacity_mb,
        "oss_access_key_id": ACCESS_KEY_ID,
        "x_oss_object_acl": _ACL,
        "x_oss_forbid_overwrite": _FORBID_OVERWRITE,
    }
    return json_response({"data": data, "request_id": request_id})


def _malformed() -> Response:
    return oss_error(
        400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data."
    )


def _condition_failed(condition: Any) -> Response:
    return oss_error(
        403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"
    )


def _check_conditions(conditions: list[Any], fields: dict[str, str], size: int) -> Response | None:
    """The first policy condition the upload breaks, as its OSS error; ``None`` when all hold."""
    for condition in conditions:
        if isinstance(condition, list) and len(condition) == 3 and condition[0] == "content-length-range":
            if size > condition[2]:
                return oss_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
            if size < condition[1]:
                return oss_error(
                    400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size."
                )
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] == "starts-with":
            if not fields.get(str(condition[1]).lstrip("$"), "").startswith(str(condition[2])):
                return _condition_failed(condition)
        elif isinstance(condition, dict):
            for name, value in condition.items():
                if name != "bucket" and fields.get(name) != value:
                    return _condition_failed(condition)
    return None


async def upload(request: Request) -> Response:
    """The OSS form upload: check the signed policy, then keep the file under its key."""
    state = emulator_state(request)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return _malformed()
    try:
        form = await request.form(max_files=1, max_fields=32)
    except (HTTPException, ValueError):  # starlette reports a malformed multipart body as a 400
        return _malformed()
    file = form.get("file")
    fields = {name: value for name, value in form.multi_items() if isinstance(value, str) and name != "file"}
    if file is None or not fields.get("key"):
        return _malformed()
    policy, signature, access_key = fields.get("policy"), fields.get("Signature"), fields.get("OSSAccessKeyId")
    if not policy or not signature or not access_key:
        return oss_error(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
    if access_key != ACCESS_KEY_ID:
        return oss_error(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
    if not hmac.compare_digest(state.signer.mac(policy), signature):
        return oss_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
        expiration = _parse_iso(document["expiration"])
        conditions = list(document["conditions"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return oss_error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Json format.")
    moment = state.now()
    if state.epoch(moment) > expiration:
        return oss_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    # A file part sent without a filename arrives as a text field (as in the recorded .NET upload).
    data = await file.read() if isinstance(file, UploadFile) else file.encode()
    refused = _check_conditions(conditions, fields, len(data))
    if refused is not None:
        return refused
    part_type = file.content_type if isinstance(file, UploadFile) else None
    content_type = fields.get("x-oss-content-type") or part_type or "application/octet-stream"
    key = fields["key"]
    try:
        state.uploads.put(StoredFile(key, data, content_type, moment))
    except KeyExists:
        return oss_error(
            409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.", Key=key
        )
    except CapacityExceeded:
        return oss_error(403, "AccessDenied", "The capacity of temporary files is exhausted.")
    status = fields.get("success_action_status", "204")
    if status == "201":
        location = _root(request, state) + f"/{key}"
        etag = '"' + hashlib.md5(data).hexdigest().upper() + '"'
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>\n'
            f"  <Bucket>{BUCKET}</Bucket>\n  <Location>{escape(location)}</Location>\n"
            f"  <Key>{escape(key)}</Key>\n  <ETag>{escape(etag)}</ETag>\n</PostResponse>\n"
        )
        return Response(body, 201, media_type="application/xml")
    return Response(b"", 200 if status == "200" else 204)


ROUTES = [
    Route(f"{API_PREFIX}/uploads", get_policy, methods=["GET"]),
    Route(UPLOAD_PATH, upload, methods=["POST"]),
]
