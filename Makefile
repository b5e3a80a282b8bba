# Thin wrapper: install what the build needs, configure, build, test, demo.
# Run as root on Debian 12 (bookworm). See README.md.
BUILD ?= build
# The unit suite under ASan and UBSan (gcc), part of `make test`.
ASAN_BUILD ?= build-asan
# The libFuzzer targets (clang), for `make fuzz` and `make fuzz-campaign` only;
# the campaign's YAML targets run in a build with UBSan only (docs/SECURITY.md).
FUZZ_BUILD ?= build-fuzz
FUZZ_UB_BUILD ?= build-fuzz-ub
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Every Debian package the build, the tests, the demo and the benchmarks use.
PACKAGES := cmake g++ make pkg-config \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  libnl-3-dev libnl-route-3-dev libnftables-dev libabsl-dev libspdlog-dev \
  libgtest-dev libgmock-dev googletest libyaml-cpp-dev libcli11-dev \
  libsqlite3-dev libcpp-httplib-dev libre2-dev zlib1g-dev nlohmann-json3-dev libssl-dev openssl \
  iproute2 nftables kmod procps user-mode-linux stress-ng chromium e2fsprogs util-linux strace \
  python3 zsh help2man man-db systemd dpkg-dev binutils redis-server redis-tools postgresql clang-14 libclang-rt-14-dev prometheus \
  etcd-server etcd-client
# Node.js and npm run the Kubernetes manifests' check (tests/kubernetes) and
# the dashboard's browser test (tests/browser).
# They are installed only where the node or npm command is missing: a
# nodejs package from elsewhere may bundle npm and conflict with Debian's.
NODE_PACKAGES := nodejs npm
# Their npm packages, pinned by each folder's package-lock.json.
NODE_MODULES := tests/kubernetes/node_modules/.package-lock.json \
  tests/browser/node_modules/.package-lock.json

.PHONY: all deps stop-daemons build test test-sanitized reliability-doc package fuzz fuzz-campaign demo \
  agent-footprint fleet-bench clean

all: build

# Installs only what is missing, so a prepared machine does not touch apt.
deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  missing="$$missing $(NODE_PACKAGES)"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing && \
	  $(MAKE) --no-print-directory stop-daemons; \
	fi

# The tests need only promtool from the prometheus package, and start
# etcd clusters of their own: the servers these packages' installation may
# have started are stopped and kept from starting at boot.
DAEMONS := prometheus etcd
stop-daemons:
	-@for d in $(DAEMONS); do \
	  if [ -d /run/systemd/system ]; then \
	    $(SUDO) systemctl disable --now $$d.service 2>/dev/null; \
	  elif [ -x /etc/init.d/$$d ]; then \
	    $(SUDO) /etc/init.d/$$d stop >/dev/null; $(SUDO) update-rc.d $$d disable 2>/dev/null; \
	  fi; \
	done; true

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCHAOS_WERROR=ON

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCHAOS_WERROR=ON -DCHAOS_SANITIZE=ON

$(FUZZ_BUILD)/CMakeCache.txt:
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++-14 -DCHAOS_FUZZ=ON

$(FUZZ_UB_BUILD)/CMakeCache.txt:
	cmake -S . -B $(FUZZ_UB_BUILD) -DCMAKE_CXX_COMPILER=clang++-14 -DCHAOS_FUZZ=ON \
	  -DCHAOS_FUZZ_SANITIZE=undefined

build: deps $(BUILD)/CMakeCache.txt $(NODE_MODULES)
	cmake --build $(BUILD) -j $(JOBS)

# Exactly what the lock file names (npm ci), again whenever it changes.
tests/%/node_modules/.package-lock.json: tests/%/package-lock.json | deps
	cd tests/$* && npm ci --no-audit --no-fund

# The whole suite, then the unit suite again under ASan and UBSan.
test: build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600
	$(MAKE) --no-print-directory test-sanitized

# Only the tests labelled `unit` (tests/CMakeLists.txt) are built and run.
test-sanitized: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests
	cd $(ASAN_BUILD) && ctest -L unit --output-on-failure -j 2 --timeout 600

# docs/RELIABILITY.md from the reliability suite's results, which `make test`
# (or `ctest -L reliability` in $(BUILD)) writes.
reliability-doc:
	python3 tests/reliability/make_doc.py $(BUILD)/reliability/results.jsonl docs/RELIABILITY.md

# The Debian packages chaos-agent and chaos-controller (with chaosctl), and
# their -dbgsym packages, from the build tree: $(BUILD)/packages/
# (deploy/packages.cmake, docs/OPERATIONS.md "Packages").
package: build
	cd $(BUILD) && cpack -G DEB -B packages

# Each fuzz target for FUZZ_SECONDS on its corpus; fails on any crash.
fuzz: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The long campaign: FUZZ_RUNS inputs per target, one target after another
# (hours on 2 cores). The fast targets under ASan and UBSan, the YAML ones
# under UBSan only and inputs up to 2 KiB: docs/SECURITY.md, "The long campaign".
fuzz-campaign: deps $(FUZZ_BUILD)/CMakeCache.txt $(FUZZ_UB_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target cron_fuzzer agent_request_fuzzer
	cmake --build $(FUZZ_UB_BUILD) -j $(JOBS) --target fuzz_targets
	FUZZ_FLAGS="-runs=$(FUZZ_RUNS)" tests/fuzz/run.sh $(FUZZ_BUILD) 86400 \
	  cron_fuzzer agent_request_fuzzer
	FUZZ_FLAGS="-runs=$(FUZZ_RUNS) -max_len=2048" tests/fuzz/run.sh $(FUZZ_UB_BUILD) 86400 \
	  experiment_fuzzer inventory_fuzzer agent_policy_fuzzer command_policy_fuzzer

demo: build
	./deploy/demo.sh $(BUILD)

# A benchmark, not a test: one agent's resident memory, threads and CPU,
# idle and holding 64 faults, and what each library costs it (about 5 min;
# docs/BENCHMARKS.md, "Agent footprint").
agent-footprint: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target chaos-agent chaosctl
	python3 bench/agent_footprint.py --build $(BUILD)

# A benchmark, not a test: FLEET_AGENTS agents on loopback through one
# controller: registration, idle footprint, inject spread, abort -> every
# fault reverted, HaltAll (docs/BENCHMARKS.md, "Fleet: N agents through the
# controller"). 1000 agents need about 8 GB of free memory.
# FLEET_FAULT: memory (a child per agent), burn, or pause (a dummy of each
# agent's own stopped; no process started).
FLEET_AGENTS ?= 100,300
FLEET_REPEATS ?= 10
FLEET_FAULT ?= memory
fleet-bench: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target chaos-agent chaos-controller chaosctl
	python3 bench/fleet.py --build $(BUILD) --agents $(FLEET_AGENTS) --repeats $(FLEET_REPEATS) \
	  --fault $(FLEET_FAULT)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_UB_BUILD) tests/kubernetes/node_modules \
	  tests/browser/node_modules
