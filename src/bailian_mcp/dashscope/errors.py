"""What DashScope said, as typed exceptions built from (HTTP status, code).

DashScopeError                       a reply from the service (flat envelope: code, message, request_id)
├── AuthenticationError      401     InvalidApiKey                          — key missing, wrong, or for another region
├── PermissionDeniedError    403     AccessDenied, AccessDenied.*, Model.AccessDenied, Workspace.AccessDenied
├── InvalidRequestError      400     InvalidParameter, BadRequest.*, InvalidURL, InvalidFile.*, InvalidImage*,
│   │                                UnsupportedOperation, and any other 4xx not listed here
│   └── ContentRejectedError 400     DataInspectionFailed, IPInfringementSuspect  — change the prompt
├── NotFoundError            404     ModelNotFound, NotFound, WorkSpaceNotFound
├── QuotaError               400/403/429  Arrearage, AllocationQuota.FreeTierOnly, Throttling.AllocationQuota,
│                                    PrepaidBillOverdue, PostpaidBillOverdue, CommodityNotPurchased
├── RateLimitError           429     Throttling, Throttling.RateQuota, Throttling.BurstRate    [retried]
├── ServerError              5xx     InternalError*, SystemError, ModelServingError, ...       [GETs retried]
├── TaskFailedError          200     a task that ended FAILED (code/message inside output)
└── TaskNotFoundError        200     task_status UNKNOWN: never existed, or expired after 24 h
DashScopeConnectionError             no usable reply: refused, reset, timed out, malformed body
  [GETs retried; a POST only when the connection failed before anything was sent]
"""

from __future__ import annotations

from bailian_mcp.errors import BailianError

QUOTA_CODES = frozenset(
    {
        "Arrearage",
        "AllocationQuota.FreeTierOnly",
        "Throttling.AllocationQuota",
        "PrepaidBillOverdue",
        "PostpaidBillOverdue",
        "CommodityNotPurchased",
    }
)
CONTENT_CODES = frozenset({"DataInspectionFailed", "IPInfringementSuspect"})


class DashScopeError(BailianError):
    """An error reply from DashScope. `str()` is the agent-facing explanation."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        service_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.service_message = service_message


class AuthenticationError(DashScopeError):
    pass


class PermissionDeniedError(DashScopeError):
    pass


class InvalidRequestError(DashScopeError):
    pass


class ContentRejectedError(InvalidRequestError):
    pass


class NotFoundError(DashScopeError):
    next_step = "list_models"


class QuotaError(DashScopeError):
    pass


class RateLimitError(DashScopeError):
    retryable = True


class ServerError(DashScopeError):
    retryable = True


class TaskFailedError(DashScopeError):
    pass


class TaskNotFoundError(DashScopeError):
    pass


class DashScopeConnectionError(DashScopeError):
    """No usable reply. `request_sent` tells whether the service may have received the request."""

    retryable = True

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


def _advice(cls: type[DashScopeError], code: str, region_hint: str) -> str:
    if cls is AuthenticationError:
        return f"Check DASHSCOPE_API_KEY. Keys are bound to the region they were made in: {region_hint}."
    if cls is ContentRejectedError:
        return "The content inspection rejected the input: change the prompt (or image) and try again."
    if cls is RateLimitError:
        return "DashScope throttled the request; it was retried with backoff. Wait a few seconds and try again."
    if cls is QuotaError:
        return "The account has no quota or credit for this model: top up or wait for the free quota to reset."
    if cls is PermissionDeniedError:
        return "This key may not use this model or endpoint: activate the model in the Bailian console."
    if cls is NotFoundError:
        return "Check the model name."
    if cls is ServerError:
        return "DashScope had an internal error; try again later."
    if code == "UnsupportedOperation":
        return "Only a task that is still PENDING can be cancelled."
    return "Fix the parameter named in the message and try again."


def classify(status: int, code: str) -> type[DashScopeError]:
    """The exception class for an error reply with this HTTP status and DashScope code."""
    if code in QUOTA_CODES:
        return QuotaError
    if code in CONTENT_CODES:
        return ContentRejectedError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return InvalidRequestError


def from_reply(
    status: int, code: str | None, message: str | None, request_id: str | None, *, region_hint: str = ""
) -> DashScopeError:
    """Build the typed error for a flat error envelope `{code, message, request_id}`."""
    code = code or "Unknown"
    service_message = message or ""
    cls = classify(status, code)
    text = f"DashScope {status} {code}: {service_message}".rstrip(": ")
    text += f" — {_advice(cls, code, region_hint or 'set BAILIAN_REGION to match the key')}"
    if request_id:
        text += f" (request_id {request_id})"
    return cls(text, status=status, code=code, request_id=request_id, service_message=service_message)


def task_failed(task_id: str, code: str | None, message: str | None, request_id: str | None) -> TaskFailedError:
    code = code or "Unknown"
    hint = (
        "change the prompt"
        if code in CONTENT_CODES
        else "the request was accepted but generation failed; retrying may succeed"
    )
    text = f"Task {task_id} FAILED with {code}: {message or 'no message'} — {hint}."
    return TaskFailedError(text, status=200, code=code, request_id=request_id, service_message=message)
