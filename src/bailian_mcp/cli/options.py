"""Command-line options derived from a Params model: one option per field, nothing written by hand.

    field            option                       value handed to `parse_params`
    ───────────────  ───────────────────────────  ─────────────────────────────────────────────
    prompt: str      positional PROMPT            the text ("-" reads it from stdin)
    n: int           --n N                        the number ("4" -> 4; "four" stays text)
    watermark: bool  --watermark/--no-watermark   True / False
    format: Literal  --format {wav,mp3,pcm}       the choice
    image: list[str] --image IMAGE (repeatable)   a list of the texts
    messages: list[ChatMessage]  --messages JSON  the decoded JSON

The positional argument is the model's first required `str` field (the prompt or text), or,
where there is none, its first required list of strings (`asr a.wav b.wav`). Every option
defaults to "not given", so the model's own defaults (shown in --help) apply and every value,
including a missing required one, is validated by `parse_params` in the tools' words.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bailian_mcp.capabilities.fields import command_aliases
from bailian_mcp.errors import InputError

Kind = Literal["text", "flag", "choice", "list", "json"]
DEST_PREFIX = "param__"


@dataclass(frozen=True)
class FieldOption:
    """How one field of a Params model appears on the command line."""

    name: str  # the field's name
    kind: Kind
    positional: bool = False
    choices: tuple[str, ...] | None = None
    one_or_many: bool = False  # `str | list[str]`: a single value is passed as a string
    number: type[int] | type[float] | None = None  # "4" is passed as 4 when it reads as one
    aliases: tuple[str, ...] = ()  # shorter names for the same option (CommandAlias)

    @property
    def dest(self) -> str:
        return DEST_PREFIX + self.name

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> list[str]:
        return [self.flag, *("--" + alias.replace("_", "-") for alias in self.aliases)]


def _without_none(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [arg for arg in get_args(annotation) if arg is not type(None)]
    return [annotation]


def _literal_values(annotation: Any) -> tuple[str, ...] | None:
    if get_origin(annotation) is Literal:
        values = get_args(annotation)
        if all(isinstance(value, str) for value in values):
            return tuple(values)
    return None


def _is_text_list(annotation: Any) -> tuple[bool, tuple[str, ...] | None]:
    """Whether `annotation` is a list of strings (or of string literals), and those literals."""
    if get_origin(annotation) is not list:
        return False, None
    (item,) = get_args(annotation) or (Any,)
    if item is str:
        return True, None
    literals = _literal_values(item)
    return literals is not None, literals


def classify(name: str, field: FieldInfo) -> FieldOption:
    """The command-line shape of a field, from its type alone."""
    members = _without_none(field.annotation)
    if all(member is bool for member in members):
        return FieldOption(name, "flag")
    if len(members) == 1:
        (member,) = members
        literals = _literal_values(member)
        if literals is not None:
            return FieldOption(name, "choice", choices=literals)
        if member is str:
            return FieldOption(name, "text")
        if member in (int, float):
            return FieldOption(name, "text", number=member)
        is_list, item_choices = _is_text_list(member)
        if is_list:
            return FieldOption(name, "list", choices=item_choices)
    if len(members) == 2 and str in members:
        other = next(member for member in members if member is not str)
        if _is_text_list(other) == (True, None):
            return FieldOption(name, "list", one_or_many=True)
    return FieldOption(name, "json")


def field_options(model: type[BaseModel]) -> list[FieldOption]:
    """Every field of `model` as an option, the positional one marked."""
    options = [
        replace(classify(name, field), aliases=command_aliases(field)) for name, field in model.model_fields.items()
    ]
    required = [o for o in options if model.model_fields[o.name].is_required()]
    text_field = next((o for o in required if model.model_fields[o.name].annotation is str), None)
    positional = text_field or next((o for o in required if o.kind == "list" and not o.one_or_many), None)
    return [replace(o, positional=True) if o is positional else o for o in options]


def _help(field: FieldInfo, option: FieldOption) -> str:
    parts = [field.description or ""]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, Mapping) else {}
    enum = extra.get("enum")
    if isinstance(enum, list) and option.kind == "text":
        parts.append("One of: " + ", ".join(map(str, enum)) + ".")
    if field.is_required():
        parts.append("(required)")
    elif field.default not in (None, "", PydanticUndefined):
        shown = field.default if not isinstance(field.default, bool) else str(field.default).lower()
        parts.append(f"(default: {shown})")
    if option.kind == "list" and not option.positional:
        parts.append("Repeat the option for several values.")
    if option.kind == "json":
        parts.append("Give it as JSON text.")
    if option.positional and option.kind == "text":
        parts.append('"-" reads it from standard input.')
    return " ".join(part for part in parts if part).replace("%", "%%")


def add_model_options(parser: argparse._ActionsContainer, model: type[BaseModel]) -> list[FieldOption]:
    """Add one argument per field of `model` to `parser`; returns what `collect` needs to read them back."""
    options = field_options(model)
    for option in options:
        field = model.model_fields[option.name]
        help_text = _help(field, option)
        metavar = option.name.upper()
        if option.positional:
            nargs = "*" if option.kind == "list" else "?"  # none given: parse_params says what is missing
            parser.add_argument(option.dest, metavar=metavar, nargs=nargs, default=None, help=help_text)
        elif option.kind == "flag":
            parser.add_argument(
                *option.flags, dest=option.dest, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif option.kind == "choice":
            parser.add_argument(*option.flags, dest=option.dest, choices=option.choices, default=None, help=help_text)
        elif option.kind == "list":
            parser.add_argument(
                *option.flags,
                dest=option.dest,
                action="append",
                choices=option.choices,
                metavar=None if option.choices else metavar,
                default=None,
                help=help_text,
            )
        else:
            parser.add_argument(*option.flags, dest=option.dest, metavar=metavar, default=None, help=help_text)
    return options


def collect(args: argparse.Namespace, options: list[FieldOption]) -> dict[str, Any]:
    """The raw arguments the user gave (absent options left out), ready for `parse_params`."""
    raw: dict[str, Any] = {}
    for option in options:
        value = getattr(args, option.dest, None)
        if value is None or value == []:
            continue
        if option.positional and option.kind == "text" and value == "-":
            value = sys.stdin.read()
        elif option.number is not None:
            value = _number(option.number, value)
        elif option.kind == "list" and option.one_or_many and len(value) == 1:
            value = value[0]
        elif option.kind == "json":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InputError(option.name, value, f"give it as JSON text ({exc})") from None
            except RecursionError:
                raise InputError(option.name, value[:80] + "…", "JSON text nested this deep is not accepted") from None
        raw[option.name] = value
    return raw


def _number(kind: type[int] | type[float], text: str) -> Any:
    """`text` as a number; left as text when it is not one, for pydantic to word the problem."""
    try:
        return kind(text)
    except ValueError:
        return text
