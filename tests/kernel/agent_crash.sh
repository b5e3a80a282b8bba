#!/bin/sh
# Runs inside the user-mode-linux guest (see uml_run.sh): a chaos-agent with
# a netem fault active is killed with SIGKILL (and so is the chaosctl that
# drove it); the qdisc stays, as nothing reverted it. A new agent on the same
# state directory must remove it within 2 seconds of starting and record the
# fault as reverted by recovery. tc is the independent oracle.
# Usage: agent_crash.sh BUILD_DIR
set -u
BIN=$1
W=$(mktemp -d /mnt/crash.XXXXXX)
fail() { echo "agent_crash: FAIL: $*"; tc qdisc show dev lo; exit 1; }

start_agent() {
  rm -f "$W/port"
  "$BIN/bin/chaos-agent" --listen 127.0.0.1:0 --state-dir "$W/state" \
    --port-file "$W/port" >>"$W/agent.log" 2>&1 &
  AGENT=$!
  for _ in $(seq 200); do [ -s "$W/port" ] && return 0; sleep 0.05; done
  cat "$W/agent.log"; fail "agent did not start"
}

cat > "$W/netem.yaml" <<YAML
name: crash-netem
method:
  - id: slow
    duration: 5m
    fault:
      netem: {interface: lo, delay: 50ms, ports: [9999]}
YAML

start_agent
PORT=$(cat "$W/port")
"$BIN/bin/chaosctl" run "$W/netem.yaml" --agent "127.0.0.1:$PORT" --lease 5m \
  >"$W/chaosctl.log" 2>&1 &
CTL=$!
for _ in $(seq 200); do tc qdisc show dev lo | grep -q netem && break; sleep 0.05; done
tc qdisc show dev lo | grep -q netem || { cat "$W/chaosctl.log" "$W/agent.log"; fail "netem never appeared"; }
echo "agent_crash: netem active: $(tc qdisc show dev lo | tr '\n' ';')"

kill -9 "$AGENT" "$CTL"
wait "$AGENT" "$CTL" 2>/dev/null
sleep 0.5
tc qdisc show dev lo | grep -q netem || fail "netem vanished without a revert: the test proves nothing"
echo "agent_crash: agent and chaosctl killed; netem still there"

start=$(date +%s%N)
start_agent
gone=""
for _ in $(seq 40); do
  if ! tc qdisc show dev lo | grep -q netem; then gone=1; break; fi
  sleep 0.05
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ -n "$gone" ] || { cat "$W/agent.log"; fail "netem still there ${elapsed_ms} ms after the restart"; }
echo "agent_crash: netem removed ${elapsed_ms} ms after the restart"
tc qdisc show dev lo | grep -qE "qdisc (prio|netem)" && fail "a qdisc of ours is left: $(tc qdisc show dev lo)"
tc filter show dev lo | grep -q . && fail "a filter is left: $(tc filter show dev lo)"
"$BIN/bin/chaosctl" faults --agent "127.0.0.1:$(cat "$W/port")" --all > "$W/faults.txt"
grep -q "reverted.*recovery" "$W/faults.txt" || { cat "$W/faults.txt"; fail "the ledger does not say reverted by recovery"; }
grep "recovery: reverted 1 fault" "$W/agent.log" >/dev/null || fail "no recovery line in the agent log"
kill "$AGENT"; wait "$AGENT" 2>/dev/null
echo "agent_crash: PASS"
