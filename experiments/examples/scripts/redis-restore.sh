#!/usr/bin/env bash
# Restores a Redis data directory from a backup file and starts Redis on it,
# then waits until Redis answers. Used by experiments/examples/backup-restore.yaml.
# Usage: redis-restore.sh BACKUP_RDB DATA_DIR PORT
set -euo pipefail
backup=$1 dir=$2 port=$3
mkdir -p "$dir"
cp "$backup" "$dir/dump.rdb"
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
  --daemonize yes --pidfile "$dir/redis.pid" --save "" --appendonly no \
  --logfile "$dir/redis.log"
for _ in $(seq 100); do
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && exit 0
  sleep 0.05
done
echo "redis did not come back on port $port" >&2
exit 1
