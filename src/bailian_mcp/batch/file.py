"""A batch file: a JSON object of task lists, read into tasks (each with its capability) or refused whole.

    {
      "image_tasks": [{"model": "wan2.2-t2i-flash", "prompt": "futuristic tech city", "size": "1440*810", "n": 2}],
      "text_tasks":  [{"model": "qwen-turbo", "prompt": "write product copy"}],
      "edit_image_tasks": [...],                                    # "<capability>_tasks", for every capability
      "tasks": [{"capability": "text_to_speech", "text": "你好"}],    # or each task naming its capability
      "_note": "keys starting with _ are ignored"
    }

The sections come from the capabilities (`Capability.sections`: `<name>_tasks`, and the brief's image_tasks,
text_tasks, video_tasks); a task is the capability's parameters, the same names as its MCP tool and CLI options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bailian_mcp.capabilities import CAPABILITIES, capability_named
from bailian_mcp.capabilities.base import Capability
from bailian_mcp.catalog import ModelSpec
from bailian_mcp.errors import BailianError
from bailian_mcp.jobs.results import ErrorInfo

MIXED_SECTION = "tasks"
CAPABILITY_KEY = "capability"
BATCH_MAX_BYTES = 16 * 2**20


def sections() -> dict[str, Capability]:
    """Every task list a batch file may hold, with the capability of its tasks (besides the mixed `tasks`)."""
    return {section: c for c in CAPABILITIES.values() for section in c.sections}


class BatchFileError(BailianError):
    """The file cannot be read as a batch; nothing was sent."""


# ---------------------------------------------------------------------------------------------------- reading


@dataclass
class BatchTask:
    """One task of the file: where it is, what it asks, and (once checked) its parameters or its problem."""

    index: int
    source: str  # where it is in the file, e.g. "image_tasks[0]"
    raw: dict[str, Any]
    capability: Capability | None = None
    params: Any = None
    model: ModelSpec | None = None
    fingerprint: str | None = None
    error: ErrorInfo | None = None

    @property
    def label(self) -> str:
        what = self.capability.name if self.capability else "?"
        model = self.model.name if self.model else self.raw.get("model")
        return f"#{self.index} {self.source} {what}" + (f" {model}" if isinstance(model, str) else "")

    def invalid(self, message: str, code: str = "InvalidTask") -> None:
        self.error = ErrorInfo(code=code, message=message)


def read_batch(path: Path) -> list[BatchTask]:
    """The tasks of a batch file, in file order; raises BatchFileError for a file that is not a batch."""
    try:
        with path.open("rb") as file:
            content = file.read(BATCH_MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BatchFileError(f"Cannot read the batch file {path}: {reason}. Nothing was sent.") from None
    if len(content) > BATCH_MAX_BYTES:
        raise BatchFileError(
            f"{path} is larger than {BATCH_MAX_BYTES // 2**20} MiB, too large for a batch file. Nothing was sent."
        )
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8 JSON. Nothing was sent."
        ) from None
    except json.JSONDecodeError as exc:
        raise BatchFileError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Nothing was sent."
        ) from None
    except RecursionError:
        raise BatchFileError(f"{path} nests JSON too deeply to be a batch file. Nothing was sent.") from None
    if not isinstance(data, dict):
        raise BatchFileError(f"{path} must hold a JSON object of task lists, e.g. {_EXAMPLE}. Nothing was sent.")
    by_section = sections()
    known = [*by_section, MIXED_SECTION]
    problems = []
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if key not in known:
            problems.append(
                f"unknown key {key!r} (the task lists are {', '.join(known)}; keys starting with _ are ignored)"
            )
        elif not isinstance(value, list):
            problems.append(f"{key!r} must be a list of tasks, not {type(value).__name__}")
    if problems:
        raise BatchFileError(f"{path}: " + "; ".join(problems) + ". Nothing was sent.")
    tasks: list[BatchTask] = []
    for key, entries in data.items():
        if key.startswith("_"):
            continue
        for position, entry in enumerate(entries):
            task = BatchTask(index=len(tasks), source=f"{key}[{position}]", raw={})
            task.capability = by_section.get(key)
            tasks.append(task)
            if not isinstance(entry, dict):
                task.invalid(f"a task is a JSON object of parameters, not {type(entry).__name__}")
                continue
            raw = dict(entry)
            if key == MIXED_SECTION:
                named = raw.pop(CAPABILITY_KEY, None)
                task.capability = capability_named(named) if isinstance(named, str) else None
                task.raw = raw
                if task.capability is None:
                    choices = ", ".join(CAPABILITIES)
                    task.invalid(
                        f"Missing {CAPABILITY_KEY}: each entry of 'tasks' names its capability, one of {choices}"
                        if named is None
                        else f"Invalid {CAPABILITY_KEY}={named!r}: the capabilities are {choices}"
                    )
            else:
                task.raw = raw
    if not tasks:
        raise BatchFileError(f"{path} holds no tasks; e.g. {_EXAMPLE}. Nothing was sent.")
    return tasks


_EXAMPLE = '{"image_tasks": [{"prompt": "a red lantern"}]}'
