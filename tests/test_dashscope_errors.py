"""DashScope's error replies become typed exceptions whose text tells an agent what to do."""

from __future__ import annotations

import pytest

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.errors import (
    AuthenticationError,
    ContentRejectedError,
    DashScopeConnectionError,
    DashScopeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotFoundError,
    classify,
    from_reply,
    task_failed,
)
from bailian_mcp.errors import BailianError

CLASSIFICATION = [
    (401, "InvalidApiKey", AuthenticationError),
    (403, "AccessDenied", PermissionDeniedError),
    (403, "AccessDenied.Unpurchased", PermissionDeniedError),
    (403, "Model.AccessDenied", PermissionDeniedError),
    (403, "Workspace.AccessDenied", PermissionDeniedError),
    (400, "InvalidParameter", InvalidRequestError),
    (400, "BadRequest.EmptyInput", InvalidRequestError),
    (400, "BadRequest.EmptyParameters", InvalidRequestError),
    (400, "BadRequest.IllegalInput", InvalidRequestError),
    (400, "InvalidURL", InvalidRequestError),
    (400, "InvalidFile.DownloadFailed", InvalidRequestError),
    (400, "InvalidImage.Resolution", InvalidRequestError),
    (400, "UnsupportedOperation", InvalidRequestError),
    (409, "Conflict", InvalidRequestError),
    (413, "Unknown", InvalidRequestError),
    (400, "DataInspectionFailed", ContentRejectedError),
    (400, "IPInfringementSuspect", ContentRejectedError),
    (404, "ModelNotFound", NotFoundError),
    (404, "NotFound", NotFoundError),
    (404, "WorkSpaceNotFound", NotFoundError),
    (400, "Arrearage", QuotaError),
    (403, "AllocationQuota.FreeTierOnly", QuotaError),
    (429, "Throttling.AllocationQuota", QuotaError),
    (429, "PrepaidBillOverdue", QuotaError),
    (429, "PostpaidBillOverdue", QuotaError),
    (429, "CommodityNotPurchased", QuotaError),
    (429, "Throttling", RateLimitError),
    (429, "Throttling.RateQuota", RateLimitError),
    (429, "Throttling.BurstRate", RateLimitError),
    (500, "InternalError", ServerError),
    (500, "InternalError.Timeout", ServerError),
    (500, "InternalError.Algo", ServerError),
    (500, "SystemError", ServerError),
    (500, "ModelServiceFailed", ServerError),
    (502, "Unknown", ServerError),
    (503, "ModelServingError", ServerError),
    (503, "ModelUnavailable", ServerError),
]


@pytest.mark.parametrize(("status", "code", "expected"), CLASSIFICATION)
def test_classify_maps_each_status_and_code_family_to_its_exception(
    status: int, code: str, expected: type[DashScopeError]
) -> None:
    assert classify(status, code) is expected


def test_content_rejection_is_a_kind_of_invalid_request() -> None:
    assert issubclass(ContentRejectedError, InvalidRequestError)


@pytest.mark.parametrize(
    "cls",
    [
        AuthenticationError,
        PermissionDeniedError,
        InvalidRequestError,
        ContentRejectedError,
        NotFoundError,
        QuotaError,
        TaskFailedError,
        TaskNotFoundError,
    ],
)
def test_errors_that_a_retry_cannot_fix_are_not_retryable(cls: type[DashScopeError]) -> None:
    assert cls.retryable is False


@pytest.mark.parametrize("cls", [RateLimitError, ServerError, DashScopeConnectionError])
def test_throttling_server_and_connection_errors_are_retryable(cls: type[DashScopeError]) -> None:
    assert cls.retryable is True


def test_every_dashscope_error_is_a_bailian_error() -> None:
    assert issubclass(DashScopeError, BailianError)
    assert issubclass(DashScopeConnectionError, DashScopeError)


