"""Hypothesis strategies for tool arguments, built from each tool's published input schema.

Every property gets, at random, a value of the right shape (within the schema's limits, often one that means
something to the tool: a real local image, a job id, a size), an edge value (just past a limit, NaN, infinity,
a huge or blank string, a JSON-encoded list) or junk (nested lists and objects of anything). Required properties
are sometimes left out and unknown keys are sometimes added.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

import anyio
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.config import load_settings
from bailian_mcp.server import build_server
from tests.support.media import data_uri, png_bytes

DEEP = 5_000  # deeper than json's C scanner recursion limit
PATH_SLOTS = 16  # Ref("path", i) for i below this: `Context.paths` is indexed modulo its length
USABLE_PATHS = 4  # the first paths of `Context.paths` are files the tools may read; the others must be refused
JOB_TOOL_NAMES = ("get_task", "list_tasks", "cancel_task", "list_models")
TOOL_NAMES = (*(capability.name for capability in CAPABILITIES.values()), *JOB_TOOL_NAMES)
"""Every tool the server publishes: one per registered capability, and the job tools."""

PNG_600 = data_uri(png_bytes(600, 600))
PNG_100 = data_uri(png_bytes(100, 100))

EDGE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "\t\n\r ",
    "\x00",
    "a\x00b",
    "null",
    "None",
    "NaN",
    "-1",
    "1e309",
    "0x10",
    "true",
    "[]",
    "{}",
    "[1, 2, 3]",
    '["a", "b"]',
    '[{"role": "system", "content": "x"}]',
    '[{"role": "user"}]',
    '{"a": [1, {"b": null}]}',
    "[" * DEEP + "]" * DEEP,
    "[" * 64,
    '[""]',
    "[NaN, Infinity]",
    "x" * 100_000,
    "字" * 40_000,
    "🙂" * 2_000,
    "\u202eevil\u202c",
    "\ufeffBOM",
    "e\u0301" * 50,
    "%s%n%x{0}",
    "'; DROP TABLE jobs; --",
    "${HOME}",
    "$(id)",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "/etc/passwd",
    "/dev/zero",
    "/proc/self/environ",
    "~/.ssh/id_rsa",
    "~root/.bashrc",
    "C:\\Windows\\win.ini",
    "\\\\server\\share\\a.png",
    "file:///etc/passwd",
    "file:///tmp/%2e%2e/etc/passwd",
    "file://%00/x",
    "http://",
    "https://",
    "http://[::1/a.png",
    "https://127.0.0.1:1/a.png",
    "http://127.0.0.1:1/a.wav",
    "oss://",
    "oss://missing/key.png",
    "data:",
    "data:,",
    "data:image/png;base64,",
    "data:image/png;base64,!!!",
    PNG_100,
    "[emulator:fail]",
    "[emulator:partial]",
    "[emulator:inspect]",
    "[emulator:stream-error]",
    "[emulator:tts-drop]",
    "0*0",
    "99999*99999",
    "1024*",
    "１０２４*１０２４",
)

# Lists sent as JSON text (Claude Desktop does this): well-formed, malformed, and nested past json's limit.
JSON_LISTS: tuple[str, ...] = (
    '["https://127.0.0.1:1/a.png"]',
    '["zh", "en"]',
    '[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]',
    '["\\n\\n", "END"]',
    "[1, null, {}]",
    "[unclosed",
    "[" * DEEP + "]" * DEEP,
    "[" * DEEP,
)

EDGE_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    1,
    2**31,
    2**63,
    -(2**63),
    10**30,
    True,
    False,
    0.5,
    1.0,
    -0.0,
    1e308,
    5e-324,
    math.nan,
    math.inf,
    -math.inf,
)

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(EDGE_NUMBERS),
)
NESTED = st.recursive(
    _LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
JUNK = st.one_of(
    NESTED,
    st.sampled_from(EDGE_STRINGS),
    st.sampled_from(EDGE_NUMBERS),
    NESTED.map(json.dumps),  # JSON-encoded junk, as clients that stringify lists send it
)


@dataclass(frozen=True)
class Ref:
    """Stands for a value known only when the test runs (a local file's path, a job id): examples are drawn
    before the test's event loop runs, from the schemas published at import time."""

    kind: str  # "path" or "handle"
    index: int


@dataclass(frozen=True)
class Context:
    """What `Ref`s stand for: local files and URIs, real job handles."""

    paths: tuple[str, ...]
    handles: tuple[str, ...]

    def fill(self, value: Any) -> Any:
        if isinstance(value, Ref):
            pool = self.paths if value.kind == "path" else self.handles
            return pool[value.index % len(pool)]
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value


def _domain(name: str) -> st.SearchStrategy[Any] | None:
    """Values that mean something to the parameter called `name`."""
    if name in ("image", "base_image_url", "mask_image_url", "audio"):
        return st.one_of(
            st.builds(Ref, st.just("path"), st.sampled_from(range(USABLE_PATHS))),
            st.builds(Ref, st.just("path"), st.sampled_from(range(USABLE_PATHS, PATH_SLOTS))),
            st.sampled_from((PNG_600, PNG_100, "https://127.0.0.1:1/a.png", "oss://nope/a.wav")),
            st.sampled_from(JSON_LISTS),
        )
    if name in ("size", "resolution"):
        return st.sampled_from(("1024*1024", "512x512", "1440×810", "720*1280", "832*480", "1664*928", "600*600"))
    if name == "task_id":
        return st.one_of(
            st.builds(Ref, st.just("handle"), st.sampled_from(range(4))),
            st.sampled_from(("job_0000000000000000", "unknown-task")),
        )
    if name == "capability":
        return st.sampled_from(TOOL_NAMES)
    if name in ("prompt", "text", "system", "negative_prompt"):
        return st.sampled_from(("a red kite", "一只猫", "Hello.", "[emulator:fail] x", "[emulator:inspect] x"))
    if name == "language_hints":
        return st.lists(st.sampled_from(("zh", "en", "ja", "xx")), max_size=3) | st.sampled_from(JSON_LISTS)
    if name in ("messages", "stop"):
        return st.sampled_from(JSON_LISTS)
    if name == "wait_seconds":
        return st.sampled_from((0, 1))  # larger valid waits only make a call slower, not different
    return None


@functools.cache
def published_schemas() -> dict[str, dict[str, Any]]:
    """Each tool's input schema as the server publishes it (`tools/list`) to a client without MCP Apps (the gallery's
    own tools aside), read once at import time."""
    settings = load_settings(api_key="sk-unused", base_url="http://127.0.0.1:9/api/v1", data_dir="/nonexistent")

    async def listing() -> dict[str, dict[str, Any]]:
        tools = await build_server(settings).list_tools()
        return {tool.name: tool.input_schema for tool in tools if tool.name in TOOL_NAMES}

    return anyio.run(listing)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(root["$defs"][ref.removeprefix("#/$defs/")])
    return schema


def valid(schema: dict[str, Any], root: dict[str, Any], name: str = "") -> Any:
    """A strategy for values of the shape `schema` describes (and within its limits)."""
    schema = _resolve(schema, root)
    options: list[st.SearchStrategy[Any]] = []
    if (domain := _domain(name)) is not None:
        if name == "wait_seconds":
            return domain
        options.append(domain)
    if "anyOf" in schema:
        options += [valid(option, root, name) for option in schema["anyOf"]]
    elif "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    else:
        kind = schema.get("type")
        if kind == "string":
            low = schema.get("minLength", 0)
            options.append(st.text(min_size=low, max_size=max(low, min(schema.get("maxLength", 30), 30))))
        elif kind == "integer":
            low = schema.get("minimum", schema.get("exclusiveMinimum", -(2**40) - 1) + 1)
            high = schema.get("maximum", schema.get("exclusiveMaximum", 2**40 + 1) - 1)
            options.append(st.integers(min_value=low, max_value=high))
        elif kind == "number":
            low = schema.get("minimum", schema.get("exclusiveMinimum"))
            high = schema.get("maximum", schema.get("exclusiveMaximum"))
            options.append(
                st.floats(
                    min_value=low,
                    max_value=high,
                    exclude_min="exclusiveMinimum" in schema,
                    exclude_max="exclusiveMaximum" in schema,
                    allow_nan=False,
                    allow_infinity=False,
                )
            )
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "array":
            low = schema.get("minItems", 0)
            high = max(low, min(schema.get("maxItems", 4), 4))
            options.append(st.lists(valid(schema.get("items", {}), root, name), min_size=low, max_size=high))
        elif kind == "object":
            properties = schema.get("properties", {})
            required = set(schema.get("required", []))
            options.append(
                st.fixed_dictionaries(
                    {key: valid(value, root, key) for key, value in properties.items() if key in required},
                    optional={key: valid(value, root, key) for key, value in properties.items() if key not in required},
                )
            )
        else:
            options.append(JUNK)
    return st.one_of(*options)


def edge(schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values at or just past the limits of `schema`, and values of neighbouring types."""
    schema = _resolve(schema, root)
    values: list[Any] = [None, *EDGE_NUMBERS[:8]]
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in schema:
            bound = schema[key]
            values += [bound, bound - 1, bound + 1, str(bound), float(bound) - 1e-9, float(bound) + 1e-9]
    for key in ("minLength", "maxLength"):
        if key in schema:
            values += ["y" * schema[key], "y" * (schema[key] + 1), "字" * (schema[key] + 1), " " * schema[key]]
    for key in ("minItems", "maxItems"):
        if key in schema:
            values += [["x"] * schema[key], ["x"] * (schema[key] + 1), json.dumps(["x"] * (schema[key] + 1))]
    if "enum" in schema:
        first = str(schema["enum"][0])
        values += [first.upper(), f" {first} ", first + "\x00", [first], {"value": first}]
    return st.one_of(st.sampled_from(values), st.sampled_from(EDGE_STRINGS), st.sampled_from(EDGE_NUMBERS))


@st.composite
def arguments(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """A whole `arguments` object for a tool with input schema `schema`.

    A bad value in one parameter hides the checks that run after validation (paths, sizes, the request), so
    most examples are valid but for at most one parameter; the rest mix valid, edge and junk values freely.
    """
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    mode = draw(st.sampled_from(("valid", "one-off", "one-off", "chaos")))
    names = list(properties)
    target = draw(st.sampled_from(names)) if names else None
    result: dict[str, Any] = {}
    for name, prop in properties.items():
        if mode == "chaos":
            keep = draw(st.integers(0, 9)) > 0 if name in required else draw(st.booleans())
            kind = draw(st.sampled_from(("valid", "valid", "edge", "junk")))
        elif mode == "one-off" and name == target:
            keep = draw(st.integers(0, 5)) > 0
            kind = draw(st.sampled_from(("edge", "junk")))
        else:
            keep = name in required or draw(st.booleans())
            kind = "valid"
        if not keep:
            continue
        if kind == "valid":
            result[name] = draw(valid(prop, schema, name))
        elif kind == "edge":
            result[name] = draw(edge(prop, schema))
        else:
            result[name] = draw(JUNK)
    if mode == "chaos" and draw(st.integers(0, 3)) == 0:
        extra = draw(st.sampled_from(("extra", "", " ", "__proto__", "wait", "Prompt", "prompt ", "image[0]", "字")))
        if extra not in properties:
            result[extra] = draw(JUNK)
    return result


def fuzz_settings(*also_suppressed: HealthCheck, deadline: Any = None) -> dict[str, Any]:
    """The fuzz suite's hypothesis settings: reproducible (derandomized, no example database, no shrinking),
    with the health checks that slow, fixture-driven examples trip turned off."""
    return {
        "deadline": deadline,
        "derandomize": True,
        "database": None,
        "phases": (Phase.explicit, Phase.generate),
        "suppress_health_check": [
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            *also_suppressed,
        ],
    }
