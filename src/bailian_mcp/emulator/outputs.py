"""Result files of synchronous calls (image editing and generation), kept while their signed URLs are valid.

An async task's files live with the task; a synchronous answer has no task, so its
files are filed here under a fresh output id and served by the same results route
(``/results/{output_id}/{name}``). The store is bounded: past ``limit`` entries the
oldest are forgotten early.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from .tasks import ResultFile


@dataclass(frozen=True)
class Output:
    """The files of one synchronous answer, made at a monotonic instant."""

    output_id: str
    files: tuple[ResultFile, ...]
    made_at: float


class OutputStore:
    def __init__(self, ttl: float, limit: int = 256) -> None:
        self._ttl = ttl
        self._limit = limit
        self._outputs: OrderedDict[str, Output] = OrderedDict()

    def add(self, files: Sequence[ResultFile], now: float) -> Output:
        self._forget_expired(now)
        output = Output(str(uuid.uuid4()), tuple(files), now)
        self._outputs[output.output_id] = output
        while len(self._outputs) > self._limit:
            self._outputs.popitem(last=False)
        return output

    def file(self, output_id: str, name: str, now: float) -> ResultFile | None:
        self._forget_expired(now)
        output = self._outputs.get(output_id)
        if output is None:
            return None
        return next((file for file in output.files if file.name == name), None)

    def _forget_expired(self, now: float) -> None:
        while self._outputs:
            oldest = next(iter(self._outputs.values()))
            if now - oldest.made_at <= self._ttl:
                break
            del self._outputs[oldest.output_id]
