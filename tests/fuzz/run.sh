#!/usr/bin/env bash
# Runs fuzz targets of a CHAOS_FUZZ build, one after another, each for
# SECONDS on its seed corpus (corpus/NAME/, read only) plus a working corpus
# in BUILD/fuzz/NAME/corpus that keeps what earlier runs found. Fails on the
# first crash, sanitizer report, leak, timeout (10 s for one input) or
# out-of-memory, leaving the input in BUILD/fuzz/NAME/artifacts/ and the
# log in BUILD/fuzz/NAME/log.
#
#   tests/fuzz/run.sh BUILD SECONDS [TARGET...]     (default: every target)
# Extra libFuzzer flags go in FUZZ_FLAGS, e.g. FUZZ_FLAGS=-runs=10000000.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1"
seconds="$2"
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(experiment_fuzzer inventory_fuzzer agent_policy_fuzzer agent_request_fuzzer
           cron_fuzzer command_policy_fuzzer)
fi

passed=0
for target in "${targets[@]}"; do
  name="${target%_fuzzer}"
  work="$build/fuzz/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         -artifact_prefix="$work/artifacts/")
  case "$name" in
    experiment|inventory|agent_policy|command_policy) flags+=(-dict="$here/yaml.dict") ;;
  esac
  start=$(date +%s)
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  if ! "$build/tests/fuzz/$target" "${flags[@]}" ${FUZZ_FLAGS:-} \
       "$work/corpus" "$here/corpus/$name" >"$work/log" 2>&1; then
    tail -n 60 "$work/log"
    echo "$target: FAILED after $(( $(date +%s) - start )) s; input in $work/artifacts/," \
         "log in $work/log"
    echo "$passed passed, 1 failed"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  echo "$target: ${runs:-?} inputs in $(( $(date +%s) - start )) s, no crash" \
       "(corpus: $(ls "$work/corpus" | wc -l) inputs)"
  passed=$((passed + 1))
done
echo "$passed passed, 0 failed"
