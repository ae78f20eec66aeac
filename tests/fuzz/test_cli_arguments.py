"""Hypothesis-generated command lines for every `bailian-mcp` subcommand, run in-process against the emulator.

Each example is an argv list: the subcommand, options from its Params model with values of the right shape, at
or past the limits (NaN, infinity, huge and negative numbers, empty and blank strings, odd unicode, lone
surrogates, JSON-ish text for list options), junk, unknown options, missing required ones, paths that do not
exist or escape the input roots, malformed base URLs, and for `batch` generated task files (valid and partial
tasks, wrong types, unknown capabilities and keys, malformed JSON, non-UTF-8 bytes). `cli.main(argv)` runs with
stdout and stderr captured as a real process has them (UTF-8; strict on stdout, backslashreplace on stderr) and
must end, within a bound, in SystemExit with a documented code:

  * nothing but SystemExit escapes, and its code is 0, 2, 3 or 4 (output.EXIT_CODES; argparse's errors are 2);
  * no traceback and no "internal error" in the output, none logged (a real process prints logs on stderr);
  * a non-zero exit explains itself: a message on stderr, or (exit 3/4 of a job that ran) the job's status
    in the result on stdout, which is where the CLI puts results by design;
  * an exit 2 from the CLI's own validation names a parameter of the command (or the setting) at fault;
  * with --json, stdout is one JSON document (or empty);
  * the API key (a random sentinel, the only key the emulator accepts) never appears in output or logs;
  * the emulator never answers with its catch-all 500 (an emulator crash).

The network is confined to loopback (name resolution of any other host fails), so a base URL left blank or
pointing elsewhere can never reach the real service. Reproducible: derandomized, no database, no shrinking.

The command lines the fuzzer once broke the CLI with (FOUND_BY_FUZZING) are kept as regression tests.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import logging
import re
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st

from bailian_mcp import cli
from bailian_mcp.batch.file import MIXED_SECTION, sections
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.cli.commands import command_names
from bailian_mcp.cli.options import FieldOption, field_options
from bailian_mcp.config import REGION_BASE_URLS, Settings
from bailian_mcp.emulator import RunningEmulator, start_in_thread
from bailian_mcp.exit_codes import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_SERVICE
from bailian_mcp.jobs.params import ListModelsParams, ListTasksParams, TaskHandle
from tests.support.emulators import FUZZ_EMULATOR
from tests.support.fuzz.checks import CrashLog, emulator_crashes, innermost
from tests.support.fuzz.strategies import (
    DEEP,
    EDGE_STRINGS,
    JSON_LISTS,
    JUNK,
    PATH_SLOTS,
    PNG_600,
    Ref,
    arguments,
    edge,
    fuzz_settings,
    published_schemas,
    valid,
)
from tests.support.fuzz.targets import Inputs

pytestmark = pytest.mark.slow

COMMAND_CAPABILITIES = {c.command: c.name for c in CAPABILITIES.values()}
SECTIONS = {section: c.name for section, c in sections().items()}
COMMAND_NAMES = command_names()
EXIT_CODES = frozenset({EXIT_OK, EXIT_INPUT, EXIT_SERVICE, EXIT_PARTIAL})
SENTINEL = f"sk-SENTINEL-{secrets.token_hex(12)}"  # the API key, random per run (as tests/security makes it)
HANG_SECONDS = 30  # one command against the fast emulator takes well under a second: only a hang trips this
LAST_RESORT_SECONDS = 90  # if even the alarm cannot stop it: dump every thread's stack and end the process
SCHEMAS = published_schemas()
COMMON = fuzz_settings(HealthCheck.filter_too_much, deadline=timedelta(seconds=20))
EXAMPLES_PER_COMMAND = 12
BATCH_EXAMPLES = 36
CHAOS_EXAMPLES = 36
SECRECY_EXAMPLES = 24


# ---------------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    """One subcommand: its words, the MCP tool with the same parameters (its schema supplies values) and its
    options (the Params model's fields, as `cli_options` derives them)."""

    words: tuple[str, ...]
    tool: str
    options: tuple[FieldOption, ...]
    waits: bool  # takes --wait
    generates: bool = False  # takes --dry-run and --confirm

    @property
    def label(self) -> str:
        return " ".join(self.words)

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset(option.name for option in self.options)


COMMANDS: tuple[Command, ...] = (
    *(
        Command((command,), name, tuple(field_options(CAPABILITIES[name].params_model)), True, True)
        for command, name in COMMAND_CAPABILITIES.items()
    ),
    Command(("task", "get"), "get_task", tuple(field_options(TaskHandle)), True),
    Command(("task", "list"), "list_tasks", tuple(field_options(ListTasksParams)), False),
    Command(("task", "cancel"), "cancel_task", tuple(field_options(TaskHandle)), False),
    Command(("models",), "list_models", tuple(field_options(ListModelsParams)), False),
)
BY_LABEL = {command.label: command for command in COMMANDS}
BATCH_PARAMETERS = frozenset(
    {"capability"} | {name for capability in CAPABILITIES.values() for name in capability.params_model.model_fields}
)
SETTING_NAMES = frozenset(Settings.model_fields) | {str(f.validation_alias) for f in Settings.model_fields.values()}
COMMON_FLAGS = frozenset({"-h", "--help", "--json", "--output-dir", "--emulator", "--region", "--base-url"})
GENERATION_FLAGS = frozenset({"--dry-run", "--confirm"})
BATCH_FLAGS = frozenset({"--report", "--concurrency", "--wait", "--retry-failed"}) | GENERATION_FLAGS
GLOBAL_OPTIONS = frozenset({"--log-level", "--region", "--base-url", "--output-dir", "--emulator", "--port", "--host"})


def option_flags(option: FieldOption) -> set[str]:
    if option.positional:
        return set()
    if option.kind == "flag":
        return {flag for name in option.flags for flag in (name, "--no-" + name.removeprefix("--"))}
    return set(option.flags)


# ---------------------------------------------------------------------------------------------------- values

# A token of a generated argv is a str, a `Ref` (a path, URL or job handle known only when the test runs), an
# `Eq` (`--flag=value`) or any JSON-able value (rendered as JSON text; numbers as Python writes them).


@dataclass(frozen=True)
class Eq:
    flag: str
    value: Any


NUMBER_TEXTS = (
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e-400",
    "0",
    "-0",
    "-1",
    "-2147483649",
    "2147483648",
    "9" * 30,
    "9" * 5_000,  # past int()'s digit limit
    "0x10",
    "0b1",
    "1_000",
    " 4 ",
    "４",  # full-width digit: int() reads it
    "٣",  # Arabic-Indic digit: int() reads it
    "4.0",
    "4.5",
    "1e3",
    "+4",
    "1/2",
    "four",
    "",
    " ",
    "None",
    "true",
)
ODD_TEXTS = (
    "",
    " ",
    "-",
    "--",
    "-x",
    "\udcff",  # a lone surrogate: what a non-UTF-8 byte in argv becomes
    "a\ud800b",
    "\x1b[31mred\x1b[0m",
    "\r\n",
    "e\u0301\u200d\u2060",
    "﷽" * 50,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "--json",
    "@file.txt",
    "%(prog)s %s",
)
WAIT_VALID = ("0", "0.3", "2")
WAIT_EDGES = ("-1", "-0.001", "nan", "inf", "1e309", "86400.5", "86401", "", "abc", "0x1", "1_0", "１")
# --base-url values: the emulator (Ref 0), one that refuses the key (1), a closed loopback port (2), and malformed
# or foreign URLs (resolution of any host but loopback fails, so none reaches the network).
BASE_URLS: tuple[Any, ...] = (
    Ref("url", 0),
    Ref("url", 1),
    Ref("url", 2),
    "",
    " ",
    "not a url",
    "ftp://127.0.0.1/api/v1",
    "${DASHSCOPE_BASE_URL}",
    "http://no-such-host.invalid/api/v1",
    "http://[::1",
    "http://127.0.0.1:99999/api/v1",
    "http://127.0.0.1:abc/api/v1",
    "http://a\x00b/api/v1",
    "http://xn--/api/v1",
    "http://字.example/api/v1",
)
OUTPUT_DIRS: tuple[Any, ...] = (*(Ref("outdir", i) for i in range(6)), "${BAILIAN_OUTPUT_DIR}", "a\x00b", "")
LOG_LEVELS = ("DEBUG", "info", "WARNING", "verbose", "")
UNKNOWN_OPTIONS = (
    "--bogus",
    "--wait-seconds",
    "--wait-seconds=1",
    "--Prompt",
    "--prompt",
    "--model=",
    "--json=1",
    "--no-json",
    "-x",
    "--",
    "---",
    "-",
    "--字",
    "--n",
    "--mod",  # an abbreviation: argparse accepts it when it is unambiguous
    "--he",
    "--\udcff",
)


def relative_paths(inputs: Inputs) -> tuple[str, ...]:
    """Paths as people type them on a command line, relative to the working directory (the input root)."""
    return (
        inputs.image.name,
        "./" + inputs.mask.name,
        inputs.audio.name,
        "../outside.png",
        ".private/secret.png",
        inputs.escape_link.name,
        "missing.png",
        "~/photo.png",
        "~nosuchuser/photo.png",
        inputs.image.name + "/",
        "photo.png\x00.txt",
        "a" * 300 + ".png",  # a name longer than the file system allows
        "-",
    )


USABLE = {  # values of the path parameters that name a file the command may read
    "image": (Ref("path", 0), Ref("path", 1), Ref("path", 3), Ref("rel", 0), Ref("rel", 1), PNG_600),
    "audio": (Ref("path", 2), Ref("rel", 2)),
}
USABLE["base_image_url"] = USABLE["mask_image_url"] = USABLE["image"]
# Parameters that apply to some models or functions only: left out of clean command lines.
CONDITIONAL = frozenset(
    {"top_scale", "bottom_scale", "left_scale", "right_scale", "strength", "upscale_factor", "is_sketch"}
    | {"prompt_extend", "speaker_count", "language_hints", "sample_rate", "mask_image_url"}
)


def _cli_domain(name: str) -> st.SearchStrategy[Any] | None:
    """Values that mean something to the command line beyond what the tool's schema says."""
    if name in USABLE:
        return st.builds(Ref, st.just("rel"), st.integers(0, 12))
    if name == "capability":
        return st.sampled_from((*COMMAND_CAPABILITIES, *CAPABILITIES, "Text2Image", "batch", "task"))
    if name in ("prompt", "text"):
        return st.sampled_from(("-", "a red kite", " leading space", "emoji 🙂", "tab\there"))
    return None


def value_of(name: str, prop: dict[str, Any], schema: dict[str, Any], kind: str) -> st.SearchStrategy[Any]:
    """A value for parameter `name`: clean (a usable one), valid (of the right shape), edge or junk."""
    if kind == "clean" and name in USABLE:
        usable = st.sampled_from(USABLE[name])
        return st.lists(usable, min_size=1, max_size=2) if prop.get("type") == "array" else usable
    if kind == "clean" and name == "task_id":
        return st.builds(Ref, st.just("handle"), st.integers(0, 3))
    if kind in ("clean", "valid"):
        options = [valid(prop, schema, name)]
        if kind == "valid" and (domain := _cli_domain(name)) is not None:
            options.append(domain)
        return st.one_of(*options)
    if kind == "edge":
        return st.one_of(edge(prop, schema), st.sampled_from(NUMBER_TEXTS), st.sampled_from(ODD_TEXTS))
    return JUNK


@st.composite
def option_tokens(draw: st.DrawFn, option: FieldOption, value: Any, kind: str) -> list[Any]:
    """`value` for `option` as argv tokens."""
    if option.positional:
        if option.kind == "list" and isinstance(value, list):
            return list(value)
        return [value]
    equals = draw(st.integers(0, 3)) == 0
    flag = draw(st.sampled_from(option.flags))  # the option's name or one of its aliases
    if option.kind == "flag":
        negative = "--no-" + flag.removeprefix("--")
        if kind in ("clean", "valid") and isinstance(value, bool):
            return [flag if value else negative]
        return draw(st.sampled_from(([Eq(flag, value)], [flag, value], [negative, value])))
    if option.kind == "list" and isinstance(value, list):
        if not value and kind in ("clean", "valid"):
            return []
        items = value or [""]
        return [token for item in items for token in ([Eq(flag, item)] if equals else [flag, item])]
    return [Eq(flag, value)] if equals else [flag, value]


# The options every subcommand has (and --wait), each with its usual values and its edge ones.
COMMON_VALUES: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    "--wait": (WAIT_VALID, WAIT_EDGES),
    "--region": (("cn-beijing", *sorted(set(REGION_BASE_URLS) - {"cn-beijing"})), ("CN-BEIJING", "eu-west-1", "")),
    "--base-url": (BASE_URLS[:3], BASE_URLS[3:]),
    "--output-dir": ((Ref("outdir", 0), Ref("outdir", 1), Ref("outdir", 4)), OUTPUT_DIRS),
}
COMMON_TARGETS = (*COMMON_VALUES, "unknown")


