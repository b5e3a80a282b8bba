#!/usr/bin/env bash
# Takes an RDB backup of a running Redis: SAVE, then copies the dump file
# to BACKUP (through a temporary file, so BACKUP is whole or absent).
# Used by experiments/examples/redis-drill.yaml.
# Usage: redis-backup.sh PORT DATA_DIR BACKUP
set -euo pipefail
port=$1 dir=$2 backup=$3
redis-cli -p "$port" save | grep -qx OK || { echo "redis SAVE failed on port $port" >&2; exit 1; }
cp "$dir/dump.rdb" "$backup.tmp"
sync "$backup.tmp"
mv "$backup.tmp" "$backup"
echo "backup: $(stat -c %s "$backup") bytes"
