#!/usr/bin/env bash
# Prints one digest of the dataset: for each table named (comma-separated),
# its name, row count and the md5 of its rows (in the order of their text), then the
# md5 of those lines. Tables outside the list (the drill's canary) do not
# count. Used by experiments/examples/postgres-drill.yaml.
# Usage: pg-manifest.sh SOCKET_DIR PORT TABLE[,TABLE...]
set -euo pipefail
sock=$1 port=$2 tables=$3
. "$(dirname "$0")/pg-common.sh"
lines=""
IFS=, read -ra names <<<"$tables"
for t in "${names[@]}"; do
  [[ "$t" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "bad table name: $t" >&2; exit 2; }
  lines+="$t $(sql -c "select count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') from $t t")"$'\n'
done
md5sum <<<"$lines" | cut -d' ' -f1
