"""Drive bailian-mcp over stdio with the `mcp` Client: list the tools, make an image, resume a job.

python examples/generate_image.py            # offline, against the built-in emulator
DASHSCOPE_API_KEY=sk-... python examples/generate_image.py --real
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters


def server_command() -> str:
    beside_python = Path(sys.executable).with_name("bailian-mcp")
    return str(beside_python) if beside_python.exists() else (shutil.which("bailian-mcp") or "bailian-mcp")


async def main(real: bool) -> None:
    params = StdioServerParameters(command=server_command(), args=[] if real else ["--emulator"])
    async with Client(params) as client:
        tools = await client.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            print(f"  [{progress:5.1f}s] {message}")

        result = await client.call_tool(
            "text_to_image",
            {"prompt": "未来城市, a futuristic city at dawn", "size": "1440*810", "n": 2, "wait_seconds": 50},
            progress_callback=on_progress,
        )
        job = result.structured_content or {}
        if not job.get("done"):  # still running: pick it up again with get_task
            result = await client.call_tool("get_task", {"task_id": job["job_id"], "wait_seconds": 50})
            job = result.structured_content or {}
        print(job.get("message"))
        for output in job.get("outputs", []):
            print(" ", output.get("path"), output.get("width"), "x", output.get("height"), output.get("sha256"))


if __name__ == "__main__":
    anyio.run(main, "--real" in sys.argv)
