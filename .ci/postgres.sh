#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests of the PostgreSQL job store.
#   bash .ci/postgres.sh start   -> prints the database URL (postgresql://…) on stdout
#   bash .ci/postgres.sh stop    -> stops the cluster and removes its folder
# Installs Debian's postgresql when the machine has no server binaries. PostgreSQL refuses to run as root, so as
# root the cluster belongs to the `postgres` user.
set -euo pipefail
STATE="${BAILIAN_PG_STATE:-/tmp/bailian-mcp-pg}"

bin_dir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$found" ]] && command -v pg_ctl >/dev/null; then found=$(dirname "$(command -v pg_ctl)"); fi
    echo "$found"
}

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local bin port
    bin=$(bin_dir)
    if [[ -z "$bin" ]]; then
        apt-get install -y -qq postgresql >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }
        bin=$(bin_dir)
    fi
    stop >/dev/null 2>&1 || true
    mkdir -p "$STATE"
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$STATE"; fi
    as_owner "$bin/initdb" -D "$STATE/data" -U bailian --auth=trust --no-sync -E UTF8 >/dev/null
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w -o "-h 127.0.0.1 -p $port -k $STATE -c fsync=off -c max_connections=300" start >/dev/null
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U bailian bailian
    echo "$bin" >"$STATE/bin"
    echo "postgresql://bailian@127.0.0.1:$port/bailian"
}

stop() {
    [[ -f "$STATE/bin" ]] || return 0
    as_owner "$(cat "$STATE/bin")/pg_ctl" -D "$STATE/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$STATE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
