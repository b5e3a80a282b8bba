#!/usr/bin/env bash
# Writes the seed inputs of agent_request_fuzzer: real Inject and KeepAlive
# requests, one per fault kind and a few refused ones, each written here as
# protobuf text and encoded with protoc into corpus/agent_request/.
# Run from anywhere: tests/fuzz/make_request_seeds.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto"
out="$here/corpus/agent_request"
mkdir -p "$out"

seed() {  # NAME MESSAGE TEXT
  protoc --proto_path="$proto" --encode="chaos.v1.$2" chaos/v1/agent.proto \
    <<<"$3" >"$out/$1.bin"
}

ids='fault_id: "exp-1.burn" experiment_id: "exp-1"'
dur='duration { seconds: 30 }'
seed cpu_burn InjectRequest "spec { $ids $dur cpu_burn { workers: 2 load_percent: 50 ramp { seconds: 5 } } } lease { seconds: 15 } caller: \"ops\""
seed cpu_closed_loop InjectRequest "spec { $ids $dur cpu_burn { cpus: [0, 1] target_total_percent: 40 cgroup: \"/sys/fs/cgroup/app\" } }"
seed process_kill InjectRequest "spec { $ids $dur process_kill { target { name: \"redis-server\" count: 1 seed: 7 } signal: 9 interval { nanos: 500000000 } } }"
seed process_pause InjectRequest "spec { $ids $dur process_pause { target { pidfile: \"/run/victim.pid\" } } }"
seed process_regex InjectRequest "spec { $ids $dur process_kill { target { cmdline_regex: \"^postgres: (checkpointer|walwriter)\" percent: 50 } } }"
seed disk_fill InjectRequest "spec { $ids $dur disk_fill { directory: \"/var/tmp/fill\" target_percent: 90 } }"
seed disk_fill_bytes InjectRequest "spec { $ids $dur disk_fill { directory: \"/var/tmp\" bytes: 1048576 allow_agent_state_filesystem: true } }"
seed memory_pressure InjectRequest "spec { $ids $dur memory_pressure { percent_of_available: 75 lock: true } }"
seed netem InjectRequest "spec { $ids $dur netem { interface: \"eth0\" delay { nanos: 100000000 } jitter { nanos: 20000000 } distribution: \"normal\" loss_percent: 1.5 reorder_percent: 10 reorder_gap: 3 rate_bytes_per_second: 125000 destination_cidrs: [\"10.0.0.0/8\", \"2001:db8::/32\"] ports: [5432, 6379] } }"
seed partition InjectRequest "spec { $ids $dur partition { cidrs: [\"10.1.2.3/32\"] ports: [443] direction: DIRECTION_INGRESS } }"
seed data_loss InjectRequest "spec { $ids $dur data_loss { paths: [\"/srv/pg/main\", \"/srv/pg/wal\"] when_restored: WHEN_RESTORED_PUT_ORIGINAL_BACK } }"
seed bad_duration InjectRequest "spec { $ids duration { seconds: -1 nanos: 5 } cpu_burn { } }"
seed bad_id InjectRequest "spec { fault_id: \"../etc\" experiment_id: \"e\" $dur cpu_burn { } }"
seed no_kind InjectRequest "spec { $ids $dur }"
seed keep_alive KeepAliveRequest "experiment_id: \"exp-1\" lease { seconds: 30 }"
seed keep_alive_bad KeepAliveRequest "experiment_id: \"\" lease { seconds: 1 nanos: -1 }"
