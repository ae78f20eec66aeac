"""Throughput (jobs/s) and peak memory of the server process for concurrent image jobs and large image edits,
and a check that a download holds no more than one image's size in memory.

Each scenario spawns a fresh `bailian-mcp` over stdio (as an MCP host does) against an emulator in its own
process with its limits raised (no submission throttling, no concurrency queue), sends one warm-up call, then
all its calls at once through one MCP client, and reads the server's memory from /proc: the RSS before the
burst and the kernel's RSS high-water mark (VmHWM, reset after the warm-up) after it. While the burst runs, the
server's RSS and the number of downloads in flight (the `.part` files in its output folder) are sampled at 20 Hz.

* images — 200 text_to_image jobs (1024*1024, n=1; tasks take 2 s), BAILIAN_IMAGE_RPS=0;
* edits (files) — 50 edit_image calls, each a distinct ~9.7 MB JPEG (3072*3072) given as a local path, so
  uploaded to the emulator's temporary storage; the edited result (same size, ~8 MB PNG) is downloaded;
* edits (data URIs) — the same 50 images sent inline as `data:image/jpeg;base64,…` (~13 MB each);
* downloads — `bailian_mcp.media.download` alone, N concurrent downloads of an 8 MiB file from a local file
  server, in a child process: peak memory growth ÷ (N × 8 MiB) must stay ≤ 1 ("no more than one image's size
  per in-flight download").

The client paces what DashScope limits (image submissions unless BAILIAN_IMAGE_RPS says otherwise, edit calls
at the model's 2 RPS, task queries at 20 QPS): those caps, not the server's CPU, bound the throughput here.

    .venv/bin/python bench/throughput_memory.py [--quick] [--only images,edits-files,edits-data,downloads]
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from _common import (
    PYTHON,
    UNLIMITED,
    Call,
    emit_json,
    log,
    mib,
    parser,
    print_table,
    server_scenario,
    temp_dir,
    verdict,
)

EDIT_SIDE = 3072
DOWNLOAD_BYTES = 8 * 1024 * 1024


def make_edit_inputs(folder: Path, count: int) -> list[Path]:
    """`count` distinct JPEGs of ~9.7 MB (one noise picture; each file gets its own trailing bytes, so each has
    its own checksum and is uploaded on its own)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    picture = Image.frombytes("RGB", (EDIT_SIDE, EDIT_SIDE), os.urandom(EDIT_SIDE * EDIT_SIDE * 3))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=92)
    data = buffer.getvalue()
    if len(data) > 10 * 1024 * 1024 - 64:
        raise RuntimeError(f"the input picture is {len(data)} bytes, over the 10 MB limit")
    paths = []
    for index in range(count + 1):
        path = folder / f"input-{index:03d}.jpg"
        path.write_bytes(data + f"bench-{index}".encode())
        paths.append(path)
    return paths


def data_uri(path: Path) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()


def image_calls(tmp: Path, count: int) -> list[Call]:
    return [
        ("text_to_image", {"prompt": f"a lighthouse at dusk, number {index}", "size": "1024*1024", "wait_seconds": 600})
        for index in range(count)
    ]


def edit_calls(as_data_uri: bool) -> Callable[[Path, int], list[Call]]:
    def make(tmp: Path, count: int) -> list[Call]:
        paths = make_edit_inputs(tmp / "inputs", count)
        return [
            (
                "edit_image",
                {
                    "image": [data_uri(path) if as_data_uri else str(path)],
                    "prompt": "make the sky a deep blue",
                    "seed": 7,
                    "wait_seconds": 600,
                },
            )
            for path in paths[:count]
        ]

    return make


# ---------------------------------------------------------------------- downloads alone

DOWNLOAD_CHILD = """
import asyncio, json, os, sys, threading, time, tracemalloc
from pathlib import Path
import httpx
from bailian_mcp.media import download

url, count, dest, traced = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "1"

def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key + ":"))

most = 0
stop = threading.Event()
def watch():
    global most
    while not stop.is_set():
        most = max(most, sum(n.endswith(".part") for n in os.listdir(dest)))
        stop.wait(0.005)

async def main():
    # The same pool limits as DashScopeClient's connection pool.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    async with httpx.AsyncClient(timeout=60, limits=limits, follow_redirects=True) as http:
        await download(http, url, dest / "warm.bin", max_bytes=1 << 30)
        base = status("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        if traced:
            tracemalloc.start()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        start = time.perf_counter()
        await asyncio.gather(*(download(http, url, dest / f"{i}.bin", max_bytes=1 << 30) for i in range(count)))
        seconds = time.perf_counter() - start
        stop.set()
        watcher.join()
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        print(json.dumps({"base": base, "hwm": status("VmHWM"), "traced_peak": peak, "seconds": seconds,
                          "in_flight": most}))

asyncio.run(main())
"""


