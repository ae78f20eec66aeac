"""Local files to DashScope's temporary storage: getPolicy, then an OSS form upload, giving `oss://key`.

A request that refers to `oss://` URLs must carry `X-DashScope-OssResourceResolve: enable`
(`OSS_RESOLVE_HEADER`). Uploaded files live 48 hours and are bound to the model named in the
policy; `UploadCache` remembers them by content hash so a file is uploaded once per model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import anyio

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.lazy_modules import httpx

OSS_RESOLVE_HEADER = {"X-DashScope-OssResourceResolve": "enable"}
UPLOAD_TTL_SECONDS = 48 * 3600
REUSE_MARGIN_SECONDS = 3600  # do not hand out an upload that expires within the hour


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


async def upload_file(
    client: DashScopeClient, path: Path, *, model: str, sha256: str, mime: str, cache: UploadCache | None = None
) -> str:
    """The `oss://` URL of `path` for `model`, uploading it unless a live upload of the same bytes exists."""
    now = time.time()
    if cache is not None:
        cached = await cache.find_upload(sha256, model, valid_after=now + REUSE_MARGIN_SECONDS)
        if cached:
            return cached
    attempt = 0
    while True:
        policy = await _policy(client, model)
        key = f"{str(policy['upload_dir']).rstrip('/')}/{sha256[:24]}{path.suffix.lower()}"
        try:
            await _post_form(client.http, policy, key, path, mime)
            break
        except (errors.DashScopeConnectionError, httpx.TransportError) as exc:
            # Temporary storage is free and each try gets a fresh policy and folder: safe to repeat.
            attempt += 1
            if attempt >= client.retry.attempts:
                raise errors.DashScopeConnectionError(str(exc), request_sent=False) from exc
            await anyio.sleep(client.retry.delay(attempt - 1))
    url = f"oss://{key}"
    if cache is not None:
        await cache.remember_upload(sha256, model, url, now + UPLOAD_TTL_SECONDS)
    return url
