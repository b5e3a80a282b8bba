#!/bin/sh
# Runs inside the user-mode-linux guest (see uml_run.sh): the bundled
# experiments/examples/web-latency.yaml, for real, against a web server on lo.
# The HTTP probe must see the added latency while the fault is active
# (guard samples slower than the delay), the run must pass, and after it
# no qdisc of ours is left (tc as the oracle).
# Usage: web_latency.sh BUILD_DIR SOURCE_DIR
set -u
BIN=$1 SRC=$2
W=$(mktemp -d /mnt/web.XXXXXX)
fail() { echo "web_latency: FAIL: $*"; exit 1; }
mkdir -p "$W/site" && echo ok > "$W/site/index.html"
/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory "$W/site" >/dev/null 2>&1 &
WEB=$!
"$BIN/bin/chaos-agent" --listen 127.0.0.1:0 --state-dir "$W/state" --port-file "$W/port" \
  --label role=web >"$W/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 200); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { cat "$W/agent.log"; fail "agent did not start"; }
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done
# Warm the server up: its first answer pays for python's lazy imports.
/usr/bin/python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/").read()'

WEB_PORT=8080 DELAY=200ms JITTER=0ms FOR=3s MAX_LATENCY=2s IFACE=lo \
  "$BIN/bin/chaosctl" run "$SRC/experiments/examples/web-latency.yaml" \
  --agent "127.0.0.1:$(cat "$W/port")" --output "$W/out" > "$W/run.log" 2>&1
rc=$?
cat "$W/run.log"
kill "$AGENT" "$WEB"; wait "$AGENT" "$WEB" 2>/dev/null
[ "$rc" = 0 ] || fail "chaosctl exited $rc"
json=$(ls "$W"/out/*.json)
# Guard samples taken while the fault was on: at least three slower than the
# 200 ms delay (a request and its answer both cross lo: 2 x 200 ms), and the
# sample before the fault well under the delay (100 ms).
slow=$(/usr/bin/python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
print(sum(1 for p in r["probes"] if p["phase"]=="guard" and p["ok"] and p["latency_ms"]>=200))
' "$json")
fast=$(/usr/bin/python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
print(sum(1 for p in r["probes"] if p["phase"]=="steady-state-before" and p["latency_ms"]<100))
' "$json")
echo "web_latency: $slow slow guard samples, $fast fast sample(s) before"
[ "$slow" -ge 3 ] || fail "the probe never saw the latency"
[ "$fast" -ge 1 ] || fail "the service was already slow before the fault"
tc qdisc show dev lo | grep -qE "qdisc (prio|netem)" && fail "a qdisc is left: $(tc qdisc show dev lo)"
echo "web_latency: PASS"
