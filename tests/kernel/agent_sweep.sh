#!/bin/sh
# Runs inside the user-mode-linux guest (see uml_run.sh): the ledger is lost.
# A chaos-agent with a netem fault active on lo is killed with SIGKILL (and
# so is the chaosctl that drove it), then its whole state directory is
# deleted; then a root qdisc with our handle (ca05:) is added by hand on a
# veth, beside a foreign root qdisc (handle 1:) on its peer. A new agent with a
# fresh state directory must delete both of our qdiscs before it serves and
# leave the foreign one alone. tc is the independent oracle.
# Usage: agent_sweep.sh BUILD_DIR
set -u
BIN=$1
W=$(mktemp -d /mnt/sweep.XXXXXX)
fail() { echo "agent_sweep: FAIL: $*"; tc qdisc show; exit 1; }

start_agent() {  # STATE_DIR
  rm -f "$W/port"
  "$BIN/bin/chaos-agent" --listen 127.0.0.1:0 --state-dir "$1" \
    --port-file "$W/port" >>"$W/agent.log" 2>&1 &
  AGENT=$!
  for _ in $(seq 200); do [ -s "$W/port" ] && return 0; sleep 0.05; done
  cat "$W/agent.log"; fail "agent did not start"
}

cat > "$W/netem.yaml" <<YAML
name: sweep-netem
method:
  - id: slow
    duration: 5m
    fault:
      netem: {interface: lo, delay: 50ms, ports: [9999]}
YAML

ip link add sw0 type veth peer name sw1 || fail "cannot create a veth pair"
ip link set sw0 up && ip link set sw1 up
tc qdisc add dev sw1 root handle 1: prio || fail "cannot add a foreign qdisc on sw1"

start_agent "$W/state1"
PORT=$(cat "$W/port")
"$BIN/bin/chaosctl" run "$W/netem.yaml" --agent "127.0.0.1:$PORT" --lease 5m \
  >"$W/chaosctl.log" 2>&1 &
CTL=$!
for _ in $(seq 200); do tc qdisc show dev lo | grep -q netem && break; sleep 0.05; done
tc qdisc show dev lo | grep -q netem || { cat "$W/chaosctl.log" "$W/agent.log"; fail "netem never appeared"; }
kill -9 "$AGENT" "$CTL"
wait "$AGENT" "$CTL" 2>/dev/null
rm -rf "$W/state1"
# Added now: the first agent's own start-up sweep would have removed it.
tc qdisc add dev sw0 root handle ca05: netem delay 10ms || fail "cannot add our qdisc on sw0"
[ -e "$W/state1" ] && fail "the state directory is still there"
tc qdisc show dev lo | grep -q "qdisc prio ca05:" || fail "our qdisc vanished without a sweep: the test proves nothing"
tc qdisc show dev sw0 | grep -q "qdisc netem ca05:" || fail "our qdisc on sw0 is not there"
: > "$W/agent.log"  # only the new agent's lines from here
echo "agent_sweep: agent killed and its ledger deleted; left: $(tc qdisc show | tr '\n' ';')"

start_agent "$W/state2"  # the port file is written once the sweep is done
tc qdisc show dev lo | grep -q "ca05:" && { cat "$W/agent.log"; fail "our qdisc on lo survived the sweep"; }
tc qdisc show dev lo | grep -qE "qdisc (prio|netem)" && fail "a qdisc of ours is left on lo"
tc filter show dev lo | grep -q . && fail "a filter is left on lo: $(tc filter show dev lo)"
tc qdisc show dev sw0 | grep -q "ca05:" && { cat "$W/agent.log"; fail "our qdisc on sw0 survived the sweep"; }
tc qdisc show dev sw1 | grep -q "qdisc prio 1: root" || fail "the foreign qdisc on sw1 was touched"
for dev in lo sw0; do
  grep -q "audit action=sweep kind=netem item=\"$dev root .* ca05:0\" result=\"removed\"" "$W/agent.log" \
    || { cat "$W/agent.log"; fail "no sweep audit line for $dev"; }
done
"$BIN/bin/chaosctl" faults --agent "127.0.0.1:$(cat "$W/port")" --all > "$W/faults.txt"
grep -q "slow" "$W/faults.txt" && fail "the fresh ledger knows the old fault"
kill "$AGENT"; wait "$AGENT" 2>/dev/null
ip link del sw0
echo "agent_sweep: PASS"
