#!/usr/bin/env bash
# Runs N replicas of a small web service under a supervisor that restarts
# any replica that dies, like systemd's Restart=always would. Each replica
# is python3's http.server on 127.0.0.1:PORT, named "chaos-replica" in its
# command line so a processKill can target it.
# Usage: replicas.sh PORT [PORT...]   (runs until killed; kills its replicas)
set -u
pids=()
root=$(mktemp -d /tmp/chaos-replicas.XXXXXX)
echo ok > "$root/index.html"
trap 'kill "${pids[@]}" 2>/dev/null; pkill -f "^chaos-replica -m http.server" -P "$$" 2>/dev/null; rm -rf "$root"; exit 0' TERM INT
supervise() {
  local port=$1
  while :; do
    (exec -a chaos-replica /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 \
       --directory "$root" >/dev/null 2>&1)
    sleep 0.5  # restart delay, as a supervisor would have
  done
}
for port in "$@"; do
  supervise "$port" &
  pids+=($!)
done
wait
