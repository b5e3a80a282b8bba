#!/usr/bin/env bash
# Takes a base backup of a running PostgreSQL with pg_basebackup (plain
# format, its WAL streamed into it, with a backup manifest), into BACKUP_DIR
# through a temporary directory, so BACKUP_DIR is whole or absent. With WAL
# archiving on, the backup plus the archive restore to the latest archived
# transaction. Used by experiments/examples/postgres-drill.yaml.
# Usage: pg-backup.sh SOCKET_DIR PORT BACKUP_DIR
set -euo pipefail
sock=$1 port=$2 backup=$3
. "$(dirname "$0")/pg-common.sh"
rm -rf "$backup.tmp"
"$pg_bin/pg_basebackup" -h "$sock" -p "$port" -U postgres -D "$backup.tmp" -Fp -X stream \
  --checkpoint=fast
rm -rf "$backup"
mv "$backup.tmp" "$backup"
echo "backup: $(du -sb "$backup" | cut -f1) bytes"
