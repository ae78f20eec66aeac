"""Cold start: process spawn → `tools/list` answered over stdio, bailian-mcp versus a minimal one-tool MCPServer.

Both are spawned the way an MCP host does it (the SDK's stdio client, initialize handshake), interleaved, and
timed from just before the spawn to the `tools/list` answer. bailian-mcp points DASHSCOPE_BASE_URL at an
emulator this benchmark runs on a thread of its own process, so the emulator's import is never counted.

Then, to act on: `python -X importtime` of what `bailian-mcp` imports (the minimal server's imports are the
floor), and which heavy modules are loaded by the time `tools/list` is answered — measured in a child
`python -c` that imports and builds the server as cli.py does, runs its lifespan and lists the tools.

    .venv/bin/python bench/cold_start.py [--quick] [--runs N]
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
from _common import (
    BENCH_DIR,
    ENTRY_POINT,
    PYTHON,
    emit_json,
    log,
    median,
    ms,
    parser,
    percentile,
    print_table,
    running_emulator,
    server_env,
    stdio_client_session,
    temp_dir,
    verdict,
)

TARGET_RATIO = 1.15
HEAVY = (
    "PIL",
    "websockets",
    "rich",
    "bailian_mcp.emulator",
    "httpx._client",  # httpx itself is a placeholder until first used (bailian_mcp.lazy_modules)
    "httpcore",
    "httpx2",
    "bailian_mcp.cli.commands",
    "rich.progress",
    "sqlite3",
    "uvicorn",
    "starlette",
    "sse_starlette",
    "platformdirs",
)

# What cli.py does before serving on stdio (no --emulator): parse (no command parsers), settings, build; then the
# lifespan runs and tools/list is answered. Printed: the modules loaded once built, and once tools/list was answered.
BAILIAN_CHILD = """
import time
marks = [("start", time.perf_counter())]
import json, sys
import anyio
from bailian_mcp import cli
from bailian_mcp.server import build_server
from bailian_mcp.jobs.services import open_services
marks.append(("imports", time.perf_counter()))
cli.build_parser(with_commands=False).parse_args([])
from bailian_mcp.config import load_settings
settings = load_settings()
marks.append(("settings", time.perf_counter()))
server = build_server(settings, log_level="WARNING")
marks.append(("build_server", time.perf_counter()))
built = sorted(sys.modules)
async def main():
    async with open_services(settings):
        marks.append(("lifespan", time.perf_counter()))
        await server.list_tools()
        marks.append(("list_tools", time.perf_counter()))
