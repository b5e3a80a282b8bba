#!/usr/bin/env bash
# Restores PostgreSQL from a base backup and its WAL archive, replaying the
# archive to its end (the latest archived transaction), then starts the
# server on it and waits until it accepts connections. The backup is
# verified against its manifest first (pg_verifybackup): a damaged backup
# fails the restore before anything is written to DATA_DIR. Used by
# experiments/examples/postgres-drill.yaml.
# Usage: pg-restore.sh BACKUP_DIR DATA_DIR ARCHIVE_DIR SOCKET_DIR PORT RUN_DIR
set -euo pipefail
backup=$1 data=$2 archive=$3 sock=$4 port=$5 run=$6
. "$(dirname "$0")/pg-common.sh"
[ -f "$backup/backup_manifest" ] || { echo "no base backup at $backup" >&2; exit 1; }
if ! check=$("$pg_bin/pg_verifybackup" "$backup" 2>&1); then
  echo "the backup $backup is damaged: $(head -n1 <<<"$check")" >&2
  exit 1
fi
[ ! -e "$data" ] || { echo "$data already exists: not restoring over it" >&2; exit 1; }
lock="$sock/.s.PGSQL.$port.lock"
if [ -f "$lock" ]; then wait_gone "$(head -n1 "$lock")"; fi
cp -a "$backup" "$data.restoring"
rm -f "$data.restoring/backup_manifest"
touch "$data.restoring/recovery.signal"
cat >>"$data.restoring/postgresql.auto.conf" <<CONF
restore_command = 'cp $archive/%f %p'
recovery_target_timeline = 'latest'
CONF
chown -R postgres:postgres "$data.restoring"
chmod 700 "$data.restoring"
mv "$data.restoring" "$data"
as_postgres "$pg_bin/pg_ctl" -D "$data" -l "$run/postgres.log" -w -t 60 start >/dev/null
# Ready means the archive was replayed and the server promoted.
for _ in $(seq 600); do
  [ "$(sql -c "select pg_is_in_recovery()" 2>/dev/null)" = f ] && exit 0
  sleep 0.05
done
echo "PostgreSQL did not finish recovery on port $port within 30s" >&2
exit 1
