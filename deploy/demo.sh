#!/usr/bin/env bash
# make demo: start a local agent on loopback and a victim process, run the
# bundled demo experiment (a CPU burn, and a pause of the victim with its
# recovery time measured), print the report, and leave nothing running or
# behind, also when interrupted.
# Usage: deploy/demo.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$BUILD" in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
WORK=$(mktemp -d /tmp/chaos-demo.XXXXXX)
AGENT_PID= VICTIM_PID=

cleanup() {
  if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
  if [ -n "$VICTIM_PID" ]; then kill -CONT "$VICTIM_PID" 2>/dev/null || true; kill "$VICTIM_PID" 2>/dev/null || true; wait "$VICTIM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The victim: writes a heartbeat (ms since the epoch) ten times a second.
export HEARTBEAT=$WORK/heartbeat VICTIM_PIDFILE=$WORK/victim.pid
bash -c 'while :; do date +%s%3N > "$HEARTBEAT.tmp" && mv "$HEARTBEAT.tmp" "$HEARTBEAT"; sleep 0.1; done' &
VICTIM_PID=$!
echo "$VICTIM_PID" > "$VICTIM_PIDFILE"

"$BIN/bin/chaos-agent" --listen 127.0.0.1:0 --state-dir "$WORK/state" \
  --port-file "$WORK/port" --label role=demo >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && [ -s "$HEARTBEAT" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { echo "demo: the agent did not start:"; cat "$WORK/agent.log"; exit 1; }
AGENT=127.0.0.1:$(cat "$WORK/port")
echo "demo: agent on $AGENT, victim pid $VICTIM_PID"

set +e
"$BIN/bin/chaosctl" run "$ROOT/experiments/examples/demo.yaml" --agent "$AGENT" --output "$BIN/demo-report"
rc=$?
set -e

# Prove the rollback from outside: no burner left, the victim runs again.
left=$(pgrep -x chaos-burn -P "$AGENT_PID" || true)
[ -z "$left" ] || { echo "demo: FAIL: burners still running: $left"; exit 1; }
state=$(awk '{print $3}' "/proc/$VICTIM_PID/stat" 2>/dev/null || echo gone)
case "$state" in S|R) ;; *) echo "demo: FAIL: the victim is '$state', not running"; exit 1 ;; esac
echo "demo: chaosctl exited $rc; nothing left: no burner, victim $VICTIM_PID running (state $state)"
exit $rc
