# Shared by the pg-*.sh scripts of experiments/examples/postgres-drill.yaml:
# how they reach the server (a Unix socket directory and a port, as the
# postgres role) and how they run a PostgreSQL program as the postgres user
# when started as root (the server refuses to run as root).
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# psql on the drill's database: sql [ARGS...]; -At output, stops on errors.
sql() {
  "$pg_bin/psql" -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

# Waits (at most 30 s) until the process of pid $1 is gone: a server killed
# a moment ago may still hold its socket and lock file.
wait_gone() {
  local pid=$1
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  echo "process $pid is still running" >&2
  return 1
}
