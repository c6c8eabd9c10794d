"""Per-process CPU time and memory from /proc, so a benchmark can show which process bounds it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces); None if gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _comm(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _parents() -> dict[int, int]:
    """Every live pid with its parent pid."""
    found: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                found[int(entry.name)] = int(fields[1])
    return found


def tree_cpu_seconds(root: int, tree: bool = True) -> float:
    """CPU seconds (user+system) of a process and, with `tree`, its live descendants and reaped children."""
    parents = _parents() if tree else {}
    members = {root}
    grew = tree
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    total = 0
    for pid in members:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
        total += int(fields[11]) + int(fields[12])
        if pid == root and tree:
            total += int(fields[13]) + int(fields[14])
    return total / TICKS


def find_postmaster() -> int | None:
    """The PostgreSQL server's main process on this machine (a `postgres` whose parent is not one)."""
    for pid, ppid in _parents().items():
        if _comm(pid) == "postgres" and _comm(ppid) != "postgres":
            return pid
    return None


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process in KiB; empty if it is gone."""
    found: dict[str, int] = {}
    try:
        for text in (PROC / str(pid) / "status").read_text().splitlines():
            name, _, value = text.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat (idle and iowait count as not busy)."""
    fields = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - fields[3] - fields[4], total


@dataclass
class CpuMeter:
    """CPU used by named processes between start() and stop(), as a share of one core."""

    pids: dict[str, int]
    alone: frozenset[str] = frozenset()  # names measured without their descendants

    def _sample(self) -> dict[str, float]:
        return {name: tree_cpu_seconds(pid, tree=name not in self.alone) for name, pid in self.pids.items()}

    def start(self) -> None:
        self._wall = time.monotonic()
        self._machine = machine_ticks()
        self._before = self._sample()

    def stop(self) -> dict[str, float]:
        """Per process, and `machine` for every CPU: percent of one core used on average (200 % = 2 busy cores)."""
        wall = time.monotonic() - self._wall
        after = self._sample()
        usage = {name: round(100.0 * (after[name] - self._before[name]) / wall, 1) for name in self.pids}
        busy, total = machine_ticks()
        share = (busy - self._machine[0]) / max(total - self._machine[1], 1)
        usage["machine"] = round(100.0 * share * (os.cpu_count() or 1), 1)
        # What the machine spent outside the measured processes: other users' work, the kernel, ...
        usage["others"] = round(max(0.0, usage["machine"] - sum(usage[name] for name in self.pids)), 1)
        return usage


def cpu_line(usage: dict[str, float]) -> str:
    """`cpu (% of one core): temporal=.. worker=.. ...` with the machine's total capacity."""
    parts = " ".join(f"{name}={value:.0f}%" for name, value in usage.items())
    return f"cpu (% of one core, machine has {os.cpu_count()} cores = {100 * (os.cpu_count() or 1)}%): {parts}"


def wait_quiet(busy_below: float = 30.0, max_wait: float = 60.0) -> float:
    """Wait (at most max_wait s) until the whole machine is under busy_below % of one core for 3 s in a row.

    The machine may be shared; the figures are only meaningful when little else runs. Returns the
    busy percentage of the last second, so a report can say how quiet the machine was.
    """
    deadline = time.monotonic() + max_wait
    quiet = 0
    busy = 0.0
    while time.monotonic() < deadline and quiet < 3:
        before = machine_ticks()
        time.sleep(1.0)
        after = machine_ticks()
        busy = 100.0 * (after[0] - before[0]) / max(after[1] - before[1], 1) * (os.cpu_count() or 1)
        quiet = quiet + 1 if busy < busy_below else 0
    return round(busy, 1)
