"""Per-call overhead of `text_to_text` through MCP versus a direct httpx request to the same emulator endpoint.

One emulator, in its own process (streamed events sent without pause, no limits), answers every variant. Calls
are sequential and interleaved (one call of each variant per round, order rotated), so every variant sees the
same conditions, and two calls of one variant start at least 60 ms apart: the client paces text requests at
the model's 20 RPS (catalog), and that pacing is a throughput cap, not per-call overhead:

* direct httpx — the same JSON body `text_to_text` sends, POSTed with the same headers on one keep-alive
  `httpx.AsyncClient`, streamed (SSE) and each event's JSON parsed;
* DashScopeClient.stream — our transport alone (no job store, no MCP);
* Runner.run — the whole job path without MCP: validation, job record (SQLite), background exchange, result;
* MCP in-memory — `Client(build_server(settings))` (direct dispatch, protocol 2026-07-28);
* MCP stdio — `bailian-mcp` spawned over stdio, initialize handshake (as Claude Desktop does);
* SDK stdio floor — for reference, not compared: the minimal one-tool server's `echo` over stdio (no upstream),
  i.e. what any MCP server pays for a call over stdio with this SDK.

Target: the MCP median ≤ the direct median + 5 ms.

    .venv/bin/python bench/call_overhead.py [--quick] [--calls N]
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from _common import (
    API_KEY,
    BENCH_DIR,
    ENTRY_POINT,
    PYTHON,
    UNLIMITED,
    emit_json,
    emulator_process,
    log,
    make_settings,
    median,
    ms,
    parser,
    percentile,
    print_table,
    server_env,
    stdio_client_session,
    temp_dir,
    verdict,
)
from mcp import Client

from bailian_mcp.capabilities.base import BuildContext
from bailian_mcp.capabilities.text_to_text import TEXT_TO_TEXT, TextToTextParams
from bailian_mcp.jobs.services import open_services
from bailian_mcp.server import build_server

TARGET_EXTRA_S = 0.005
MIN_SPACING_S = 0.06  # > 1.1 / 20 RPS: the client's pacing of text requests never engages
PROMPT = "Name one colour of the rainbow."
ARGUMENTS: dict[str, Any] = {"prompt": PROMPT}


def direct_request(base_url: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The URL, body and headers text_to_text sends for ARGUMENTS."""
    request = TEXT_TO_TEXT.build(TextToTextParams(**ARGUMENTS), BuildContext(region="cn-beijing"))
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        "X-DashScope-SSE": "enable",
    }
    return f"{base_url}/{request.path}", request.body, headers


async def direct_call(http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    text = ""
    async with http.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                text += data["output"]["choices"][0]["message"]["content"]
    return text


def check_tool_result(result: Any) -> str:
    if result.is_error or not result.structured_content or not result.structured_content.get("text"):
        raise RuntimeError(f"text_to_text failed: {result.content}")
    return str(result.structured_content["text"])


async def run(calls: int, warmup: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with (
        emulator_process(stream_chunk_seconds=0.0, **UNLIMITED) as emulator,
        temp_dir("overhead") as tmp,
        open(tmp / "server-stderr.log", "w") as errlog,
    ):
        settings = make_settings(tmp / "inproc", emulator.base_url)
        url, body, headers = direct_request(emulator.base_url)
        async with (
            httpx.AsyncClient(timeout=30) as http,
            open_services(make_settings(tmp / "runner", emulator.base_url)) as services,
            Client(build_server(settings)) as in_memory,
            stdio_client_session(ENTRY_POINT, [], server_env(tmp / "stdio", emulator.base_url), errlog=errlog) as stdio,
            stdio_client_session(PYTHON, [str(BENCH_DIR / "minimal_server.py")], errlog=errlog) as minimal,
        ):
            params = TextToTextParams(**ARGUMENTS)
            request = TEXT_TO_TEXT.build(params, BuildContext(region="cn-beijing"))

            async def transport_only() -> str:
                text = ""
                async for event in services.client.stream(request.path, request.body, bucket=None):
                    text += event["output"]["choices"][0]["message"]["content"]
                return text

            async def runner_only() -> str:
                result = await services.runner.run(TEXT_TO_TEXT, params, wait_seconds=50)
                return result.text or ""

            async def mcp_in_memory() -> str:
                return check_tool_result(await in_memory.call_tool("text_to_text", ARGUMENTS))

            async def mcp_stdio() -> str:
                return check_tool_result(await stdio.call_tool("text_to_text", ARGUMENTS))

            async def sdk_floor() -> str:
                result = await minimal.call_tool("echo", {"text": expected})
                if result.is_error:
                    raise RuntimeError(f"echo failed: {result.content}")
                return expected

            variants: dict[str, Callable[[], Awaitable[str]]] = {
                "direct httpx": lambda: direct_call(http, url, body, headers),
                "DashScopeClient.stream": transport_only,
                "Runner.run (no MCP)": runner_only,
                "MCP in-memory": mcp_in_memory,
                "MCP stdio": mcp_stdio,
                "SDK stdio floor (echo)": sdk_floor,
            }
            expected = await direct_call(http, url, body, headers)
            for name, call in variants.items():
                for _ in range(warmup):
                    got = await call()
                if got != expected:
                    raise RuntimeError(f"{name} answered {got!r}, direct answered {expected!r}")
            timings = {name: [] for name in variants}
            last_start = dict.fromkeys(variants, 0.0)
            order = list(variants.items())
            for index in range(calls):
                rotation = index % len(order)
                for name, call in order[rotation:] + order[:rotation]:
                    await anyio.sleep(max(0.0, last_start[name] + MIN_SPACING_S - time.perf_counter()))
                    start = last_start[name] = time.perf_counter()
                    await call()
                    timings[name].append(time.perf_counter() - start)
                if (index + 1) % 50 == 0:
                    log(f"{index + 1}/{calls} rounds")
    return timings


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--calls", type=int, default=None, help="calls per variant (default 200, --quick 50)")
    args = cli.parse_args()
    calls = args.calls or (50 if args.quick else 200)
    timings = anyio.run(run, calls, 5 if args.quick else 10)

    direct = median(timings["direct httpx"])
    rows = []
    for name, values in timings.items():
        extra = median(values) - direct
        rows.append([name, len(values), ms(median(values)), ms(percentile(values, 90)), ms(min(values)), ms(extra)])
    print_table(
        "text_to_text per call (ms), sequential, interleaved",
        ["variant", "calls", "median", "p90", "min", "median − direct"],
        rows,
    )
    results: dict[str, Any] = {}
    for name in ("MCP in-memory", "MCP stdio"):
        extra = median(timings[name]) - direct
        results[name] = {"extra_ms": ms(extra), "target_met": extra <= TARGET_EXTRA_S}
        print(f"{name}: median − direct = {ms(extra)} ms (target ≤ 5 ms: {verdict(extra <= TARGET_EXTRA_S)})")
    emit_json(
        "call_overhead",
        {
            "calls": calls,
            "median_ms": {name: ms(median(values)) for name, values in timings.items()},
            "p90_ms": {name: ms(percentile(values, 90)) for name, values in timings.items()},
            "target_extra_ms": ms(TARGET_EXTRA_S),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
