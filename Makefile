# Thin wrapper: install what the build needs, configure, build, test, demo.
# Run as root on Debian 12 (bookworm). See README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Every Debian package the build, the tests, the demo and the benchmarks use.
PACKAGES := cmake g++ make pkg-config \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  libnl-3-dev libnl-route-3-dev libnftables-dev libabsl-dev libspdlog-dev \
  libgtest-dev libgmock-dev googletest libyaml-cpp-dev libcli11-dev \
  libsqlite3-dev libcpp-httplib-dev libre2-dev zlib1g-dev nlohmann-json3-dev libssl-dev openssl \
  iproute2 nftables kmod procps user-mode-linux stress-ng chromium e2fsprogs util-linux \
  python3 redis-server redis-tools

.PHONY: all deps build test demo clean

all: build

# Installs only what is missing, so a prepared machine does not touch apt.
deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCHAOS_WERROR=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600

demo: build
	./deploy/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)
