"""The cost curve: how time and the server's peak memory grow from 1 to 1,000 text_to_image jobs.

For every size N a fresh `bailian-mcp` is spawned over stdio against a fresh emulator process (tasks of 0.15 s,
no throttling, no concurrency queue; BAILIAN_IMAGE_RPS=0), gets one warm-up job, then N jobs of 512*512 images,
in two modes:

* burst — all N calls sent at once (N calls in flight);
* window — at most 50 calls in flight, a new one as soon as one returns (what a batch runner does): this is
  where memory must not grow with the number of jobs done.

Peak memory is the server's RSS high-water mark (/proc VmHWM, reset after the warm-up). The client queries task
status at 20 QPS (DashScope's limit), which bounds the throughput at about 18 jobs/s.

Side by side with the burst mode, the SDK's own floor: `sdk_floor_server.py`, a minimal MCPServer whose tool
reports progress once and waits 3 s, gets the same N calls at once — what any server on this SDK holds per call
in flight, so that the burst figures can be split into the SDK's share and bailian-mcp's.

Target: peak memory flat — the peak for 1,000 jobs ≤ 1.2× the peak for 100.

    .venv/bin/python bench/cost_curve.py [--quick] [--sizes 1,10,100,300,1000] [--mode burst,window]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from _common import (
    BENCH_DIR,
    PYTHON,
    UNLIMITED,
    Call,
    emit_json,
    find_child,
    log,
    measure_calls,
    parser,
    print_table,
    server_scenario,
    stdio_client_session,
    temp_dir,
    verdict,
)

TARGET_RATIO = 1.2
WINDOW = 50
EMULATOR = {**UNLIMITED, "pending_seconds": 0.05, "running_seconds": 0.1}


def image_calls(tmp: Path, count: int) -> list[Call]:
    return [
        ("text_to_image", {"prompt": f"a paper boat, number {index}", "size": "512*512", "wait_seconds": 600})
        for index in range(count)
    ]


FLOOR_CALL_SECONDS = 3.0


async def sdk_floor(count: int) -> dict[str, Any]:
    """The minimal SDK server with `count` calls in flight at once (after one warm-up call)."""
    with temp_dir("floor") as tmp:
        script = str(BENCH_DIR / "sdk_floor_server.py")
        async with stdio_client_session(PYTHON, [script]) as client:
            pid = find_child("sdk_floor_server.py")
            await client.call_tool("wait", {"seconds": 0.01})
            calls: list[Call] = [("wait", {"seconds": FLOOR_CALL_SECONDS})] * count
            return await measure_calls(client, pid, tmp, calls)


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--sizes", default=None, help="job counts (default 1,10,100,300,1000; --quick 1,10,100)")
    cli.add_argument("--mode", default="burst,window", help="burst, window or both (comma-separated)")
    args = cli.parse_args()
    sizes = [int(n) for n in (args.sizes or ("1,10,100" if args.quick else "1,10,100,300,1000")).split(",")]
    modes = args.mode.split(",")
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for mode in modes:
        results[mode] = {}
        for size in sizes:
            log(f"{mode}: {size} jobs")
            window = WINDOW if mode == "window" else None
            results[mode][size] = anyio.run(
                lambda size=size, window=window: server_scenario(  # type: ignore[misc]
                    f"curve-{size}", size, image_calls, EMULATOR, in_flight=window
                )
            )

    floor: dict[int, dict[str, Any]] = {}
    if "burst" in modes:
        for size in sizes:
            log(f"SDK floor: {size} calls in flight")
            floor[size] = anyio.run(sdk_floor, size)

    keys = ["jobs", "errors", "seconds", "jobs_per_s", "latency_median_ms", "rss_before_mib", "peak_rss_mib"]
    keys += ["peak_growth_mib", "growth_per_job_kib", "job_store_mib"]
    verdicts = {}
    for mode, by_size in results.items():
        print_table(
            f"{mode}: " + ("all calls at once" if mode == "burst" else f"at most {WINDOW} calls in flight"),
            ["figure", *(f"N={n}" for n in by_size)],
            [[key, *(figures[key] for figures in by_size.values())] for key in keys],
        )
        for size, figures in by_size.items():
            if figures["errors"]:
                print(f"{mode} N={size}: {figures['errors']} calls failed, e.g. {figures['first_error']}")
        if 100 in by_size and max(by_size) > 100:
            largest = max(by_size)
            ratio = by_size[largest]["peak_rss_mib"] / by_size[100]["peak_rss_mib"]
            met = ratio <= TARGET_RATIO if largest >= 1000 else None
            verdicts[mode] = {"largest": largest, "peak_ratio_vs_100": round(ratio, 3), "target_met": met}
            print(
                f"{mode}: peak RSS N={largest} / N=100 = {ratio:.2f}× (target ≤ {TARGET_RATIO}× at N=1000: "
                f"{verdict(ratio <= TARGET_RATIO) if largest >= 1000 else 'n/a, run without --quick'})"
            )
    if floor:
        burst = results["burst"]
        rows = [
            ["SDK floor: peak growth MiB", *(floor[n]["peak_growth_mib"] for n in floor)],
            ["SDK floor: KiB per call in flight", *(floor[n]["growth_per_job_kib"] for n in floor)],
            ["bailian-mcp burst: peak growth MiB", *(burst[n]["peak_growth_mib"] for n in floor)],
            [
                "bailian-mcp's own KiB per call (burst − floor)",
                *(round((burst[n]["peak_growth_mib"] - floor[n]["peak_growth_mib"]) * 1024 / n, 1) for n in floor),
            ],
        ]
        print_table(
            f"burst vs the SDK's floor (minimal MCPServer, N calls of {FLOOR_CALL_SECONDS:g} s in flight at once)",
            ["figure", *(f"N={n}" for n in floor)],
            rows,
        )
        if 100 in floor and max(floor) > 100:
            largest = max(floor)
            floor_ratio = floor[largest]["peak_rss_mib"] / floor[100]["peak_rss_mib"]
            print(f"SDK floor: peak RSS N={largest} / N=100 = {floor_ratio:.2f}×")
            verdicts["sdk_floor"] = {"largest": largest, "peak_ratio_vs_100": round(floor_ratio, 3)}
    emit_json(
        "cost_curve",
        {
            "sizes": sizes,
            "window": WINDOW,
            "results": {mode: {str(n): f for n, f in by_size.items()} for mode, by_size in results.items()},
            "sdk_floor": {str(n): f for n, f in floor.items()},
            "verdicts": verdicts,
        },
    )


if __name__ == "__main__":
    main()
