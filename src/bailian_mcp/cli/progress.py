"""Live progress on stderr (rich): a spinner per job with its latest message and the time elapsed.

On a terminal the lines are redrawn in place; when stderr is not a terminal (a pipe, a log
file, a test) `JobDisplay` says nothing and `BatchDisplay` writes one plain line when a task
starts and one when it ends, so logs stay short and readable.
"""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def _progress(console: Console, *, transient: bool) -> Progress:
    return Progress(
        SpinnerColumn(finished_text=" "),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    )


class JobDisplay:
    """One job's progress line; use as a context manager and pass the instance as the progress callback."""

    def __init__(self, title: str, console: Console | None = None) -> None:
        self.console = console or stderr_console()
        self.title = title
        self._progress = _progress(self.console, transient=True)
        self._task = self._progress.add_task(escape(title), total=None)
        self._running = False

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def start(self) -> None:
        if not self._running:
            self._running = True
            self._progress.start()

    def stop(self) -> None:
        """End the live line (before writing to the terminal, e.g. streamed text)."""
        if self._running:
            self._running = False
            self._progress.stop()

    def __enter__(self) -> JobDisplay:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    async def __call__(self, progress: float, message: str) -> None:
        """A `ProgressCallback`: show the latest message."""
        self._progress.update(self._task, description=escape(f"{self.title}: {message}"))


class TextStream:
    """Writes a text answer to stdout as it is generated (`on_text` of a run); the live line stops at its first
    piece. Disabled (for --json), it writes nothing."""

    def __init__(self, display: JobDisplay, *, enabled: bool) -> None:
        self._display = display
        self._enabled = enabled
        self.shown = False

    async def __call__(self, piece: str) -> None:
        if not self._enabled:
            return
        if not self.shown:
            self._display.stop()
            self.shown = True
        sys.stdout.write(piece)
        sys.stdout.flush()

    def close(self) -> None:
        """End the streamed text with a new line."""
        if self.shown:
            sys.stdout.write("\n")


class BatchDisplay:
    """One line per batch task: waiting, its latest progress message, then how it ended."""

    def __init__(self, labels: list[str], console: Console | None = None) -> None:
        self.console = console or stderr_console()
        self.labels = labels
        self._progress = _progress(self.console, transient=False)
        self._tasks: list[TaskID] = [
            self._progress.add_task(escape(f"{label}: waiting"), total=None, start=False) for label in labels
        ]

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def __enter__(self) -> BatchDisplay:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def _plain(self, line: str) -> None:
        if not self.live:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def started(self, index: int, what: str) -> None:
        self._progress.start_task(self._tasks[index])
        self._progress.update(self._tasks[index], description=escape(f"{self.labels[index]}: {what}"))
        self._plain(f"▶ {self.labels[index]}: {what}")

    def update(self, index: int, message: str) -> None:
        self._progress.update(self._tasks[index], description=escape(f"{self.labels[index]}: {message}"))

    def finished(self, index: int, ok: bool, outcome: str) -> None:
        mark = "✓" if ok else "✗"
        task = self._tasks[index]
        self._progress.update(task, description=escape(f"{mark} {self.labels[index]}: {outcome}"), total=1, completed=1)
        self._progress.stop_task(task)
        self._plain(f"{mark} {self.labels[index]}: {outcome}")

    def invalid(self, index: int, reason: str) -> None:
        """A task that will not run (already reported with the other problems: no plain line)."""
        task = self._tasks[index]
        self._progress.update(task, description=escape(f"✗ {self.labels[index]}: invalid — {reason}"), total=1)

    def callback(self, index: int) -> ProgressForTask:
        return ProgressForTask(self, index)


class ProgressForTask:
    """The runner's progress callback for one batch task."""

    def __init__(self, display: BatchDisplay, index: int) -> None:
        self._display = display
        self._index = index

    async def __call__(self, progress: float, message: str) -> None:
        self._display.update(self._index, message)
