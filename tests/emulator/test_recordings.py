"""The emulator answers in the shape of real recorded exchanges (``shared/spec/recordings``).

"Shape" is the status, and the same keys at every level with the same value
types; the values themselves (ids, times, URLs) naturally differ.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.emulator_app import ASYNC, AUTH, T2I, TEXTGEN, UPLOADS, Emulator, MakeEmulator


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


# --- text generation -------------------------------------------------------------------------


def key_orders(value: Any) -> Any:
    """The key order at every level (lists: of their first item), to compare layouts exactly."""
    if isinstance(value, dict):
        return [(key, key_orders(item)) for key, item in value.items()]
    if isinstance(value, list) and value:
        return [key_orders(value[0])]
    return None


@pytest.mark.parametrize("name", ["single-generation-text-nosse", "single-generation-message-nosse"])
async def test_generation_replays_with_the_recorded_layout(emu: Emulator, recordings: Path, name: str) -> None:
    response = await emu.http.post(TEXTGEN, headers=AUTH, json=request_body(recordings, name))
    assert_same_shape(response, recordings, name)
    assert key_orders(response.json()) == key_orders(recorded(recordings, name)[1])


def recorded_events(folder: Path, name: str) -> list[list[str]]:
    """The recorded stream's events as their lines (the capture dropped the blank lines between them)."""
    lines = (folder / f"{name}.response.body.txt").read_text(encoding="utf-8-sig").strip().splitlines()
    return [lines[i : i + 4] for i in range(0, len(lines), 4)]


async def test_message_stream_matches_the_recorded_framing(emu: Emulator, recordings: Path) -> None:
    name = "single-generation-message-sse"
    headers = {**AUTH, "Accept": "text/event-stream"}  # the recorded request sent only this
    response = await emu.http.post(TEXTGEN, headers=headers, json=request_body(recordings, name))
    real_header = (recordings / f"{name}.response.header.txt").read_text(encoding="utf-8-sig")
    assert f"content-type: {response.headers['content-type']}" in real_header
    ours = [block.split("\n") for block in response.text.rstrip("\n").split("\n\n")]
    real = recorded_events(recordings, name)
    for events in (ours, real):
        assert [event[:3] for event in events] == [[f"id:{n}", "event:result", ":HTTP_STATUS/200"] for n in
                                                   range(1, len(events) + 1)]  # fmt: skip
    ours_data = [json.loads(event[3].removeprefix("data:")) for event in ours]
    real_data = [json.loads(event[3].removeprefix("data:")) for event in real]
    assert {json.dumps(key_orders(data)) for data in ours_data} == {json.dumps(key_orders(data)) for data in real_data}
    finish = [data["output"]["choices"][0]["finish_reason"] for data in ours_data]
    assert finish == ["null"] * (len(finish) - 1) + ["stop"]
    assert ours_data[-1]["output"]["choices"][0]["message"]["content"] == ""  # incremental, as recorded


async def test_parameter_error_replays_exactly(emu: Emulator, recordings: Path) -> None:
    name = "parameter-error-nosse"
    response = await emu.http.post(TEXTGEN, headers=AUTH, json=request_body(recordings, name))
    assert_same_shape(response, recordings, name)
    real = recorded(recordings, name)[1]
    assert (response.json()["code"], response.json()["message"]) == (real["code"], real["message"])


# --- uploads ---------------------------------------------------------------------------------


async def test_upload_policy_has_the_recorded_layout(emu: Emulator, recordings: Path) -> None:
    request_line = (recordings / "get-upload-policy-nosse.header.txt").read_text(encoding="utf-8-sig").split()[1]
    assert request_line.startswith("/api/v1/uploads?")
    response = await emu.http.get(request_line, headers=AUTH)
    assert_same_shape(response, recordings, "get-upload-policy-nosse")
    real, ours = recorded(recordings, "get-upload-policy-nosse")[1]["data"], response.json()["data"]
    assert list(ours) == list(real)
    for field in ("expire_in_seconds", "x_oss_object_acl", "x_oss_forbid_overwrite"):
        assert ours[field] == real[field]
    real_policy = json.loads(base64.b64decode(real["policy"]))
    our_policy = json.loads(base64.b64decode(ours["policy"]))
    assert shape(our_policy) == shape(real_policy)
    assert [
        condition[0] if isinstance(condition, list) else list(condition) for condition in our_policy["conditions"]
    ] == [condition[0] if isinstance(condition, list) else list(condition) for condition in real_policy["conditions"]]


