"""A job made of several DashScope tasks (one per file, for a model that takes one per task), as one result.

    parent job (RUNNING, no task) ─┬─ part 0: its own job record, sent as one task ─► its result
                                   ├─ part 1: …
                                   └─ part n
    the parts' results, in order ─► `combine` ─► the parent's result (saved once every part is done)

Each part is recorded just before it is sent and is sent once (`JobStore.claim_sending`); a part that was never
recorded was never sent, so resuming the parent sends it then.
"""

from __future__ import annotations

from collections.abc import Sequence

from bailian_mcp.jobs import messages
from bailian_mcp.jobs.results import ErrorInfo, JobResult, OutputFile, sum_costs
from bailian_mcp.jobs.store import Job

NOT_SENT = {"code": "NotSent", "message": "not sent, since DashScope refused an earlier part of this job"}


def combine(parent: Job, parts: Sequence[tuple[Job, JobResult]], warnings: Sequence[str] = ()) -> JobResult:
    """The parent's result from its parts' results (`parts`: each part's record and result, in order)."""
    results = [result for _, result in parts]
    done = all(result.done for result in results)
    common = {
        "job_id": parent.job_id,
        "task_ids": [result.task_id for result in results if result.task_id],
        "capability": parent.capability,
        "model": parent.model,
        "warnings": list(warnings),
    }
    if not done:
        finished = sum(result.done for result in results)
        return JobResult(
            **common,
            status="RUNNING",
            done=False,
            message=f"{finished} of {len(results)} tasks finished; the others keep running on DashScope as parts of "
            f"job {parent.job_id} (do not generate again).",
            next_step="resume",
        )
    if not any(result.status == "SUCCEEDED" and result.outputs for result in results):
        first = results[0]
        return JobResult(
            **common,
            status=first.status,
            done=True,
            error=first.error,
            message=f"None of the {len(results)} tasks succeeded. The first: {first.message}",
            next_step=first.next_step,
        )
    outputs = _outputs(parts)
    usage: dict[str, float] = {}
    for result in results:
        for key, value in result.usage.items():
            usage[key] = usage.get(key, 0.0) + value
    costs = sum_costs((result.cost for result in results if result.cost is not None), of="tasks")
    return JobResult(
        **common,
        status="SUCCEEDED",
        done=True,
        outputs=outputs,
        usage=usage,
        cost=costs[0] if len(costs) == 1 else None,
        message=f"{messages.succeeded(outputs)} ({len(results)} tasks, one per file)",
        text=messages.joined_text(outputs),
        submitted_at=min((r.submitted_at for r in results if r.submitted_at), default=None),
        finished_at=max((r.finished_at for r in results if r.finished_at), default=None),
    )


def _outputs(parts: Sequence[tuple[Job, JobResult]]) -> list[OutputFile]:
    """Every part's outputs in order, numbered anew, each naming its input as given (a local path rather than its
    upload's URL); a part that made nothing, as an output that carries its error (of the kind the others are)."""
    kind = next(output.kind for _, result in parts for output in result.outputs)
    outputs: list[OutputFile] = []
    for part, result in parts:
        source = part.params.get("source")
        made = result.outputs if result.status == "SUCCEEDED" else []
        for output in made:
            outputs.append(output.model_copy(update={"index": len(outputs), "source": source or output.source}))
        if not made:
            code = "NoOutput" if result.status == "SUCCEEDED" else result.status
            error = result.error or ErrorInfo(code=code, message=result.message)
            outputs.append(OutputFile(index=len(outputs), kind=kind, source=source, error=error))
    return outputs
