#!/usr/bin/env python3
"""Footprint of one chaos-agent: idle, and holding 64 active faults.

Run from the repository root after building:
    python3 bench/agent_footprint.py --build build [--window 60] [--faults 64] \
        [--config NAME=PATH_TO_CHAOS_AGENT ...] [--no-strip] [--libraries 12]

For each agent binary (by default BUILD/bin/chaos-agent as built, and a copy
stripped with `objcopy --strip-all`; `--config` names others, e.g. a build
of an earlier commit for a "before") it starts
`chaos-agent --listen 127.0.0.1:0 --state-dir D --port-file F`, lets it
settle, then samples /proc/PID once a second for --window seconds:
  RSS, RssAnon, RssFile  VmRSS and its parts from /proc/PID/status (median, kB)
  threads                Threads from /proc/PID/status (maximum)
  CPU                    utime+stime from /proc/PID/stat over the window, in
                         % of one CPU (the kernel counts in 10 ms ticks: one
                         tick in 60 s is 0.017 %), and the same from the
                         threads' run time in /proc/PID/task/*/schedstat
                         (nanoseconds; a thread that ends in the window is
                         not counted)
Then the same with --faults active faults: one experiment of that many
parallel processPause steps (`chaosctl run`), each pausing its own `sleep`
process, sampled once every sleep is stopped, and left to end on its own
(each sleep must be running again afterwards, or the script fails).
Last, for each binary, what each mapped file (and the anonymous
memory) contributes to the idle agent's RSS, summed from /proc/PID/smaps,
and the agent's threads by name.
Prints Markdown tables. The machine is shared: run it when it is quiet.
"""
import argparse
import collections
import os
import statistics
import subprocess
import tempfile
import time

from bench_util import TICKS, cpu_ticks, remove_work, start_agent, status_fields, wait_for

SETTLE_S = 5


