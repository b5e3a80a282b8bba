#!/usr/bin/env python3
"""What one inject and revert of a pause fault costs a real agent: its CPU
time and the wall time per cycle, for one or more chaos-agent binaries
(say, before and after a change), alternating, since these machines are
noisy.

Each round starts every binary in turn on loopback with a fresh state
directory under WORK, pauses and resumes one `sleep` process CYCLES times
through the Agent API (`rpc_cost pause-cycles`) after a warm-up of
WARMUP cycles, and reads the agent's utime+stime from /proc. The warm-up
fills the agent's table of ended faults past --keep-ended (1000), as on an
agent that has run a while. Prints a Markdown table of medians.

  python3 bench/cycle_cost.py --build build [--agent BINARY ...]
      [--cycles 500] [--warmup 1100] [--rounds 3] [--work /dev/shm/cycle-cost]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_util  # noqa: E402


def measure(rpc_cost, agent, work, warmup, cycles):
    """Per-cycle agent CPU and wall time (ms) of `agent` in `work`."""
    victim = subprocess.Popen(["/usr/bin/sleep", "600"])
    proc, address = bench_util.start_agent(agent, work)
    try:
        def run(n):
            subprocess.run([rpc_cost, "pause-cycles", address, str(n), str(victim.pid)],
                           check=True)
        run(warmup)
        ticks0, t0 = bench_util.cpu_ticks(proc.pid), time.monotonic()
        run(cycles)
        wall = time.monotonic() - t0
        cpu = (bench_util.cpu_ticks(proc.pid) - ticks0) / bench_util.TICKS
        return {"cpu_ms": cpu * 1e3 / cycles, "wall_ms": wall * 1e3 / cycles}
    finally:
        proc.terminate()
        proc.wait()
        victim.kill()
        victim.wait()
        bench_util.remove_work(work)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--agent", action="append",
                        help="an agent binary (repeatable; default: the build's)")
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=1100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", default="/dev/shm/cycle-cost")
    args = parser.parse_args()
    rpc_cost = os.path.join(args.build, "bench", "rpc_cost")
    agents = args.agent or [os.path.join(args.build, "bin", "chaos-agent")]
    results = {a: [] for a in agents}
    for _ in range(args.rounds):
        for agent in agents:
            results[agent].append(measure(rpc_cost, agent, args.work, args.warmup,
                                          args.cycles))
    print("Date: %s UTC; %d CPUs; load average %.2f; state in %s" %
          (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), os.cpu_count(),
           os.getloadavg()[0], args.work))
    print(f"{args.cycles} pause cycles after {args.warmup} warm-up cycles, "
          f"{args.rounds} rounds, medians\n")
    print("| agent | agent CPU per cycle (ms) | ratio to the first | wall per cycle (ms) |")
    print("|---|---|---|---|")
    base = statistics.median(r["cpu_ms"] for r in results[agents[0]])
    for agent in agents:
        cpu = statistics.median(r["cpu_ms"] for r in results[agent])
        wall = statistics.median(r["wall_ms"] for r in results[agent])
        print(f"| {agent} | {cpu:.3f} | {cpu / base:.2f} | {wall:.3f} |")


if __name__ == "__main__":
    main()
