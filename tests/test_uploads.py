"""Local files to DashScope's temporary storage: getPolicy, the OSS form upload, `oss://key`, and the upload cache."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bailian_mcp.capabilities.edit_image import EDIT_IMAGE, EditImageParams
from bailian_mcp.capabilities.wanx_edit_image import WANX_EDIT_IMAGE, WanxEditImageParams
from bailian_mcp.config import Settings, load_settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient, RetryPolicy
from bailian_mcp.dashscope.uploads import OSS_RESOLVE_HEADER, UPLOAD_TTL_SECONDS, upload_file
from bailian_mcp.inputs import LocalFile
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.store import JobStore
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from tests.support.media import png_bytes
from tests.support.services import quick_services

BASE = "https://dashscope.test/api/v1"
OTHER_BASE = "https://dashscope-intl.aliyuncs.com/api/v1"
UPLOAD_HOST = "https://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com"
KEY = "sk-test-secret-key"
DATA = b"\x89PNG\r\n\x1a\n pretend image bytes \x00\x01\x02"
SHA = hashlib.sha256(DATA).hexdigest()


def policy_reply(upload_dir: str = "dashscope-instant/abc/2025-07-12/dir-1", **extra: Any) -> httpx.Response:
    data = {
        "policy": "eyJleHBpcmF0aW9uIjoiMjAyNS0wNy0xMlQxMjoxMDoyNC40ODhaIn0=",
        "signature": "n3dNX/aD3+WAly0QgzsURfiIk00=",
        "upload_dir": upload_dir,
        "upload_host": UPLOAD_HOST,
        "expire_in_seconds": 300,
        "max_file_size_mb": 1024,
        "capacity_limit_mb": 999999999,
        "oss_access_key_id": "accessKeyId",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
        **extra,
    }
    return httpx.Response(200, json={"data": data, "request_id": "req-policy"})


def policies(*dirs: str) -> Iterator[httpx.Response]:
    """A fresh policy (its own upload folder) per getPolicy call."""
    return iter(policy_reply(d) for d in dirs)


def form_of(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """The multipart form a request carries: field name -> (file name, bytes)."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    message = email.message_from_bytes(raw, policy=email.policy.HTTP)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str) and name not in fields
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        fields[name] = (part.get_filename(), payload)
    return fields


@pytest.fixture
async def client() -> AsyncIterator[DashScopeClient]:
    async with DashScopeClient(
        api_key=KEY, base_url=BASE, retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)
    ) as opened:
        yield opened


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "Cat Photo.PNG"
    path.parent.mkdir()
    path.write_bytes(DATA)
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = SQLiteJobStore(tmp_path / "data" / "jobs.sqlite3", base_url=BASE)
    yield opened
    opened.close()


def routes(mock: respx.MockRouter, policy: Any = None, form: Any = None) -> tuple[respx.Route, respx.Route]:
    get = mock.get(f"{BASE}/uploads")
    if policy is None:
        get.mock(return_value=policy_reply())
    else:
        get.mock(side_effect=policy)
    post = mock.post(UPLOAD_HOST)
    if form is None:
        post.mock(return_value=httpx.Response(200))
    else:
        post.mock(side_effect=form)
    return get, post


def local(path: Path, sha256: str = SHA, mime: str = "image/png") -> LocalFile:
    return LocalFile(path=path, sha256=sha256, size=path.stat().st_size, mime_type=mime, param="image")


async def upload(client: DashScopeClient, path: Path, model: str = "qwen-image-edit", **kwargs: Any) -> str:
    return await upload_file(client, local(path), model=model, **kwargs)


# ---------------------------------------------------------------------- the two requests


