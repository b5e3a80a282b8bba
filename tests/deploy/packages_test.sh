#!/bin/bash
# The Debian packages, installed for real into a throwaway root: CPack
# builds them twice from this build tree (an older version, then the
# current one), and each step runs in a root that is an overlayfs over the
# machine's own / (writes go to a temporary upper directory), entered with
# chroot in new mount, PID and network namespaces, so nothing on the
# machine changes and every mount and process goes with the namespaces.
#   packages_test.sh BUILD_DIR VERSION OPERATIONS_MD
# Checks: stripped binaries with their debug symbols in the -dbgsym
# packages; dpkg -i; the system user, state directories and conffiles; the
# binaries run from /usr/bin (--version; the agent and the controller serve
# on the namespace's loopback and chaosctl talks to them); man pages and
# completion; systemd-analyze verify on the installed units (and that it
# catches broken copies) and their security exposure; the agent's
# capability bounding set is the table of OPERATIONS_MD; a missing config
# (unit condition, the binary's message); an upgrade keeps an edited
# conffile and the state; dpkg -r keeps config and state only; dpkg --purge
# removes those too. docs/OPERATIONS.md, "Packages".
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

# The exposure levels (x10) the units may not exceed: docs/OPERATIONS.md.
readonly AGENT_EXPOSURE_MAX=32 CONTROLLER_EXPOSURE_MAX=11

# ---- inside the namespaces: ROOT is the overlay's mount point ----------
ENV=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
     DEBIAN_FRONTEND=noninteractive)
in_root() { chroot "$ROOT" "${ENV[@]}" "$@"; }