@st.composite
def common_options(draw: st.DrawFn, command: Command | None, mode: str, target: str | None) -> list[list[Any]]:
    """--json, --wait (always, for the commands that take it: a hang guard), now and then the settings options,
    with an edge value where `mode` is chaos or the one-off `target` is that option, and unknown options."""
    groups: list[list[Any]] = []
    if draw(st.booleans()):
        groups.append(["--json"])
    for flag, (usual, edges) in COMMON_VALUES.items():
        if flag == "--wait":
            if command is not None and not command.waits:
                continue
            given = True
        else:
            given = target == flag or draw(st.integers(0, 19 if mode in ("clean", "valid") else 7)) == 0
        if given:
            edgy = target == flag or (mode == "chaos" and draw(st.integers(0, 3)) == 0)
            groups.append([flag, draw(st.sampled_from(edges if edgy else usual))])
    if draw(st.integers(0, 59)) == 0:
        groups.append(["--emulator"])  # a second emulator with its default (slow) timings: kept rare
    if target == "unknown" or mode == "chaos":
        groups += [[token] for token in draw(st.lists(st.sampled_from(UNKNOWN_OPTIONS), min_size=1, max_size=2))]
    return groups


@st.composite
def global_prefix(draw: st.DrawFn, mode: str) -> list[Any]:
    """Top-level options before the subcommand (each with its value, so the subcommand stays a subcommand)."""
    if mode in ("clean", "valid") or draw(st.integers(0, 5)) > 0:
        return []
    choice = draw(st.sampled_from(("--log-level", "--region", "--base-url", "--output-dir", "--port", "--emulator")))
    if choice == "--emulator":
        return [choice]
    values: dict[str, tuple[Any, ...]] = {
        "--log-level": LOG_LEVELS,
        "--port": ("8000", "x", "-1", "99999"),
        **{flag: usual + edges for flag, (usual, edges) in COMMON_VALUES.items()},
    }
    return [choice, draw(st.sampled_from(values[choice]))]


