"""Parameter declarations the capabilities share, and those generated from the model catalogue.

A capability's `model` parameter (its enum and the one-line guidance per model), and the bounds and
texts that depend on the models (how many images, which sizes), are read from `catalog.py` here, so
that a new model is one catalogue entry and every schema, option and help text follows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, JsonValue
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from bailian_mcp import catalog
from bailian_mcp.catalog import ModelSpec

SEED_MAX = 2**31 - 1  # the documented range of every seed here (the native protocol would take more)


class FileInput:
    """Marks a parameter whose values may name local files (`Annotated[str, Field(...), FileInput()]`): the CLI and
    batch files resolve relative paths of such values against where they were written (`absolute_paths`)."""

    def __repr__(self) -> str:
        return "FileInput()"


@dataclass(frozen=True)
class Lean:
    """What a tool's input schema says of a parameter, where its `description` (the full help: the help resource,
    `--help`) is long: a few words, or nothing where its name, type and bounds say it all. The details per model
    stay in the full help and `list_models`, out of the tool list every request carries."""

    text: str


def lean_description(info: FieldInfo) -> str | None:
    """The description a tool's input schema gives a parameter: its Lean text (None if empty), else its own."""
    for marker in info.metadata:
        if isinstance(marker, Lean):
            return marker.text or None
    return info.description


Seed = Annotated[
    int | None,
    Field(
        ge=0,
        le=SEED_MAX,
        description=f"Random seed 0-{SEED_MAX}: the same seed and parameters give much the same result. "
        "Leave out for a random one.",
    ),
    Lean(""),
]


@dataclass(frozen=True)
class CommandAlias:
    """A shorter command-line name for a parameter (`Annotated[..., CommandAlias("language")]` gives `--language`
    beside `--language-hints`); tools and batch files keep the one parameter name."""

    name: str


def command_aliases(info: FieldInfo) -> tuple[str, ...]:
    """The CommandAlias names a field is marked with."""
    return tuple(m.name for m in info.metadata if isinstance(m, CommandAlias))


def file_inputs(model: type[BaseModel]) -> frozenset[str]:
    """The parameters of `model` marked FileInput."""
    return frozenset(
        name for name, info in model.model_fields.items() if any(isinstance(m, FileInput) for m in info.metadata)
    )


_NOT_PATHS = ("http://", "https://", "oss://", "data:", "file://")


def absolute_paths(raw: Mapping[str, Any], model: type[BaseModel], base: Path) -> dict[str, Any]:
    """`raw` with the relative paths of existing files, in the parameters marked FileInput, made absolute (resolved
    against `base`).

    A capability takes local inputs as absolute paths; on the command line and in a batch file, a relative one is
    what people write. Only values that name an existing file are touched.
    """

    def fix(value: Any) -> Any:
        if not isinstance(value, str) or not value.strip() or value.lower().startswith(_NOT_PATHS):
            return value
        path = Path(os.path.expanduser(value))
        if path.is_absolute():
            return value
        candidate = base / path
        try:
            return str(candidate.resolve()) if candidate.is_file() else value
        except (OSError, ValueError):  # not a name this system can have (too long, a NUL): not a file, left as text
            return value

    fixed = dict(raw)
    for name in file_inputs(model) & set(raw):
        value = raw[name]
        fixed[name] = [fix(item) for item in value] if isinstance(value, list) else fix(value)
    return fixed


def model_names(capability: str) -> list[str]:
    return [m.name for m in catalog.models_for(capability)]


def model_field(capability: str) -> Any:
    """The `model` parameter of `capability` (`model: Annotated[str, model_field(NAME)] = default_model(NAME)`): its
    catalogue models as an enum, each with its one-line summary."""
    guide = " ".join(f"{m.name}: {m.summary}" for m in catalog.models_for(capability))
    names: list[JsonValue] = list(model_names(capability))
    return Field(description=guide, json_schema_extra={"enum": names})


def largest(capability: str, read: Callable[[ModelSpec], int]) -> int:
    """The largest value `read` gives over the capability's models (a bound every model fits in)."""
    return max(read(m) for m in catalog.models_for(capability))


def by_model(models: Iterable[ModelSpec], read: Callable[[ModelSpec], Any]) -> str:
    """`value (model, model); value (model)`: what `read` gives for each model, models with the same value together."""
    groups: dict[str, list[str]] = {}
    for model in models:
        groups.setdefault(str(read(model)), []).append(model.name)
    return "; ".join(f"{value} ({', '.join(names)})" for value, names in groups.items())


def per_model(capability: str, read: Callable[[ModelSpec], Any]) -> str:
    """`by_model` over the models of `capability`."""
    return by_model(catalog.models_for(capability), read)


def models_where(capability: str, test: Callable[[ModelSpec], bool]) -> str:
    """The names of the capability's models that pass `test`, e.g. the ones that accept a parameter."""
    return ", ".join(m.name for m in catalog.models_for(capability) if test(m))


Otherwise = Literal["item", "split", "keep", "error"]


def list_from_text(
    *, otherwise: Otherwise, blank: Any = None, what: str = "a list", example: str = '["a", "b"]'
) -> Callable[[Any], Any]:
    """A before-validator for a list parameter that some clients (Claude Desktop among them) send as text.

    Text holding a JSON list is that list. Other text is, by `otherwise`: one `item` of the list, `split` at
    commas, kept as it is (`keep`, for a parameter that also takes a single string: only a JSON list of strings
    is read as a list then), or an `error`. Blank text is `blank` (kept as it is with `keep`).
    """

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return value if otherwise == "keep" else blank
        decoded = json_list(text)
        if otherwise == "keep":  # a single string is a value too: only a JSON list of strings is read as a list
            return decoded if decoded is not None and all(isinstance(item, str) for item in decoded) else value
        if decoded is not None:
            return decoded
        if text.startswith("["):
            raise PydanticCustomError(
                "json_list",
                "this looks like a JSON list but does not parse; send {what} such as {example}",
                {"what": what, "example": example},
            )
        if otherwise == "item":
            return [text]
        if otherwise == "split":
            return [part.strip() for part in text.split(",") if part.strip()]
        raise PydanticCustomError(
            "json_list", "give {what}, or that list as JSON text, such as {example}", {"what": what, "example": example}
        )

    return convert


def json_list(text: str) -> list[Any] | None:
    """The list a string holds as JSON text, or None when it is not a JSON list."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        decoded = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        return None
    return decoded if isinstance(decoded, list) else None