# Waits (generously) until FILE exists in the root; fails if PID died first.
wait_for_file() {
  local file=$1 pid=$2
  for _ in $(seq 1200); do
    [ -s "$ROOT$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the process that should write $file exited"
    sleep 0.1
  done
  fail "$file never appeared"
}

dpkg_status() { in_root dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true; }

# Every path a package holds outside /etc, as in its .deb.
deb_paths() {
  dpkg-deb -c "$1" | awk '{print $NF}' | sed 's,^\.,,' | grep -v '^/etc/' | grep -v '/$'
}

check_debs() {
  local deb bin id
  for deb in "$PKGS"/new/chaos-agent_*.deb "$PKGS"/new/chaos-controller_*.deb; do
    local x; x=$(mktemp -d "$SCRATCH/x.XXXX")
    dpkg-deb -x "$deb" "$x"
    local ddeb=${deb%.deb}; ddeb="$(dirname "$deb")/$(basename "$ddeb" | sed 's/_\([^_]*\)_\([^_]*\)$/-dbgsym_\1_\2/').ddeb"
    [ -f "$ddeb" ] || fail "no debug symbols package $ddeb beside $deb"
    dpkg-deb -x "$ddeb" "$x/dbg"
    for bin in "$x"/usr/bin/*; do
      if readelf -S "$bin" | grep '\.debug_info' >/dev/null; then
        fail "$(basename "$bin") in $deb is not stripped"
      fi
      id=$(readelf -n "$bin" | awk '/Build ID/ {print $3}')
      [ -n "$id" ] || fail "$(basename "$bin") has no build id"
      [ -f "$x/dbg/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ] ||
        fail "$(basename "$ddeb") has no debug file for $(basename "$bin") (build id $id)"
    done
  done
  echo "ok: stripped binaries, debug symbols in the -dbgsym packages"
}

install_version() {
  local dir=$1
  cp "$PKGS/$dir"/chaos-agent_*.deb "$PKGS/$dir"/chaos-controller_*.deb "$ROOT/tmp/"
  in_root sh -c 'dpkg -i /tmp/chaos-agent_*.deb /tmp/chaos-controller_*.deb </dev/null' ||
    fail "dpkg -i of the $dir packages"
  rm -f "$ROOT"/tmp/*.deb
  for p in chaos-agent chaos-controller; do
    [ "$(dpkg_status $p)" = "ii " ] || fail "$p is not installed after dpkg -i ($dir)"
  done
}

check_installed() {
  local v
  for b in chaos-agent chaos-controller chaosctl; do
    v=$(in_root /usr/bin/$b --version) || fail "/usr/bin/$b --version"
    [ "$v" = "$VERSION" ] || fail "/usr/bin/$b --version says '$v', want $VERSION"
    in_root man -w $b >/dev/null || fail "no manual page for $b"
  done
  in_root bash -c 'source /usr/share/bash-completion/completions/chaosctl && complete -p chaosctl' \
    >/dev/null || fail "bash completion of chaosctl not installed"
  [ -f "$ROOT/usr/share/zsh/vendor-completions/_chaosctl" ] || fail "zsh completion not installed"
  in_root getent passwd chaos-controller >/dev/null || fail "no system user chaos-controller"
  [ "$(in_root stat -c %U:%a /var/lib/chaos-controller)" = chaos-controller:700 ] ||
    fail "/var/lib/chaos-controller is not chaos-controller's, mode 700"
  [ "$(in_root stat -c %U:%a /var/lib/chaos-agent)" = root:700 ] ||
    fail "/var/lib/chaos-agent is not root's, mode 700"
  local conffiles
  for pf in chaos-agent:agent.conf chaos-agent:agent-policy.yaml \
            chaos-controller:controller.conf chaos-controller:command-policy.yaml; do
    conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' "${pf%%:*}")
    grep -q " /etc/chaos/${pf#*:} " <<<"$conffiles" ||
      fail "/etc/chaos/${pf#*:} is not a conffile of ${pf%%:*}"
  done
  echo "ok: binaries, manual pages, completion, user, state directories, conffiles"
}

# systemd-analyze verify must say nothing about the installed units, and
# must complain about a broken copy (so this check can fail).
check_units() {
  local out units=(/usr/lib/systemd/system/chaos-agent.service /usr/lib/systemd/system/chaos-controller.service)
  out=$(in_root systemd-analyze verify "${units[@]}" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify complains: $out"
  mkdir -p "$ROOT/tmp/broken"
  local broken=("s/^ProtectSystem=strict/ProtectSystm=strict/" "s/^ProtectSystem=strict/ProtectSystem=stric/"
                "s,^ExecStart=/usr/bin/chaos-agent,ExecStart=/usr/bin/chaos-agen,")
  for edit in "${broken[@]}"; do
    sed "$edit" "$ROOT${units[0]}" > "$ROOT/tmp/broken/chaos-agent.service"
    out=$(in_root systemd-analyze verify /tmp/broken/chaos-agent.service 2>&1 || true)
    [ -n "$out" ] || fail "systemd-analyze verify accepts a unit broken by '$edit'"
  done
  rm -rf "$ROOT/tmp/broken"
  in_root systemd-analyze security --offline=true --threshold=$AGENT_EXPOSURE_MAX \
    chaos-agent.service | tail -1 || fail "chaos-agent.service exposure above ${AGENT_EXPOSURE_MAX}/10"
  in_root systemd-analyze security --offline=true --threshold=$CONTROLLER_EXPOSURE_MAX \
    chaos-controller.service | tail -1 ||
    fail "chaos-controller.service exposure above ${CONTROLLER_EXPOSURE_MAX}/10"
  echo "ok: systemd-analyze verify clean (and it catches broken copies), exposure within bounds"
}

# The agent unit's CapabilityBoundingSet is exactly the documented table
# (rows "| `NAME` |" under the heading "Capabilities"), the one the
# Kubernetes manifest is held to; the controller's is empty.
check_capabilities() {
  local documented unit
  documented=$(awk '/^#+ / {t = /Capabilities/} t && /^\| `[A-Z_]+` \|/ {
    gsub(/[|` ]/, "", $2); print "CAP_" $2}' FS='|' "$DOCS" | sort | tr '\n' ' ')
  unit=$(sed -n 's/^CapabilityBoundingSet=//p' "$ROOT/usr/lib/systemd/system/chaos-agent.service" |
    tr ' ' '\n' | sort | tr '\n' ' ')
  [ -n "$documented" ] || fail "$DOCS: no capability table"
  [ "$unit" = "$documented" ] ||
    fail "chaos-agent.service bounds capabilities to [$unit], $DOCS documents [$documented]"
  [ "$(sed -n 's/^CapabilityBoundingSet=//p' "$ROOT/usr/lib/systemd/system/chaos-controller.service")" = "" ] ||
    fail "chaos-controller.service keeps a capability"
  echo "ok: the agent unit's capabilities are the documented ones: $unit"
}

# Without its config the unit's condition fails and the binary says what to
# write; with it, the condition holds.
check_missing_config() {
  local out
  for d in agent controller; do
    in_root systemd-analyze condition --unit=chaos-$d.service >/dev/null 2>&1 ||
      fail "chaos-$d.service's conditions fail with /etc/chaos/$d.conf in place"
    mv "$ROOT/etc/chaos/$d.conf" "$ROOT/tmp/$d.conf"
    if in_root systemd-analyze condition --unit=chaos-$d.service >/dev/null 2>&1; then
      fail "chaos-$d.service would start without /etc/chaos/$d.conf"
    fi
    set +e
    out=$(in_root /usr/bin/chaos-$d --config /etc/chaos/$d.conf 2>&1); local rc=$?
    set -e
    [ $rc = 2 ] || fail "chaos-$d without its config exits $rc, want 2: $out"
    grep -q "/etc/chaos/$d.conf: cannot read it; write it" <<<"$out" ||
      fail "chaos-$d without its config does not say what to write: $out"
    mv "$ROOT/tmp/$d.conf" "$ROOT/etc/chaos/$d.conf"
  done
  echo "ok: without config the units do not start and the binaries say what to write"
}

# The agent and the controller serve on the namespace's loopback with the
# packaged config, and chaosctl talks to them; they leave their state.
check_serving() {
  # Started by chroot itself (not a function) so that $! is the daemon.
  chroot "$ROOT" "${ENV[@]}" /usr/bin/chaos-agent --config /etc/chaos/agent.conf \
    --port-file /tmp/agent.port >"$SCRATCH/agent.log" 2>&1 &
  local agent=$!
  chroot "$ROOT" "${ENV[@]}" setpriv --reuid=chaos-controller --regid=chaos-controller \
    --init-groups /usr/bin/chaos-controller --config /etc/chaos/controller.conf \
    --port-file /tmp/controller.port >"$SCRATCH/controller.log" 2>&1 &
  local controller=$!
  wait_for_file /tmp/agent.port $agent
  wait_for_file /tmp/controller.port $controller
  in_root /usr/bin/chaosctl faults --agent 127.0.0.1:7070 >/dev/null ||
    fail "chaosctl faults against the installed agent: $(cat "$SCRATCH/agent.log")"
  in_root /usr/bin/chaosctl runs --controller 127.0.0.1:7071 >/dev/null ||
    fail "chaosctl runs against the installed controller: $(cat "$SCRATCH/controller.log")"
  kill -TERM $agent $controller
  wait $agent || fail "the agent did not stop cleanly: $(cat "$SCRATCH/agent.log")"
  wait $controller || fail "the controller did not stop cleanly: $(cat "$SCRATCH/controller.log")"
  rm -f "$ROOT"/tmp/*.port
  [ -n "$(ls -A "$ROOT/var/lib/chaos-agent")" ] || fail "the agent left no state"
  [ -f "$ROOT/var/lib/chaos-controller/history.db" ] || fail "the controller left no history"
  echo "ok: the installed agent and controller serve; chaosctl reaches them"
}

state_digest() {
  (cd "$ROOT" && find var/lib/chaos-agent var/lib/chaos-controller -type f -print0 | sort -z |
    xargs -0 sha256sum)
}

check_upgrade() {
  echo "listen = \"127.0.0.1:7070\"  # edited" >>"$ROOT/etc/chaos/agent.conf"
  local conf; conf=$(sha256sum <"$ROOT/etc/chaos/agent.conf")
  local state; state=$(state_digest)
  install_version new
  [ "$(in_root dpkg-query -W -f='${Version}' chaos-agent)" = "$VERSION" ] ||
    fail "chaos-agent is not at $VERSION after the upgrade"
  [ "$(sha256sum <"$ROOT/etc/chaos/agent.conf")" = "$conf" ] ||
    fail "the upgrade did not keep the edited /etc/chaos/agent.conf"
  [ "$(state_digest)" = "$state" ] || fail "the upgrade changed the state"
  echo "ok: the upgrade from $OLD_VERSION kept the edited conffile and the state"
}

check_remove() {
  in_root dpkg -r chaos-agent chaos-controller </dev/null || fail "dpkg -r"
  local p f
  for p in agent controller; do
    [ "$(dpkg_status chaos-$p)" = "rc " ] || fail "chaos-$p is not in config-files state after -r"
    while read -r f; do
      if [ -e "$ROOT$f" ]; then fail "dpkg -r left $f"; fi
    done < <(deb_paths "$PKGS"/new/chaos-${p}_*.deb)
    [ -f "$ROOT/etc/chaos/$p.conf" ] || fail "dpkg -r removed /etc/chaos/$p.conf"
  done
  [ -n "$(ls -A "$ROOT/var/lib/chaos-agent")" ] || fail "dpkg -r removed the agent's state"
  [ -f "$ROOT/var/lib/chaos-controller/history.db" ] || fail "dpkg -r removed the history"
  in_root dpkg --purge chaos-agent chaos-controller </dev/null || fail "dpkg --purge"
  for p in agent controller; do
    [ -z "$(dpkg_status chaos-$p)" ] || [ "$(dpkg_status chaos-$p)" = "un " ] ||
      fail "chaos-$p still known to dpkg after --purge: $(dpkg_status chaos-$p)"
    if [ -e "$ROOT/var/lib/chaos-$p" ]; then fail "dpkg --purge left /var/lib/chaos-$p"; fi
  done
  if [ -e "$ROOT/etc/chaos" ]; then fail "dpkg --purge left /etc/chaos: $(ls -A "$ROOT/etc/chaos")"; fi
  echo "ok: dpkg -r keeps only config and state; dpkg --purge removes them too"
}

inside() {
  mount -t overlay overlay -o "lowerdir=/,upperdir=$SCRATCH/upper,workdir=$SCRATCH/work" "$ROOT" ||
    fail "cannot mount an overlayfs over / at $ROOT"
  mount -t proc proc "$ROOT/proc"
  mount --rbind /dev "$ROOT/dev"
  mount -t tmpfs tmpfs "$ROOT/run"
  mount -t tmpfs tmpfs "$ROOT/tmp"
  # What a daemon run by hand on this machine left there is not the
  # packages' (a root-owned history would be read-only to the controller's
  # user): hidden in the overlay only, the machine's copy untouched.
  rm -rf "$ROOT/var/lib/chaos-agent" "$ROOT/var/lib/chaos-controller" "$ROOT/etc/chaos"
  ip link set lo up
  install_version old
  check_installed_old
  check_units
  check_capabilities
  check_missing_config
  check_serving
  check_upgrade
  check_installed
  check_units
  check_remove
}

check_installed_old() {
  local v; v=$(in_root /usr/bin/chaos-agent --version) || fail "/usr/bin/chaos-agent --version"
  [ "$(in_root dpkg-query -W -f='${Version}' chaos-agent)" = "$OLD_VERSION" ] ||
    fail "chaos-agent is not at $OLD_VERSION"
  echo "ok: the $OLD_VERSION packages install"
}

# ---- outside: build the packages, then run `inside` in the namespaces --
if [ "${1:-}" = --inside ]; then
  inside
  exit 0
fi

BUILD=$(cd "$1" && pwd)
export VERSION=$2 OLD_VERSION="$2~prev" DOCS; DOCS=$(realpath "$3")
[ "$(id -u)" = 0 ] || fail "needs root (unshare, mount, chroot, dpkg)"
export SCRATCH; SCRATCH=$(mktemp -d /tmp/chaos-packages.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
export PKGS=$SCRATCH/pkgs ROOT=$SCRATCH/root
mkdir -p "$SCRATCH/upper" "$SCRATCH/work" "$ROOT" "$PKGS"
for v in old:$OLD_VERSION new:$VERSION; do
  cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$PKGS/${v%%:*}" \
    -D CPACK_PACKAGE_VERSION="${v#*:}" >"$SCRATCH/cpack-${v%%:*}.log" 2>&1 ||
    fail "cpack ${v#*:}: $(cat "$SCRATCH/cpack-${v%%:*}.log")"
done
check_debs
unshare --mount --pid --net --fork --propagation private "$0" --inside
echo "PASS"
