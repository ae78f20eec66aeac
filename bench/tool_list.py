"""Tool-list weight: the bytes of `tools/list` as a client receives them, measured from outside.

`bailian-mcp` is spawned over stdio and spoken to in raw JSON-RPC (initialize, initialized, tools/list), once per
protocol version a client may negotiate; the reply line is measured as it arrives. Two figures per version: the
part a model reads (each tool's name, title, description and input schema) and the whole result; beside them,
the same per tool and the strongest competitor's figure (ali-bailian-mcp 0.7: 1.7 KB per tool, model-visible,
from issue 13). Targets (issue 13): model-visible at most 16,000 bytes, whole at most 45,000 bytes.

    .venv/bin/python bench/tool_list.py
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from _common import ENTRY_POINT, emit_json, log, parser, print_table, server_env, temp_dir, verdict

VERSIONS = ("2025-11-25", "2025-06-18", "2024-11-05")
VISIBLE_TARGET, WHOLE_TARGET = 16_000, 45_000
COMPETITOR_PER_TOOL = 1_700  # bytes a model reads per tool from ali-bailian-mcp 0.7 (issue 13)


def compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def tools_list(version: str) -> tuple[bytes, dict[str, Any]]:
    """The raw `tools/list` reply line, and its result, from a freshly spawned server negotiating `version`."""
    with temp_dir("tools") as tmp:
        env = {"PATH": "/usr/bin:/bin", **server_env(tmp, "http://127.0.0.1:9/api/v1")}
        process = subprocess.Popen(
            [ENTRY_POINT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
            for message in (
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            ):
                process.stdin.write(compact(message) + b"\n")
            process.stdin.flush()
            while True:
                line = process.stdout.readline()
                reply = json.loads(line)
                if reply.get("id") == 2:
                    return line.rstrip(b"\n"), reply["result"]
        finally:
            process.kill()
            process.wait()


def main() -> None:
    parser(__doc__ or "").parse_args()
    rows, figures = [], {}
    for version in VERSIONS:
        log(f"tools/list at {version}")
        line, result = tools_list(version)
        tools = result["tools"]
        visible = sum(
            len(compact({k: t[k] for k in ("name", "title", "description", "inputSchema") if k in t})) for t in tools
        )
        whole = len(compact(result))
        rows.append(
            [
                version,
                len(tools),
                visible,
                round(visible / len(tools)),
                COMPETITOR_PER_TOOL,
                whole,
                len(line),
                verdict(visible <= VISIBLE_TARGET and whole <= WHOLE_TARGET),
            ]
        )
        figures[version] = {"tools": len(tools), "visible": visible, "whole": whole, "reply_line": len(line)}
    print_table(
        "tools/list, bytes (targets: visible <= 16,000, whole <= 45,000)",
        ["protocol", "tools", "visible", "visible/tool", "competitor/tool", "whole result", "reply line", "targets"],
        rows,
    )
    emit_json("tool_list", figures)


if __name__ == "__main__":
    main()
