"""Serve the emulator in its own process (so its work never competes with the measured client for the GIL).

    python bench/_emulator_proc.py '{"submit_rps": 0, ...}'   # EmulatorConfig fields as JSON

Prints its root URL (http://127.0.0.1:PORT) on stdout, then serves until its stdin is closed.
"""

from __future__ import annotations

import json
import sys

from _common import running_emulator


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    with running_emulator(**config) as emulator:
        print(emulator.root_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