MODES = ("clean", "clean", "valid", "valid", "one-off", "one-off", "one-off", "missing", "chaos")


@st.composite
def command_argv(draw: st.DrawFn, command: Command) -> list[Any]:
    """An argv for `command`. Modes: clean (usable values only, few optional options: the request is sent),
    valid (values of the right shape), one-off (valid but for one parameter or common option: an edge value,
    junk, an unknown option), missing (a required parameter left out), chaos (edge values and junk anywhere)."""
    schema = SCHEMAS[command.tool]
    properties: dict[str, Any] = schema["properties"]
    required = set(schema.get("required", []))
    names = [o.name for o in command.options]
    musts = [o.name for o in command.options if o.name in required or o.positional]
    mode = draw(st.sampled_from(MODES if musts else [m for m in MODES if m != "missing"]))
    target = draw(st.sampled_from(names + names + list(COMMON_TARGETS))) if mode == "one-off" else None
    if mode == "missing":
        target = draw(st.sampled_from(musts))
    groups: list[list[Any]] = []
    positional: list[Any] | None = None
    for option in command.options:
        needed = option.name in required or option.positional
        if mode == "chaos":
            keep = draw(st.integers(0, 9)) > 0 if needed else draw(st.booleans())
            kind = draw(st.sampled_from(("valid", "valid", "edge", "junk")))
        elif option.name == target:
            keep, kind = mode == "one-off" and draw(st.integers(0, 5)) > 0, draw(st.sampled_from(("edge", "junk")))
        elif mode == "clean":
            keep = needed or (option.name not in CONDITIONAL and draw(st.integers(0, 3)) == 0)
            kind = "clean"
        else:
            keep, kind = needed or draw(st.integers(0, 2)) == 0, "valid"
        if not keep:
            continue
        value = draw(value_of(option.name, properties[option.name], schema, kind))
        if value is None and kind in ("clean", "valid"):
            continue  # an optional parameter left at its default
        tokens = draw(option_tokens(option, value, kind))
        if option.positional:
            positional = tokens
        elif tokens:
            groups.append(tokens)
    groups += draw(common_options(command, mode, target))
    ordered: list[list[Any]] = list(draw(st.permutations(groups)))
    if positional is not None:
        at = draw(st.integers(0, len(ordered)))
        if at == len(ordered) and draw(st.booleans()):
            positional = ["--", *positional]  # everything after "--" is positional, even "-x"
        ordered.insert(at, positional)
    return [*draw(global_prefix(mode)), *command.words, *(token for group in ordered for token in group)]


# ---------------------------------------------------------------------------------------------------- batch files


@dataclass(frozen=True)
class BatchFile:
    """A batch file to write before the run: a document (Refs filled, then JSON), a mangled document, raw text
    or raw bytes."""

    kind: str  # "json", "mangled", "text" or "bytes"
    payload: Any
    cut: float = 1.0
    tail: str = ""
    ascii: bool = False


