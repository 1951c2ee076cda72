#!/usr/bin/env bash
# Load test of issue 8 (see bench/load/run.py for what it does and checks).
#
#   bench/load/run.sh                          # 180 s, 14 users, sd_load + Redis db 11
#   bench/load/run.sh --run-time 60 --users 8  # any run.py option
#
# Exits non-zero when an invariant fails. Whatever happens (an error, Ctrl-C, SIGTERM), the trap
# stops every process the run started: run.py stops them itself, and the trap kills the process
# groups listed in bench/out/load/pids in case run.py itself was killed outright.
set -u
cd "$(dirname "$0")/../.."
PIDS=bench/out/load/pids
mkdir -p bench/out/load

cleanup() {
    if [ -n "${RUNNER:-}" ] && kill -0 "$RUNNER" 2>/dev/null; then
        kill -TERM "$RUNNER" 2>/dev/null
        for _ in $(seq 1 40); do kill -0 "$RUNNER" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$RUNNER" 2>/dev/null
    fi
    if [ -s "$PIDS" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null
        done < "$PIDS"
        sleep 2
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
        done < "$PIDS"
        : > "$PIDS"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

.venv/bin/python bench/load/run.py "$@" &
RUNNER=$!
wait "$RUNNER"
STATUS=$?
RUNNER=
exit "$STATUS"
