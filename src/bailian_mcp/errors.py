"""Errors every layer raises, each with a message an agent can act on.

    BailianError                      anything this package reports to a caller
    ├── InputError                    rejected locally, before anything was sent or paid for
    ├── ConfigurationError            missing API key, unusable output folder, ...
    └── (dashscope.errors.DashScopeError and its families: what the service said)

`InputError` names the parameter, the value it got and what is allowed, so a
caller can correct the call without reading documentation.
"""

from __future__ import annotations

from typing import Any


class BailianError(Exception):
    """Base class: `str(error)` is a complete, actionable sentence."""


class InputError(BailianError):
    """A parameter was rejected locally; no request was sent."""

    def __init__(self, param: str, value: Any, allowed: str) -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"Invalid {param}={shown}: {allowed}. Nothing was sent to DashScope.")


class ConfigurationError(BailianError):
    """The server's own settings make the call impossible (e.g. no API key)."""