RAW_BATCHES: tuple[str, ...] = (
    "",
    " \n",
    "null",
    "[]",
    "{}",
    "{",
    '"image_tasks"',
    "[" * DEEP,
    '{"tasks": ' + "[" * DEEP + "]" * DEEP + "}",
    '{"image_tasks": ' + "[" * 100 + "]" * 100 + "}",
    '{"image_tasks": {}}',
    '{"image_tasks": "a red kite"}',
    '{"image_tasks": [1, "x", null, []]}',
    '{"image_tasks": [{"prompt": NaN}], "text_tasks": [{"prompt": "x", "max_tokens": 1e400}]}',
    '{"image_tasks": [{"prompt": "x", "n": 99999999999999999999999999}]}',
    '{"image_tasks": [{"prompt": "x"}], "image_tasks": 3}',
    '{"image_tasks": [{"prompt": "x",}]}',
    '// comment\n{"image_tasks": []}',
    '\ufeff{"text_tasks": [{"prompt": "hi"}]}',
    '{"tasks": [{"capability": "tts", "text": "hi"}, {"capability": "asr", "audio": ["speech.wav"]}]}',
    '{"tasks": [{"capability": null}, {"capability": ["text_to_image"]}, {"capability": " text2image "}]}',
    '{"edit_image_tasks": [{"prompt": "x", "image": "photo.png"}, {"prompt": "x", "image": ["../outside.png"]}]}',
    '{"_note": {"deep": [1, 2]}, "__proto__": [], "_": null}',
    '{"\\u0000": [], "image_tasks\\u0000": []}',
)
RAW_BATCH_BYTES: tuple[bytes, ...] = (
    b"\xff\xfe{\x00}\x00",
    '{"text_tasks": [{"prompt": "hi"}]}'.encode("utf-16"),
    '{"text_tasks": [{"prompt": "caf\u00e9"}]}'.encode("latin-1"),
    b"\x00\x00\x00\x00",
    b"\x89PNG\r\n\x1a\n",
)
BATCH_KEYS = (*SECTIONS, MIXED_SECTION, "_note", "unknown_tasks", "image_task", "", "Tasks")


@st.composite
def task_entry(draw: st.DrawFn, key: str) -> Any:
    if draw(st.integers(0, 11)) == 0:
        return draw(JUNK)
    if key in SECTIONS:
        capability: str = SECTIONS[key]
    else:
        capability = draw(st.sampled_from(sorted(CAPABILITIES)))
    entry: dict[str, Any] = dict(draw(arguments(SCHEMAS[capability])))
    if draw(st.integers(0, 5)) > 0:
        entry.pop("wait_seconds", None)  # a tool argument, not a task parameter: sometimes left in, refused
    for name in ("image", "base_image_url", "mask_image_url", "audio"):
        if name in entry and draw(st.integers(0, 3)) == 0:
            relative = Ref("rel", draw(st.integers(0, 12)))
            entry[name] = [relative] if isinstance(entry[name], list) else relative
    if key == MIXED_SECTION:
        named = draw(
            st.one_of(
                st.just(capability),
                st.sampled_from((*COMMAND_CAPABILITIES, " text_to_speech ", "TEXT_TO_IMAGE", "speech", "")),
                JUNK,
            )
        )
        if draw(st.integers(0, 7)) > 0:
            entry["capability"] = named
    return entry


@st.composite
def batch_document(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(BATCH_KEYS), min_size=0, max_size=3, unique=True))
    document: dict[str, Any] = {}
    for key in keys:
        if key.startswith("_") or draw(st.integers(0, 11)) == 0:
            document[key] = draw(JUNK)
        else:
            document[key] = draw(st.lists(task_entry(key), max_size=3))
    return document


@st.composite
def clean_task(draw: st.DrawFn, capability: str) -> dict[str, Any]:
    """A task the service runs: required parameters and a few others, all with usable values."""
    schema = SCHEMAS[capability]
    required = set(schema.get("required", []))
    task: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        wanted = name in required or (name not in CONDITIONAL and draw(st.integers(0, 3)) == 0)
        if name == "wait_seconds" or not wanted:
            continue
        value = draw(value_of(name, prop, schema, "clean"))
        if value is not None:
            task[name] = value
    return task


@st.composite
def clean_document(draw: st.DrawFn) -> dict[str, Any]:
    """One or two task lists of one or two runnable tasks (the brief's sections, per-capability ones, 'tasks')."""
    document: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from((*SECTIONS, MIXED_SECTION)), min_size=1, max_size=2, unique=True)):
        if key == MIXED_SECTION:
            names = draw(st.lists(st.sampled_from(sorted(CAPABILITIES)), min_size=1, max_size=2))
            document[key] = [{"capability": name, **draw(clean_task(name))} for name in names]
        else:
            document[key] = draw(st.lists(clean_task(SECTIONS[key]), min_size=1, max_size=2))
    return document


BATCH_CONTENT = st.one_of(
    st.builds(BatchFile, st.just("json"), clean_document(), ascii=st.booleans()),
    st.builds(BatchFile, st.just("json"), clean_document(), ascii=st.booleans()),
    st.builds(BatchFile, st.just("json"), clean_document(), ascii=st.booleans()),
    st.builds(BatchFile, st.just("json"), batch_document(), ascii=st.booleans()),
    st.builds(BatchFile, st.just("json"), batch_document(), ascii=st.booleans()),
    st.builds(
        BatchFile,
        st.just("mangled"),
        batch_document(),
        cut=st.floats(0.0, 1.0),
        tail=st.sampled_from(("", "}", "]", ",", "\x00", "\udcff", "NaN", "// x")),
    ),
    st.builds(BatchFile, st.just("text"), st.sampled_from(RAW_BATCHES)),
    st.builds(BatchFile, st.just("bytes"), st.sampled_from(RAW_BATCH_BYTES)),
)


@st.composite
def batch_argv(draw: st.DrawFn) -> list[Any]:
    """`batch FILE` (usually the file just written; sometimes a relative, missing, odd or unreadable path)."""
    mode = draw(st.sampled_from(("valid", "valid", "valid", "one-off", "chaos")))
    target = draw(st.sampled_from(COMMON_TARGETS)) if mode == "one-off" else None
    where = Ref("batch", 0) if draw(st.integers(0, 3)) > 0 else Ref("batch", draw(st.integers(0, 11)))
    groups: list[list[Any]] = draw(common_options(None, mode, target))
    if draw(st.integers(0, 3)) == 0:
        groups.append(["--report", Ref("report", draw(st.integers(0, 7)))])
    if draw(st.integers(0, 3)) == 0:
        edgy = mode != "valid" and draw(st.booleans())
        values = ("0", "-1", "x", "1.5", "1e3", "9" * 25, "") if edgy else ("1", "2", "4")
        groups.append(["--concurrency", draw(st.sampled_from(values))])
    if draw(st.integers(0, 5)) == 0:
        groups.append(["--dry-run"])
    if draw(st.integers(0, 5)) == 0:
        groups.append(["--retry-failed"])
    ordered = list(draw(st.permutations(groups)))
    ordered.insert(draw(st.integers(0, len(ordered))), [where])
    return [*draw(global_prefix(mode)), "batch", *(token for group in ordered for token in group)]


