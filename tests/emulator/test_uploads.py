"""Temporary uploads (protocol §10): the policy, the OSS form upload and ``oss://`` keys."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.upload_store import CapacityExceeded, KeyExists, StoredFile, UploadStore
from tests.support.emulator_app import (
    AUTH,
    MULTIMODAL,
    RESOLVE,
    UPLOADS,
    Emulator,
    MakeEmulator,
    assert_error,
    upload,
    upload_form,
)
from tests.support.media import png_bytes


async def policy(emu: Emulator, model: str = "qwen-image-edit") -> dict[str, Any]:
    response = await emu.http.get(UPLOADS, headers=AUTH, params={"action": "getPolicy", "model": model})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def assert_oss_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert f"<Code>{code}</Code>" in response.text
    if message is not None:
        assert f"<Message>{message}</Message>" in response.text


async def test_policy_has_the_recorded_fields(emu: Emulator) -> None:
    response = await emu.http.get(UPLOADS, headers=AUTH, params={"action": "getPolicy", "model": "qwen-vl-plus"})
    body = response.json()
    assert list(body) == ["data", "request_id"] and response.headers["x-request-id"] == body["request_id"]
    data = body["data"]
    assert list(data) == [
        "policy", "signature", "upload_dir", "upload_host", "expire_in_seconds", "max_file_size_mb",
        "capacity_limit_mb", "oss_access_key_id", "x_oss_object_acl", "x_oss_forbid_overwrite",
    ]  # fmt: skip
    assert data["upload_host"] == "http://emu.test/__oss__/upload"
    assert (data["expire_in_seconds"], data["max_file_size_mb"]) == (300, 100)
    assert (data["x_oss_object_acl"], data["x_oss_forbid_overwrite"]) == ("private", "true")
    assert data["upload_dir"].startswith("dashscope-instant/")


async def test_policy_decodes_to_an_expiring_set_of_conditions(emu: Emulator) -> None:
    data = await policy(emu)
    document = json.loads(base64.b64decode(data["policy"]))
    assert set(document) == {"expiration", "conditions"} and document["expiration"].endswith("Z")
    assert document["conditions"] == [
        ["content-length-range", 0, 100 * 1024 * 1024],
        ["starts-with", "$key", data["upload_dir"]],
        {"bucket": "dashscope-file-mgr"},
        {"x-oss-object-acl": "private"},
        {"x-oss-forbid-overwrite": "true"},
    ]


async def test_public_base_url_addresses_the_upload_host(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(public_base_url="http://files.example.test/")
    assert (await policy(emu))["upload_host"] == "http://files.example.test/__oss__/upload"


async def test_policy_needs_a_key(emu: Emulator) -> None:
    response = await emu.http.get(UPLOADS, params={"action": "getPolicy", "model": "m"})
    assert_error(response, 401, "InvalidApiKey", "No API-key provided.")


@pytest.mark.parametrize(
    ("query", "field"),
    [({"model": "m"}, "action"), ({"action": "other", "model": "m"}, "action"), ({"action": "getPolicy"}, "model")],
)
async def test_policy_needs_action_and_model(emu: Emulator, query: dict[str, str], field: str) -> None:
    message = f"Required parameter({field}) missing or invalid, please check the request parameters."
    assert_error(await emu.http.get(UPLOADS, headers=AUTH, params=query), 400, "InvalidParameter", message)


async def test_upload_stores_the_file_under_its_key(emu: Emulator) -> None:
    data = await policy(emu)
    response = await upload(emu, data, b"\x89PNG bytes")
    assert (response.status_code, response.content) == (200, b"")
    stored = emu.state.uploads.get(f"{data['upload_dir']}/photo.png", emu.clock())
    assert stored is not None and stored.data == b"\x89PNG bytes" and stored.content_type == "image/png"
    logged = emu.state.requests[-1]
    assert (logged["path"], logged["status"], logged["body"]) == ("/__oss__/upload", 200, None)


@pytest.mark.parametrize(("status", "expected"), [("204", 204), ("201", 201), ("", 204)])
async def test_success_action_status(emu: Emulator, status: str, expected: int) -> None:
    response = await upload(emu, await policy(emu), success_action_status=status)
    assert response.status_code == expected
    if expected == 201:
        assert "<PostResponse>" in response.text and "<Key>" in response.text


async def test_expired_policy_is_refused(emu: Emulator) -> None:
    data = await policy(emu)
    emu.clock.advance(301)
    assert_oss_error(await upload(emu, data), 403, "AccessDenied", "Invalid according to Policy: Policy expired.")


async def test_a_key_outside_the_upload_dir_is_refused(emu: Emulator) -> None:
    data = await policy(emu)
    response = await upload(emu, data, key="dashscope-instant/someone-else/photo.png")
    condition = f'["starts-with", "$key", "{data["upload_dir"]}"]'
    assert_oss_error(
        response, 403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
    )


@pytest.mark.parametrize(("field", "value"), [("x-oss-object-acl", "public-read"), ("x-oss-forbid-overwrite", "false")])
async def test_fields_must_match_the_policy(emu: Emulator, field: str, value: str) -> None:
    response = await upload(emu, await policy(emu), **{field: value})
    condition = f'{{"{field}": "{"private" if field == "x-oss-object-acl" else "true"}"}}'
    assert_oss_error(
        response, 403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
    )


async def test_a_forged_signature_is_refused(emu: Emulator) -> None:
    assert_oss_error(await upload(emu, await policy(emu), Signature="Zm9yZ2Vk"), 403, "SignatureDoesNotMatch")


async def test_another_access_key_is_refused(emu: Emulator) -> None:
    assert_oss_error(await upload(emu, await policy(emu), OSSAccessKeyId="other"), 403, "InvalidAccessKeyId")


async def test_missing_policy_is_refused(emu: Emulator) -> None:
    response = await upload(emu, await policy(emu), policy="")
    assert_oss_error(response, 403, "AccessDenied", "You have no right to access this object because of bucket acl.")


async def test_overwriting_a_key_is_a_conflict(emu: Emulator) -> None:
    data = await policy(emu)
    assert (await upload(emu, data)).status_code == 200
    response = await upload(emu, data, b"other bytes")
    assert_oss_error(
        response, 409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten."
    )


async def test_a_file_over_max_file_size_is_refused(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(upload_max_file_mb=1)
    data = await policy(emu)
    assert data["max_file_size_mb"] == 1
    response = await upload(emu, data, b"x" * (1024 * 1024 + 1))
    assert_oss_error(response, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


async def test_uploads_stay_within_the_capacity(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(upload_capacity_mb=1)
    data = await policy(emu)
    assert (await upload(emu, data, b"x" * 700_000, key=f"{data['upload_dir']}/one")).status_code == 200
    response = await upload(emu, data, b"x" * 700_000, key=f"{data['upload_dir']}/two")
    assert_oss_error(response, 403, "AccessDenied", "The capacity of temporary files is exhausted.")


@pytest.mark.parametrize("content_type", ["application/json", None])
async def test_a_body_that_is_not_a_form_is_malformed(emu: Emulator, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await emu.http.post((await policy(emu))["upload_host"], content=b"{}", headers=headers)
    assert_oss_error(response, 400, "MalformedPOSTRequest")


async def test_a_form_without_a_file_is_malformed(emu: Emulator) -> None:
    data = await policy(emu)
    assert_oss_error(await emu.http.post(data["upload_host"], data=upload_form(data)), 400, "MalformedPOSTRequest")


async def test_an_uploaded_picture_is_an_input_with_the_resolve_header(emu: Emulator) -> None:
    data = await policy(emu)
    assert (await upload(emu, data, png_bytes(400, 400))).status_code == 200
    message = {"role": "user", "content": [{"image": f"oss://{data['upload_dir']}/photo.png"}, {"text": "tint"}]}
    body = {"model": "qwen-image-edit", "input": {"messages": [message]}}
    assert (await emu.http.post(MULTIMODAL, headers={**AUTH, **RESOLVE}, json=body)).status_code == 200
    refused = await emu.http.post(MULTIMODAL, headers=AUTH, json=body)
    assert_error(
        refused,
        400,
        "InvalidParameter",
        "The provided URL does not appear to be valid. Ensure it is correctly formatted.",
    )


async def test_an_upload_expires_after_48_hours(emu: Emulator) -> None:
    data = await policy(emu)
    await upload(emu, data, png_bytes(400, 400))
    message = {"role": "user", "content": [{"image": f"oss://{data['upload_dir']}/photo.png"}, {"text": "tint"}]}
    body = {"model": "qwen-image-edit", "input": {"messages": [message]}}
    emu.clock.advance(48 * 3600 - 1)
    assert (await emu.http.post(MULTIMODAL, headers={**AUTH, **RESOLVE}, json=body)).status_code == 200
    emu.clock.advance(1)
    response = await emu.http.post(MULTIMODAL, headers={**AUTH, **RESOLVE}, json=body)
    assert_error(response, 400, "InvalidParameter", "url error, please check url！")


def test_store_refuses_overwrites_and_overflow_and_forgets_expired_files() -> None:
    store = UploadStore(ttl=10.0, capacity_bytes=10)
    store.put(StoredFile("a", b"12345", "x", 0.0))
    with pytest.raises(KeyExists):
        store.put(StoredFile("a", b"1", "x", 1.0))
    with pytest.raises(CapacityExceeded):
        store.put(StoredFile("b", b"123456", "x", 1.0))
    store.put(StoredFile("b", b"123456", "x", 10.0))  # "a" expired at 10 and made room
    assert store.get("a", 10.0) is None and store.get("b", 10.0) is not None
