#!/usr/bin/env bash
# Closes the current WAL segment (pg_switch_wal) and waits until the
# archiver has archived it, so the archive holds every transaction
# committed before this script started. Used by postgres-drill.yaml.
# Usage: pg-archive-now.sh SOCKET_DIR PORT
set -euo pipefail
sock=$1 port=$2
. "$(dirname "$0")/pg-common.sh"
segment=$(sql -c "select pg_walfile_name(pg_switch_wal())")
for _ in $(seq 600); do
  archived=$(sql -c "select coalesce(last_archived_wal, '') from pg_stat_archiver")
  if [[ -n "$archived" && ! "$archived" < "$segment" ]]; then
    echo "archived through $archived"
    exit 0
  fi
  sleep 0.05
done
echo "WAL segment $segment was not archived within 30s (archive_command failing?)" >&2
exit 1