# ---------------------------------------------------------------------------------------------------- chaos


def vocabulary(command: Command) -> list[Any]:
    """Every flag the subcommand takes (--help aside: chaos_argv adds it now and then)."""
    flags: set[str] = {flag for option in command.options for flag in option_flags(option)}
    flags |= COMMON_FLAGS - {"-h", "--help"}
    if command.waits:
        flags.add("--wait")
    if command.generates:
        flags |= GENERATION_FLAGS
    return sorted(flags)


CHAOS_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(NUMBER_TEXTS),
    st.sampled_from(ODD_TEXTS),
    st.sampled_from(EDGE_STRINGS),
    st.sampled_from(JSON_LISTS),
    st.sampled_from(BASE_URLS),
    st.builds(Ref, st.sampled_from(("path", "rel", "handle")), st.integers(0, PATH_SLOTS - 1)),
    st.text(max_size=12),
)


@st.composite
def chaos_argv(draw: st.DrawFn) -> list[Any]:
    """A subcommand followed by a soup of its own flags and values in any order (flags without values, values
    without flags, repeated flags, "--", "-h" now and then)."""
    command = draw(st.sampled_from(COMMANDS))
    words = vocabulary(command)
    tokens = draw(
        st.lists(
            st.one_of(st.sampled_from(words), st.sampled_from(words), CHAOS_VALUES, st.sampled_from(UNKNOWN_OPTIONS)),
            max_size=10,
        )
    )
    if command.waits:
        tokens += ["--wait", draw(st.sampled_from(WAIT_VALID))]
    if draw(st.integers(0, 19)) == 0:
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(("-h", "--help"))))
    return [*command.words, *tokens]


# ---------------------------------------------------------------------------------------------------- found by fuzzing


def leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


# Command lines (and batch.json contents) that broke the CLI until the fuzzer found them: a traceback, or
# --json output that was not JSON. Each must now end cleanly, with its problem named.
FOUND_BY_FUZZING: tuple[tuple[str, tuple[str, ...], bytes | None], ...] = (
    ("long-relative-path", ("edit-image", "make it blue", "--image", "a" * 300 + ".png", "--wait", "1"), None),
    ("long-relative-path", ("text2image", "a kite", "--model", "m" * 300, "--wait", "1"), None),
    (
        "long-relative-path",
        ("batch", "batch.json", "--wait", "1"),
        b'{"image_tasks": [{"prompt": "x", "size": "' + b"s" * 300 + b'"}]}',
    ),
    ("unusable-output-dir", ("text2image", "a kite", "--output-dir", "photo.png", "--wait", "2"), None),
    ("unusable-output-dir", ("tts", "hello", "--output-dir", "/proc/nonexistent/out", "--wait", "2"), None),
    (
        "unusable-output-dir",
        ("batch", "batch.json", "--output-dir", "o" * 300, "--wait", "2"),
        b'{"image_tasks": [{"prompt": "x"}]}',
    ),
    ("deep-json-option", ("text2text", "hi", "--messages", "[" * DEEP + "]" * DEEP, "--wait", "1"), None),
    ("deep-json-batch-file", ("batch", "batch.json", "--wait", "1"), b"[" * DEEP + b"]" * DEEP),
    (
        "non-utf8-batch-file",
        ("batch", "batch.json", "--wait", "1"),
        '{"text_tasks": [{"prompt": "hi"}]}'.encode("utf-16"),
    ),
    ("non-utf8-batch-file", ("batch", "photo.png", "--wait", "1"), None),
    ("nul-in-batch-path", ("batch", "tasks\x00.json"), None),
    ("nul-in-batch-path", ("batch", "batch.json", "--report", "r\x00.json"), b'{"image_tasks": [{"prompt": "x"}]}'),
    ("malformed-base-url", ("text2image", "a kite", "--base-url", "http://[::1", "--wait", "1"), None),
    (
        "malformed-base-url",
        ("text2image", "a kite", "--base-url", "http://127.0.0.1:99999/api/v1", "--wait", "1"),
        None,
    ),
    ("malformed-base-url", ("text2image", "a kite", "--base-url", "http://127.0.0.1:abc/api/v1", "--wait", "1"), None),
    ("malformed-base-url", ("tts", "hello", "--base-url", "http://127.0.0.1:99999/api/v1", "--wait", "1"), None),
    ("malformed-base-url", ("task", "list", "--include-remote", "--base-url", "http://xn--/api/v1"), None),
    ("dry-run-json", ("batch", "batch.json", "--dry-run", "--json"), b'{"image_tasks": [{"prompt": "x"}]}'),
)


# ---------------------------------------------------------------------------------------------------- running


class CommandHung(BaseException):
    """Raised in the test's thread by the watchdog when one command runs past HANG_SECONDS."""


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """SIGALRM after `seconds` (raising CommandHung); a stack dump and exit if even that does not end it."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise CommandHung(f"the command ran for more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(LAST_RESORT_SECONDS, exit=True)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


class LogText(logging.Handler):
    """Every log record as text, tracebacks included (a real process prints them on stderr)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("bailian_mcp.emulator", "uvicorn")):  # the service's logs, not the CLI's
            self.lines.append(self.format(record))


@dataclass
class Outcome:
    argv: list[str]
    code: Any = None
    stdout: str = ""
    stderr: str = ""
    raised: BaseException | None = None
    crash: str = ""  # tracebacks the run logged
    logged: list[BaseException] = field(default_factory=list)  # their exceptions
    log: str = ""
    parsed: Any = None  # the namespace argparse makes of argv, or None where it refuses it

    def shown(self) -> str:
        text = repr(self.argv)
        return text if len(text) <= 400 else text[:400] + f"... ({len(text)} characters)"


