"""The emulator answers in the shape of real recorded exchanges (``shared/spec/recordings``).

"Shape" is the status, and the same keys at every level with the same value
types; the values themselves (ids, times, URLs) naturally differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from .conftest import ASYNC, AUTH, T2I, Emulator, MakeEmulator


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list becomes the distinct shapes of its items."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        distinct: list[Any] = []
        for item in map(shape, value):
            if item not in distinct:
                distinct.append(item)
        return distinct
    return type(value).__name__


def recorded(folder: Path, name: str) -> tuple[int, Any]:
    status_line = (folder / f"{name}.response.header.txt").read_text(encoding="utf-8-sig").splitlines()[0]
    body = json.loads((folder / f"{name}.response.body.txt").read_text(encoding="utf-8-sig"))
    return int(status_line.split()[1]), body


def request_body(folder: Path, name: str) -> Any:
    return json.loads((folder / f"{name}.request.body.json").read_text(encoding="utf-8-sig"))


def assert_same_shape(response: httpx.Response, folder: Path, name: str) -> None:
    status, body = recorded(folder, name)
    assert response.status_code == status
    assert shape(response.json()) == shape(body)
    assert response.headers["content-type"].startswith("application/json")


async def submit_recorded(emu: Emulator, folder: Path) -> httpx.Response:
    return await emu.http.post(T2I, headers=ASYNC, json=request_body(folder, "image-synthesis-nosse"))


async def test_image_synthesis_submit_replays(emu: Emulator, recordings: Path) -> None:
    assert_same_shape(await submit_recorded(emu, recordings), recordings, "image-synthesis-nosse")


async def test_running_task_matches_recording(emu: Emulator, recordings: Path) -> None:
    task_id = (await submit_recorded(emu, recordings)).json()["output"]["task_id"]
    emu.clock.advance(1.5)
    response = await emu.http.get(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert_same_shape(response, recordings, "get-task-running-nosse")
    assert (
        response.json()["output"]["task_metrics"]
        == recorded(recordings, "get-task-running-nosse")[1]["output"]["task_metrics"]
    )


async def test_succeeded_task_matches_recording(emu: Emulator, recordings: Path) -> None:
    task_id = (await submit_recorded(emu, recordings)).json()["output"]["task_id"]
    emu.clock.advance(5)
    response = await emu.http.get(f"/api/v1/tasks/{task_id}", headers=AUTH)
    assert_same_shape(response, recordings, "get-task-image-synthesis-success-nosse")
    real = recorded(recordings, "get-task-image-synthesis-success-nosse")[1]
    ours = response.json()
    assert len(ours["output"]["results"]) == len(real["output"]["results"]) == 4
    assert ours["output"]["task_metrics"] == real["output"]["task_metrics"]
    assert ours["usage"] == real["usage"]


async def test_cancel_of_completed_task_matches_recording(emu: Emulator, recordings: Path) -> None:
    task_id = (await submit_recorded(emu, recordings)).json()["output"]["task_id"]
    emu.clock.advance(5)
    response = await emu.http.post(f"/api/v1/tasks/{task_id}/cancel", headers=AUTH)
    assert_same_shape(response, recordings, "cancel-completed-task-nosse")
    real = recorded(recordings, "cancel-completed-task-nosse")[1]
    assert (response.json()["code"], response.json()["message"]) == (real["code"], real["message"])


async def test_auth_error_matches_recording(make_emulator: MakeEmulator, recordings: Path) -> None:
    emu = await make_emulator(api_keys=frozenset({"sk-right"}))
    # The recorded request is a text-generation call: the key is checked before anything else.
    response = await emu.http.post(
        "/api/v1/services/aigc/text-generation/generation",
        headers={"Authorization": "Bearer sk-wrong"},
        json=request_body(recordings, "auth-error-nosse"),
    )
    assert_same_shape(response, recordings, "auth-error-nosse")
    real = recorded(recordings, "auth-error-nosse")[1]
    assert (response.json()["code"], response.json()["message"]) == (real["code"], real["message"])
    assert response.headers["x-request-id"] == response.json()["request_id"]
