#!/usr/bin/env python3
"""A fleet of real agents on loopback, driven through one controller.

Run from the repository root after building:
    python3 bench/fleet.py --build build --agents 100,300,1000 [--repeats 10] \
        [--window 15] [--fault memory|burn|pause] [--work-root DIR] [--controller-root DIR] \
        [--controller-flag=--fan-out=64 ...] [--tls]

For each N of --agents it starts one chaos-controller (SQLite history in a
temporary directory, plaintext on 127.0.0.1) and N chaos-agents on
127.0.0.1 with `--controller` (the controller's default heartbeats: every
5 s, or 50 a second in all past 250 agents), all in one
process group that is killed at the end, also on failure or Ctrl-C. The
faults (--fault) `memory` and `burn` make each agent start one child
process, which the script finds in /proc: `memory` (the default) holds 1
MiB in a child that then sleeps (chaos-mem), `burn` is 1 worker at 1 %
(chaos-burn; a thousand of them ask for 10 CPUs). `pause` starts no
process: it stops a `sleep` of the agent's own (processPause of the pid
in DUMMY/pid). Each agent then runs in a mount namespace of its own,
where a small tmpfs on the work directory's DUMMY holds its dummy's pid
file, so one experiment file names every agent's own dummy; "held" there
means the dummy is stopped (state T), "reverted" that it runs again. It
measures:
  registration  first agent started -> `chaosctl agents` lists N live
  controller    idle RSS and CPU over --window s with N registered agents,
                and per agent: (RSS - RSS before any agent) / N, CPU / N
  agents        idle RSS (median), RssAnon (median), the fleet's total PSS
                (memory shared between the agents, such as the binary's
                pages, counted once) and the fleet's CPU per agent
  inject spread a 3 s run through the controller (`chaosctl run
                --controller --detach`, then `chaosctl watch`): last - first
                injected_at in its journal
  abort         --repeats times: a run held for 10 minutes, once every agent
                holds the fault: `chaosctl abort`, then the time until none
                of the processes the script saw shows it (polled from
                outside every 5 ms; includes chaosctl's own start, ~20 ms),
                and from the journal the abort event -> last reverted_at;
                every fault must be reverted in the journal
  HaltAll       --repeats times, with the same held run: `chaosctl halt
                --controller` until it returns (every agent must be listed
                halted and no fault held), then `chaosctl resume`
Over each abort and HaltAll it also reads the CPU seconds (utime+stime)
the controller and the agents used, and prints them in a second table
beside what the agents use idle over as long: whose CPU the time went to.
p50 and p99 are nearest-rank over the repeats (with 10 repeats the p99 is
the maximum). Prints one Markdown row per N with the goals' verdicts (set
for 1000 agents: inject spread < 250 ms, abort -> all reverted p99 < 1 s,
HaltAll < 1 s) and the load average. An N whose agents would not fit in
the available memory is skipped with a note.

With --tls every hop is mutual TLS instead of plaintext: a development PKI
(deploy/pki/make-dev-pki.sh) in the work directory, one certificate that
every agent presents (spiffe://chaos/agent/fleet), the controller's, and
an operator's that an authz file makes admin (HaltAll needs it).
"""
import argparse
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from bench_util import TICKS, cpu_ticks, remove_work, spawn_agent, status_fields, wait_for

# The faults (--fault) and the name of the agent's child that shows one
# held: memory and burn start that child; pause stops it (the dummy).
# %(dummy)s is the directory of each agent's own dummy pid file.
FAULTS = {
    "memory": ("{memoryPressure: {bytes: 1048576}}", "chaos-mem"),
    "burn": ("{cpuBurn: {workers: 1, loadPercent: 1}}", "chaos-burn"),
    "pause": ("{processPause: {target: {pidfile: %(dummy)s/pid}}}", "sleep"),
}
# Run by each agent's wrapper under --fault pause, in its own mount
# namespace: a private tmpfs on $0, a dummy whose pid goes to $0/pid, then
# the agent (the dummy stays its child).
DUMMY_WRAPPER = ('mount -t tmpfs -o size=64k fleet-dummy "$0" && '
                 '{ sleep 1000000 & echo $! > "$0/pid"; } && exec "$@"')
