"""Run a worker process and watch it: CPU rusage from wait4, sampled process-tree RSS and load.

``ru_maxrss`` covers one process only. SDV's CTGAN transforms columns in joblib worker
processes, so the resident memory of the whole tree (the worker and all its descendants) is
also sampled from /proc every ``interval`` seconds and its peak kept per phase (the phase name
the worker writes to its phase file).

The machine may be shared, so the CPU time that processes *outside* the watched tree used
during each phase is recorded too ("foreign cores": machine busy time minus the tree's CPU
time, per second of wall time). A value near 0 means the timing had the machine to itself.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat, minus idle and iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    # user nice system idle iowait irq softirq steal guest guest_nice; guests are in user.
    return (sum(fields[:8]) - fields[3] - fields[4]) / _HZ


def _cpu_seconds(pid: int) -> float:
    """utime + stime + waited-for children's, of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / _HZ


class ForeignLoad:
    """How many cores processes other than ours kept busy between start() and stop().

    ``own`` returns our CPU seconds so far (this process with its threads and children).
    """

    def __init__(self, own=None) -> None:
        self.own = own or (lambda: sum(os.times()[:4]))

    def start(self) -> ForeignLoad:
        self.t0, self.busy0, self.own0 = time.perf_counter(), machine_busy_seconds(), self.own()
        return self

    def stop(self) -> float:
        wall = time.perf_counter() - self.t0
        foreign = machine_busy_seconds() - self.busy0 - (self.own() - self.own0)
        return round(max(foreign, 0.0) / wall, 2) if wall > 0 else 0.0


def wait_for_quiet(max_wait: float, threshold: float = 0.3, window: float = 2.0, log=print):
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` cores."""
    t0 = time.perf_counter()
    said = False
    while True:
        probe = ForeignLoad().start()
        time.sleep(window)
        load = probe.stop()
        if load < threshold:
            return {"waited_seconds": round(time.perf_counter() - t0, 1), "foreign_cores": load}
        if time.perf_counter() - t0 > max_wait:
            log(
                f"  machine still busy ({load:.2f} other cores) after {max_wait:.0f} s; "
                "measuring anyway"
            )
            return {"waited_seconds": round(time.perf_counter() - t0, 1), "foreign_cores": load}
        if not said:
            log(f"  waiting for the machine to be quiet ({load:.2f} cores used by others) ...")
            said = True


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class _Watcher(threading.Thread):
    def __init__(self, pid: int, phase_file: Path, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.phase_file = phase_file
        self.interval = interval
        self.peak_mib: dict[str, float] = {}
        self.max_processes = 0
        self.cpu_by_pid: dict[int, float] = {}
        self.phase_wall: dict[str, float] = {}
        self.phase_foreign: dict[str, float] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        last_t, last_busy, last_tree = time.perf_counter(), machine_busy_seconds(), 0.0
        while not self._stop_event.is_set():
            try:
                phase = self.phase_file.read_text().strip() or "start"
            except OSError:
                phase = "start"
            pids = _tree(self.pid)
            total = sum(_rss_bytes(p) for p in pids) / 2**20
            self.max_processes = max(self.max_processes, len(pids))
            if total > self.peak_mib.get(phase, 0.0):
                self.peak_mib[phase] = round(total, 1)
            for p in pids:
                self.cpu_by_pid[p] = max(self.cpu_by_pid.get(p, 0.0), _cpu_seconds(p))
            now, busy, tree = (
                time.perf_counter(),
                machine_busy_seconds(),
                sum(self.cpu_by_pid.values()),
            )
            self.phase_wall[phase] = self.phase_wall.get(phase, 0.0) + now - last_t
            self.phase_foreign[phase] = self.phase_foreign.get(phase, 0.0) + max(
                0.0, (busy - last_busy) - (tree - last_tree)
            )
            last_t, last_busy, last_tree = now, busy, tree
            self._stop_event.wait(self.interval)

    def foreign_cores(self) -> dict[str, float]:
        return {k: round(self.phase_foreign[k] / w, 2) for k, w in self.phase_wall.items() if w}

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_watched(
    cmd: list[str], phase_file: Path, log_path: Path, timeout: float, interval: float = 0.2
) -> dict:
    """Run ``cmd``; return exit code, wall seconds, wait4 rusage and per-phase tree RSS peaks.

    The wait4 ``ru_maxrss`` is kept for reference only: Linux preserves it across fork and
    execve, so it is at least this parent's peak RSS. The worker's VmHWM is the real figure.
    """
    phase_file.write_text("start")
    with open(log_path, "w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        watcher = _Watcher(proc.pid, phase_file, interval)
        watcher.start()
        deadline = t0 + timeout
        status = usage = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        watcher.stop()
    return {
        "returncode": proc.returncode,
        "timed_out": wall > timeout,
        "wall_seconds": round(wall, 3),
        # Inflated: Linux carries ru_maxrss over fork/exec from this (parent) process.
        "wait4_maxrss_mib_with_parent_floor": round(usage.ru_maxrss / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "tree_peak_rss_mib": watcher.peak_mib,
        "tree_max_processes": watcher.max_processes,
        "foreign_cores": watcher.foreign_cores(),
    }
