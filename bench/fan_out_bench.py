#!/usr/bin/env python3
"""Inject, end and revert spread of one fault step on many agents.

Run from the repository root after building:
    python3 bench/fan_out_bench.py --build build [--agents 100] [--runs 3] \
        [--config fan-out-1=build:1 --config fan-out-64=build:64]

Starts N chaos-agent processes on loopback, then for each configuration
(NAME=BUILD_DIR:FAN_OUT; a build of another commit gives a "before")
runs `chaosctl run --fan-out F --output DIR` of one 3 s CPU burn (1 worker
at 1 %) on every agent, alternating configurations run by run, and reads
the run's JSON journal (one host, one clock):
  inject spread  last - first injected_at (the agents' confirmations)
  end spread     last - first expires_at (the end each agent's timer holds;
                 not in journals of builds before the field existed)
  revert spread  last - first reverted_at (the run's revert confirmations)
  run            chaosctl's wall time
Prints a Markdown table of medians (ms) per configuration.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from bench_util import agent_address, remove_work, spawn_agent

EXPERIMENT = """name: fan-out bench
method:
  - {id: burn, duration: 3s, fault: {cpuBurn: {workers: 1, loadPercent: 1}}}
"""


def start_agents(binary, work, n):
    """Starts n agents at once, then waits for each; their processes and
    addresses."""
    spawned = [spawn_agent(binary, os.path.join(work, "agent%d" % i)) for i in range(n)]
    return [p for p, _ in spawned], [agent_address(p, f) for p, f in spawned]


def spread(values):
    values = [int(v) for v in values if v is not None]
    return max(values) - min(values) if values else None


def one_run(chaosctl, fan_out, addresses, work, run_id):
    path = os.path.join(work, "exp.yaml")
    with open(path, "w") as f:
        f.write(EXPERIMENT)
    out = os.path.join(work, "out")
    argv = [chaosctl, "run", path, "--run-id", run_id, "--output", out]
    if fan_out is not None:
        argv += ["--fan-out", str(fan_out)]
    for a in addresses:
        argv += ["--agent", a]
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True)
    took = (time.monotonic() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError("run %s exited %d: %s" % (run_id, done.returncode,
                                                     done.stdout[-2000:] + done.stderr[-2000:]))
    with open(os.path.join(out, run_id + ".json")) as f:
        faults = json.load(f)["faults"]
    if len(faults) != len(addresses):
        raise RuntimeError("run %s: %d faults" % (run_id, len(faults)))
    return {
        "inject": spread(f["injected_at_unix_ms"] for f in faults),
        "end": spread(f.get("expires_at_unix_ms") for f in faults),
        "revert": spread(f["reverted_at_unix_ms"] for f in faults),
        "run": took,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--config", action="append",
                    help="NAME=BUILD_DIR:FAN_OUT (FAN_OUT 'none': the build has no --fan-out)")
    args = ap.parse_args()
    configs = []
    for c in args.config or ["fan-out-1=%s:1" % args.build, "fan-out-64=%s:64" % args.build]:
        name, rest = c.split("=", 1)
        build, fan_out = rest.rsplit(":", 1)
        configs.append((name, os.path.join(build, "bin/chaosctl"),
                        None if fan_out == "none" else int(fan_out)))
    work = tempfile.mkdtemp(prefix="fan-out-bench-")
    procs = []
    try:
        procs, addresses = start_agents(os.path.join(args.build, "bin/chaos-agent"), work,
                                        args.agents)
        results = {name: [] for name, _, _ in configs}
        for i in range(args.runs):
            for name, chaosctl, fan_out in configs:
                run_id = "bench-%s-%d" % (name, i)
                results[name].append(one_run(chaosctl, fan_out, addresses, work, run_id))
        print("| configuration | agents | inject spread | end spread | revert spread | run |")
        print("|---|---|---|---|---|---|")
        for name, _, _ in configs:
            rs = results[name]
            med = {k: (statistics.median(r[k] for r in rs) if rs[0][k] is not None else None)
                   for k in rs[0]}
            ms = lambda v: "n/a" if v is None else "%d ms" % v
            print("| %s | %d | %s | %s | %s | %.1f s |" % (
                name, args.agents, ms(med["inject"]), ms(med["end"]), ms(med["revert"]),
                med["run"] / 1000))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        remove_work(work)


if __name__ == "__main__":
    main()
