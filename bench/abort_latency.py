#!/usr/bin/env python3
"""Time from abort to the first revert while a long command step runs.

Run as root from the repository root after building:
    python3 bench/abort_latency.py --build build [--runs 10]

Each run starts a chaos-agent on loopback and `chaosctl run` of an
experiment with a CPU burn beside a 5-minute command step (a shell that
waits on `sleep 300`), waits until both are running, sends SIGINT to
chaosctl, and reads the run's JSON journal (--output): the interval from
the `abort` event to the first `revert` event, and to the last one. Before
command steps were cancellable, the revert waited for the command to end
(5 minutes). Prints a Markdown table of medians and maxima.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time

from bench_util import start_agent, wait_for

EXPERIMENT = """name: abort latency
method:
  - {id: burn, duration: 5m, fault: {cpuBurn: {workers: 1, loadPercent: 10}}}
  - id: long
    command: {run: [/bin/sh, -c, 'echo $$ > %(pgid)s; sleep 300 & wait'], timeout: 5m}
"""


def one_run(build, work):
    agent, address = start_agent(os.path.join(build, "bin/chaos-agent"), work)
    pgid = os.path.join(work, "pgid")
    path = os.path.join(work, "exp.yaml")
    with open(path, "w") as f:
        f.write(EXPERIMENT % {"pgid": pgid})
    out = os.path.join(work, "report")
    log = open(os.path.join(work, "chaosctl.log"), "w")
    run = subprocess.Popen([os.path.join(build, "bin/chaosctl"), "run", path, "--agent", address,
                            "--output", out, "--run-id", "abort-bench"],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        if not wait_for(lambda: os.path.exists(pgid) and "inject" in open(log.name).read(), 20):
            raise RuntimeError("the run did not start: " + open(log.name).read())
        time.sleep(0.5)
        run.send_signal(signal.SIGINT)
        run.wait(timeout=60)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
    with open(os.path.join(out, "abort-bench.json")) as f:
        events = json.load(f)["events"]
    abort = next(e["at_unix_ms"] for e in events if e["type"] == "abort")
    reverts = [e["at_unix_ms"] for e in events if e["type"] == "revert"]
    return reverts[0] - abort, reverts[-1] - abort


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    first, last = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as work:
            a, b = one_run(os.path.abspath(args.build), work)
            first.append(a)
            last.append(b)
    print("| measure (ms, %d runs) | median | max |" % args.runs)
    print("|---|---|---|")
    print("| abort -> first revert | %d | %d |" % (statistics.median(first), max(first)))
    print("| abort -> last revert | %d | %d |" % (statistics.median(last), max(last)))


if __name__ == "__main__":
    main()
