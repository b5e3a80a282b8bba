#!/bin/sh
# Boots the user-mode-linux guest and runs netem_bench inside it: our libnl
# path vs tc, alternating, same kernel, same run.
# usage: bench/netem_bench.sh [BUILD_DIR] [ROUNDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
rounds=${2:-30}
"$here/../tests/kernel/uml_run.sh" -t 600 -l "$build/tests/uml_launcher" -- "$build/bench/netem_bench" "$rounds" |
  grep -E '^(BENCH|rounds|ours:)'
