#!/usr/bin/env bash
# The official MCP conformance suite and a Node it runs on (22 or newer), installed from npm into .conformance/.
# Idempotent: a second run only checks what is there. The conformance tests (tests/conformance) use them.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE_VERSION="0.2.0-alpha.12"  # the first release with the 2026-07-28 scenarios (stateless, caching, headers)
DIR=.conformance
node_major() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }
if [[ -x "$DIR/node_modules/.bin/node" ]] && [[ "$(node_major "$DIR/node_modules/.bin/node")" -ge 22 ]] \
    && grep -q "\"version\": \"$SUITE_VERSION\"" "$DIR/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null; then
    exit 0
fi
mkdir -p "$DIR"
packages=("@modelcontextprotocol/conformance@$SUITE_VERSION")
if ! command -v node >/dev/null || [[ "$(node_major node)" -lt 22 ]]; then
    packages+=("node@22")  # the npm package that ships a Node binary
else
    ln -sf "$(command -v node)" "$DIR/node"
fi
npm install --silent --no-audit --no-fund --prefix "$DIR" "${packages[@]}"
if [[ -e "$DIR/node" && ! -x "$DIR/node_modules/.bin/node" ]]; then
    mkdir -p "$DIR/node_modules/.bin" && ln -sf "$(readlink -f "$DIR/node")" "$DIR/node_modules/.bin/node"
fi
"$DIR/node_modules/.bin/node" --version
