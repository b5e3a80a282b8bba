#!/usr/bin/env bash
# The drill's canary on PostgreSQL, in its own table (chaos_canary), apart
# from the dataset the manifest digests. `write MARKER` inserts a marker
# (committed, so acknowledged); `read` prints the newest marker present, or
# nothing when there is none. Used by postgres-drill.yaml.
# Usage: pg-canary.sh SOCKET_DIR PORT write MARKER | read
set -euo pipefail
sock=$1 port=$2 action=$3
. "$(dirname "$0")/pg-common.sh"
case "$action" in
  write)
    [[ "${4:-}" =~ ^[0-9]+$ ]] || { echo "write needs a numeric marker" >&2; exit 2; }
    sql -c "set client_min_messages = warning" \
        -c "create table if not exists chaos_canary (marker bigint primary key)" \
        -c "insert into chaos_canary values ($4)" ;;
  read) sql -c "select coalesce(max(marker)::text, '') from chaos_canary" ;;
  *) echo "usage: pg-canary.sh SOCKET_DIR PORT write MARKER | read" >&2; exit 2 ;;
esac
