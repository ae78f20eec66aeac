"""A local look-alike of the DashScope HTTP service, for offline runs and tests.

It implements the service's rules on its own (it imports nothing else from
``bailian_mcp``), answering with the real envelopes, statuses and task
lifecycle of ``shared/spec/dashscope-protocol.md``::

    from bailian_mcp.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(pending_seconds=0.1, running_seconds=0.2)) as emu:
        ...  # point a client at emu.base_url ("http://127.0.0.1:PORT/api/v1")
        emu.state.requests  # every request it received

Emulator-only endpoints (no key): ``GET``/``DELETE /__emulator__/requests``,
``GET /__emulator__/health``. Test triggers for failures are listed in
`bailian_mcp.emulator.text2image`.
"""

from .app import create_app
from .config import EmulatorConfig
from .runner import RunningEmulator, serve, start_in_thread
from .state import EmulatorState

__all__ = ["EmulatorConfig", "EmulatorState", "RunningEmulator", "create_app", "serve", "start_in_thread"]
