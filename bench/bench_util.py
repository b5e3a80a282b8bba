"""What the benchmarks share: polling, starting agents on loopback, reading
a process's memory and CPU time from /proc, and removing their work
directory (kept when KEEP_BENCH_DIR is set).

Imported by the scripts beside it (`python3 bench/NAME.py` puts this
folder on the import path).
"""
import os
import shutil
import subprocess
import time


def wait_for(predicate, seconds, poll=0.02):
    """Polls `predicate` until it holds (True) or `seconds` pass (False)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(poll)
    return False


def spawn_agent(binary, directory, extra_args=(), prefix=(), **popen):
    """Starts `binary` on 127.0.0.1 with its state, port file and log in
    `directory`, with `extra_args` after those flags, `prefix` before the
    binary (a wrapper that execs it) and `popen` passed to
    subprocess.Popen; returns the process and its port file (see
    agent_address)."""
    os.makedirs(directory, exist_ok=True)
    port_file = os.path.join(directory, "port")
    with open(os.path.join(directory, "agent.log"), "w") as log:
        proc = subprocess.Popen(
            list(prefix) +
            [binary, "--listen", "127.0.0.1:0", "--state-dir", os.path.join(directory, "state"),
             "--port-file", port_file] + list(extra_args),
            stdout=subprocess.DEVNULL, stderr=log, **popen)
    return proc, port_file


def agent_address(proc, port_file):
    """The address of an agent spawn_agent started, once it serves; kills
    it and raises, naming its log, when it does not within 30 s."""
    if not wait_for(lambda: os.path.exists(port_file) and os.path.getsize(port_file) > 0, 30):
        proc.kill()
        raise RuntimeError("chaos-agent did not start: see %s" %
                           os.path.join(os.path.dirname(port_file), "agent.log"))
    with open(port_file) as f:
        return "127.0.0.1:" + f.read().strip()


def start_agent(binary, directory):
    """spawn_agent, then agent_address: the process and its address."""
    proc, port_file = spawn_agent(binary, directory)
    return proc, agent_address(proc, port_file)


TICKS = os.sysconf("SC_CLK_TCK")


def status_fields(pid):
    """/proc/PID/status as a dict of each field's first word (VmRSS: kB)."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else ""
    return fields


def cpu_ticks(pid):
    """utime+stime of PID in clock ticks (TICKS a second)."""
    with open("/proc/%d/stat" % pid) as f:
        # The command name may hold spaces: the fields after it start past ')'.
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


def remove_work(work):
    """Removes the benchmark's work directory, unless KEEP_BENCH_DIR is set."""
    if os.environ.get("KEEP_BENCH_DIR"):
        print("kept", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
