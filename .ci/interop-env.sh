#!/usr/bin/env bash
# The environment of the langchain-mcp-adapters interop test (tests/interop/test_langchain.py): that package pins
# mcp<2, so it cannot share .venv (mcp>=2.3) and gets its own, .venv-langchain. It holds only the client side; the
# test spawns our server from .venv. Idempotent: when the environment already has these requirements (a stamp file
# records them), it returns at once; otherwise the environment is made anew.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-langchain
REQUIREMENTS=("langchain-mcp-adapters>=0.3.2,<0.4" "langchain-core>=1.3,<2")
STAMP="$VENV/.interop-requirements"
WANTED="$(printf '%s\n' "${REQUIREMENTS[@]}")"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANTED" ]] \
    && "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('langchain_mcp_adapters') is None)"; then
    exit 0
fi

rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
"$VENV/bin/python" - <<'EOF'
import importlib.metadata as metadata

import langchain_mcp_adapters.tools  # noqa: F401  (it imports)

versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("langchain-mcp-adapters", "langchain-core", "mcp"))
print(f".venv-langchain: {versions}")
EOF
printf '%s\n' "$WANTED" > "$STAMP"