anyio.run(main)
phases = {name: (t - marks[i][1]) * 1000 for i, (name, t) in enumerate(marks[1:])}
print(json.dumps({"built": built, "listed": sorted(sys.modules), "phases_ms": phases}))
"""

MINIMAL_CHILD = f"""
import time
marks = [("start", time.perf_counter())]
import json, sys
import anyio
import mcp.server
marks.append(("imports", time.perf_counter()))
sys.path.insert(0, {str(BENCH_DIR)!r})
from minimal_server import server
marks.append(("build_server", time.perf_counter()))
built = sorted(sys.modules)
anyio.run(server.list_tools)
marks.append(("list_tools", time.perf_counter()))
phases = {{name: (t - marks[i][1]) * 1000 for i, (name, t) in enumerate(marks[1:])}}
print(json.dumps({{"built": built, "listed": sorted(sys.modules), "phases_ms": phases}}))
"""


async def time_to_tools_list(command: str, args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    async with stdio_client_session(command, args, env) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - start
    if not tools.tools:
        raise RuntimeError(f"{command} listed no tools")
    return elapsed


async def measure_spawns(runs: int, base_url: str, tmp: Path) -> dict[str, list[float]]:
    variants: dict[str, tuple[str, list[str], dict[str, str]]] = {
        "bailian-mcp": (ENTRY_POINT, [], server_env(tmp, base_url)),
        "minimal MCPServer": (PYTHON, [str(BENCH_DIR / "minimal_server.py")], {}),
        "python -c pass (floor)": (PYTHON, ["-c", "pass"], {}),
    }
    times: dict[str, list[float]] = defaultdict(list)
    for name, (command, args, env) in variants.items():  # warm-up: page cache, .pyc files
        if name.startswith("python -c"):
            continue
        await time_to_tools_list(command, args, env)
    for run in range(runs):
        order = list(variants.items())
        if run % 2:
            order.reverse()
        for name, (command, args, env) in order:
            if name.startswith("python -c"):
                start = time.perf_counter()
                subprocess.run([command, *args], check=True)
                times[name].append(time.perf_counter() - start)
            else:
                times[name].append(await time_to_tools_list(command, args, env))
        log(f"run {run + 1}/{runs}: " + ", ".join(f"{k} {ms(v[-1])} ms" for k, v in times.items()))
    return times


# ---------------------------------------------------------------------- import time


ImportTable = dict[str, tuple[int, int, str | None]]


def importtime(code: str, env: dict[str, str]) -> ImportTable:
    """module → (self µs, cumulative µs, the module that imported it) from `python -X importtime -c code`."""
    done = subprocess.run([PYTHON, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True, check=True)
    table: ImportTable = {}
    waiting: list[tuple[int, str]] = []  # (depth, module) printed, parent not printed yet (post-order)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, raw = line[len("import time:") :].split("|")
        name = raw.strip()
        depth = (len(raw) - len(raw.lstrip()) - 1) // 2
        table[name] = (int(self_us), int(cumulative), None)
        while waiting and waiting[-1][0] > depth:
            child = waiting.pop()[1]
            table[child] = (*table[child][:2], name)
        waiting.append((depth, name))
    return table


def median_importtime(code: str, env: dict[str, str], repeats: int) -> ImportTable:
    runs = [importtime(code, env) for _ in range(repeats)]
    first = runs[0]
    return {
        name: (
            int(median([run[name][0] for run in runs if name in run])),
            int(median([run[name][1] for run in runs if name in run])),
            parent,
        )
        for name, (_, _, parent) in first.items()
    }


def extra_cumulative(ours: ImportTable, floor: ImportTable) -> dict[str, float]:
    """For each module only bailian-mcp imports: the self time of it and of everything it pulled in that the
    minimal server does not import (µs) — what removing or deferring that import would save."""
    totals: dict[str, float] = defaultdict(float)
    for name, (self_us, _, _) in ours.items():
        if name in floor:
            continue
        node: str | None = name
        while node is not None:
            if node not in floor:
                totals[node] += self_us
            node = ours[node][2] if node in ours else None
    return dict(totals)


def loaded_modules(code: str, env: dict[str, str], repeats: int) -> dict[str, Any]:
    """The modules loaded after building and after tools/list, and the median time of each phase (ms)."""
    outputs = []
    for _ in range(repeats):
        done = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, check=True)
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result: dict[str, Any] = outputs[-1]
    result["phases_ms"] = {
        phase: round(median([output["phases_ms"][phase] for output in outputs]), 1) for phase in result["phases_ms"]
    }
    return result


def top_package(module: str) -> str:
    if module.startswith("bailian_mcp."):
        return ".".join(module.split(".")[:2])
    return module.split(".")[0]


def present(modules: list[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--runs", type=int, default=None, help="spawns per variant (default 15, --quick 5)")
    args = cli.parse_args()
    runs = args.runs or (5 if args.quick else 15)
    repeats = 2 if args.quick else 3

    with running_emulator() as emulator, temp_dir("cold") as tmp:
        log(f"{runs} interleaved spawns per variant")
        times = anyio.run(measure_spawns, runs, emulator.base_url, tmp)
        child_env = {**server_env(tmp, emulator.base_url), "PATH": "/usr/bin:/bin", "HOME": str(tmp)}
        log("python -X importtime")
        ours = median_importtime(BAILIAN_CHILD, child_env, repeats)
        floor = median_importtime(MINIMAL_CHILD, child_env, repeats)
        log("modules loaded at tools/list")
        ours_modules = loaded_modules(BAILIAN_CHILD, child_env, repeats + 2)
        floor_modules = loaded_modules(MINIMAL_CHILD, child_env, repeats + 2)

    ours_median = median(times["bailian-mcp"])
    floor_median = median(times["minimal MCPServer"])
    ratio = ours_median / floor_median
    rows = [
        [name, len(values), ms(median(values)), ms(percentile(values, 90)), ms(min(values)), ms(max(values))]
        for name, values in times.items()
    ]
    print_table("Spawn → tools/list answered over stdio (ms)", ["server", "runs", "median", "p90", "min", "max"], rows)
    print(
        f"\nratio bailian-mcp / minimal (medians): {ratio:.2f}× "
        f"(target ≤ {TARGET_RATIO}×: {verdict(ratio <= TARGET_RATIO)}); "
        f"extra {ms(ours_median - floor_median)} ms"
    )

    phases = ["imports", "settings", "build_server", "lifespan", "list_tools"]
    print_table(
        "In-process phases before tools/list can be answered (median ms, child `python -c`, no -X importtime)",
        ["server", *phases, "total"],
        [
            [name, *[modules["phases_ms"].get(p, 0.0) for p in phases], round(sum(modules["phases_ms"].values()), 1)]
            for name, modules in (("bailian-mcp", ours_modules), ("minimal MCPServer", floor_modules))
        ],
    )

    extra = {name: value for name, value in ours.items() if name not in floor}
    extra_self_ms = sum(value[0] for value in extra.values()) / 1000
    total_ours = sum(value[0] for value in ours.values()) / 1000
    total_floor = sum(value[0] for value in floor.values()) / 1000
    by_package: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for name, (self_us, _, _) in extra.items():
        by_package[top_package(name)][0] += self_us / 1000
        by_package[top_package(name)][1] += 1
    package_rows = sorted(by_package.items(), key=lambda item: -item[1][0])[:20]
    print_table(
        f"Import time beyond the minimal server's (-X importtime, median of {repeats}): {extra_self_ms:.1f} ms self "
        f"time in {len(extra)} modules (all imports: bailian-mcp {total_ours:.1f} ms, minimal {total_floor:.1f} ms)",
        ["package", "modules", "self ms"],
        [[name, int(count), round(total, 1)] for name, (total, count) in package_rows],
    )
    saved = extra_cumulative(ours, floor)
    offenders = sorted(saved.items(), key=lambda item: -item[1])[:25]
    print_table(
        "Top offenders: modules only bailian-mcp imports, by what each costs beyond the floor (its own and its "
        "extra imports' self time; nested: a parent includes its children)",
        ["module", "imported by", "self ms", "extra cumulative ms"],
        [[name, ours[name][2] or "-", round(ours[name][0] / 1000, 1), round(us / 1000, 1)] for name, us in offenders],
    )

    heavy_rows: list[list[Any]] = []
    heavy: dict[str, dict[str, bool]] = {}
    for name in HEAVY:
        flags = {
            "bailian_built": present(ours_modules["built"], name),
            "bailian_listed": present(ours_modules["listed"], name),
            "minimal_listed": present(floor_modules["listed"], name),
        }
        heavy[name] = flags
        heavy_rows.append(
            [name]
            + ["yes" if flags[key] else "-" for key in ("bailian_built", "bailian_listed", "minimal_listed")]
            + [round(saved.get(name, 0.0) / 1000, 1) if name in saved else "-"]
        )
    print_table(
        f"Heavy modules loaded (modules in total: bailian-mcp {len(ours_modules['listed'])}, minimal "
        f"{len(floor_modules['listed'])})",
        ["module", "bailian built", "bailian at tools/list", "minimal at tools/list", "extra import ms"],
        heavy_rows,
    )
    late = sorted(set(ours_modules["listed"]) - set(ours_modules["built"]))
    print(f"\nImported between build and tools/list (lifespan, first list): {len(late)}: {', '.join(late[:30])}")

    figures: dict[str, Any] = {
        "runs": runs,
        "median_ms": {name: ms(median(values)) for name, values in times.items()},
        "p90_ms": {name: ms(percentile(values, 90)) for name, values in times.items()},
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "extra_import_self_ms": round(extra_self_ms, 1),
        "extra_modules": len(extra),
        "import_packages_ms": {name: round(total, 1) for name, (total, _) in package_rows[:12]},
        "top_offenders_extra_ms": {name: round(us / 1000, 1) for name, us in offenders[:12]},
        "phases_ms": {"bailian": ours_modules["phases_ms"], "minimal": floor_modules["phases_ms"]},
        "heavy_at_tools_list": {name: flags["bailian_listed"] for name, flags in heavy.items()},
        "heavy_in_minimal": {name: flags["minimal_listed"] for name, flags in heavy.items()},
        "modules_at_tools_list": {"bailian": len(ours_modules["listed"]), "minimal": len(floor_modules["listed"])},
    }
    emit_json("cold_start", figures)


if __name__ == "__main__":
    main()
