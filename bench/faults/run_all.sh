#!/usr/bin/env bash
# Issue 8, "Faults": runs every fault script, each bounded in time, and prints PASS/FAIL and a summary.
#
#   bench/faults/run_all.sh [scenario ...]     # default: all five, in this order
#
# Each script starts its own throwaway PostgreSQL 15 cluster (127.0.0.1:5544) and Redis (127.0.0.1:6380),
# never the machine's shared ones; this script first makes one migrated cluster as a template (copied by each
# script, so migrations run once). Results: bench/out/faults/<scenario>.json and the scripts' logs in
# bench/out/faults/<scenario>/. Exit status 0 only when every scenario passed.
set -uo pipefail
cd "$(dirname "$0")/../.."

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(redis_outage worker_sigkill beat_downtime two_beats postgres_restart)
declare -A limits=([redis_outage]=480 [worker_sigkill]=600 [beat_downtime]=420 [two_beats]=420 [postgres_restart]=300)
py=.venv/bin/python
mkdir -p bench/out/faults

template=""
cleanup() {
  # A script killed outright (timeout -s KILL) cannot clean up after itself: stop what it listed, by pid.
  local dir pid
  for dir in /tmp/sd-faults-*/; do
    [ -d "$dir" ] || continue
    [ "${dir%/}" = "$template" ] && continue
    if [ -f "$dir/pids" ]; then
      while read -r pid; do
        [ -n "$pid" ] && kill -CONT -- "-$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
      done <"$dir/pids"
    fi
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill -CONT "$pid" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
    fi
    if [ -f "$dir/pgdata/postmaster.pid" ]; then
      runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/pgdata" stop -m immediate >/dev/null 2>&1 ||
        /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/pgdata" stop -m immediate >/dev/null 2>&1
    fi
    rm -rf "$dir"
  done
}
finish() {
  cleanup
  [ -n "$template" ] && rm -rf "$template"
}
trap finish EXIT
trap 'exit 143' TERM INT

cleanup # leftovers of an earlier run that was killed
template=$(mktemp -d /tmp/sd-faults-template-XXXXXX)
echo "== making the migrated template cluster (once)"
if ! timeout -k 20 900 $py bench/faults/harness.py --make-template "$template"; then
  echo "FAIL could not make the template cluster"
  exit 2
fi
export FAULTS_PGDATA_TEMPLATE="$template/pgdata" FAULTS_STATIC_ROOT="$template/static"

declare -A verdicts took
failed=0
for s in "${scenarios[@]}"; do
  limit=${limits[$s]:-300}
  echo
  echo "== $s (at most $((limit + 60)) s)"
  start=$(date +%s)
  # The script stops itself at its own limit (SIGALRM); timeout is the backstop.
  timeout -k 20 $((limit + 60)) $py "bench/faults/$s.py" --time-limit "$limit"
  rc=$?
  took[$s]=$(($(date +%s) - start))
  if [ $rc -eq 0 ]; then verdicts[$s]=PASS; else verdicts[$s]=FAIL; failed=$((failed + 1)); fi
  cleanup
done

echo
echo "== summary"
for s in "${scenarios[@]}"; do
  printf '%-5s %-18s %4ss\n' "${verdicts[$s]}" "$s" "${took[$s]}"
done
echo "$((${#scenarios[@]} - failed)) passed, $failed failed"
[ $failed -eq 0 ]
