"""The in-flight-call baseline: a minimal `MCPServer` whose one tool reports progress once and then waits.

`cost_curve.py` sends it as many concurrent calls as bailian-mcp gets in its burst mode, to show what the
SDK itself holds per call in flight (same SDK, same Python, same client).
"""

from __future__ import annotations

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context

server = MCPServer("sdk-floor")


@server.tool()
async def wait(seconds: float, ctx: Context) -> dict[str, str]:
    """Report progress once, wait `seconds`, succeed."""
    await ctx.report_progress(0.5, 1.0, "waiting")
    await anyio.sleep(seconds)
    return {"status": "SUCCEEDED"}


if __name__ == "__main__":
    server.run("stdio")
