"""Every property of every tool, one at a time, set to each of a fixed list of nasty values (the rest of the
arguments valid): a deterministic sweep beside the random examples, so that each value reaches each parameter."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fuzz.checks import CrashLog, call_checked
from tests.support.fuzz.strategies import DEEP, PNG_100, TOOL_NAMES, published_schemas
from tests.support.fuzz.targets import FuzzTarget

pytestmark = pytest.mark.slow

SCHEMAS = published_schemas()
# The emulator refuses a prompt carrying [emulator:inspect] at once (400 DataInspectionFailed), so a sweep value
# that passes local validation costs one quick round trip instead of a rendered image or video.
INSPECT = "[emulator:inspect] a kite"
BASE: dict[str, dict[str, Any]] = {
    "text_to_image": {"prompt": INSPECT, "size": "512*512", "wait_seconds": 0},
    "text_to_text": {"prompt": INSPECT, "wait_seconds": 0},
    "edit_image": {"image": "https://127.0.0.1:1/a.png", "prompt": INSPECT, "wait_seconds": 0},
    "wanx_edit_image": {
        "function": "description_edit",
        "prompt": INSPECT,
        "base_image_url": "https://127.0.0.1:1/a.png",
        "wait_seconds": 0,
    },
    "text_to_video": {"prompt": INSPECT, "resolution": "832*480", "wait_seconds": 0},
    "image_to_video": {"image": "https://127.0.0.1:1/a.png", "prompt": INSPECT, "wait_seconds": 0},
    "reference_to_video": {"references": ["https://127.0.0.1:1/a.png"], "prompt": INSPECT, "wait_seconds": 0},
    "text_to_speech": {"text": INSPECT, "wait_seconds": 0},
    "speech_to_text": {"audio": "https://127.0.0.1:1/a.wav", "wait_seconds": 0},
    "get_task": {"task_id": "unknown", "wait_seconds": 0},
    "list_tasks": {"include_remote": False},
    "cancel_task": {"task_id": "unknown"},
    "list_models": {},
}
NASTY: tuple[Any, ...] = (
    None,
    "",
    " \t\n",
    "\x00",
    "a\x00b",
    "x" * 100_000,
    "字" * 40_000,
    "\u202eevil",
    "[" * DEEP + "]" * DEEP,
    "[" * 64,
    '[{"role": "user"}]',
    "[1, 2]",
    '{"a": 1}',
    "NaN",
    float("nan"),
    float("inf"),
    float("-inf"),
    -1,
    2**63,
    10**30,
    1.5,
    True,
    [],
    [None],
    [[[[["deep"]]]]],
    {"nested": {"junk": [1, "2", None]}},
    "../../../../etc/passwd",
    "/dev/zero",
    "C:\\Windows\\win.ini",
    "\\\\server\\share\\a.png",
    "file:///tmp/%2e%2e/etc/passwd",
    "file:///tmp/%00",
    "{root}/" + "a" * 300 + ".png",
    "{root}/sub/../" + "b" * 256,
    "http://[::1/a.png",
    "data:image/png;base64,!!!",
    PNG_100,
)


# Parameters that are not text or lists meet the values that differ in type or range; the path and JSON strings
# above only matter to parameters that read text.
SCALAR_NASTY: tuple[Any, ...] = (
    None,
    "",
    "\x00",
    "x" * 100_000,
    "NaN",
    "[" * DEEP + "]" * DEEP,
    -1,
    2**63,
    10**30,
    1.5,
    True,
    [],
    [None],
    {"nested": {"junk": [1, "2", None]}},
)


def takes_text(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") in ("string", "array") and "enum" not in option for option in options)


def test_every_tool_has_valid_base_arguments() -> None:
    """A capability registered without an entry in BASE would be swept with nothing valid to vary from."""
    assert set(BASE) == set(TOOL_NAMES)


@pytest.mark.parametrize("tool", TOOL_NAMES)
async def test_each_nasty_value_in_each_parameter(fuzz_target: FuzzTarget, crashes: CrashLog, tool: str) -> None:
    root = str(fuzz_target.inputs.root)
    failures = []
    calls = 0
    for name, schema in SCHEMAS[tool]["properties"].items():
        for value in NASTY if takes_text(schema) else SCALAR_NASTY:
            if isinstance(value, str):
                value = value.replace("{root}", root)
            calls += 1
            try:
                await call_checked(fuzz_target.client, tool, {**BASE[tool], name: value}, crashes, fuzz_target.emulator)
            except AssertionError as exc:
                failures.append(str(exc))
    assert not failures, f"{len(failures)} of {calls} calls to {tool} broke:\n" + "\n".join(failures)
