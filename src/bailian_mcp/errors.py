"""Errors every layer raises, each with a message an agent can act on.

    BailianError                      anything this package reports to a caller
    ├── InputError                    rejected locally, before anything was sent or paid for
    ├── ConfigurationError            missing API key, unusable output folder, ...
    └── (dashscope.errors.DashScopeError and its families: what the service said)

`InputError` names the parameter, the value it got and what is allowed, so a
caller can correct the call without reading documentation. Errors speak no face's
language: where the caller should turn next (a job's task list, the model catalogue)
is `next_step`, which each face words in its own terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import ValidationError

NOTHING_SENT = "Nothing was sent to DashScope."

NextStep = Literal["resume", "list_tasks", "list_models", "confirm"]
"""What the caller can do next, as data; each face words it (`get_task` for an agent, `bailian-mcp task get` in a
shell): resume = wait for (or collect) the job again; list_tasks = look at the task list, where DashScope's own
tasks are merged in; list_models = look at the model catalogue."""


class BailianError(Exception):
    """Base class: `str(error)` is a complete, actionable sentence; `next_step` says where to turn next, if anywhere."""

    next_step: NextStep | None = None

    def __init__(self, *args: object, next_step: NextStep | None = None) -> None:
        super().__init__(*args)
        if next_step is not None:
            self.next_step = next_step


class InputError(BailianError):
    """A parameter was rejected locally; no request was sent."""

    def __init__(self, param: str, value: Any, allowed: str, *, message: str | None = None) -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        super().__init__(message or f"{_problem(param, value, allowed)}. {NOTHING_SENT}")

    @classmethod
    def from_validation(cls, exc: ValidationError, parameters: Iterable[str]) -> InputError:
        """One InputError describing every problem pydantic found, in this module's words."""
        known = ", ".join(parameters)
        problems: list[tuple[str, Any, str]] = []
        for error in exc.errors():
            param = ".".join(str(part) for part in error["loc"]) or "arguments"
            if error["type"] == "missing":
                problems.append((param, None, "this parameter is required"))
            elif error["type"] == "extra_forbidden":
                problems.append((param, error.get("input"), f"there is no such parameter; the parameters are {known}"))
            else:
                message = str(error["msg"])
                problems.append((param, error.get("input"), message[:1].lower() + message[1:]))
        text = " ".join(_problem(*problem) + "." for problem in problems)
        param, value, allowed = problems[0]
        return cls(param, value, allowed, message=f"{text} {NOTHING_SENT}")


def _problem(param: str, value: Any, allowed: str) -> str:
    if value is None and allowed == "this parameter is required":
        return f"Missing {param}: {allowed}"
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"Invalid {param}={shown}: {allowed}"


class ConfigurationError(BailianError):
    """The server's own settings make the call impossible (e.g. no API key)."""