@dataclass
class Rig:
    """Everything the CLI runs against: the emulators, the input files, the pools `Ref`s stand for."""

    emulator: RunningEmulator
    refusing: RunningEmulator  # accepts another key only: every request gets 401 InvalidApiKey
    inputs: Inputs
    home: Path
    data_dir: Path
    crashes: CrashLog
    log: LogText
    pools: dict[str, tuple[str, ...]] = field(default_factory=dict)
    handles: tuple[str, ...] = ()
    runs: int = 0

    def __repr__(self) -> str:  # hypothesis prints the fixtures of a failing example: keep it to one line
        return f"Rig(emulator={self.emulator.base_url}, runs={self.runs})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def batch_path(self) -> Path:
        return self.inputs.root / "batch.json"

    def fill(self, value: Any) -> Any:
        if isinstance(value, Ref):
            pool = self.ensure_handles() if value.kind == "handle" else self.pools[value.kind]
            return pool[value.index % len(pool)]
        if isinstance(value, Eq):
            return Eq(value.flag, self.fill(value.value))
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value

    def render(self, token: Any) -> str:
        token = self.fill(token)
        if isinstance(token, Eq):
            return f"{token.flag}={self.render(token.value)}"
        if isinstance(token, str):
            return token
        if isinstance(token, bool | int | float) or token is None:
            return repr(token)
        return json.dumps(token, ensure_ascii=False)

    def argv(self, tokens: Sequence[Any]) -> list[str]:
        return [self.render(token) for token in tokens]

    def write_batch(self, content: BatchFile) -> None:
        if content.kind == "bytes":
            self.batch_path.write_bytes(content.payload)
            return
        if content.kind == "text":
            text = str(content.payload)
        else:
            text = json.dumps(self.fill(content.payload), ensure_ascii=content.ascii)
            if content.kind == "mangled":
                text = text[: int(len(text) * content.cut)] + content.tail
        self.batch_path.write_bytes(text.encode("utf-8", "surrogatepass"))

    def ensure_handles(self) -> tuple[str, ...]:
        """Real job handles for task get/cancel, made with the CLI on first use: a finished job and a young one."""
        if not self.handles:
            made: list[str] = []
            for prompt, wait in (("a kite", "2"), ("a boat", "0")):
                outcome = self.run(["text2image", prompt, "--size", "512*512", "--wait", wait, "--json"])
                assert outcome.code in (EXIT_OK, EXIT_PARTIAL), outcome.stderr
                result = json.loads(outcome.stdout)
                made += [result["job_id"], result["task_id"]]
            self.handles = (*made, "job_0000000000000000", "unknown-task")
        return self.handles

    def run(self, argv: list[str], parsed: Any = None, stdin: str = "a prompt from standard input\n") -> Outcome:
        """`bailian-mcp *argv` in this process, as a real process would see its streams."""
        self.runs += 1
        outcome = Outcome(argv, parsed=parsed if parsed is not None else preparse(argv))
        out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
        stdout = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
        stderr = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
        self.crashes.drain()
        self.log.lines.clear()
        real_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            with watchdog(HANG_SECONDS), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                cli.main(argv)
        except SystemExit as exc:
            outcome.code = exc.code
        except Exception as exc:
            outcome.raised = exc
        finally:
            sys.stdin = real_stdin
        outcome.stdout = out_bytes.getvalue().decode("utf-8", "replace")
        outcome.stderr = err_bytes.getvalue().decode("utf-8", "replace")
        outcome.logged = [r.exc_info[1] for r in self.crashes.records if r.exc_info and r.exc_info[1] is not None]
        outcome.crash = self.crashes.drain()
        outcome.log = "\n".join(self.log.lines)
        return outcome

    def checked(self, tokens: Sequence[Any], command: Command | None, inputs_text: str = "") -> Outcome:
        """Run `tokens` (skipped when they do not name a subcommand) and fail on any broken property."""
        argv = self.argv(tokens)
        parsed = preparse(argv)
        if parsed is not None and getattr(parsed, "command", None) not in COMMAND_NAMES:
            reject()  # no subcommand: that would serve MCP on stdio (not what is fuzzed here)
        seen = (len(self.emulator.state.requests), len(self.refusing.state.requests))
        outcome = self.run(argv, parsed)
        trouble = problems(outcome, command, inputs_text=inputs_text)
        crashed = [emulator_crashes(self.emulator, seen[0]), emulator_crashes(self.refusing, seen[1])]
        trouble += [f"the emulator crashed: {c}" for c in crashed if c]
        event(f"exit {outcome.code}" if outcome.raised is None else "raised")  # --hypothesis-show-statistics
        if trouble:
            raise AssertionError(describe(outcome, trouble))
        return outcome