def downloads_scenario(count: int) -> dict[str, Any]:
    with temp_dir("downloads") as tmp:
        served = tmp / "served"
        served.mkdir()
        (served / "image.png").write_bytes(os.urandom(DOWNLOAD_BYTES))
        server = subprocess.Popen(
            [PYTHON, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(served)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            port = int(line.split(" port ")[1].split()[0])
            url = f"http://127.0.0.1:{port}/image.png"
            runs = {}
            for traced in (False, True):
                dest = tmp / f"dest-{int(traced)}"
                dest.mkdir()
                log(f"downloads: {count} at once{' (tracemalloc)' if traced else ''}")
                done = subprocess.run(
                    [PYTHON, "-c", DOWNLOAD_CHILD, url, str(count), str(dest), "1" if traced else "0"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[traced] = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            server.terminate()
            server.wait(10)
    plain, traced_run = runs[False], runs[True]
    growth = plain["hwm"] - plain["base"]
    in_flight = max(plain["in_flight"], 1)
    return {
        "downloads": count,
        "file_mib": mib(DOWNLOAD_BYTES),
        "max_in_flight": plain["in_flight"],
        "seconds": round(plain["seconds"], 2),
        "rss_before_mib": mib(plain["base"]),
        "peak_growth_mib": mib(growth),
        "growth_per_download_in_images": round(growth / (in_flight * DOWNLOAD_BYTES), 3),
        "traced_peak_mib": mib(traced_run["traced_peak"]),
        "traced_per_download_kib": round(traced_run["traced_peak"] / max(traced_run["in_flight"], 1) / 1024, 1),
    }


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--only", default="images,edits-files,edits-data,downloads", help="scenarios to run")
    args = cli.parse_args()
    wanted = args.only.split(",")
    quick = {"images": 50, "edits": 10, "downloads": 20}
    counts = quick if args.quick else {"images": 200, "edits": 50, "downloads": 50}
    results: dict[str, Any] = {}
    emulator = {**UNLIMITED, "pending_seconds": 0.5, "running_seconds": 1.5, "upload_capacity_mb": 4096}
    scenarios = {
        "images": ("images", counts["images"], image_calls),
        "edits-files": ("edits (files)", counts["edits"], edit_calls(False)),
        "edits-data": ("edits (data URIs)", counts["edits"], edit_calls(True)),
    }
    for key, (name, count, make_calls) in scenarios.items():
        if key in wanted:
            log(f"{name}: {count} calls at once")
            results[name] = anyio.run(server_scenario, key, count, make_calls, emulator)

    if results:
        keys = [
            "jobs",
            "errors",
            "seconds",
            "jobs_per_s",
            "latency_median_ms",
            "latency_p90_ms",
            "rss_before_mib",
            "peak_rss_mib",
            "peak_growth_mib",
            "growth_per_job_kib",
            "output_image_kib",
            "max_downloads_in_flight",
            "growth_while_downloading_mib",
            "growth_per_download_in_images",
            "job_store_mib",
        ]
        print_table(
            "Server process (bailian-mcp over stdio), all calls at once",
            ["figure", *results],
            [[key, *(results[name][key] for name in results)] for key in keys],
        )
        for name, figures in results.items():
            if figures["errors"]:
                print(f"{name}: {figures['errors']} calls failed, e.g. {figures['first_error']}")
    if "downloads" in wanted:
        results["downloads"] = downloads_scenario(counts["downloads"])
        figures = results["downloads"]
        print_table("bailian_mcp.media.download alone (child process)", ["figure", "value"], list(figures.items()))
        ok = figures["growth_per_download_in_images"] <= 1.0
        results["downloads"]["target_met"] = ok
        print(
            f"peak memory growth per in-flight download: {figures['growth_per_download_in_images']} image sizes "
            f"(target ≤ 1: {verdict(ok)})"
        )
    emit_json("throughput_memory", results)


if __name__ == "__main__":
    main()