async def test_upload_gets_the_real_policy_then_posts_the_form_and_returns_the_oss_key(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, recording: Any
) -> None:
    reply = recording("get-upload-policy-nosse").response_body  # the real reply (it starts with a UTF-8 BOM)
    policy = reply["data"]
    get = mock.get(f"{BASE}/uploads").mock(return_value=httpx.Response(200, json=reply))
    post = mock.post(policy["upload_host"]).mock(return_value=httpx.Response(200))

    url = await upload(client, image, model="qwen-image-edit-plus")

    assert get.call_count == 1
    asked = get.calls.last.request
    assert asked.method == "GET"
    assert asked.url.path == "/api/v1/uploads"
    assert dict(asked.url.params) == {"action": "getPolicy", "model": "qwen-image-edit-plus"}
    assert asked.headers["authorization"] == f"Bearer {KEY}"

    assert post.call_count == 1
    sent = post.calls.last.request
    assert sent.method == "POST"
    assert str(sent.url).rstrip("/") == policy["upload_host"]
    form = form_of(sent)
    key = form["key"][1].decode()
    assert set(form) == {
        "OSSAccessKeyId",
        "Signature",
        "policy",
        "key",
        "x-oss-object-acl",
        "x-oss-forbid-overwrite",
        "success_action_status",
        "x-oss-content-type",
        "file",
    }
    assert {name: value.decode() for name, (_, value) in form.items() if name != "file"} == {
        "OSSAccessKeyId": "accessKeyId",
        "Signature": "n3dNX/aD3+WAly0QgzsURfiIk00=",
        "policy": policy["policy"],
        "key": key,
        "x-oss-object-acl": "private",
        "x-oss-forbid-overwrite": "true",
        "success_action_status": "200",
        "x-oss-content-type": "image/png",
    }
    assert form["file"] == (image.name, DATA)
    # key = upload_dir + "/" + one file name (no further folders), keeping the file's type as its suffix
    folder, _, name = key.rpartition("/")
    assert folder == policy["upload_dir"]
    assert name and name.endswith(".png")
    assert url == f"oss://{key}"


async def test_the_form_post_never_carries_the_api_key(
    client: DashScopeClient, mock: respx.MockRouter, image: Path
) -> None:
    _, post = routes(mock)
    await upload(client, image)
    sent = post.calls.last.request
    assert "authorization" not in sent.headers
    assert all(KEY not in value for value in sent.headers.values())
    assert KEY.encode() not in sent.content


async def test_the_content_type_field_is_the_mime_type_given(
    client: DashScopeClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    _, post = routes(mock)
    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"RIFF....WAVE")
    url = await upload_file(client, local(audio, "ab" * 32, "audio/x-wav"), model="paraformer-v2")
    form = form_of(post.calls.last.request)
    assert form["x-oss-content-type"] == (None, b"audio/x-wav")
    assert form["file"] == ("talk.wav", b"RIFF....WAVE")
    assert url.startswith("oss://dashscope-instant/abc/2025-07-12/dir-1/") and url.endswith(".wav")


async def test_policy_acl_and_overwrite_fields_are_passed_on_as_given(
    client: DashScopeClient, mock: respx.MockRouter, image: Path
) -> None:
    _, post = routes(mock)
    mock.get(f"{BASE}/uploads").mock(
        return_value=policy_reply(x_oss_object_acl="public-read", x_oss_forbid_overwrite="false")
    )
    await upload(client, image)
    form = form_of(post.calls.last.request)
    assert form["x-oss-object-acl"][1] == b"public-read"
    assert form["x-oss-forbid-overwrite"][1] == b"false"


def test_the_resolve_header_is_the_documented_one() -> None:
    assert OSS_RESOLVE_HEADER == {"X-DashScope-OssResourceResolve": "enable"}


# ---------------------------------------------------------------------- failures