def preparse(argv: list[str]) -> Any:
    """What argparse makes of `argv` (None where it exits: an error, --help, --version), printing nothing."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return cli.build_parser().parse_args(argv)
        except SystemExit:
            return None


def describe(outcome: Outcome, trouble: list[str]) -> str:
    raised = ""
    if outcome.raised is not None:
        raised = "; raised " + "; ".join(innermost(leaf) for leaf in leaves(outcome.raised))
    return (
        f"bailian-mcp {outcome.shown()}: {'; '.join(trouble)}{raised}\n"
        f"exit {outcome.code!r}\nstdout: {outcome.stdout[-600:]!r}\nstderr: {outcome.stderr[-900:]!r}\n"
        f"logged: {outcome.crash[:600] or 'nothing'}"
    )


# ---------------------------------------------------------------------------------------------------- properties

PROBLEM = re.compile(r"^bailian-mcp: (?:Invalid|Missing) ([A-Za-z_]\w*)", re.MULTILINE)
SETTINGS_PROBLEM = re.compile(r"^bailian-mcp: Invalid settings — (\w+):", re.MULTILINE)
ARGPARSE_ERROR = re.compile(r"^bailian-mcp(?: [\w-]+)*: error: \S", re.MULTILINE)
# A task's problem names one of its parameters (an unknown key it holds is named as such: "there is no such parameter").
BATCH_TASK_PROBLEM = re.compile(
    r"^  #\d+ \S+ \S+(?: \S+)?: (?:Invalid|Missing) ([A-Za-z_]\w*)(?![^:\n]*: there is no such parameter)", re.MULTILINE
)
BATCH_FILE_PROBLEM = re.compile(r"^bailian-mcp: .*(?:Nothing was sent\.|could not write the report)", re.MULTILINE)
STATUS = re.compile(r"\b(?:FAILED|PENDING|RUNNING|CANCELED|UNKNOWN|SUCCEEDED|REJECTED|SUBMIT_UNCERTAIN)\b")
TRACEBACKS = ("Traceback (most recent call last)", "Exception Group Traceback")


def problems(outcome: Outcome, command: Command | None, *, inputs_text: str = "") -> list[str]:
    """What is wrong with `outcome` (an empty list when nothing is)."""
    if outcome.raised is not None:
        if isinstance(outcome.raised, CommandHung):
            return [f"hung: {outcome.raised}"]
        return [f"{type(outcome.raised).__name__} escaped (a traceback for the user)"]
    found: list[str] = []
    code, out, err = outcome.code, outcome.stdout, outcome.stderr
    everything = "\n".join((out, err, outcome.log))
    if not isinstance(code, int) or isinstance(code, bool) or code not in EXIT_CODES:
        found.append(f"exit code {code!r} is not one of the documented {sorted(EXIT_CODES)}")
    if any(marker in out + err for marker in TRACEBACKS):  # logged ones: see `crash`
        found.append("a traceback in the output")
    if outcome.crash:
        found.append("a traceback was logged (a real process prints it on stderr)")
    given = "\n".join(outcome.argv) + inputs_text
    if "internal error" in (out + err).casefold() and "[emulator:" not in given:
        found.append("'internal error' in the output")
    if SENTINEL in everything:
        found.append("the API key is in the output or the logs")
    if isinstance(code, int) and code != EXIT_OK:
        explained_on_stdout = code in (EXIT_SERVICE, EXIT_PARTIAL) and STATUS.search(out) is not None
        if not err.strip() and not explained_on_stdout:
            found.append(f"exit {code} with nothing on stderr (and no job status on stdout)")
    if code == EXIT_INPUT:
        found += naming_problems(err, command)
    if outcome.parsed is not None and getattr(outcome.parsed, "json", False) and out.strip():
        try:
            json.loads(out)
        except json.JSONDecodeError:
            found.append("--json, yet stdout is not one JSON document")
    return found


def naming_problems(err: str, command: Command | None) -> list[str]:
    """An exit 2 names what is wrong: argparse's own errors do; ours name a parameter of the command (or the
    setting, or the batch file)."""
    if ARGPARSE_ERROR.search(err):
        return []
    if match := SETTINGS_PROBLEM.search(err):
        known = match.group(1) in SETTING_NAMES
        return [] if known else [f"exit 2 names the setting {match.group(1)!r}, which does not exist"]
    allowed = BATCH_PARAMETERS if command is None else command.parameters
    if match := PROBLEM.search(err):
        name = match.group(1)
        return [] if name in allowed else [f"exit 2 names {name!r}, not a parameter of this command"]
    if command is None:  # batch: a file problem, or every task invalid (each named)
        named = BATCH_TASK_PROBLEM.findall(err)
        if wrong := [name for name in named if name not in allowed]:
            return [f"a batch task's problem names {wrong[0]!r}, not a parameter"]
        if BATCH_FILE_PROBLEM.search(err) or "task(s) are invalid" in err:
            return []
    return ["exit 2 without naming the parameter (or option) at fault"]


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cli_emulators() -> Iterator[tuple[RunningEmulator, RunningEmulator]]:
    """The emulator the CLI uses (it accepts the sentinel key only) and one that refuses it."""
    accepting = start_in_thread(replace(FUZZ_EMULATOR, api_keys=frozenset({SENTINEL})))
    refusing = start_in_thread(replace(FUZZ_EMULATOR, api_keys=frozenset({"sk-someone-elses-key"})))
    try:
        yield accepting, refusing
    finally:
        accepting.stop()
        refusing.stop()


def loopback_only(real: Callable[..., Any]) -> Callable[..., Any]:
    """socket.getaddrinfo that resolves loopback names only: nothing the fuzzer makes up reaches the network."""

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in (None, "127.0.0.1", "::1", "localhost"):
            raise socket.gaierror(socket.EAI_NONAME, f"{name!r} is not resolved in the fuzz tests")
        return real(host, *args, **kwargs)

    return getaddrinfo


@pytest.fixture
def rig(
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
    fast_services: None,
    fuzz_inputs: Inputs,
    cli_emulators: tuple[RunningEmulator, RunningEmulator],
    crashes: CrashLog,
) -> Iterator[Rig]:
    """The CLI's environment as a user sets it (key, base URL, folders in tmp_path, the input root as the working
    directory and the only input root), with the network confined to loopback."""
    emulator, refusing = cli_emulators
    monkeypatch = clean_env
    home = tmp_path / "home"
    home.mkdir()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DASHSCOPE_API_KEY", SENTINEL)
    monkeypatch.setenv("DASHSCOPE_BASE_URL", emulator.base_url)
    monkeypatch.setenv("BAILIAN_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("BAILIAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BAILIAN_INPUT_ROOTS", str(fuzz_inputs.root))
    monkeypatch.setenv("BAILIAN_HTTP_TIMEOUT", "5")
    monkeypatch.setattr(socket, "getaddrinfo", loopback_only(socket.getaddrinfo))
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)  # keep the test run's logging as it is
    monkeypatch.chdir(fuzz_inputs.root)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/api/v1"
    closed.close()
    log = LogText()
    logging.getLogger().addHandler(log)
    root = fuzz_inputs.root
    target = Rig(emulator, refusing, fuzz_inputs, home, tmp_path / "data", crashes, log)
    target.pools = {
        "path": tuple(fuzz_inputs.paths),
        "rel": relative_paths(fuzz_inputs),
        "url": (emulator.base_url, refusing.base_url, closed_url),
        "outdir": (
            str(tmp_path / "out2"),
            "relative-out",
            str(fuzz_inputs.image),  # a file, not a folder
            "/proc/nonexistent/out",
            "~/out",
            str(root / ("o" * 300)),
        ),
        "report": (
            "batch.report2.json",
            str(tmp_path / "reports" / "r.json"),
            str(root),  # a folder
            "/proc/nonexistent/r.json",
            "",
            str(target.batch_path),  # the batch file itself
            "~/r.json",
            "r" * 300 + ".json",
        ),
        "batch": (
            str(target.batch_path),
            "batch.json",
            "./batch.json",
            str(root / "missing.json"),
            str(root),  # a folder
            "",
            "/dev/null",
            str(fuzz_inputs.image),  # an image given by mistake: not UTF-8
            "~/batch.json",
            str(root / ("b" * 300 + ".json")),
            "-",
            str(fuzz_inputs.escape_link),
        ),
    }
    try:
        yield target
    finally:
        logging.getLogger().removeHandler(log)


# ---------------------------------------------------------------------------------------------------- tests


def test_the_fuzzer_covers_every_command_and_option() -> None:
    """Every subcommand that runs a request is fuzzed, and every option it takes is one the fuzzer generates."""
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands: dict[str, Any] = dict(subparsers.choices)
    task_actions = next(a for a in commands["task"]._actions if isinstance(a, argparse._SubParsersAction))
    for action, sub in task_actions.choices.items():
        commands[f"task {action}"] = sub
    assert set(COMMAND_NAMES) == {*COMMAND_CAPABILITIES, "task", "models", "batch"}
    assert {label for label in commands if label not in ("serve", "emulator", "task")} == {*BY_LABEL, "batch"}
    for label, sub in commands.items():
        if label in ("serve", "emulator", "task"):
            continue
        taken = {flag for action in sub._actions for flag in action.option_strings}
        if label == "batch":
            generated = COMMON_FLAGS | BATCH_FLAGS
        else:
            command = BY_LABEL[label]
            generated = COMMON_FLAGS | {f for o in command.options for f in option_flags(o)}
            generated |= {"--wait"} if command.waits else set()
            generated |= GENERATION_FLAGS if command.generates else set()
            assert {o.name for o in command.options} <= set(SCHEMAS[command.tool]["properties"]), label
        assert taken == generated, f"{label}: options the fuzzer does not know: {taken - generated}"
    top = {flag for action in parser._actions for flag in action.option_strings}
    assert top >= GLOBAL_OPTIONS


def fuzz_test(command: Command) -> Any:
    @settings(max_examples=EXAMPLES_PER_COMMAND, **COMMON)
    @given(tokens=command_argv(command))
    def test(rig: Rig, tokens: list[Any]) -> None:
        rig.checked(tokens, command)

    test.__name__ = f"test_fuzzed_{command.label.replace(' ', '_').replace('-', '_')}_command_lines"
    test.__doc__ = f"`bailian-mcp {command.label} ...` ends in a documented exit code with a readable message."
    return test


for _command in COMMANDS:
    _test = fuzz_test(_command)
    globals()[_test.__name__] = _test


@settings(max_examples=BATCH_EXAMPLES, **COMMON)
@given(content=BATCH_CONTENT, tokens=batch_argv())
def test_fuzzed_batch_files(rig: Rig, content: BatchFile, tokens: list[Any]) -> None:
    """`bailian-mcp batch FILE ...` with generated files: valid, partial and invalid tasks, unknown capabilities
    and keys, wrong types, malformed JSON, non-UTF-8 bytes; every problem reported, never a traceback."""
    rig.write_batch(content)
    rig.checked(tokens, None, inputs_text=rig.batch_path.read_bytes().decode("utf-8", "replace"))


@settings(max_examples=CHAOS_EXAMPLES, **COMMON)
@given(tokens=chaos_argv())
def test_fuzzed_option_soup(rig: Rig, tokens: list[Any]) -> None:
    """A subcommand's own flags and odd values in any order: argparse's errors or a result, never a crash."""
    rig.checked(tokens, BY_LABEL[" ".join(tokens[:2]) if tokens[0] == "task" else tokens[0]])


SECRECY_COMMANDS = st.sampled_from(COMMANDS).flatmap(lambda command: st.tuples(st.just(command), command_argv(command)))


@settings(max_examples=SECRECY_EXAMPLES, **COMMON)
@given(call=SECRECY_COMMANDS, refused=st.booleans(), debug=st.booleans())
def test_the_api_key_never_appears_in_cli_output(
    rig: Rig, caplog: pytest.LogCaptureFixture, call: tuple[Command, list[Any]], refused: bool, debug: bool
) -> None:
    """The key (a random sentinel, the only one the emulator accepts) is in no output, --json or not, at DEBUG
    log level or not, when the service accepts it and when it refuses it (401), nor in the job store's files."""
    command, tokens = call
    caplog.clear()
    caplog.set_level(logging.DEBUG if debug else logging.WARNING)
    if refused:
        tokens = [*tokens, "--base-url", Ref("url", 1)]
    if debug:
        tokens = ["--log-level", "DEBUG", *tokens]
    outcome = rig.checked(tokens, command)
    assert SENTINEL not in outcome.stdout + outcome.stderr + outcome.log + caplog.text
    for path in rig.data_dir.glob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), f"the API key is in the job store file {path.name}"


