#!/usr/bin/env bash
# Restores a Redis data directory from an RDB backup and starts Redis on
# it, then waits until Redis answers. The backup is checked first
# (redis-check-rdb): a damaged backup fails the restore before anything is
# written to DATA_DIR. Used by experiments/examples/redis-drill.yaml.
# Usage: redis-restore.sh BACKUP_RDB DATA_DIR PORT RUN_DIR
set -euo pipefail
backup=$1 dir=$2 port=$3 run=$4
[ -f "$backup" ] || { echo "no backup at $backup" >&2; exit 1; }
if ! check=$(redis-check-rdb "$backup" 2>&1); then
  echo "the backup $backup is damaged: $(grep -m1 -E '^\[offset [0-9]+\]' <<<"$check" || echo "redis-check-rdb failed")" >&2
  exit 1
fi
# A server killed a moment ago may still hold the port: wait until it is gone.
if [ -f "$run/redis.pid" ]; then
  old=$(cat "$run/redis.pid")
  for _ in $(seq 600); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
fi
mkdir -p "$dir"
cp "$backup" "$dir/dump.rdb.tmp"
mv "$dir/dump.rdb.tmp" "$dir/dump.rdb"
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
  --daemonize yes --pidfile "$run/redis.pid" --save "" --appendonly no \
  --logfile "$run/redis.log"
for _ in $(seq 200); do
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && exit 0
  sleep 0.05
done
echo "redis did not come back on port $port" >&2
exit 1
