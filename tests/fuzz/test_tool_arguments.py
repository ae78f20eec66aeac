"""Hypothesis-generated arguments for every tool, through the MCP client, against the emulator on loopback.

Whatever the arguments — right-shaped, at the limits, of the wrong type, with unknown keys, huge, unicode, NaN,
JSON-encoded, nested junk — every call ends, within a bound, in a result or in an error a caller can read: never
the SDK's bare "Error executing tool <name>" (an unexpected exception in the tool), a traceback, a JSON-RPC error
or a hang. One server and one client serve all the examples of a test. Reproducible: derandomized, no database,
no shrinking (a failing example is printed as found, with the server's traceback).

Examples are drawn from the schemas the server publishes (read at import time) before the test's event loop
runs: drawing inside an async test would let hypothesis's own control-flow exception kill anyio's test runner.

The CLI is not fuzzed here: its subcommands are being rewritten; see the report of issue 6.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzz.checks import CrashLog, call_checked, result_text
from tests.support.fuzz.strategies import TOOL_NAMES, Context, arguments, fuzz_settings, published_schemas
from tests.support.fuzz.targets import FuzzTarget

pytestmark = pytest.mark.slow

COMMON = fuzz_settings(HealthCheck.differing_executors)
EXAMPLES_PER_TOOL = 48
# The tools whose valid calls render and download real images or clips get fewer (each such call costs ~0.1 s).
EXAMPLES = {"text_to_image": 32, "text_to_video": 36}
LEGACY_EXAMPLES = 36  # spread over all tools
SCHEMAS = published_schemas()
ANY_TOOL_CALL = st.sampled_from(TOOL_NAMES).flatmap(lambda tool: st.tuples(st.just(tool), arguments(SCHEMAS[tool])))


async def context(target: FuzzTarget, tool: str) -> Context:
    handles = await target.ensure_handles() if tool in ("get_task", "cancel_task") else ["job_none"]
    return Context(paths=tuple(target.inputs.paths), handles=tuple(handles))


async def test_every_tool_is_published_and_fuzzed(fuzz_target: FuzzTarget) -> None:
    assert set(fuzz_target.schemas) == set(TOOL_NAMES) == set(SCHEMAS)
    for name, schema in fuzz_target.schemas.items():
        assert schema["properties"].keys() == SCHEMAS[name]["properties"].keys()
    for schema in SCHEMAS.values():
        assert schema["type"] == "object" and schema.get("additionalProperties") is False


def fuzz_test(tool: str) -> Any:
    @settings(max_examples=EXAMPLES.get(tool, EXAMPLES_PER_TOOL), **COMMON)
    @given(args=arguments(SCHEMAS[tool]))
    async def test(fuzz_target: FuzzTarget, crashes: CrashLog, args: dict[str, Any]) -> None:
        filled = (await context(fuzz_target, tool)).fill(args)
        await call_checked(fuzz_target.client, tool, filled, crashes, fuzz_target.emulator)

    test.__name__ = f"test_fuzzed_{tool}_arguments_get_a_result_or_a_clear_error"
    return test


for _tool in TOOL_NAMES:
    globals()[f"test_fuzzed_{_tool}_arguments_get_a_result_or_a_clear_error"] = fuzz_test(_tool)


@settings(max_examples=LEGACY_EXAMPLES, **COMMON)
@given(call=ANY_TOOL_CALL)
async def test_fuzzed_arguments_over_the_legacy_handshake(
    legacy_fuzz_target: FuzzTarget, crashes: CrashLog, call: tuple[str, dict[str, Any]]
) -> None:
    tool, args = call
    filled = (await context(legacy_fuzz_target, tool)).fill(args)
    await call_checked(legacy_fuzz_target.client, tool, filled, crashes, legacy_fuzz_target.emulator)


@settings(max_examples=30, **COMMON)
@given(
    tool=st.sampled_from(TOOL_NAMES),
    args=st.one_of(
        st.just({}),
        st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text(max_size=10), max_size=4),
    ),
)
async def test_missing_and_unknown_arguments_get_a_result_or_a_clear_error(
    fuzz_target: FuzzTarget, crashes: CrashLog, tool: str, args: dict[str, Any]
) -> None:
    await call_checked(fuzz_target.client, tool, args, crashes, fuzz_target.emulator)


@pytest.mark.parametrize("tool", ["list_models", "text_to_image"])
async def test_an_argument_named_ctx_is_refused_like_any_unknown_key(fuzz_target: FuzzTarget, tool: str) -> None:
    """Found by the fuzzer's extra keys: the SDK merges the tool's context over the arguments (`ctx`), so an
    argument called `ctx` vanishes before the tool sees it, while every other unknown key is refused."""
    arguments = {"list_models": {"capability": "text_to_video"}, "text_to_image": {"prompt": "[emulator:inspect] x"}}
    bogus = await fuzz_target.client.call_tool(tool, {**arguments[tool], "bogus": 1})
    assert bogus.is_error and "there is no such parameter" in result_text(bogus)
    result = await fuzz_target.client.call_tool(tool, {**arguments[tool], "ctx": 1})
    text = result_text(result)
    assert result.is_error and "ctx" in text and "there is no such parameter" in text, text[:300]
