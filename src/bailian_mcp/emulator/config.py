"""The emulator's knobs: timings, limits and keys, fixed when the app is built."""

from __future__ import annotations

from dataclasses import dataclass, field

from .faults import FaultPlan


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated service behaves.

    Defaults keep tasks short (seconds, not the real minutes) but every limit
    on; tests shrink the timings further.
    """

    api_keys: frozenset[str] | None = None
    """Accepted keys; ``None`` accepts any non-empty Bearer token."""
    pending_seconds: float = 1.0
    """How long a task stays PENDING once it holds a concurrency slot."""
    running_seconds: float = 3.0
    """How long a task stays RUNNING before it ends."""
    submit_rps: float = 2.0
    """Task submissions per (key, model) in a sliding second; ``0`` never throttles.
    Fractions round up (at most ``ceil(submit_rps)`` per second)."""
    max_concurrent_tasks: int = 2
    """Tasks per (key, model) holding a slot at once; later ones queue as PENDING. ``0``: unlimited."""
    result_url_ttl_seconds: float = 86400.0
    """Signed result URLs expire this long after the task ends."""
    task_ttl_seconds: float = 86400.0
    """After this long from submission a task id answers UNKNOWN."""
    public_base_url: str | None = None
    """Root under which result URLs and the upload host are addressed (``{root}/results/...``,
    ``{root}/__oss__/upload``), e.g. ``http://127.0.0.1:8000``; default: the root of the request."""
    stream_chunk_seconds: float = 0.02
    """Pause between two SSE events of a streamed text generation, and between two audio
    frames of a speech synthesis."""
    upload_ttl_seconds: float = 172800.0
    """How long an uploaded file can be referenced as ``oss://<key>`` (the real service: 48 h)."""
    upload_max_file_mb: int = 100
    """``max_file_size_mb`` of an upload policy: larger files are refused by the upload host."""
    upload_capacity_mb: int = 1024
    """All live uploads together stay under this (they are kept in memory)."""
    fetch_timeout_seconds: float = 10.0
    """Timeout for downloading an input file given by URL (images to edit, audio to transcribe)."""
    ws_idle_seconds: float = 23.0
    """A speech-synthesis WebSocket that receives no ``run-task`` for this long fails and closes."""
    faults: FaultPlan = field(default_factory=FaultPlan)
    """What goes wrong, on purpose (see `faults`); by default nothing. The running emulator's
    plan can be changed later (``state.faults``, ``PUT /__emulator__/faults``)."""

    def __post_init__(self) -> None:
        for name in (
            "pending_seconds",
            "running_seconds",
            "submit_rps",
            "result_url_ttl_seconds",
            "stream_chunk_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"EmulatorConfig.{name} must be >= 0")
        for name in (
            "task_ttl_seconds",
            "upload_ttl_seconds",
            "upload_max_file_mb",
            "upload_capacity_mb",
            "fetch_timeout_seconds",
            "ws_idle_seconds",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"EmulatorConfig.{name} must be > 0")
        if self.max_concurrent_tasks < 0:
            raise ValueError("EmulatorConfig.max_concurrent_tasks must be >= 0")


DEFAULT_CONFIG = EmulatorConfig()
