"""The parameters of the job commands (get, list, cancel) and of the model listing, shared by every face."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from bailian_mcp.capabilities import CAPABILITIES, capability_named
from bailian_mcp.capabilities.base import Params
from bailian_mcp.jobs.status import JobStatus


def _capability_name(value: str | None) -> str | None:
    """A capability filter checked and made the capability's name (a command such as text2image is accepted)."""
    if value is None:
        return None
    capability = capability_named(value)
    if capability is None:
        choices = ", ".join([*CAPABILITIES, *(c.command for c in CAPABILITIES.values())])
        raise PydanticCustomError("capability", "the capabilities are {choices}", {"choices": choices})
    return capability.name


CapabilityFilter = AfterValidator(_capability_name)


class TaskHandle(Params):
    task_id: str = Field(min_length=1, description="A job_id or task_id.")


class ListTasksParams(Params):
    status: Annotated[JobStatus | None, Field(description="Only jobs in this state.")] = None
    capability: Annotated[
        str | None, Field(description="Only jobs of this capability, e.g. text_to_image."), CapabilityFilter
    ] = None
    since_hours: Annotated[float, Field(gt=0, le=24 * 365, description="Only jobs created in the last N hours.")] = 168
    limit: Annotated[int, Field(ge=1, le=500, description="At most this many jobs, newest first.")] = 50
    include_remote: Annotated[bool, Field(description="Merge in DashScope's task list.")] = True


class ListModelsParams(Params):
    capability: Annotated[
        str | None, Field(description="Only the models of this capability, e.g. text_to_video."), CapabilityFilter
    ] = None
    all_regions: Annotated[bool, Field(description="Every region's models.")] = False
