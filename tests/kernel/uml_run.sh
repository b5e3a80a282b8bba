#!/bin/sh
# Boots a user-mode-linux kernel with the host's root filesystem (read-only)
# and runs one command inside it as root, with the qdisc modules loaded.
#
# usage: uml_run.sh [-t SECONDS] [-w WORKDIR] [-l LAUNCHER] -- COMMAND [ARGS...]
#
# LAUNCHER (or $CHAOS_UML_LAUNCHER) is a program that runs linux.uml for
# us: the build's uml_launcher, which makes UML save FP state in a format
# that hosts with AVX-512 or AMX accept (see tests/kernel/uml_launcher.cc).
#
# Exit status: the command's exit status inside the guest; 124 when the guest
# did not finish within SECONDS (default 240); 125 when the guest ended
# without printing the result marker (boot failure, crash); 126 when
# linux.uml is missing. The guest's console (the command's output) is copied
# to stdout. WORKDIR (default: a fresh directory under $TMPDIR) must be a
# directory on the host that is not under /tmp-mounted tmpfs in the guest;
# the init script is written there.
set -u
timeout_s=240
workdir=""
launcher=${CHAOS_UML_LAUNCHER:-}
while [ $# -gt 0 ]; do
  case "$1" in
    -t) timeout_s="$2"; shift 2 ;;
    -w) workdir="$2"; shift 2 ;;
    -l) launcher="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "usage: $0 [-t SECONDS] [-w WORKDIR] [-l LAUNCHER] -- COMMAND [ARGS...]" >&2
  exit 2
fi
UML=${CHAOS_UML:-/usr/bin/linux.uml}
if [ ! -x "$UML" ]; then
  echo "uml_run: $UML not found (apt-get install user-mode-linux)" >&2
  exit 126
fi
KVER=$(ls /usr/lib/uml/modules 2>/dev/null | head -n1)
if [ -z "$KVER" ]; then
  echo "uml_run: no modules under /usr/lib/uml/modules" >&2
  exit 126
fi
if [ -z "$workdir" ]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/chaos-uml.XXXXXX") || exit 2
  cleanup_dir=1
else
  mkdir -p "$workdir" || exit 2
  cleanup_dir=0
fi
workdir=$(cd "$workdir" && pwd)
marker="CHAOS_UML_RESULT_$$_$(date +%s%N)"
init="$workdir/init.sh"
{
  echo '#!/bin/sh'
  echo 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin'
  echo 'mount -t proc proc /proc'
  echo 'mount -t sysfs sysfs /sys'
  echo 'mount -t tmpfs tmpfs /mnt'
  echo 'mount -t tmpfs tmpfs /run'
  echo 'mount -t tmpfs tmpfs /dev/shm 2>/dev/null'
  echo "mkdir -p /mnt/lib/modules && ln -s /usr/lib/uml/modules/$KVER /mnt/lib/modules/$KVER"
  echo 'for m in ipv6 sch_netem sch_prio cls_u32 sch_tbf veth; do modprobe -d /mnt $m || echo "uml_run: modprobe $m failed"; done'
  echo 'ip link set lo up'
  echo 'export CHAOS_IN_UML=1 HOME=/mnt TMPDIR=/mnt'
  printf 'cd %s\n' "'$PWD'"
  printf '%s' ''
  for a in "$@"; do printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"; done
  echo
  echo 'rc=$?'
  echo "echo \"$marker rc=\$rc\""
  echo 'poweroff -f'
} > "$init"
chmod +x "$init"
log="$workdir/console.log"
# The guest's memory lives in a file under TMPDIR; keep it off small tmpfs.
# GLIBC_TUNABLES reaches init's environment from the command line: the
# guest's programs keep to SSE, since UML saves and restores only the FXSAVE
# part of the FPU state (see uml_launcher.cc) and would otherwise corrupt
# AVX and AVX-512 registers (seen: modprobe failing to parse modules).
tunables=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512BW,-AVX512CD,-AVX512DQ,-AVX512VL,-AVX_Fast_Unaligned_Load
timeout -k 10 "$timeout_s" $launcher "$UML" mem=512M rootfstype=hostfs rootflags=/ ro quiet \
  GLIBC_TUNABLES="$tunables" init="$init" con=null con0=null,fd:1 </dev/null >"$log" 2>&1
trc=$?
tr -d '\r' < "$log"
rc=$(tr -d '\r' < "$log" | sed -n "s/^$marker rc=\([0-9]*\)\$/\1/p" | tail -n1)
[ "$cleanup_dir" = 1 ] && rm -rf "$workdir"
if [ "$trc" = 124 ] || [ "$trc" = 137 ]; then
  echo "uml_run: guest did not finish within ${timeout_s}s" >&2
  exit 124
fi
if [ -z "$rc" ]; then
  echo "uml_run: result marker missing (guest exit $trc)" >&2
  exit 125
fi
exit "$rc"