def run_ns(pid):
    """Nanoseconds on a CPU of the threads alive now (/proc/PID/task/*/schedstat)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def sample(pid, window):
    """Samples /proc/PID once a second for `window` seconds."""
    rss, anon, file_, threads = [], [], [], []
    start_ticks, start_ns, start = cpu_ticks(pid), run_ns(pid), time.monotonic()
    for _ in range(int(window)):
        time.sleep(1)
        s = status_fields(pid)
        rss.append(int(s["VmRSS"]))
        anon.append(int(s["RssAnon"]))
        file_.append(int(s["RssFile"]))
        threads.append(int(s["Threads"]))
    seconds = time.monotonic() - start
    ticks = cpu_ticks(pid) - start_ticks
    ns = run_ns(pid) - start_ns
    return {
        "rss": statistics.median(rss), "anon": statistics.median(anon),
        "file": statistics.median(file_), "threads": max(threads),
        "cpu": 100.0 * ticks / TICKS / seconds,
        "cpu_ns": 100.0 * ns / 1e9 / seconds,
    }


def rss_by_mapping(pid):
    """kB of RSS per mapped file ('[anon]' for anonymous memory), largest first."""
    totals = collections.Counter()
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                name = os.path.basename(path) if path.startswith("/") else "[anon]"
                if path in ("[heap]", "[stack]"):
                    name = "[anon]"
                elif path.startswith("["):
                    name = path
            elif parts[0] == "Rss:":
                totals[name] += int(parts[1])
    return totals.most_common()


def thread_names(pid):
    names = collections.Counter()
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                names[f.read().strip()] += 1
        except FileNotFoundError:
            pass
    return names


def process_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def experiment(pids, duration_s):
    lines = ["name: agent footprint bench", "method:"]
    for i, pid in enumerate(pids):
        lines.append("  - {id: pause%d, duration: %ds, fault: {processPause: {target: {pid: %d}}}}"
                     % (i, duration_s, pid))
    return "\n".join(lines) + "\n"


def under_load(chaosctl, agent_pid, address, work, n, window):
    """Samples the agent while it holds n processPause faults, one per sleep."""
    sleeps = [subprocess.Popen(["sleep", "100000"]) for _ in range(n)]
    try:
        path = os.path.join(work, "load.yaml")
        with open(path, "w") as f:
            f.write(experiment([s.pid for s in sleeps], window + 3 * SETTLE_S + 10))
        run = subprocess.Popen([chaosctl, "run", path, "--agent", address, "--output",
                                os.path.join(work, "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stopped = lambda: all(process_state(s.pid) == "T" for s in sleeps)
        if not wait_for(stopped, 60):
            run.kill()
            raise RuntimeError("the %d faults did not all take: %s" % (n, run.communicate()[0]))
        time.sleep(SETTLE_S)
        result = sample(agent_pid, window)
        out, _ = run.communicate(timeout=window + 120)
        if run.returncode != 0:
            raise RuntimeError("chaosctl run exited %d: %s" % (run.returncode, out[-2000:]))
        if not wait_for(lambda: not any(process_state(s.pid) == "T" for s in sleeps), 30):
            raise RuntimeError("a paused sleep was not resumed")
        return result
    finally:
        for s in sleeps:
            s.kill()
            s.wait()


def measure(name, binary, chaosctl, work, args, details):
    proc, address = start_agent(binary, os.path.join(work, name))
    try:
        time.sleep(SETTLE_S)
        idle = sample(proc.pid, args.window)
        if details is not None:
            details["mappings"] = rss_by_mapping(proc.pid)
            details["threads"] = thread_names(proc.pid)
        load = under_load(chaosctl, proc.pid, address, os.path.join(work, name), args.faults,
                          args.window) if args.faults > 0 else None
        return idle, load
    finally:
        proc.terminate()
        proc.wait()


def mb(kb):
    return "%.1f MB" % (kb / 1024.0)


def print_tables(results, details, args):
    print("| agent | binary | state | RSS | RssAnon | RssFile | threads | CPU | CPU (schedstat) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, size, idle, load in results:
        for state, r in (("idle", idle), ("%d faults" % args.faults, load)):
            if r is None:
                continue
            print("| %s | %s | %s | %s | %s | %s | %d | %.3f %% | %.3f %% |" % (
                name, mb(size / 1024.0), state, mb(r["rss"]), mb(r["anon"]), mb(r["file"]),
                r["threads"], r["cpu"], r["cpu_ns"]))
    for name, _, _, _ in results:
        mappings = details[name]["mappings"]
        total = sum(kb for _, kb in mappings)
        print()
        print("| mapping (idle %s) | RSS | share |" % name)
        print("|---|---|---|")
        for path, kb in mappings[:args.libraries]:
            print("| %s | %s | %.0f %% |" % (path, mb(kb), 100.0 * kb / total))
        rest = sum(kb for _, kb in mappings[args.libraries:])
        print("| (%d others) | %s | %.0f %% |" % (
            max(0, len(mappings) - args.libraries), mb(rest), 100.0 * rest / total))
        print()
        print("threads (idle %s): %s" % (name, ", ".join(
            "%s x%d" % (n, c) if c > 1 else n
            for n, c in sorted(details[name]["threads"].items()))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--window", type=float, default=60, help="seconds sampled per state")
    ap.add_argument("--faults", type=int, default=64, help="active faults under load (0: none)")
    ap.add_argument("--config", action="append", help="NAME=PATH of a chaos-agent binary")
    ap.add_argument("--no-strip", action="store_true", help="skip the stripped copy")
    ap.add_argument("--libraries", type=int, default=12, help="mappings listed")
    args = ap.parse_args()
    chaosctl = os.path.join(args.build, "bin/chaosctl")
    work = tempfile.mkdtemp(prefix="agent-footprint-")
    try:
        configs = [tuple(c.split("=", 1)) for c in args.config or []]
        if not configs:
            configs = [("as built", os.path.join(args.build, "bin/chaos-agent"))]
            if not args.no_strip:
                stripped = os.path.join(work, "chaos-agent.stripped")
                subprocess.run(["objcopy", "--strip-all", configs[0][1], stripped], check=True)
                configs.append(("stripped", stripped))
        results, details = [], {}  # details: name -> mappings and threads
        for i, (name, binary) in enumerate(configs):
            details[name] = {}
            idle, load = measure("agent%d" % i, binary, chaosctl, work, args, details[name])
            results.append((name, os.path.getsize(binary), idle, load))
        print_tables(results, details, args)
    finally:
        remove_work(work)


if __name__ == "__main__":
    main()
