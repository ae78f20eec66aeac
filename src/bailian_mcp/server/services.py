"""The process's services, as a tool or resource handler reaches them."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from bailian_mcp.jobs.services import Services


def services_of(ctx: Context) -> Services:
    """The services the server's lifespan opened (client, job store, runner)."""
    services = ctx.request_context.lifespan_context
    assert isinstance(services, Services)
    return services
