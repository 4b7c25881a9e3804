"""What the soak and load scripts record about the machine and the processes under test (Linux /proc)."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, object]:
    """The machine's facts, and how busy it is right now (it is shared with other test runs)."""
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
        "memory_available_gib": round(int(meminfo["MemAvailable"].split()[0]) / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1_5_15": [round(value, 2) for value in load],
        "processes_running": _running_processes(),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _running_processes() -> int:
    """Runnable tasks right now, from /proc/stat (``procs_running``): other users of the 2 cores."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("procs_running"):
            return int(line.split()[1])
    return -1


def process_stats(pid: int) -> dict[str, float]:
    """RSS in MiB, open file descriptors, threads, and CPU seconds used so far (user + system)."""
    status = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {
        "rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status["Threads"]),
        "cpu_s": (int(stat[11]) + int(stat[12])) / _TICKS,  # utime, stime
    }


def children_rss_mib(pid: int) -> float:
    """The RSS of a process's children (the local Livy's session workers)."""
    try:
        out = subprocess.run(
            ["ps", "-o", "rss=", "--ppid", str(pid)], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return 0.0
    return round(sum(int(v) for v in out.split()) / 1024, 1)


def children_cpu_seconds(pid: int) -> float:
    """CPU of the local Livy's session workers (its child processes), alive now."""
    total = 0.0
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += (task / "children").read_text().split()
    for child in children:
        try:
            stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(stat[11]) + int(stat[12])) / _TICKS
    return total


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds of samples in seconds."""
    if not samples:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan"), "n": 0}
    ordered = sorted(samples)
    p99 = ordered[math.ceil(0.99 * len(ordered)) - 1]  # nearest rank
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


def repository_on_path() -> None:
    """Lets the scripts import ``tests.live_server`` from the repository."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