def test_from_reply_keeps_status_code_request_id_and_the_services_message() -> None:
    error = from_reply(400, "InvalidParameter", "num_images_per_prompt must be 1.", "req-123")
    assert isinstance(error, InvalidRequestError)
    assert error.status == 400 and error.code == "InvalidParameter" and error.request_id == "req-123"
    assert error.service_message == "num_images_per_prompt must be 1."
    text = str(error)
    assert text.startswith("DashScope 400 InvalidParameter: num_images_per_prompt must be 1.")
    assert "(request_id req-123)" in text
    assert "Fix the parameter" in text


def test_a_401_says_keys_are_region_bound_and_names_this_servers_region() -> None:
    hint = "this server uses https://dashscope-intl.aliyuncs.com/api/v1 (BAILIAN_REGION=ap-southeast-1)"
    error = from_reply(401, "InvalidApiKey", "Invalid API-key provided.", "a1c0", region_hint=hint)
    assert isinstance(error, AuthenticationError)
    text = str(error)
    assert "DASHSCOPE_API_KEY" in text and "region" in text and hint in text
    assert "Invalid API-key provided." in text and "a1c0" in text


def test_a_401_without_a_region_hint_still_points_at_bailian_region() -> None:
    assert "BAILIAN_REGION" in str(from_reply(401, "InvalidApiKey", "No API-key provided.", None))


@pytest.mark.parametrize("code", ["DataInspectionFailed", "IPInfringementSuspect"])
def test_a_content_rejection_says_to_change_the_prompt(code: str) -> None:
    error = from_reply(400, code, "Input data may contain inappropriate content.", "r-9")
    assert isinstance(error, ContentRejectedError)
    assert "change the prompt" in str(error) and "r-9" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "advice"),
    [
        (429, "Throttling", "throttled"),
        (400, "Arrearage", "top up"),
        (403, "Model.AccessDenied", "activate the model"),
        (404, "ModelNotFound", "model name"),
        (500, "InternalError", "try again later"),
        (400, "UnsupportedOperation", "PENDING"),
    ],
)
def test_each_family_carries_its_own_advice(status: int, code: str, advice: str) -> None:
    assert advice in str(from_reply(status, code, "msg", "r"))


def test_a_model_not_found_points_to_the_catalogue_as_data_each_face_words() -> None:
    error = from_reply(404, "ModelNotFound", "msg", "r")
    assert error.next_step == "list_models" and "list_models" not in str(error)


def test_a_reply_without_code_message_or_request_id_is_still_a_sentence() -> None:
    error = from_reply(500, None, None, None)
    assert isinstance(error, ServerError)
    assert error.code == "Unknown" and error.request_id is None and error.service_message == ""
    text = str(error)
    assert text.startswith("DashScope 500 Unknown — ")
    assert "request_id" not in text


def test_task_failed_names_the_task_code_message_and_request() -> None:
    error = task_failed("t-1", "InvalidParameter", "The size is not match", "r-1")
    assert isinstance(error, TaskFailedError)
    assert error.status == 200 and error.code == "InvalidParameter" and error.request_id == "r-1"
    text = str(error)
    assert text.startswith("Task t-1 FAILED with InvalidParameter: The size is not match")
    assert "retrying may succeed" in text


def test_a_task_failed_on_content_inspection_says_to_change_the_prompt() -> None:
    text = str(task_failed("t-2", "DataInspectionFailed", "Output data may contain inappropriate content.", None))
    assert "change the prompt" in text and "retrying may succeed" not in text


def test_a_task_failed_without_code_or_message_is_unknown_with_no_message() -> None:
    error = task_failed("t-3", None, None, None)
    assert error.code == "Unknown"
    assert "Task t-3 FAILED with Unknown: no message" in str(error)


def test_a_connection_error_records_whether_the_request_may_have_arrived() -> None:
    assert errors.DashScopeConnectionError("x", request_sent=True).request_sent is True
    assert errors.DashScopeConnectionError("x", request_sent=False).request_sent is False
