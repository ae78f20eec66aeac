"""A result, or a list of jobs, as plain text: what every face shows a person or an agent to read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bailian_mcp.jobs.results import JobResult, OutputFile, TaskList, TodaysSpending


def summary(result: JobResult) -> str:
    lines = [f"{result.capability} · {result.model} · {result.status}: {result.message}"]
    if result.request is not None:  # a dry run: what would be sent, and no job
        lines.append("Would send: " + json.dumps(result.request, ensure_ascii=False))
        lines.extend(f"Warning: {w}" for w in result.warnings)
        return "\n".join(lines)
    if result.cost:
        lines.append(f"Cost: {result.cost.amount:g} {result.cost.currency} ({result.cost.basis}).")
    for output in result.outputs:
        lines.append("- " + describe_output(output))
    lines.extend(f"Warning: {w}" for w in result.warnings)
    handles = f"job_id={result.job_id}"
    if result.task_id:
        handles += f" task_id={result.task_id}"
    if result.task_ids:
        handles += f" task_ids={','.join(result.task_ids)}"
    lines.append(handles)
    return "\n".join(lines)


def spending_line(today: TodaysSpending) -> str:
    of = f" of the {today.budget_cny:g} CNY daily budget" if today.budget_cny is not None else ""
    line = f"Spent today (UTC, every process on this job store): {today.spent_cny:.4g} CNY{of}"
    if today.under_way_cny:
        line += f", {today.under_way_cny:.4g} CNY of it quoted for jobs under way"
    return line + "."


def model_line(model: Mapping[str, Any]) -> str:
    """A catalogue entry (`catalog.catalogue()`) in one line: name, summary, price and regions."""
    return f"{model['name']} — {model['summary']} ({model['price']}; regions {', '.join(model['regions'])})"


def describe_output(output: OutputFile) -> str:
    if output.error:
        return f"#{output.index}: failed — {output.error.code}: {output.error.message}"
    parts = [f"#{output.index}:"]
    if output.path:
        parts.append(output.path)
    if output.source:
        parts.append(f"from {output.source}")
    if output.width and output.height:
        parts.append(f"{output.width}×{output.height}")
    if output.duration_seconds is not None:
        parts.append(f"{output.duration_seconds:g} s")
    if output.bytes is not None:
        parts.append(f"{output.bytes / 1024:.0f} KiB")
    if output.url:
        parts.append(f"url (until {output.url_expires_at or 'expiry'}): {output.url}")
    return " ".join(parts)


def task_list_text(listing: TaskList) -> str:
    lines = [f"{len(listing.jobs)} job(s), newest first."]
    for job in listing.jobs:
        cost = f", {job.cost.amount:g} {job.cost.currency}" if job.cost else ""
        lines.append(
            f"- {job.job_id} ({job.task_id or 'no task'}) {job.capability} {job.model} {job.status}"
            f"{cost}, created {job.created_at}"
        )
    lines.extend(f"Total: {c.amount:g} {c.currency} ({c.basis})." for c in listing.total_cost)
    if listing.today is not None:
        lines.append(spending_line(listing.today))
    if listing.message:
        lines.append(listing.message)
    return "\n".join(lines)
