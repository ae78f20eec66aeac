"""What the benchmarks share: the emulator, settings in a temp dir, spawning the server over stdio,
process memory from /proc, statistics, and printing (a table, then one JSON line of figures).

Every benchmark binds only 127.0.0.1 (the emulator's default) and stops what it starts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from bailian_mcp.config import Settings, load_settings
from bailian_mcp.emulator import EmulatorConfig, EmulatorState, create_app, start_in_thread

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable
ENTRY_POINT = str(Path(sys.executable).with_name("bailian-mcp"))
API_KEY = "sk-bench"

# An emulator that never throttles and never queues: the benchmarks measure the client, not the service's limits.
UNLIMITED: dict[str, Any] = {"submit_rps": 0.0, "max_concurrent_tasks": 0}


# ---------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (pct in [0, 100])."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def mib(n_bytes: float) -> float:
    return round(n_bytes / (1024 * 1024), 1)


# ---------------------------------------------------------------------- emulator, settings, temp dirs


class BenchEmulator:
    """The emulator serving on a thread of this process: `base_url`, `root_url`, `state` (tasks, request log)."""

    def __init__(self, base_url: str, root_url: str, state: EmulatorState, stop: Callable[[], None]) -> None:
        self.base_url = base_url
        self.root_url = root_url
        self.state = state
        self.stop = stop


# `bailian_mcp.emulator.start_in_thread` listens on a socket made without `IPPROTO_TCP`, so asyncio does not set
# TCP_NODELAY on the connections it accepts, and every request on a kept-alive connection then waits ~40 ms
# (Nagle + delayed ACK). The benchmarks measure the client, not that artefact: by default they serve the same
# app on a socket made with IPPROTO_TCP. `--stock-emulator` uses start_in_thread as it is.
STOCK_EMULATOR = "--stock-emulator" in sys.argv


def _start_nodelay(config: EmulatorConfig) -> BenchEmulator:
    import socket

    import uvicorn

    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="bench-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(10)
            sock.close()
            raise RuntimeError("the emulator did not start")
        time.sleep(0.005)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    root = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return BenchEmulator(root + "/api/v1", root, app.state.emulator, stop)


@contextmanager
def running_emulator(**config: Any) -> Iterator[BenchEmulator]:
    """The DashScope emulator on a free 127.0.0.1 port, on a thread of this process; stopped on exit."""
    settings = EmulatorConfig(**config)
    if STOCK_EMULATOR:
        stock = start_in_thread(settings, host="127.0.0.1", port=0)
        emulator = BenchEmulator(stock.base_url, stock.root_url, stock.state, stock.stop)
    else:
        emulator = _start_nodelay(settings)
    try:
        yield emulator
    finally:
        emulator.stop()


class EmulatorProcess:
    """The emulator in a child process: `base_url`, `root_url`, `pid`; its request log over HTTP."""

    def __init__(self, root_url: str, pid: int) -> None:
        self.root_url = root_url
        self.base_url = root_url + "/api/v1"
        self.pid = pid

    def requests(self) -> list[dict[str, Any]]:
        import httpx

        reply = httpx.get(f"{self.root_url}/__emulator__/requests", timeout=60)
        reply.raise_for_status()
        entries: list[dict[str, Any]] = reply.json()
        return entries

    def clear_requests(self) -> None:
        import httpx

        httpx.delete(f"{self.root_url}/__emulator__/requests", timeout=60).raise_for_status()


@contextmanager
def emulator_process(**config: Any) -> Iterator[EmulatorProcess]:
    """The emulator served by `bench/_emulator_proc.py` in its own process; ended (stdin closed) on exit."""
    import subprocess

    command = [PYTHON, str(BENCH_DIR / "_emulator_proc.py"), json.dumps(config)]
    if STOCK_EMULATOR:
        command.append("--stock-emulator")
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        root = process.stdout.readline().strip()
        if not root.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the emulator process did not start (printed {root!r})")
        yield EmulatorProcess(root, process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"bailian-bench-{prefix}-") as name:
        yield Path(name)


def make_settings(tmp: Path, base_url: str, **overrides: Any) -> Settings:
    """Settings as a user would have them, with the data and output folders inside `tmp`."""
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": base_url,
        "data_dir": str(tmp / "data"),
        "output_dir": str(tmp / "out"),
        "input_roots": str(tmp),
    }
    values.update(overrides)
    return load_settings(**values)


def server_env(tmp: Path, base_url: str, **extra: str) -> dict[str, str]:
    """The environment block an MCP host would give `bailian-mcp` (merged over the SDK's minimal inherited set)."""
    return {
        "DASHSCOPE_API_KEY": API_KEY,
        "DASHSCOPE_BASE_URL": base_url,
        "BAILIAN_DATA_DIR": str(tmp / "data"),
        "BAILIAN_OUTPUT_DIR": str(tmp / "out"),
        "BAILIAN_INPUT_ROOTS": str(tmp),
        **extra,
    }


# ---------------------------------------------------------------------- MCP over stdio


@asynccontextmanager
async def stdio_client_session(
    command: str,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    *,
    errlog: TextIO | None = None,
    mode: str = "legacy",
    read_timeout: float | None = None,
) -> AsyncIterator[Client]:
    """An MCP `Client` on a freshly spawned stdio server; the process is ended when the block exits.

    `mode="legacy"` is the initialize handshake hosts such as Claude Desktop use today.
    """
    params = StdioServerParameters(command=command, args=list(args), env=env or {}, cwd=str(ROOT))
    sink = errlog if errlog is not None else open(os.devnull, "w")  # noqa: SIM115 (closed below)
    try:
        client = Client(stdio_client(params, errlog=sink), mode=mode, read_timeout_seconds=read_timeout)
        async with client:
            yield client
    finally:
        if errlog is None:
            sink.close()


# ---------------------------------------------------------------------- process memory (/proc)


def child_pids(parent: int | None = None) -> list[int]:
    """Direct children of `parent` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found


def find_child(marker: str) -> int:
    """The pid of this process's child whose command line contains `marker`."""
    for pid in child_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    return pid
        except OSError:
            continue
    raise RuntimeError(f"no child process with {marker!r} in its command line")


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the RSS high-water mark) of `pid`, in bytes."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def reset_hwm(pid: int) -> bool:
    """Reset the kernel's RSS high-water mark of `pid` (Linux ≥ 4.0: write 5 to clear_refs); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


class Sampler:
    """Samples `probe()` every `interval` seconds on a thread: (monotonic time, value) pairs."""

    def __init__(self, probe: Callable[[], Any], interval: float = 0.05) -> None:
        self._probe = probe
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self.samples: list[tuple[float, Any]] = []

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(OSError):
                self.samples.append((time.monotonic(), self._probe()))
            self._stop.wait(self._interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------- a server under load

Call = tuple[str, dict[str, Any]]


def count_parts(folder: Path) -> int:
    """Downloads in flight: `media.download` writes each into a `.part` file, renamed when complete."""
    return sum(name.endswith(".part") for _, _, names in os.walk(folder) for name in names)


async def measure_calls(
    client: Client, pid: int, out_dir: Path, calls: Sequence[Call], *, in_flight: int | None = None
) -> dict[str, Any]:
    """Send `calls` (all at once, or at most `in_flight` at a time) and measure the server process `pid`:
    throughput, latency, RSS before, the RSS high-water mark, and downloads in flight (sampled at 20 Hz)."""
    import anyio

    baseline = proc_memory(pid)["VmRSS"]
    hwm_reset = reset_hwm(pid)
    latencies: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []
    window = anyio.Semaphore(in_flight or len(calls) or 1)

    async def one(name: str, arguments: dict[str, Any]) -> None:
        async with window:
            start = time.perf_counter()
            result = await client.call_tool(name, arguments)
            latencies.append(time.perf_counter() - start)
        data = result.structured_content or {}
        if result.is_error or data.get("status") != "SUCCEEDED":
            errors.append(str(result.content)[:300])
            return
        sizes.extend(int(o["bytes"]) for o in data.get("outputs", []) if o.get("bytes"))

    with Sampler(lambda: (proc_memory(pid)["VmRSS"], count_parts(out_dir))) as sampler:
        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            for name, arguments in calls:
                group.start_soon(one, name, arguments)
        elapsed = time.perf_counter() - start
    peak = proc_memory(pid)["VmHWM"] if hwm_reset else max(rss for _, (rss, _) in sampler.samples)
    downloading = [(rss, parts) for _, (rss, parts) in sampler.samples if parts > 0]
    image = sum(sizes) / len(sizes) if sizes else 0.0
    most = max((parts for _, parts in downloading), default=0)
    download_growth = max((rss - baseline for rss, _ in downloading), default=0)
    return {
        "jobs": len(calls),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(elapsed, 2),
        "jobs_per_s": round(len(calls) / elapsed, 2),
        "latency_median_ms": ms(median(latencies)),
        "latency_p90_ms": ms(percentile(latencies, 90)),
        "rss_before_mib": mib(baseline),
        "peak_rss_mib": mib(peak),
        "peak_growth_mib": mib(peak - baseline),
        "growth_per_job_kib": round((peak - baseline) / max(len(calls), 1) / 1024, 1),
        "output_image_kib": round(image / 1024, 1),
        "max_downloads_in_flight": most,
        # An upper bound: all of the server's growth while at least one download was in flight.
        "growth_while_downloading_mib": mib(download_growth),
        "growth_per_download_in_images": round(download_growth / (most * image), 2) if most and image else None,
        "hwm_reset": hwm_reset,
    }


async def server_scenario(
    name: str,
    count: int,
    make_calls: Callable[[Path, int], list[Call]],
    emulator: dict[str, Any],
    *,
    in_flight: int | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A fresh `bailian-mcp` over stdio against a fresh emulator process: one warm-up call (the first of
    `make_calls(tmp, count + 1)`), then `measure_calls` on the other `count`; plus the job store's size."""
    with (
        emulator_process(**emulator) as emu,
        temp_dir(name) as tmp,
        open(tmp / "server-stderr.log", "w") as errlog,
    ):
        calls = make_calls(tmp, count + 1)
        server = server_env(tmp, emu.base_url, BAILIAN_IMAGE_RPS="0", **(env or {}))
        async with stdio_client_session(ENTRY_POINT, [], server, errlog=errlog) as client:
            pid = find_child("bailian-mcp")
            warm_name, warm_arguments = calls[0]
            warm = await client.call_tool(warm_name, warm_arguments)
            if warm.is_error:
                raise RuntimeError(f"{name}: the warm-up call failed: {warm.content}")
            figures = await measure_calls(client, pid, tmp / "out", calls[1:], in_flight=in_flight)
        figures["job_store_mib"] = mib(sum(p.stat().st_size for p in (tmp / "data").glob("jobs.sqlite3*")))
    return figures


# ---------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(f"\n## {title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.2f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def emit_json(bench: str, figures: dict[str, Any]) -> None:
    """The last line of every benchmark: its figures as one JSON object."""
    print(json.dumps({"bench": bench, "machine": machine(), **figures}, default=str), flush=True)


def parser(description: str) -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(description=description)
    cli.add_argument("--quick", action="store_true", help="a short run (smaller counts)")
    cli.add_argument(
        "--stock-emulator",
        action="store_true",
        help="serve the emulator with bailian_mcp.emulator.start_in_thread as is (no TCP_NODELAY: +40 ms stalls)",
    )
    return cli


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables and the JSON line."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