async def test_a_failed_form_post_is_retried_with_a_fresh_policy(
    client: DashScopeClient, mock: respx.MockRouter, image: Path
) -> None:
    replies = iter([httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>"), httpx.Response(200)])
    get, post = routes(mock, policy=policies("dir/first", "dir/second"), form=lambda request: next(replies))
    url = await upload(client, image)
    assert get.call_count == 2 and post.call_count == 2
    keys = [form_of(call.request)["key"][1].decode() for call in post.calls]
    assert keys[0].startswith("dir/first/") and keys[1].startswith("dir/second/")
    assert url == f"oss://{keys[1]}"


async def test_a_form_post_that_cannot_connect_is_retried(
    client: DashScopeClient, mock: respx.MockRouter, image: Path
) -> None:
    outcomes: Iterator[httpx.Response | Exception] = iter([httpx.ConnectError("refused"), httpx.Response(200)])

    def form(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    get, post = routes(mock, policy=policies("dir/a", "dir/b"), form=form)
    assert (await upload(client, image)).startswith("oss://dir/b/")
    assert get.call_count == 2 and post.call_count == 2


async def test_upload_gives_up_after_the_retry_attempts_with_a_connection_error(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore
) -> None:
    get, post = routes(
        mock,
        policy=policies("d/1", "d/2", "d/3", "d/4"),
        form=lambda request: httpx.Response(403, text="Policy expired."),
    )
    with pytest.raises(errors.DashScopeConnectionError) as caught:
        await upload(client, image, cache=store)
    assert get.call_count == post.call_count == client.retry.attempts == 3
    assert "HTTP 403" in str(caught.value) and "Policy expired." in str(caught.value)
    assert caught.value.request_sent is False
    assert await store.find_upload(SHA, "qwen-image-edit", valid_after=0) is None


async def test_a_malformed_policy_reply_is_a_connection_error(
    client: DashScopeClient, mock: respx.MockRouter, image: Path
) -> None:
    _, post = routes(mock)
    mock.get(f"{BASE}/uploads").mock(return_value=httpx.Response(200, json={"output": {}, "request_id": "r"}))
    with pytest.raises(errors.DashScopeConnectionError, match="malformed"):
        await upload(client, image)
    assert post.call_count == 0


async def test_a_refused_policy_request_raises_the_service_error_and_posts_nothing(
    client: DashScopeClient, mock: respx.MockRouter, image: Path
) -> None:
    _, post = routes(mock)
    mock.get(f"{BASE}/uploads").mock(
        return_value=httpx.Response(401, json={"code": "InvalidApiKey", "message": "Invalid API-key provided."})
    )
    with pytest.raises(errors.AuthenticationError):
        await upload(client, image)
    assert post.call_count == 0


# ---------------------------------------------------------------------- the upload cache


async def test_the_same_file_for_the_same_model_is_uploaded_once(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore
) -> None:
    get, post = routes(mock)
    first = await upload(client, image, cache=store)
    second = await upload(client, image, cache=store)
    assert first == second
    assert get.call_count == post.call_count == 1


async def test_the_cache_remembers_the_upload_for_48_hours(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore
) -> None:
    routes(mock)
    before = time.time()
    url = await upload(client, image, cache=store)
    with closing(sqlite3.connect(store.path)) as db:
        rows = db.execute("SELECT sha256, model, base_url, url, expires_at FROM uploads").fetchall()
    assert len(rows) == 1
    sha, model, base_url, cached, expires_at = rows[0]
    assert (sha, model, base_url, cached) == (SHA, "qwen-image-edit", BASE, url)
    assert before + UPLOAD_TTL_SECONDS - 5 <= expires_at <= time.time() + UPLOAD_TTL_SECONDS
    assert UPLOAD_TTL_SECONDS == 48 * 3600


async def test_another_model_uploads_the_same_file_again(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore
) -> None:
    get, post = routes(mock, policy=policies("dir/edit", "dir/wanx"))
    first = await upload(client, image, model="qwen-image-edit", cache=store)
    second = await upload(client, image, model="wanx2.1-imageedit", cache=store)
    assert first != second
    assert get.call_count == post.call_count == 2
    assert get.calls.last.request.url.params["model"] == "wanx2.1-imageedit"
    assert await store.find_upload(SHA, "qwen-image-edit", valid_after=time.time()) == first
    assert await store.find_upload(SHA, "wanx2.1-imageedit", valid_after=time.time()) == second


@pytest.mark.parametrize("seconds_left", [-60, 0, 600, 3500], ids=["expired", "expiring now", "10 min", "58 min"])
async def test_an_upload_expiring_within_the_hour_is_not_reused(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore, seconds_left: int
) -> None:
    await store.remember_upload(SHA, "qwen-image-edit", "oss://old/cat.png", time.time() + seconds_left)
    get, post = routes(mock, policy=policies("dir/new"))
    url = await upload(client, image, cache=store)
    assert url.startswith("oss://dir/new/")
    assert get.call_count == post.call_count == 1
    assert await store.find_upload(SHA, "qwen-image-edit", valid_after=time.time() + 3600) == url


async def test_an_upload_valid_for_more_than_an_hour_is_reused_without_requests(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore
) -> None:
    await store.remember_upload(SHA, "qwen-image-edit", "oss://old/cat.png", time.time() + 3 * 3600)
    get, post = routes(mock)
    assert await upload(client, image, cache=store) == "oss://old/cat.png"
    assert get.call_count == post.call_count == 0


async def test_an_upload_made_on_another_service_is_not_used(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore
) -> None:
    other = SQLiteJobStore(store.path, base_url=OTHER_BASE)
    try:
        await other.remember_upload(SHA, "qwen-image-edit", "oss://intl/cat.png", time.time() + 40 * 3600)
        get, post = routes(mock, policy=policies("dir/here"))
        url = await upload(client, image, cache=store)
        assert url.startswith("oss://dir/here/")
        assert get.call_count == post.call_count == 1
        assert await other.find_upload(SHA, "qwen-image-edit", valid_after=time.time()) == "oss://intl/cat.png"
    finally:
        other.close()


async def test_a_different_file_is_uploaded_even_for_the_same_model(
    client: DashScopeClient, mock: respx.MockRouter, image: Path, store: JobStore, tmp_path: Path
) -> None:
    get, post = routes(mock, policy=policies("dir/1", "dir/2"))
    other = tmp_path / "dog.png"
    other.write_bytes(b"other bytes")
    await upload(client, image, cache=store)
    url = await upload_file(client, local(other, hashlib.sha256(b"other bytes").hexdigest()), model="qwen-image-edit")
    assert url.startswith("oss://dir/2/")
    assert get.call_count == post.call_count == 2
    assert form_of(post.calls.last.request)["file"] == ("dog.png", b"other bytes")


# ---------------------------------------------------------------------- the runner: local inputs in a job

TASK_ID = "9e2b6ef6-285d-4efa-8651-4dbda7d571fa"
WANX_PATH = "/services/aigc/image2image/image-synthesis"
EDIT_PATH = "/services/aigc/multimodal-generation/generation"
RESULT_URL = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/out-0.png"
RESOLVE = "x-dashscope-ossresourceresolve"


@pytest.fixture
def job_settings(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> Settings:
    return load_settings(
        api_key=KEY,
        base_url=BASE,
        data_dir=str(tmp_path / "data"),
        output_dir=str(tmp_path / "out"),
        input_roots=str(tmp_path),
    )


@pytest.fixture
async def services(job_settings: Settings) -> AsyncIterator[Services]:
    async with quick_services(job_settings) as opened:
        opened.client.limiter.set_rate("submit:wanx2.1-imageedit", 1000)
        yield opened


@pytest.fixture
def local_png(tmp_path: Path) -> Path:
    path = tmp_path / "inputs" / "cat.png"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(png_bytes(512, 512))
    return path


def serve_wanx_task(mock: respx.MockRouter) -> respx.Route:
    """Each submission creates a new task, which has succeeded by the first poll."""
    created = iter(f"{TASK_ID[:-2]}{n:02d}" for n in range(100))

    def task(request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.rsplit("/", 1)[1]
        output = {
            "task_id": task_id,
            "task_status": "SUCCEEDED",
            "end_time": "2025-03-18 10:00:09.500",
            "results": [{"url": RESULT_URL}],
        }
        return httpx.Response(200, json={"request_id": "r", "output": output, "usage": {"image_count": 1}})

    submit = mock.post(f"{BASE}{WANX_PATH}").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"output": {"task_status": "PENDING", "task_id": next(created)}, "request_id": "r"}
        )
    )
    mock.get(url__regex=rf"^{BASE}/tasks/[-0-9a-f]+$").mock(side_effect=task)
    mock.get(RESULT_URL).mock(return_value=httpx.Response(200, content=png_bytes(64, 48)))
    return submit


def wanx_params(base_image_url: str) -> WanxEditImageParams:
    return WanxEditImageParams(function="colorization", prompt="colour it", base_image_url=base_image_url)


async def test_a_local_base_image_is_uploaded_and_the_task_refers_to_it_as_oss_with_the_resolve_header(
    services: Services, mock: respx.MockRouter, local_png: Path
) -> None:
    get, post = routes(mock, policy=policies("dashscope-instant/u/2025-07-12/job"))
    submit = serve_wanx_task(mock)
    progress: list[str] = []

    async def on_progress(value: float, message: str) -> None:
        progress.append(message)

    result = await services.runner.run(
        WANX_EDIT_IMAGE, wanx_params(str(local_png)), wait_seconds=5, progress=on_progress
    )

    assert result.status == "SUCCEEDED" and result.outputs[0].path is not None
    assert get.call_count == post.call_count == submit.call_count == 1
    assert get.calls.last.request.url.params["model"] == "wanx2.1-imageedit"
    form = form_of(post.calls.last.request)
    assert form["file"] == ("cat.png", local_png.read_bytes())
    key = form["key"][1].decode()
    sent = submit.calls.last.request
    body = json_body(sent)
    assert body["input"] == {"function": "colorization", "prompt": "colour it", "base_image_url": f"oss://{key}"}
    assert sent.headers[RESOLVE] == "enable"
    assert sent.headers["x-dashscope-async"] == "enable"
    assert f"Uploading cat.png ({local_png.stat().st_size} bytes)." in progress
    job = await services.store.get(result.job_id)
    assert job is not None and job.request["input"]["base_image_url"] == f"oss://{key}"


async def test_the_same_local_file_in_a_second_job_is_not_uploaded_again(
    services: Services, mock: respx.MockRouter, local_png: Path
) -> None:
    get, post = routes(mock, policy=policies("d/1", "d/2"))
    submit = serve_wanx_task(mock)
    await services.runner.run(WANX_EDIT_IMAGE, wanx_params(str(local_png)), wait_seconds=5)
    await services.runner.run(WANX_EDIT_IMAGE, wanx_params(local_png.as_uri()), wait_seconds=5)
    assert get.call_count == post.call_count == 1
    first, second = (json_body(call.request)["input"]["base_image_url"] for call in submit.calls)
    assert first == second and first.startswith("oss://d/1/")
    assert all(call.request.headers[RESOLVE] == "enable" for call in submit.calls)


async def test_a_job_whose_image_is_an_http_url_has_no_resolve_header_and_uploads_nothing(
    services: Services, mock: respx.MockRouter
) -> None:
    get, post = routes(mock)
    submit = serve_wanx_task(mock)
    await services.runner.run(WANX_EDIT_IMAGE, wanx_params("https://example.com/猫.png"), wait_seconds=5)
    sent = submit.calls.last.request
    assert RESOLVE not in sent.headers
    assert json_body(sent)["input"]["base_image_url"] == "https://example.com/%E7%8C%AB.png"
    assert get.call_count == post.call_count == 0


async def test_a_job_with_an_oss_input_gets_the_resolve_header_without_uploading(
    services: Services, mock: respx.MockRouter
) -> None:
    get, post = routes(mock)
    submit = serve_wanx_task(mock)
    url = "oss://dashscope-instant/u/2025-07-12/job/abc.png"
    await services.runner.run(WANX_EDIT_IMAGE, wanx_params(url), wait_seconds=5)
    sent = submit.calls.last.request
    assert sent.headers[RESOLVE] == "enable"
    assert json_body(sent)["input"]["base_image_url"] == url
    assert get.call_count == post.call_count == 0


async def test_a_direct_edit_with_a_local_image_sends_oss_and_the_resolve_header(
    services: Services, mock: respx.MockRouter, tmp_path: Path
) -> None:
    image = tmp_path / "photo.jpg"
    image.write_bytes(png_bytes(400, 400, kind="JPEG"))
    get, post = routes(mock, policy=policies("d/edit"))
    reply = {
        "output": {"choices": [{"finish_reason": "stop", "message": {"content": [{"image": RESULT_URL}]}}]},
        "usage": {"image_count": 1, "width": 64, "height": 48},
        "request_id": "r",
    }
    call = mock.post(f"{BASE}{EDIT_PATH}").mock(return_value=httpx.Response(200, json=reply))
    mock.get(RESULT_URL).mock(return_value=httpx.Response(200, content=png_bytes(64, 48)))
    params = EditImageParams(image=[str(image), "https://example.com/b.png"], prompt="p", model="qwen-image-edit-plus")

    result = await services.runner.run(EDIT_IMAGE, params, wait_seconds=5)

    assert result.status == "SUCCEEDED"
    assert get.calls.last.request.url.params["model"] == "qwen-image-edit-plus"
    assert form_of(post.calls.last.request)["x-oss-content-type"] == (None, b"image/jpeg")
    sent = call.calls.last.request
    content = json_body(sent)["input"]["messages"][0]["content"]
    assert content[0]["image"].startswith("oss://d/edit/") and content[0]["image"].endswith(".jpg")
    assert content[1] == {"image": "https://example.com/b.png"}
    assert sent.headers[RESOLVE] == "enable"


async def test_a_failed_upload_sends_no_task_and_records_no_job(
    services: Services, mock: respx.MockRouter, local_png: Path
) -> None:
    routes(mock, policy=policies("d/1", "d/2", "d/3"), form=lambda request: httpx.Response(500))
    submit = serve_wanx_task(mock)
    with pytest.raises(errors.DashScopeConnectionError):
        await services.runner.run(WANX_EDIT_IMAGE, wanx_params(str(local_png)), wait_seconds=5)
    assert submit.call_count == 0
    assert await services.store.list() == []


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)
