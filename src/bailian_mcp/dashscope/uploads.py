"""Local files to DashScope's temporary storage: getPolicy, then an OSS form upload, giving `oss://key`.

A request that refers to `oss://` URLs must carry `X-DashScope-OssResourceResolve: enable`
(`OSS_RESOLVE_HEADER`). Uploaded files live 48 hours and are bound to the model named in the
policy; `UploadCache` remembers them by content hash so a file is uploaded once per model.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Protocol

import anyio

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.errors import InputError
from bailian_mcp.lazy_modules import httpx

OSS_RESOLVE_HEADER = {"X-DashScope-OssResourceResolve": "enable"}
UPLOAD_TTL_SECONDS = 48 * 3600
REUSE_MARGIN_SECONDS = 3600  # do not hand out an upload that expires within the hour
HASH_FIRST_MAX_BYTES = 64 * 1024 * 1024  # a file up to this is hashed at once, to find an earlier upload of it


class LocalFile(Protocol):
    """A local file to upload (`inputs.LocalFile`): `sha256` None when it is still to be hashed."""

    @property
    def path(self) -> Path: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def param(self) -> str: ...


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks (blocking: run it on a worker thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class UploadCache(Protocol):
    async def find_upload(self, sha256: str, model: str, *, valid_after: float) -> str | None: ...

    async def remember_upload(self, sha256: str, model: str, url: str, expires_at: float) -> None: ...


async def _policy(client: DashScopeClient, model: str) -> dict[str, Any]:
    reply = await client.get("uploads", params={"action": "getPolicy", "model": model})
    policy = reply.get("data")
    if not isinstance(policy, dict) or "upload_host" not in policy:
        raise errors.DashScopeConnectionError(
            f"DashScope's upload policy reply is malformed: {str(reply)[:200]}", request_sent=True
        )
    return policy


async def _post_form(http: httpx.AsyncClient, policy: dict[str, Any], key: str, path: Path, mime: str) -> None:
    fields = {
        "OSSAccessKeyId": str(policy["oss_access_key_id"]),
        "Signature": str(policy["signature"]),
        "policy": str(policy["policy"]),
        "key": key,
        "x-oss-object-acl": str(policy.get("x_oss_object_acl", "private")),
        "x-oss-forbid-overwrite": str(policy.get("x_oss_forbid_overwrite", "true")),
        "success_action_status": "200",
        "x-oss-content-type": mime,
    }
    with path.open("rb") as stream:
        response = await http.post(str(policy["upload_host"]), data=fields, files={"file": (path.name, stream, mime)})
    if response.status_code != 200:
        raise errors.DashScopeConnectionError(
            f"Uploading {path.name} to DashScope's temporary storage failed with HTTP {response.status_code}: "
            f"{response.text[:200]}",
            request_sent=False,
        )


async def upload_file(client: DashScopeClient, file: LocalFile, *, model: str, cache: UploadCache | None = None) -> str:
    """The `oss://` URL of `file` for `model`, uploading it unless a live upload of the same bytes exists. A file
    larger than the upload policy allows (`max_file_size_mb`) is refused before it is read or sent."""
    now = time.time()
    policy: dict[str, Any] | None = None
    sha256 = file.sha256
    if sha256 is None and file.size > HASH_FIRST_MAX_BYTES:  # a large file is read only once the policy says it fits
        policy = await _fitting_policy(client, model, file)
    if sha256 is None:
        sha256 = await anyio.to_thread.run_sync(file_sha256, file.path)
    if cache is not None:
        cached = await cache.find_upload(sha256, model, valid_after=now + REUSE_MARGIN_SECONDS)
        if cached:
            return cached
    attempt = 0
    while True:
        policy = policy or await _fitting_policy(client, model, file)
        key = f"{str(policy['upload_dir']).rstrip('/')}/{sha256[:24]}{file.path.suffix.lower()}"
        try:
            await _post_form(client.http, policy, key, file.path, file.mime_type)
            break
        except (errors.DashScopeConnectionError, httpx.TransportError) as exc:
            # Temporary storage is free and each try gets a fresh policy and folder: safe to repeat.
            attempt += 1
            if attempt >= client.retry.attempts:
                raise errors.DashScopeConnectionError(str(exc), request_sent=False) from exc
            policy = None
            await anyio.sleep(client.retry.delay(attempt - 1))
    url = f"oss://{key}"
    if cache is not None:
        await cache.remember_upload(sha256, model, url, now + UPLOAD_TTL_SECONDS)
    return url


async def _fitting_policy(client: DashScopeClient, model: str, file: LocalFile) -> dict[str, Any]:
    """An upload policy for `model`; InputError, naming the parameter, if `file` is larger than it allows."""
    policy = await _policy(client, model)
    limit = policy.get("max_file_size_mb")
    if isinstance(limit, int | float) and file.size > limit * 1024 * 1024:
        raise InputError(
            file.param,
            str(file.path),
            f"the file has {file.size} bytes, and DashScope's temporary storage takes files of at most {limit:g} MB; "
            "give it as an http(s) URL DashScope can read instead",
        )
    return policy
