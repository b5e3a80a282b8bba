#!/usr/bin/env bash
# Runs N replicas of a small web service under a supervisor that restarts
# any replica that dies, like systemd's Restart=always would. Each replica
# is python3's http.server on 127.0.0.1:PORT, named "chaos-replica" in its
# command line so a processKill can target it.
# Usage: replicas.sh PORT [PORT...]   (runs until killed; kills its replicas)
set -u
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; exit 0' TERM INT
supervise() {
  local port=$1
  while :; do
    (exec -a chaos-replica python3 -m http.server "$port" --bind 127.0.0.1 \
       --directory /var/empty >/dev/null 2>&1)
    sleep 0.5  # restart delay, as a supervisor would have
  done
}
for port in "$@"; do
  supervise "$port" &
  pids+=($!)
done
wait
