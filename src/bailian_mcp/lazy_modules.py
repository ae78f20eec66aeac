"""Modules that load on first use rather than at import, so that the server answers `tools/list` sooner.

httpx costs ~30 ms to import (its command-line client pulls in rich and pygments when they are
installed) and is first needed by the first DashScope request, not to list the tools. Import it
from here: `from bailian_mcp.lazy_modules import httpx`.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING


def load_on_first_use(name: str) -> ModuleType:
    """`name`, imported when one of its attributes is first read (the stdlib's `importlib.util.LazyLoader`)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import httpx as httpx
else:
    httpx = load_on_first_use("httpx")