def recorded_form_fields(folder: Path) -> list[tuple[str, str | None]]:
    """(field name, content type) of each part of the recorded form upload, in order."""
    body = (folder / "upload-temporary-file-nosse.request.body.txt").read_text(encoding="utf-8-sig")
    fields = []
    for part in body.split("--5aa22a67-eae4-4c54-8f62-c486fefd11a5")[1:-1]:
        headers = dict(line.split(": ", 1) for line in part.strip().splitlines() if ": " in line)
        fields.append((headers["Content-Disposition"].split("name=")[1], headers.get("Content-Type")))
    return fields


async def test_recorded_upload_form_layout_is_accepted(emu: Emulator, recordings: Path) -> None:
    """The recorded form (its fields, order and part headers), re-signed with the emulator's policy."""
    fields = recorded_form_fields(recordings)
    assert [name for name, _ in fields] == [
        "OSSAccessKeyId", "policy", "Signature", "key", "x-oss-object-acl", "x-oss-forbid-overwrite", "file"
    ]  # fmt: skip
    data = (await emu.http.get(UPLOADS, headers=AUTH, params={"action": "getPolicy", "model": "qwen-vl-plus"})).json()
    values = {
        "OSSAccessKeyId": data["data"]["oss_access_key_id"],
        "policy": data["data"]["policy"],
        "Signature": data["data"]["signature"],
        "key": data["data"]["upload_dir"] + "/Lenna.jpg",
        "x-oss-object-acl": "private",
        "x-oss-forbid-overwrite": "true",
        "file": "1",
    }
    boundary = "5aa22a67-eae4-4c54-8f62-c486fefd11a5"
    parts = []
    for name, content_type in fields:
        head = f"Content-Type: {content_type}\r\n" if content_type else ""
        parts.append(f"--{boundary}\r\n{head}Content-Disposition: form-data; name={name}\r\n\r\n{values[name]}\r\n")
    body = "".join(parts) + f"--{boundary}--\r\n"
    response = await emu.http.post(
        data["data"]["upload_host"],
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 204, response.text  # no success_action_status: OSS answers 204
    stored = emu.state.uploads.get(values["key"], emu.clock())
    assert stored is not None and stored.data == b"1"


# --- speech synthesis ------------------------------------------------------------------------


def recorded_ws(folder: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / f"socket-speech-synthesizer.{name}.json").read_text("utf-8-sig"))
    return loaded


def covers(ours: Any, real: Any) -> bool:
    """Every key of ``real`` is in ``ours`` with a value of the same shape (``ours`` may have more)."""
    if isinstance(real, dict):
        return isinstance(ours, dict) and all(key in ours and covers(ours[key], real[key]) for key in real)
    if isinstance(real, list):
        return (
            isinstance(ours, list) and all(covers(item, real[0]) for item in ours) if real else isinstance(ours, list)
        )
    return type(ours) is type(real)


def test_websocket_events_have_the_recorded_shapes(recordings: Path) -> None:
    from starlette.testclient import TestClient

    from bailian_mcp.emulator import EmulatorConfig, create_app

    run_task = recorded_ws(recordings, "run-task")
    assert list(run_task["header"]) == ["action", "task_id", "streaming"]
    payload = run_task["payload"]  # the recorded (CosyVoice) layout, pointed at a Sambert voice
    payload.update(model="sambert-zhichu-v1", input={"text": "代码改变世界"})
    payload["parameters"]["sample_rate"] = 16000
    events = []
    with (
        TestClient(create_app(EmulatorConfig(stream_chunk_seconds=0))) as client,
        client.websocket_connect("/api-ws/v1/inference", headers={**AUTH}) as session,
    ):
        session.send_text(json.dumps(run_task))
        while not events or events[-1]["header"]["event"] != "task-finished":
            message = session.receive()
            if message.get("text") is not None:
                events.append(json.loads(message["text"]))
        session.send_text(json.dumps(recorded_ws(recordings, "continue-task")))
        failed = json.loads(session.receive()["text"])
    by_name = {event["header"]["event"]: event for event in events}
    assert shape(by_name["task-started"]) == shape(recorded_ws(recordings, "task-started"))
    for name in ("result-generated", "task-finished"):
        assert covers(by_name[name], recorded_ws(recordings, name)), name
        assert list(by_name[name]["header"]["attributes"]) == list(
            recorded_ws(recordings, name)["header"]["attributes"]
        )
    assert shape(failed) == shape(recorded_ws(recordings, "task-failed"))
    assert list(failed["header"]) == list(recorded_ws(recordings, "task-failed")["header"])
