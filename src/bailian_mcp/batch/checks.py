"""Checking a batch before anything is sent: every task validated as a call would be, and fingerprinted.

A task's fingerprint is a hash of where the batch runs (the file's absolute path and the service's base URL),
the capability, the task's parameters (validated, defaults left out, so `"n": 1` and no `n` are the same task)
and its occurrence (the first, second, ... task with exactly that content in the file, so two identical tasks are
two jobs, and reordering or adding tasks keeps the others' fingerprints). The job store keeps it with the job, so
that running the file again finds each task's job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bailian_mcp.batch.file import BatchTask
from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.fields import absolute_paths
from bailian_mcp.config import Settings
from bailian_mcp.errors import BailianError

FINGERPRINT_VERSION = 1


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(*, scope: str, base_url: str, capability: str, params: BaseModel, occurrence: int) -> str:
    """The stable identity of a batch task (see the module docstring)."""
    content = {
        "v": FINGERPRINT_VERSION,
        "scope": scope,
        "base_url": base_url,
        "capability": capability,
        "params": params.model_dump(mode="json", exclude_defaults=True),
        "occurrence": occurrence,
    }
    return "batch:" + hashlib.sha256(_canonical(content).encode()).hexdigest()


def check(tasks: Sequence[BatchTask], settings: Settings, *, scope: str, base_dir: Path) -> None:
    """Validate every task as a call would (parameters, then the capability's rules) and fingerprint the valid."""
    context = BuildContext(settings.region, settings.allowed_input_roots)
    seen: dict[str, int] = {}
    for task in tasks:
        if task.error is not None or task.capability is None:
            continue
        capability = task.capability
        try:
            raw = absolute_paths(task.raw, capability.params_model, base_dir)
            params = parse_params(capability.params_model, raw)
            request = capability.build(params, context)
        except BailianError as exc:
            task.invalid(str(exc), code=type(exc).__name__)
            continue
        task.params, task.model = params, request.model
        key = _canonical([capability.name, params.model_dump(mode="json", exclude_defaults=True)])
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        task.fingerprint = fingerprint(
            scope=scope,
            base_url=settings.resolved_base_url,
            capability=capability.name,
            params=params,
            occurrence=occurrence,
        )


def problems_text(tasks: Sequence[BatchTask]) -> str | None:
    """Every invalid task and why, in one message (None when all are valid)."""
    bad = [t for t in tasks if t.error is not None]
    if not bad:
        return None
    lines = [f"{len(bad)} of {len(tasks)} task(s) are invalid and will not be sent:"]
    lines += [f"  {t.label}: {t.error.message}" for t in bad if t.error is not None]
    return "\n".join(lines)
