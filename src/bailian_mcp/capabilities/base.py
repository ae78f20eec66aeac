"""How a capability is declared: data plus two small functions.

A capability is a `Params` model (the one declaration every face derives from: MCP
tool schema, CLI options, batch entries), `build` (validate and make the request) and
`parse` (turn the finished task into outputs). The runner does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bailian_mcp.catalog import ModelSpec
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.results import Cost, OutputFile


class Params(BaseModel):
    """Base for capability parameters: unknown names are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)


def parse_params(model: type[P], data: Mapping[str, Any]) -> P:
    """Raw arguments from any face (tool, CLI, batch) as `model`, or an InputError naming every problem."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError.from_validation(exc, model.model_fields) from None


@dataclass(frozen=True)
class BuildContext:
    region: str


@dataclass(frozen=True)
class TaskRequest:
    """A validated request, ready to send: everything the runner needs and nothing more."""

    model: ModelSpec
    path: str
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class AsyncTaskCapability(Generic[P]):
    """A capability served by DashScope's async task protocol (submit, poll, fetch results)."""

    name: str
    title: str
    description: str
    params_model: type[P]
    build: Callable[[P, BuildContext], TaskRequest]
    parse: Callable[[TaskSnapshot], list[OutputFile]]
    file_suffix: str

    def cost(self, model: ModelSpec, snapshot: TaskSnapshot) -> Cost | None:
        """Price × billed quantity, from the usage DashScope reports."""
        quantity = billed_quantity(model, snapshot.usage)
        if quantity is None:
            return None
        price = model.price
        return Cost(
            amount=round(quantity * price.amount, 6),
            currency=price.currency,
            basis=f"{quantity:g} {price.unit} × {price.describe()}",
        )


def billed_quantity(model: ModelSpec, usage: Mapping[str, Any]) -> float | None:
    keys = {"image": "image_count", "second": "video_duration"}
    value = usage.get(keys.get(model.price.unit, ""))
    return float(value) if isinstance(value, int | float) else None
