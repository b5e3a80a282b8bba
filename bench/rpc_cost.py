#!/usr/bin/env python3
"""One unary call's cost to a gRPC server: the callback API (as chaos-agent
served until 2026-12-04) against the synchronous server with a fixed poller
pool and the asynchronous server with threads blocking on its completion
queue (as chaos-agent serves now, with one thread).

Each round starts one server of each kind in turn (alternating, since
these machines are noisy), sends it CALLS KeepAlive calls from CONCURRENCY
client threads, and reads from /proc the server's CPU time (utime+stime)
and the task switches of its threads. Prints a Markdown table.

  python3 bench/rpc_cost.py --build build [--calls 20000] [--concurrency 4]
      [--rounds 5] [--pollers 1 2] [--async-threads 1 2]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_util  # noqa: E402


def switches(pid):
    """Task switches (voluntary and not) of PID's live threads."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            fields = bench_util.status_fields(int(tid))
        except FileNotFoundError:  # the thread ended
            continue
        total += int(fields["voluntary_ctxt_switches"])
        total += int(fields["nonvoluntary_ctxt_switches"])
    return total


def measure(binary, serve, calls, concurrency):
    """Starts `binary serve[0] PORT_FILE serve[1:]`, drives it, kills it."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        server = subprocess.Popen([binary, serve[0], port_file] + serve[1:])
        try:
            if not bench_util.wait_for(lambda: os.path.exists(port_file) and
                                       os.path.getsize(port_file) > 0, 30):
                raise RuntimeError("rpc_cost %s did not start" % serve[0])
            with open(port_file) as f:
                address = "127.0.0.1:" + f.read().strip()
            return drive(binary, server.pid, address, calls, concurrency)
        finally:
            server.kill()
            server.wait()


def drive(binary, pid, address, calls, concurrency):
    call = [binary, "call", address]
    subprocess.run(call + ["500", str(concurrency)], check=True)  # warm up
    ticks0, switches0 = bench_util.cpu_ticks(pid), switches(pid)
    t0 = time.monotonic()
    subprocess.run(call + [str(calls), str(concurrency)], check=True)
    wall = time.monotonic() - t0
    ticks1, switches1 = bench_util.cpu_ticks(pid), switches(pid)
    return {
        "cpu_us": (ticks1 - ticks0) * 1e6 / bench_util.TICKS / calls,
        "switches": (switches1 - switches0) / calls,
        "wall_us": wall * 1e6 / calls,
        "threads": len(os.listdir("/proc/%d/task" % pid)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pollers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--async-threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    binary = os.path.join(args.build, "bench", "rpc_cost")
    variants = [("callback", ["serve-callback"])] + [
        ("sync, %d poller(s)" % p, ["serve-sync", str(p)]) for p in args.pollers] + [
        ("async, %d thread(s)" % t, ["serve-async", str(t)]) for t in args.async_threads]
    results = {name: [] for name, _ in variants}
    for _ in range(args.rounds):
        for name, serve in variants:
            results[name].append(measure(binary, serve, args.calls, args.concurrency))
    print("Date: %s UTC; %d CPUs; load average %.2f" %
          (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), os.cpu_count(), os.getloadavg()[0]))
    print(f"{args.calls} KeepAlive calls from {args.concurrency} client threads, "
          f"{args.rounds} rounds, medians\n")
    print("| server | CPU per call (µs) | ratio to callback | task switches per call "
          "| client wall per call (µs) | threads |")
    print("|---|---|---|---|---|---|")
    base = statistics.median(r["cpu_us"] for r in results["callback"])
    for name, _ in variants:
        rs = results[name]
        cpu = statistics.median(r["cpu_us"] for r in rs)
        print(f"| {name} | {cpu:.1f} | {cpu / base:.2f} | "
              f"{statistics.median(r['switches'] for r in rs):.2f} | "
              f"{statistics.median(r['wall_us'] for r in rs):.1f} | "
              f"{max(r['threads'] for r in rs)} |")


if __name__ == "__main__":
    main()
