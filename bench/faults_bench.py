#!/usr/bin/env python3
"""Benchmarks the host faults against their usual peers, side by side.

Run as root from the repository root after building:
    python3 bench/faults_bench.py --build build [--repeats 3] [--fill-gib 10]

1. CPU burn accuracy: chaos CpuBurn vs `stress-ng --cpu N --cpu-load P`,
   N in {1, 2}, P in {25, 50, 75}, 10 s windows (after 1 s warm-up),
   alternating tool per run. Load is measured from outside, from the
   workers' utime+stime in /proc/<pid>/stat.
2. Disk fill of --fill-gib GiB on a scratch ext4 filesystem in a loop-mounted
   sparse image made here (removed at the end): DiskFill time-to-target vs
   `dd if=/dev/zero bs=4M conv=fdatasync` writing the same size; achieved
   size from statvfs.
3. Kill latency: ProcessKill.Inject by pid (and by regex over /proc) until
   the child is reaped, vs kill(2)+waitpid, over --kills runs.
Prints a Markdown table; medians of the runs.
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return 0
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        if int(s[s.rindex(")") + 2:].split()[1]) == ppid:
            out.append(int(d))
    return out


def measure(pids, window):
    t0 = time.monotonic()
    a = sum(ticks(p) for p in pids)
    time.sleep(window)
    b = sum(ticks(p) for p in pids)
    wall = time.monotonic() - t0
    return 100.0 * (b - a) / CLK_TCK / wall / len(pids)


def burn_chaos(bench, n, p, window):
    proc = subprocess.Popen([bench, "burn", str(n), str(p), str(window + 2)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    pids = [int(x) for x in line[1].split(",")]
    time.sleep(1)
    load = measure(pids, window)
    proc.wait()
    return load


def burn_stress(n, p, window):
    proc = subprocess.Popen(["stress-ng", "--cpu", str(n), "--cpu-load", str(p),
                             "--timeout", f"{window + 2}s", "--quiet"])
    time.sleep(1)
    pids = children(proc.pid)
    if len(pids) != n:
        time.sleep(0.5)
        pids = children(proc.pid)
    load = measure(pids, window)
    proc.wait()
    return load


def cpu_section(bench, repeats, window):
    rows = []
    for n in (1, 2):
        for p in (25, 50, 75):
            ours, peer = [], []
            for _ in range(repeats):
                ours.append(burn_chaos(bench, n, p, window))
                peer.append(burn_stress(n, p, window))
            mo, mp = statistics.median(ours), statistics.median(peer)
            rows.append((n, p, mo, abs(mo - p), mp, abs(mp - p)))
            print(f"cpu n={n} p={p}: chaos {ours} stress-ng {peer}", file=sys.stderr)
    return rows


def used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def fill_section(bench, repeats, gib):
    size = gib << 30
    work = tempfile.mkdtemp(prefix="chaos-bench-", dir="/var/tmp")
    img, mnt = os.path.join(work, "fs.img"), os.path.join(work, "mnt")
    os.mkdir(mnt)
    subprocess.run(["truncate", "-s", f"{gib + 2}G", img], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", img], check=True)
    subprocess.run(["mount", "-o", "loop", img, mnt], check=True)
    ours, ours_err, peer, peer_err = [], [], [], []
    try:
        for _ in range(repeats):
            out = subprocess.run([bench, "fill", mnt, str(size)], check=True,
                                 capture_output=True, text=True).stdout.split()
            ours.append(float(out[1]))
            ours_err.append(100.0 * abs(int(out[5]) - size) / size)
            before = used(mnt)
            t0 = time.monotonic()
            subprocess.run(["dd", "if=/dev/zero", f"of={mnt}/dd.bin", "bs=4M",
                            f"count={size >> 22}", "conv=fdatasync", "status=none"], check=True)
            peer.append(1000 * (time.monotonic() - t0))
            peer_err.append(100.0 * abs(used(mnt) - before - size) / size)
            os.unlink(f"{mnt}/dd.bin")
            subprocess.run(["sync"], check=True)
            print(f"fill: chaos {ours[-1]:.1f} ms dd {peer[-1]:.0f} ms", file=sys.stderr)
    finally:
        subprocess.run(["umount", mnt], check=False)
        os.unlink(img)
        os.rmdir(mnt)
        os.rmdir(work)
    return (statistics.median(ours), statistics.median(ours_err),
            statistics.median(peer), statistics.median(peer_err))


def kill_section(bench, kills):
    res = {}
    for mode in ("pid", "regex"):
        args = [bench, "kill", str(kills)] + (["regex"] if mode == "regex" else [])
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        chaos = [float(l.split()[1]) for l in out.splitlines()]
        sysc = [float(l.split()[3]) for l in out.splitlines()]
        res[mode] = (statistics.median(chaos) / 1000, statistics.median(sysc) / 1000)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--fill-gib", type=int, default=10)
    ap.add_argument("--kills", type=int, default=200)
    a = ap.parse_args()
    bench = os.path.abspath(os.path.join(a.build, "bench", "chaos-fault-bench"))
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cpu = cpu_section(bench, a.repeats, a.window)
    fill = fill_section(bench, a.repeats, a.fill_gib)
    kill = kill_section(bench, a.kills)
    load1 = os.getloadavg()
    cpus = os.cpu_count()
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
    peer = subprocess.run(["stress-ng", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"Date: {started}; machine: {cpus} CPUs ({model}), kernel {platform.release()}; "
          f"load average at start {load0[0]:.2f}, at end {load1[0]:.2f}; peer: {peer}\n")
    print(f"### CPU burn accuracy (median of {a.repeats} runs, {a.window:.0f} s windows)\n")
    print("| workers | target % | chaos measured % | chaos abs err | stress-ng measured % "
          "| stress-ng abs err | err ratio chaos/stress-ng |")
    print("|---|---|---|---|---|---|---|")
    for n, p, mo, eo, mp, ep in cpu:
        ratio = f"{eo / ep:.2f}" if ep > 0 else "n/a"
        print(f"| {n} | {p} | {mo:.1f} | {eo:.1f} | {mp:.1f} | {ep:.1f} | {ratio} |")
    print(f"\n### Disk fill of {a.fill_gib} GiB on loop-mounted ext4 (median of {a.repeats})\n")
    print("| tool | time to target (ms) | achieved error % |")
    print("|---|---|---|")
    print(f"| chaos DiskFill (fallocate) | {fill[0]:.1f} | {fill[1]:.3f} |")
    print(f"| dd bs=4M conv=fdatasync | {fill[2]:.0f} | {fill[3]:.3f} |")
    print(f"| ratio dd/chaos | {fill[2] / fill[0]:.0f}x | |")
    print(f"\n### Kill latency, inject to reaped (median of {a.kills})\n")
    print("| selector | chaos ProcessKill (ms) | kill(2)+waitpid (ms) | ratio |")
    print("|---|---|---|---|")
    for mode, (c, s) in kill.items():
        print(f"| {mode} | {c:.2f} | {s:.2f} | {c / s:.2f} |")


if __name__ == "__main__":
    main()
