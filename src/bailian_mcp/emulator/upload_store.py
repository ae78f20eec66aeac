"""Files uploaded through the form-upload flow, kept in memory as ``oss://<key>`` (protocol §10).

A file lives ``upload_ttl_seconds`` (48 h on the real service); keys cannot be overwritten;
all live files together stay under a capacity, so a long-running emulator stays bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredFile:
    key: str
    data: bytes
    content_type: str
    stored_at: float
    """Monotonic instant of the upload."""


class KeyExists(Exception):
    """The key already holds a live file (uploads forbid overwriting)."""


class CapacityExceeded(Exception):
    """Storing the file would exceed the store's capacity."""


class UploadStore:
    def __init__(self, ttl: float, capacity_bytes: int) -> None:
        self._ttl = ttl
        self._capacity = capacity_bytes
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        self._size = 0

    def get(self, key: str, now: float) -> StoredFile | None:
        """The live file under ``key``, or ``None`` (never stored, or older than the ttl)."""
        self._forget_expired(now)
        return self._files.get(key)

    def put(self, file: StoredFile) -> None:
        """Store a file; raises `KeyExists` or `CapacityExceeded` (and stores nothing)."""
        self._forget_expired(file.stored_at)
        if file.key in self._files:
            raise KeyExists(file.key)
        if self._size + len(file.data) > self._capacity:
            raise CapacityExceeded(file.key)
        self._files[file.key] = file
        self._size += len(file.data)

    def _forget_expired(self, now: float) -> None:
        while self._files:
            oldest = next(iter(self._files.values()))
            if now - oldest.stored_at < self._ttl:
                break
            del self._files[oldest.key]
            self._size -= len(oldest.data)
