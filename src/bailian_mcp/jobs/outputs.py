"""Where a job's files go: the output folder, checked before anything is sent, and the downloads into it."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.errors import ConfigurationError
from bailian_mcp.jobs.results import OutputFile
from bailian_mcp.media import DownloadError, download, image_info, media_duration, suffix_for

ResultMode = Literal["local", "url", "both"]


class OutputFolder:
    """The output folder (one subfolder per day) and the saving of result files into it."""

    def __init__(self, folder: Path, *, result_mode: ResultMode, max_bytes: int) -> None:
        self.folder = folder
        self.result_mode = result_mode
        self.max_bytes = max_bytes

    def check(self) -> None:
        """Refuse, before anything is sent, to run a job whose files would have nowhere to go."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            usable = self.folder.is_dir() and os.access(self.folder, os.W_OK | os.X_OK)
            reason = "it is not a folder this server can write to"
        except (OSError, ValueError) as exc:
            usable, reason = False, (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
        if not usable:
            raise ConfigurationError(
                f"Invalid settings — output_dir: {self.folder} cannot be used ({reason}); give a folder this server "
                "can write to (BAILIAN_OUTPUT_DIR, --output-dir). Nothing was sent."
            )

    def path(self, job_id: str, index: int, suffix: str) -> Path:
        """Where output `index` of a job is saved (its day's folder is made on demand)."""
        folder = self.folder / datetime.now(UTC).strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{job_id}-{index}{suffix}"

    def piece_path(self, key: str, suffix: str) -> Path:
        """Where a paid-for piece of a longer result is kept (`key` names what was asked) until it is joined, so
        that a job interrupted part way, or run again, pays for no piece it already has."""
        return self.folder / ".pieces" / f"{key}{suffix}"

    def wants_download(self, output: OutputFile) -> bool:
        """Whether `output` is to be saved: it has a URL, no local file yet, and the result mode keeps files (a
        transcript is always saved: its text is read from the file)."""
        if output.url is None or (self.result_mode == "url" and output.kind != "transcript"):
            return False
        return output.path is None or not Path(output.path).exists()

    async def save(
        self,
        client: DashScopeClient,
        job_id: str,
        default_suffix: str,
        outputs: list[OutputFile],
        report: Callable[[str], Awaitable[None]],
        warnings: list[str],
    ) -> list[OutputFile]:
        """Download every output that wants it, and describe what was saved; a failed download is a warning (its
        URL stays in the result)."""
        saved = []
        for output in outputs:
            if not self.wants_download(output):
                saved.append(output)
                continue
            await report(f"Saving {output.kind} {output.index + 1} of {len(outputs)}.")
            try:
                dest = self.path(job_id, output.index, suffix_for(output.url or "", default_suffix))
                file = await download(client.http, output.url or "", dest, max_bytes=self.max_bytes)
            except (DownloadError, OSError) as exc:
                reason = f"{exc}" if isinstance(exc, DownloadError) else f"the output folder failed ({exc})."
                gone = " Its saved file is gone." if output.path else ""
                warnings.append(
                    f"Could not save {output.kind} {output.index}: {reason}{gone} Its URL is in the result."
                )
                # A file that is no longer there is reported missing: no path, no size, no link to it.
                saved.append(output.model_copy(update={"path": None, "bytes": None, "sha256": None}))
                continue
            saved.append(await describe_file(output, file.path, file.size, file.sha256, file.mime_type))
        return saved


async def describe_file(output: OutputFile, path: Path, size: int, sha256: str, mime_type: str) -> OutputFile:
    """`output` with its saved file's facts: path, size, checksum, and pixels or duration."""
    update: dict[str, Any] = {"path": str(path), "bytes": size, "sha256": sha256, "mime_type": mime_type}
    if output.kind == "image" and (info := await image_info(path)) is not None:
        update.update(width=info.width, height=info.height)
    if output.kind in ("audio", "video") and output.duration_seconds is None:
        update["duration_seconds"] = media_duration(path)
    return output.model_copy(update=update)
