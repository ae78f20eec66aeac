"""Adversarial inputs against a real `bailian-mcp` process over stdio: what it costs the server to refuse or serve them.

    huge image        edit_image with a 3 GB sparse PNG in an input root
    huge recording    speech_to_text with a 2 GB sparse WAV (over the upload policy's size)
    huge data: URI    edit_image with a 40 MB data: URI
    large output      resources/read of a 100 MB saved output

For each: the seconds to answer, the slowest ping answered meanwhile (pings every 20 ms) and the server's peak RSS
(the kernel's high-water mark, reset before each case). Then a damaged job store: the exit code and the lines said.
Targets (issue 14): refused within 1 s, peak RSS under 300 MB, pings answered throughout; one line, exit code 2.

    .venv/bin/python bench/adversarial.py
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
from _common import (
    ENTRY_POINT,
    emit_json,
    find_child,
    log,
    parser,
    print_table,
    proc_memory,
    reset_hwm,
    running_emulator,
    server_env,
    stdio_client_session,
    temp_dir,
    verdict,
)
from mcp import Client

GB, MB = 1024**3, 1024**2
WAV_HEAD = b"RIFF\xff\xff\xff\x7fWAVEfmt "  # a WAV header, so the file gets as far as the upload policy


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    with path.open("wb") as file:
        file.write(head)
        file.truncate(size)
    return path


async def measure(client: Client, pid: int, action: Any) -> dict[str, float]:
    """Seconds `action` takes, the slowest ping meanwhile and the peak RSS (MB) while it runs."""
    reset_hwm(pid)
    slowest = 0.0
    done = anyio.Event()

    async def pings() -> None:
        nonlocal slowest
        while not done.is_set():
            started = time.monotonic()
            await client.send_ping()
            slowest = max(slowest, time.monotonic() - started)
            await anyio.sleep(0.02)

    async with anyio.create_task_group() as group:
        group.start_soon(pings)
        started = time.monotonic()
        await action()
        seconds = time.monotonic() - started
        done.set()
    return {"seconds": seconds, "slowest_ping_ms": slowest * 1000, "peak_rss_mb": proc_memory(pid)["VmHWM"] / MB}


async def inputs_and_outputs(tmp: Path, base_url: str) -> dict[str, dict[str, float]]:
    folder = tmp / "inputs"
    folder.mkdir()
    image, recording = sparse(folder / "huge.png", 3 * GB), sparse(folder / "huge.wav", 2 * GB, WAV_HEAD)
    env = server_env(tmp, base_url, BAILIAN_INPUT_ROOTS=str(folder))
    figures = {}
    async with stdio_client_session(ENTRY_POINT, env=env) as client:
        await client.list_tools()
        pid = find_child("bailian-mcp")
        cases = {
            "huge image": lambda: client.call_tool("edit_image", {"image": str(image), "prompt": "x"}),
            "huge recording": lambda: client.call_tool("speech_to_text", {"audio": [str(recording)]}),
            "huge data: URI": lambda: client.call_tool(
                "edit_image", {"image": "data:image/png;base64," + "A" * (40 * MB), "prompt": "x"}
            ),
        }
        for name, call in cases.items():
            log(name)
            figures[name] = await measure(client, pid, call)
        made = await client.call_tool("text_to_image", {"prompt": "a lighthouse"})
        assert made.structured_content is not None
        job_id, path = made.structured_content["job_id"], Path(made.structured_content["outputs"][0]["path"])
        with path.open("r+b") as file:
            file.truncate(100 * MB)
        log("large output")
        figures["large output"] = await measure(
            client, pid, lambda: client.read_resource(f"bailian://jobs/{job_id}/0.png")
        )
    return figures


def damaged_store(tmp: Path) -> dict[str, Any]:
    store = tmp / "damaged" / "jobs.sqlite3"
    store.parent.mkdir()
    store.write_bytes(b"not a database " * 100)
    run = subprocess.run(
        [ENTRY_POINT, "--emulator", "task", "list"],
        env={"PATH": "/usr/bin:/bin", "BAILIAN_DATA_DIR": str(store.parent), "BAILIAN_OUTPUT_DIR": str(tmp / "o")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = [line for line in run.stderr.splitlines() if "emulator at" not in line]
    return {"exit_code": run.returncode, "lines": len(said), "names_the_file": str(store) in run.stderr}


def main() -> None:
    parser(__doc__ or "").parse_args()
    with temp_dir("adversarial") as tmp, running_emulator() as emulator:
        figures = anyio.run(inputs_and_outputs, tmp, emulator.base_url)
        store = damaged_store(tmp)
    rows = [
        [
            name,
            round(f["seconds"], 3),
            round(f["slowest_ping_ms"], 1),
            round(f["peak_rss_mb"], 1),
            verdict(f["seconds"] < 1 and f["peak_rss_mb"] < 300 and f["slowest_ping_ms"] < 500),
        ]
        for name, f in figures.items()
    ]
    print_table("adversarial inputs over stdio", ["case", "seconds", "slowest ping ms", "peak RSS MB", "target"], rows)
    print_table(
        "a damaged job store (task list)",
        ["exit code", "lines said", "names the file", "target"],
        [[store["exit_code"], store["lines"], store["names_the_file"], verdict(store["exit_code"] == 2)]],
    )
    emit_json("adversarial", {"cases": figures, "damaged_store": store})


if __name__ == "__main__":
    main()
