#!/usr/bin/env bash
# make demo: start a local agent on loopback and a victim process, run the
# bundled CPU-burn experiment against them, print the report, and leave
# nothing running or behind (also when interrupted).
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$BUILD"
WORK=$(mktemp -d /tmp/chaos-demo.XXXXXX)
AGENT_PID= VICTIM_PID=

cleanup() {
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null || true
  [ -n "$VICTIM_PID" ] && kill "$VICTIM_PID" 2>/dev/null && wait "$VICTIM_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The victim: a small service the experiment should not break.
( while :; do sleep 0.2; done ) &
VICTIM_PID=$!

"$BIN/agent/chaos-agent" --listen 127.0.0.1:0 --state-dir "$WORK/state" \
  --port-file "$WORK/port" --label role=demo >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { echo "demo: the agent did not start:"; cat "$WORK/agent.log"; exit 1; }
AGENT=127.0.0.1:$(cat "$WORK/port")
echo "demo: agent on $AGENT, victim pid $VICTIM_PID"

set +e
"$BIN/controller/chaosctl" run "$ROOT/experiments/cpu-burn.yaml" --agent "$AGENT"
rc=$?
set -e

# Prove the rollback from outside: no burner left, victim still alive.
left=$(pgrep -x chaos-burn || true)
if [ -n "$left" ]; then echo "demo: FAIL: burners still running: $left"; exit 1; fi
kill -0 "$VICTIM_PID" || { echo "demo: FAIL: the victim died"; exit 1; }
echo "demo: chaosctl exited $rc; no burner left; victim $VICTIM_PID still running"
exit $rc
