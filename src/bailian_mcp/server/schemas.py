"""The schemas a tool publishes: lean, because every request an agent makes carries the tool list.

Input schemas: each parameter's type, bounds, enum and default, with a few words of description (its `Lean` text,
see capabilities.fields) — no `title`s, no examples, no per-model prose (that is in `bailian://help/{tool}` and
`list_models`), no `$ref` (strict converters such as openai-agents' refuse them), and an optional parameter as its
plain type (Cursor and Gemini refuse `anyOf [T, null]`). Output schemas: the shape alone, without words.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from bailian_mcp.capabilities.fields import lean_description

WORDS = frozenset({"title", "description", "examples"})


class ClientFriendlySchema(GenerateJsonSchema):
    """Input schemas every MCP client accepts: an optional parameter is its plain type, left out of
    `required`, never `anyOf [T, null]` with `default: null` (Cursor and Gemini reject those)."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default", ...) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def input_schema(params: type[BaseModel]) -> dict[str, Any]:
    """The input schema a tool publishes for `params`: the shape, with each parameter's lean description."""
    full = params.model_json_schema(by_alias=True, schema_generator=ClientFriendlySchema)
    schema: dict[str, Any] = _without_words(_inlined(full, full.get("$defs", {})))
    for name, spec in schema["properties"].items():
        described = lean_description(params.model_fields[name])
        if described:
            spec["description"] = described
    return schema


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The output schema a tool publishes for results of `model`: the shape, without words or defaults, a value that
    may be null as a list of types (`{"type": ["string", "null"]}`)."""
    full = model.model_json_schema()
    compact: dict[str, Any] = _compact(_without_words(_inlined(full, full.get("$defs", {}))))
    return compact


def _compact(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _compact(value) for key, value in schema.items() if key != "default"}
    match schema.get("anyOf"):
        case [{"type": str() as kind, **rest}, {"type": "null"}]:
            if isinstance(values := rest.get("enum"), list):
                rest["enum"] = [*values, None]
            return {**rest, "type": [kind, "null"]}
    return schema


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """`schema` with every `$ref` to its `$defs` replaced by the definition (the models here are not recursive)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inlined(value, definitions) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    return schema


def _without_words(schema: Any) -> Any:
    """`schema` without titles, descriptions and examples (the names of `properties` are kept, whatever they are)."""
    if isinstance(schema, dict):
        return {
            key: {name: _without_words(spec) for name, spec in value.items()}
            if key == "properties"
            else _without_words(value)
            for key, value in schema.items()
            if key not in WORDS
        }
    if isinstance(schema, list):
        return [_without_words(item) for item in schema]
    return schema