EXPERIMENT = """name: fleet %s
method:
  - {id: fault, duration: %s, fault: %s}
"""
GOALS = {"inject": 250, "abort": 1000, "halt": 1000}  # ms, at 1000 agents
MB_PER_AGENT = 8  # what one more agent needs at most (its RssAnon is ~2.5 MB)


class Fleet:
    """The controller and the agents of one N, and chaosctl against them."""

    def __init__(self, build, work, ctl_state, flags, fault, tls):
        self.bin = lambda name: os.path.join(build, "bin", name)
        self.work = work
        self.fault = fault
        self.dummy = os.path.join(work, "dummy")  # each agent's own tmpfs under pause
        self.tls = make_pki(work) if tls else None
        self.ctl = self._start_controller(ctl_state, flags + self.tls_flags("controller"))
        self.agents = []

    def tls_flags(self, who):
        """The TLS flags of `who` (controller, agent-fleet, operator-admin);
        none in plaintext."""
        if not self.tls:
            return []
        flags = ["--tls-cert", os.path.join(self.tls, who + ".crt"), "--tls-key",
                 os.path.join(self.tls, who + ".key"), "--tls-ca", os.path.join(self.tls, "ca.crt")]
        if who == "controller":
            flags += ["--authz", os.path.join(self.tls, "authz.yaml")]
        return flags

    def experiment(self, name, duration):
        spec = FAULTS[self.fault][0] % {"dummy": self.dummy}
        return EXPERIMENT % (name, duration, spec)

    def _start_controller(self, state, flags):
        port = os.path.join(self.work, "ctl.port")
        with open(os.path.join(self.work, "controller.log"), "w") as log:
            proc = subprocess.Popen(
                [self.bin("chaos-controller"), "--listen", "127.0.0.1:0", "--state-dir",
                 state, "--port-file", port] + flags,
                stdout=log, stderr=log, process_group=0)
        if not wait_for(lambda: os.path.exists(port) and os.path.getsize(port) > 0, 30):
            proc.kill()
            proc.wait()
            raise RuntimeError("chaos-controller did not start: see controller.log")
        with open(port) as f:
            self.address = "127.0.0.1:" + f.read().strip()
        return proc

    def start_agents(self, n):
        flags = ["--controller", self.address] + self.tls_flags("agent-fleet")
        prefix = []
        if self.fault == "pause":
            os.makedirs(self.dummy, exist_ok=True)
            prefix = ["unshare", "--mount", "--propagation", "private",
                      "sh", "-c", DUMMY_WRAPPER, self.dummy]
        for i in range(n):
            proc, _ = spawn_agent(self.bin("chaos-agent"), os.path.join(self.work, "a%d" % i),
                                  flags, prefix, process_group=self.ctl.pid)
            self.agents.append(proc)

    def chaosctl(self, *args, check=True, timeout=600):
        done = subprocess.run([self.bin("chaosctl")] + list(args) + ["--controller", self.address] +
                              self.tls_flags("operator-admin"),
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError("chaosctl %s exited %d: %s" % (
                " ".join(args), done.returncode, (done.stdout + done.stderr)[-2000:]))
        return done

    def live_agents(self):
        """Agents the controller lists live; -1 when chaosctl cannot ask
        (a controller busy with N registrations may not answer in time)."""
        done = self.chaosctl("agents", "-o", "json", check=False)
        if done.returncode != 0:
            return -1
        listed = json.loads(done.stdout or "{}")
        return sum(1 for a in listed.get("agents", []) if not a.get("lost"))

    def submit(self, text, name):
        path = os.path.join(self.work, name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        return self.chaosctl("run", path, "--detach").stdout.strip()

    def wait_run(self, run_id):
        """Follows the run until it ends; its journal."""
        self.chaosctl("watch", run_id, check=False)
        return json.loads(self.chaosctl("show", run_id, "-o", "json").stdout)

    def run_summary(self, run_id):
        """The run's outcome, reason and first fault error, for messages."""
        journal = json.loads(self.chaosctl("show", run_id, "-o", "json").stdout)
        errors = [f["agent"] + ": " + f["error"] for f in journal["faults"] if f.get("error")]
        return "outcome %s, reason %r, %d fault errors%s" % (
            journal.get("outcome"), journal.get("reason"), len(errors),
            ", first: " + errors[0] if errors else "")

    def stop(self):
        """SIGTERM to the process group, SIGKILL to what is left after 60 s."""
        try:
            os.killpg(self.ctl.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        procs = [self.ctl] + self.agents
        end = time.monotonic() + 60
        for p in procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.ctl.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for p in procs:
            p.wait()


def make_pki(work):
    """A development PKI in work/pki for --tls, and an authz file there
    that makes its operator admin; the directory."""
    pki = os.path.join(work, "pki")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "pki",
                          "make-dev-pki.sh")
    subprocess.run([script, pki, "fleet"], check=True, capture_output=True)
    with open(os.path.join(pki, "authz.yaml"), "w") as f:
        f.write('roles:\n  "spiffe://chaos/operator/admin": admin\n'
                '  "spiffe://chaos/agent/*": agent\n')
    return pki


def children_named(comm_wanted, agent_pids, state=None):
    """Pids of the processes named comm_wanted whose parent is one of
    agent_pids (and whose state is `state`, when given), and the set of
    those parents (one pass over /proc)."""
    found, parents = [], set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        comm, fields = proc_stat(int(entry))
        if comm != comm_wanted or not fields or state not in (None, fields[0]):
            continue
        ppid = int(fields[1])
        if ppid in agent_pids:
            found.append(int(entry))
            parents.add(ppid)
    return found, parents


def proc_stat(pid):
    """The command name of PID and its /proc/PID/stat fields after it (the
    state first); ("", []) when PID is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return "", []
    return stat[stat.find("(") + 1:stat.rfind(")")], stat.rsplit(")", 1)[1].split()


def holding(fleet):
    """The processes that show the fault held, and the agents they belong
    to: the fault's children, or the stopped dummies."""
    comm = FAULTS[fleet.fault][1]
    return children_named(comm, {p.pid for p in fleet.agents},
                          "T" if fleet.fault == "pause" else None)


def still_held(fleet, pid):
    """Whether `pid` still shows the fault: the fault's child exists, the
    dummy is stopped."""
    if fleet.fault != "pause":
        return os.path.exists("/proc/%d" % pid)
    return proc_stat(pid)[1][:1] == ["T"]


def released(fleet, pids):
    """Whether none of `pids` shows the fault any more: the fault's children
    are gone, the dummies run."""
    return not any(still_held(fleet, p) for p in pids)


def released_by_now(fleet, pids):
    """A predicate for wait_for: whether none of `pids` shows the fault any
    more. Each poll reads only the pids that still showed it at the last
    one (once reverted, a fault of the aborted run is not held again), so
    that polling 1000 pids every 5 ms does not take the CPU the reverts
    need."""
    held = set(pids)

    def poll():
        held.difference_update([p for p in held if not still_held(fleet, p)])
        return not held
    return poll


def hold_everywhere(fleet, n):
    """Submits the held run and waits until each of the n agents holds the
    fault; the run id and the pids that show it."""
    run_id = fleet.submit(fleet.experiment("held", "10m"), "held")
    end = time.monotonic() + 120
    while True:
        found, parents = holding(fleet)
        if len(parents) == n:
            return run_id, found
        if time.monotonic() > end:
            raise RuntimeError("run %s: %d of %d agents hold the fault after 120 s (%s)" % (
                run_id, len(parents), n, fleet.run_summary(run_id)))
        time.sleep(0.2)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


def cpu_seconds(fleet):
    """CPU seconds (utime+stime, every thread) the controller and all the
    agents have used so far: read before and after an abort or a HaltAll,
    outside the time measured, to see whose CPU it took."""
    return (cpu_ticks(fleet.ctl.pid) / TICKS,
            sum(cpu_ticks(p.pid) for p in fleet.agents) / TICKS)


def cpu_since(fleet, before):
    return tuple(now - then for now, then in zip(cpu_seconds(fleet), before))


def one_abort(fleet, n):
    """The time from `chaosctl abort` to every fault released (outside), the
    journal's abort event -> last reverted_at, and the controller's and the
    agents' CPU seconds over the first."""
    run_id, pids = hold_everywhere(fleet, n)
    cpu = cpu_seconds(fleet)
    start = time.monotonic()
    fleet.chaosctl("abort", run_id)
    if not wait_for(released_by_now(fleet, pids), 60, 0.005):
        raise RuntimeError("run %s: faults held 60 s after the abort" % run_id)
    outside = (time.monotonic() - start) * 1000
    cpu = cpu_since(fleet, cpu)
    journal = fleet.wait_run(run_id)
    faults = journal["faults"]
    if len(faults) != n or not all(f["reverted"] for f in faults):
        raise RuntimeError("run %s: %d faults, %d reverted in the journal" % (
            run_id, len(faults), sum(1 for f in faults if f["reverted"])))
    keep_journal(fleet, "abort", run_id, journal)
    abort = next(e["at_unix_ms"] for e in journal["events"] if e["type"] == "abort")
    return outside, max(int(f["reverted_at_unix_ms"]) for f in faults) - int(abort), cpu


def keep_journal(fleet, what, run_id, journal):
    """Writes the run's journal under --journals, to read its events later."""
    if fleet.journals:
        with open(os.path.join(fleet.journals, "%s-%s.json" % (what, run_id)), "w") as f:
            json.dump(journal, f)


def one_halt(fleet, n):
    """The time `chaosctl halt` takes, and the controller's and the agents'
    CPU seconds over it."""
    run_id, pids = hold_everywhere(fleet, n)
    cpu = cpu_seconds(fleet)
    start = time.monotonic()
    answer = json.loads(fleet.chaosctl("halt", "-o", "json").stdout)
    took = (time.monotonic() - start) * 1000
    cpu = cpu_since(fleet, cpu)
    held = not released(fleet, pids)
    if len(answer.get("halted", [])) != n or answer.get("failed") or held:
        raise RuntimeError("HaltAll: %d halted, failed %s, faults still held: %s" % (
            len(answer.get("halted", [])), answer.get("failed"), held))
    fleet.wait_run(run_id)
    resumed = json.loads(fleet.chaosctl("resume", "-o", "json").stdout)
    if len(resumed.get("resumed", [])) != n:
        raise RuntimeError("ResumeAll resumed %d of %d" % (len(resumed.get("resumed", [])), n))
    return took, cpu


def idle(fleet, window, ctl_rss_before):
    """The controller's and the agents' memory and CPU over `window` s."""
    procs = [fleet.ctl] + fleet.agents
    ticks = [cpu_ticks(p.pid) for p in procs]
    start = time.monotonic()
    time.sleep(window)
    seconds = time.monotonic() - start
    used = [cpu_ticks(p.pid) - t for p, t in zip(procs, ticks)]
    cpu = lambda t: 100.0 * t / TICKS / seconds  # % of one CPU
    agents = [status_fields(p.pid) for p in fleet.agents]
    n = len(fleet.agents)
    ctl_rss = int(status_fields(fleet.ctl.pid)["VmRSS"])
    return {
        "ctl_rss": ctl_rss, "ctl_rss_per_agent": (ctl_rss - ctl_rss_before) / n,
        "ctl_cpu": cpu(used[0]), "ctl_cpu_per_agent": cpu(used[0]) / n,
        "agent_rss": statistics.median(int(a["VmRSS"]) for a in agents),
        "agent_anon": statistics.median(int(a["RssAnon"]) for a in agents),
        "agents_pss": sum(pss(p.pid) for p in fleet.agents),
        "agent_cpu": cpu(sum(used[1:])) / n,
    }


def pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def tail(work, lines=20):
    try:
        with open(os.path.join(work, "controller.log")) as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no controller.log)"


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def measure(args, n, work):
    ctl_state = os.path.join(work, "ctl")
    if args.controller_root:
        ctl_state = tempfile.mkdtemp(prefix="fleet-ctl-", dir=args.controller_root)
    fleet = Fleet(args.build, work, ctl_state, args.controller_flag or [], args.fault, args.tls)
    fleet.journals = args.journals
    try:
        time.sleep(1)
        ctl_rss_before = int(status_fields(fleet.ctl.pid)["VmRSS"])
        start = time.monotonic()
        fleet.start_agents(n)
        if not wait_for(lambda: fleet.live_agents() == n, max(120, n * 0.3), 0.25):
            raise RuntimeError("%d of %d agents registered" % (fleet.live_agents(), n))
        r = {"agents": n, "registration": time.monotonic() - start, "load_before": loadavg()}
        log("N=%d: %d agents live after %.1f s" % (n, n, r["registration"]))
        time.sleep(args.settle)
        r.update(idle(fleet, args.window, ctl_rss_before))
        log("N=%d: idle measured" % n)
        journal = fleet.wait_run(fleet.submit(fleet.experiment("inject", "3s"), "short"))
        injected = [int(f["injected_at_unix_ms"]) for f in journal["faults"]
                    if f.get("injected_at_unix_ms")]
        if len(injected) != n or journal["outcome"] != "passed":
            raise RuntimeError("inject run: %s, %d of %d injected" % (
                journal["outcome"], len(injected), n))
        r["inject"] = max(injected) - min(injected)
        log("N=%d: inject spread %d ms" % (n, r["inject"]))
        r["abort"], r["abort_journal"], r["abort_cpu"] = zip(
            *[one_abort(fleet, n) for _ in range(args.repeats)])
        log("N=%d: aborts %s, CPU s (controller, agents) %s" % (
            n, [int(a) for a in r["abort"]], cpu_list(r["abort_cpu"])))
        r["halt"], r["halt_cpu"] = zip(*[one_halt(fleet, n) for _ in range(args.repeats)])
        log("N=%d: halts %s, CPU s (controller, agents) %s" % (
            n, [int(h) for h in r["halt"]], cpu_list(r["halt_cpu"])))
        r["load_after"] = loadavg()
        return r
    finally:
        fleet.stop()
        if args.controller_root:
            remove_work(ctl_state)


def cpu_list(pairs):
    return ["%.2f/%.2f" % pair for pair in pairs]


def median_cpu(pairs):
    """The median controller and agents' CPU seconds of several repeats."""
    return tuple(statistics.median(p[i] for p in pairs) for i in range(2))


def verdict(value, goal):
    return "met" if value < goal else "MISSED"


def print_table(rows):
    print("| agents | registration | controller RSS (per agent) | controller CPU idle "
          "(per agent) | agent RSS / RssAnon (median) | agents' PSS (total) | agent CPU idle "
          "| inject spread | abort -> all reverted p50 / p99 (journal p50 / p99) "
          "| HaltAll p50 / p99 | load avg before -> after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "skipped" in r:
            print("| %d | skipped: %s |" % (r["agents"], r["skipped"]))
            continue
        a, j, h = r["abort"], r["abort_journal"], r["halt"]
        print("| %d | %.1f s | %.0f MB (%.0f kB) | %.2f %% (%.4f %%) | %.1f / %.1f MB | %.2f GB "
              "| %.3f %% | %d ms %s | %d / %d ms %s (%d / %d ms) | %d / %d ms %s | %s -> %s |" % (
                  r["agents"], r["registration"], r["ctl_rss"] / 1024.0, r["ctl_rss_per_agent"],
                  r["ctl_cpu"], r["ctl_cpu_per_agent"], r["agent_rss"] / 1024.0,
                  r["agent_anon"] / 1024.0, r["agents_pss"] / 1024.0 / 1024.0, r["agent_cpu"],
                  r["inject"], verdict(r["inject"], GOALS["inject"]),
                  percentile(a, 50), percentile(a, 99), verdict(percentile(a, 99), GOALS["abort"]),
                  percentile(j, 50), percentile(j, 99),
                  percentile(h, 50), percentile(h, 99), verdict(percentile(h, 99), GOALS["halt"]),
                  r["load_before"], r["load_after"]))
    print()
    print("| agents | abort: CPU s, controller / agents (median) | agents' idle CPU s over as "
          "long | HaltAll: CPU s, controller / agents (median) | agents' idle CPU s over as "
          "long |")
    print("|---|---|---|---|---|")
    for r in rows:
        if "skipped" in r:
            continue
        idle_s = lambda ms: r["agent_cpu"] / 100.0 * r["agents"] * statistics.median(ms) / 1000
        print("| %d | %.2f / %.2f | %.2f | %.2f / %.2f | %.2f |" % (
            (r["agents"],) + median_cpu(r["abort_cpu"]) + (idle_s(r["abort"]),) +
            median_cpu(r["halt_cpu"]) + (idle_s(r["halt"]),)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--agents", default="100", help="comma-separated fleet sizes")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--window", type=float, default=15, help="seconds of idle sampling")
    ap.add_argument("--settle", type=float, default=5, help="seconds before idle sampling")
    ap.add_argument("--fault", choices=sorted(FAULTS), default="memory",
                    help="memory: 1 MiB held by a child that sleeps; burn: 1 worker at 1 %%; "
                    "pause: each agent stops a dummy of its own (no process started)")
    ap.add_argument("--work-root", help="where the temporary directory of the agents' and the "
                    "controller's state goes (default: the system's, e.g. /tmp); /dev/shm "
                    "takes the shared disk's fsyncs out of the figures")
    ap.add_argument("--controller-root", help="where the controller's state directory (its "
                    "SQLite history) goes instead, e.g. /dev/shm to take its fsyncs out")
    ap.add_argument("--tls", action="store_true",
                    help="mutual TLS on every hop (a development PKI made in the work directory)")
    ap.add_argument("--journals", help="a directory to keep each abort run's journal JSON in")
    ap.add_argument("--controller-flag", action="append",
                    help="an extra chaos-controller flag, e.g. --controller-flag=--fan-out=128")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    for n in [int(x) for x in args.agents.split(",")]:
        need = n * MB_PER_AGENT * 1024 + 1024 * 1024
        if mem_available_kb() < need:
            rows.append({"agents": n, "skipped": "%d MB available, %d MB needed" % (
                mem_available_kb() // 1024, need // 1024)})
            continue
        work = tempfile.mkdtemp(prefix="fleet-bench-", dir=args.work_root)
        try:
            rows.append(measure(args, n, work))
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            rows.append({"agents": n, "skipped": "failed: %s" % e})
            log("N=%d failed: %s; the controller's log ends:\n%s" % (n, e, tail(work)))
        finally:
            remove_work(work)
    print("%s, %d CPUs, %s, %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                   os.cpu_count(), os.uname().release, " ".join(sys.argv)))
    print_table(rows)


if __name__ == "__main__":
    main()
