"""A text longer than a speech model reads per call, spoken piece by piece and joined into one WAV file.

The text is cut at sentence ends (`sentences.split_text`). Each piece is a call of its own, and its audio is
kept under a key made of everything that was asked for it (endpoint, model, voice, options, the piece's text)
as soon as it is downloaded: a job interrupted part way — a killed process, a refusal, a dropped connection —
and run again pays only for the pieces it does not have. The kept pieces are removed once the whole file is
in place. The usage reported is that of the calls made by this run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from bailian_mcp.capabilities.base import Exchange, ExchangeContext, Outcome, Request
from bailian_mcp.capabilities.sentences import split_text
from bailian_mcp.dashscope import errors
from bailian_mcp.jobs.results import OutputFile
from bailian_mcp.media import DownloadError, download


def piece_request(request: Request, text: str) -> Request:
    """`request` asking for one piece of its text."""
    body = {**request.body, "input": {**request.body["input"], "text": text}}
    return Request(model=request.model, path=request.path, body=body)


def piece_key(request: Request, text: str) -> str:
    """The name a piece is kept under: a digest of all that was asked for it."""
    asked = {"path": request.path, "body": piece_request(request, text).body}
    return hashlib.sha256(json.dumps(asked, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:40]


def _add_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    for name, value in usage.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            total[name] = total.get(name, 0) + value


def join_wav(parts: Sequence[Path], dest: Path) -> float:
    """The WAV files `parts`, one after the other, as the WAV file `dest` (written aside, then put in place);
    returns its duration in seconds."""
    part = dest.with_name(f".{dest.name}.part")
    try:
        with wave.open(str(part), "wb") as out:
            for index, path in enumerate(parts):
                with wave.open(str(path), "rb") as piece:
                    if index == 0:
                        out.setparams(piece.getparams())
                    elif piece.getparams()[:3] != out.getparams()[:3]:
                        raise errors.DashScopeConnectionError(
                            f"The pieces of the speech differ in format ({path.name}); they cannot be joined.",
                            request_sent=True,
                        )
                    out.writeframes(piece.readframes(piece.getnframes()))
            seconds = out.getnframes() / out.getframerate()
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return seconds


def _checksum(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _claim(piece: Path, claim: Path) -> bool:
    """This job's own link to a kept piece (so that another job removing the piece once it has joined its own
    does not take it away); False if the piece is gone."""
    claim.unlink(missing_ok=True)
    try:
        os.link(piece, claim)
    except FileNotFoundError:
        return False
    except OSError:  # a file system without hard links: a copy does as well
        try:
            shutil.copyfile(piece, claim)
        except FileNotFoundError:
            return False
    return True


async def _speak_piece(
    ctx: ExchangeContext, request: Request, speak: Exchange, text: str, path: Path, number: int, count: int
) -> dict[str, Any]:
    """One piece spoken and its audio kept at `path`; returns the usage billed for it."""
    answer = await speak(ctx, piece_request(request, text))
    try:
        await download(ctx.client.http, answer.outputs[0].url or "", path, max_bytes=ctx.max_download_bytes)
    except DownloadError as exc:
        raise errors.DashScopeConnectionError(
            f"Piece {number} of {count} was spoken but could not be saved: {exc}", request_sent=True
        ) from exc
    return answer.usage


def in_pieces(speak: Exchange, limit: int) -> Exchange:
    """An exchange that speaks a request's text in pieces of at most `limit` characters with `speak` (which
    answers one piece with its audio's URL) and joins them."""

    async def exchange(ctx: ExchangeContext, request: Request) -> Outcome:
        if ctx.piece_path is None:
            raise RuntimeError("speaking in pieces needs somewhere to keep them")
        pieces = split_text(request.body["input"]["text"], limit)
        dest = ctx.output_path(0, ".wav")
        shared: list[Path] = []
        claims: list[Path] = []
        usage: dict[str, Any] = {}
        try:
            for number, text in enumerate(pieces, start=1):
                path = ctx.piece_path(piece_key(request, text), ".wav")
                claim = dest.with_name(f".{dest.stem}.piece{number}.wav")
                for _ in range(2):  # a piece another job removes at that moment is spoken again, once
                    if not path.is_file():
                        await ctx.progress(f"Speaking piece {number} of {len(pieces)} ({len(text)} characters)…")
                        _add_usage(usage, await _speak_piece(ctx, request, speak, text, path, number, len(pieces)))
                    if _claim(path, claim):
                        break
                else:
                    raise errors.DashScopeConnectionError(
                        f"Piece {number} of {len(pieces)} kept vanishing from {path.parent}.", request_sent=True
                    )
                shared.append(path)
                claims.append(claim)
            await ctx.progress(f"Joining {len(pieces)} pieces…")
            seconds = await anyio.to_thread.run_sync(join_wav, claims, dest)
        finally:
            for claim in claims:
                claim.unlink(missing_ok=True)
        for path in shared:
            path.unlink(missing_ok=True)
        output = OutputFile(
            index=0,
            kind="audio",
            path=str(dest),
            bytes=dest.stat().st_size,
            sha256=await anyio.to_thread.run_sync(_checksum, dest),
            mime_type="audio/wav",
            duration_seconds=round(seconds, 3),
        )
        return Outcome(outputs=[output], usage=usage)

    return exchange