def test_the_api_key_is_used_and_kept_out_of_results(rig: Rig) -> None:
    """The sentinel does reach the emulator (so the secrecy test sees real requests), and a refused key is
    reported as such, without the key."""
    done = rig.run(["text2image", "a kite", "--size", "512*512", "--wait", "2", "--json"])
    assert done.code == EXIT_OK, done.stderr
    refused = rig.run(["text2image", "a kite", "--base-url", rig.pools["url"][1], "--wait", "2"])
    assert refused.code == EXIT_SERVICE and "InvalidApiKey" in refused.stderr, refused.stderr
    for outcome in (done, refused):
        assert SENTINEL not in outcome.stdout + outcome.stderr + outcome.log


@pytest.mark.parametrize(
    ("argv", "content"),
    [
        pytest.param(argv, content, id=f"{name}-{number}")
        for number, (name, argv, content) in enumerate(FOUND_BY_FUZZING)
    ],
)
def test_command_lines_the_fuzzer_broke_the_cli_with_now_end_cleanly(
    rig: Rig, argv: tuple[str, ...], content: bytes | None
) -> None:
    if content is not None:
        rig.batch_path.write_bytes(content)
    outcome = rig.run(list(argv))
    trouble = problems(outcome, BY_LABEL.get(" ".join(argv[:2])) or BY_LABEL.get(argv[0]))
    assert not trouble, describe(outcome, trouble)
    assert outcome.code != EXIT_OK or "--dry-run" in argv, describe(outcome, ["expected a refusal"])
