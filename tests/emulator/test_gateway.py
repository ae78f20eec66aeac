"""Checks common to every endpoint: key, async header, body envelope, unknown routes, request ids."""

from __future__ import annotations

import pytest

from tests.support.emulator_app import ASYNC, AUTH, T2I, Emulator, MakeEmulator, assert_error

BODY = {"model": "wan2.2-t2i-flash", "input": {"prompt": "a fox"}}


async def test_missing_key_is_401_no_api_key(emu: Emulator) -> None:
    response = await emu.http.post(T2I, headers={"X-DashScope-Async": "enable"}, json=BODY)
    assert_error(response, 401, "InvalidApiKey", "No API-key provided.")


async def test_empty_bearer_token_counts_as_missing(emu: Emulator) -> None:
    headers = {"Authorization": "Bearer ", "X-DashScope-Async": "enable"}
    assert_error(await emu.http.post(T2I, headers=headers, json=BODY), 401, "InvalidApiKey", "No API-key provided.")


async def test_wrong_key_is_401_invalid_api_key(make_emulator: MakeEmulator) -> None:
    emu = await make_emulator(api_keys=frozenset({"sk-good"}))
    bad = {"Authorization": "Bearer sk-bad", "X-DashScope-Async": "enable"}
    assert_error(await emu.http.post(T2I, headers=bad, json=BODY), 401, "InvalidApiKey", "Invalid API-key provided.")
    good = {"Authorization": "Bearer sk-good", "X-DashScope-Async": "enable"}
    assert (await emu.http.post(T2I, headers=good, json=BODY)).status_code == 200


async def test_non_bearer_scheme_is_invalid(emu: Emulator) -> None:
    headers = {"Authorization": "Basic c2stMTIz", "X-DashScope-Async": "enable"}
    assert_error(await emu.http.post(T2I, headers=headers, json=BODY), 401, "InvalidApiKey")


async def test_key_is_checked_on_task_endpoints(emu: Emulator) -> None:
    for method, path in [
        ("GET", "/api/v1/tasks/x"),
        ("POST", "/api/v1/tasks/x/cancel"),
        ("GET", "/api/v1/tasks"),
    ]:
        assert_error(await emu.http.request(method, path), 401, "InvalidApiKey", "No API-key provided.")


async def test_missing_async_header_is_403(emu: Emulator) -> None:
    response = await emu.http.post(T2I, headers=AUTH, json=BODY)
    assert_error(response, 403, "AccessDenied", "current user api does not support synchronous calls.")


async def test_async_header_other_than_enable_is_403(emu: Emulator) -> None:
    response = await emu.http.post(T2I, headers={**AUTH, "X-DashScope-Async": "disable"}, json=BODY)
    assert_error(response, 403, "AccessDenied")


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]", "\xff".encode("latin-1")])
async def test_body_that_is_not_a_json_object_is_illegal_input(emu: Emulator, content: bytes) -> None:
    response = await emu.http.post(T2I, headers=ASYNC, content=content)
    assert_error(response, 400, "BadRequest.IllegalInput", "The input parameter requires json format.")


@pytest.mark.parametrize("model", [None, ""])
async def test_missing_model_is_empty_model(emu: Emulator, model: str | None) -> None:
    body = {"input": {"prompt": "a fox"}} if model is None else {"model": model, "input": {"prompt": "x"}}
    response = await emu.http.post(T2I, headers=ASYNC, json=body)
    assert_error(response, 400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')


async def test_missing_input_is_empty_input(emu: Emulator) -> None:
    response = await emu.http.post(T2I, headers=ASYNC, json={"model": "wan2.2-t2i-flash"})
    assert_error(response, 400, "BadRequest.EmptyInput", "Required input parameter missing from request.")


async def test_unknown_model_does_not_exist(emu: Emulator) -> None:
    response = await emu.http.post(T2I, headers=ASYNC, json={**BODY, "model": "wan9-t2i"})
    assert_error(response, 400, "InvalidParameter", "Model not exist.")


async def test_missing_parameters_object_is_fine(emu: Emulator) -> None:
    assert (await emu.http.post(T2I, headers=ASYNC, json=BODY)).status_code == 200


async def test_unknown_path_is_404_not_found(emu: Emulator) -> None:
    assert_error(await emu.http.get("/api/v1/nothing/here", headers=AUTH), 404, "NotFound", "Not found.")
    assert_error(await emu.http.get("/elsewhere"), 404, "NotFound", "Not found.")


async def test_unknown_api_path_checks_the_key_first(emu: Emulator) -> None:
    assert_error(await emu.http.get("/api/v1/nothing"), 401, "InvalidApiKey")


async def test_wrong_method_is_404(emu: Emulator) -> None:
    assert_error(await emu.http.get(T2I, headers=ASYNC), 404, "NotFound")


async def test_success_carries_request_id_in_body_and_header(emu: Emulator) -> None:
    response = await emu.submit()
    assert response.headers["x-request-id"] == response.json()["request_id"]
    assert response.headers["content-type"] == "application/json"
