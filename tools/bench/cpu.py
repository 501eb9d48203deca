"""The machine's CPU over a measured window: all of it (/proc/stat) and the bench lab's
containers' (their cgroups: the servers' JVMs, sshd, the modules Ansible runs there, tar and
the mirror), so that a figure can say how much of its wall time the work of two cores alone
accounts for.

A window's `machine_cpu_s` divided by the cores is the least wall time that work could take
here however it were scheduled; `busy_share` is how much of the cores it kept busy.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labs.lab import podman

PROC = Path("/proc")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# /proc/stat's first line: cpu user nice system idle iowait irq softirq steal guest guest_nice;
# busy is every field but idle and iowait (guest time is counted in user already).
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    """Busy CPU seconds since boot: the machine's, and the lab containers' (None when their
    cgroups cannot be read)."""

    machine_s: float
    lab_s: float | None


def busy_seconds(stat: str, ticks: int = TICKS) -> float:
    """The machine's busy CPU seconds since boot, from /proc/stat's text."""
    fields = stat.splitlines()[0].split()
    if fields[0] != "cpu":
        raise ValueError(f"not /proc/stat: {stat[:40]!r}")
    values = [int(value) for value in fields[1:]]
    return sum(values[i] for i in BUSY_FIELDS if i < len(values)) / ticks


def cgroup_of(pid: int, proc: Path = PROC) -> tuple[str, str] | None:
    """("v1", path) of a process's cpuacct cgroup, or ("v2", path) of its unified one with the
    `init.scope` a container's systemd makes removed; None when neither is there."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    unified = None
    for line in lines:
        _hierarchy, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return "v1", path
        if controllers == "":
            unified = path.removesuffix("/init.scope")
    return ("v2", unified) if unified is not None else None


def cgroup_usage_s(cgroup: tuple[str, str], root: Path = CGROUP_ROOT) -> float | None:
    """CPU seconds a cgroup (and every cgroup under it) has used; None when unreadable."""
    version, path = cgroup
    relative = path.lstrip("/")
    try:
        if version == "v1":
            return int((root / "cpuacct" / relative / "cpuacct.usage").read_text()) / 1e9
        for base in (root, root / "unified"):
            stat = base / relative / "cpu.stat"
            if stat.exists():
                for line in stat.read_text().splitlines():
                    key, _sep, value = line.partition(" ")
                    if key == "usage_usec":
                        return int(value) / 1e6
    except (OSError, ValueError):
        return None
    return None


def lab_pids(lab: str) -> list[int]:
    """The main PIDs of the containers of lab `lab` (label zk-lab=LAB), the mirror included;
    empty when podman does not answer."""
    try:
        ids = podman("ps", "-q", "--filter", f"label=zk-lab={lab}", check=False, timeout=30)
        pids = podman("container", "inspect", "--format", "{{.State.Pid}}", *ids.split(),
                      check=False, timeout=30) if ids else ""
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(pid) for pid in pids.split() if pid.isdigit() and int(pid) > 0]


class CpuMeter:
    """Samples the machine's busy CPU and that of a lab's containers."""

    def __init__(self, cgroups: Sequence[tuple[str, str]], proc: Path = PROC,
                 root: Path = CGROUP_ROOT) -> None:
        self.cgroups = list(cgroups)
        self.proc = proc
        self.root = root

    @classmethod
    def of_lab(cls, lab: str) -> CpuMeter:
        """A meter of lab `lab`'s containers as they are now (a lab re-created needs a new one)."""
        found = (cgroup_of(pid) for pid in lab_pids(lab))
        return cls([cgroup for cgroup in found if cgroup is not None])

    def sample(self) -> CpuSample:
        machine = busy_seconds((self.proc / "stat").read_text())
        usages = [cgroup_usage_s(cgroup, self.root) for cgroup in self.cgroups]
        known = self.cgroups and all(usage is not None for usage in usages)
        return CpuSample(machine, sum(u for u in usages if u is not None) if known else None)


def cpu_between(before: CpuSample, after: CpuSample, seconds: float,
                cores: int | None = None) -> dict[str, Any]:
    """The CPU of a window of `seconds` between two samples: the machine's, the lab's
    containers' (None when unknown), the cores, and the share of them kept busy."""
    cores = cores or os.cpu_count() or 1
    machine = after.machine_s - before.machine_s
    lab = (after.lab_s - before.lab_s
           if after.lab_s is not None and before.lab_s is not None else None)
    return {"machine_cpu_s": round(machine, 3),
            "lab_cpu_s": None if lab is None else round(lab, 3),
            "cores": cores,
            "busy_share": round(machine / (seconds * cores), 3) if seconds > 0 else None}


def lab_cpu_above_idle(idle: CpuSample, start: CpuSample, end: CpuSample, idle_s: float,
                       window_s: float) -> float | None:
    """The lab containers' CPU from `start` to `end` (`window_s` apart) above what they use
    idle: less their rate from `idle` to `start` (`idle_s` apart, nothing run on them) over the
    window; at least 0. None when their cgroups were not read or the idle window is empty."""
    if idle.lab_s is None or start.lab_s is None or end.lab_s is None or idle_s <= 0:
        return None
    rate = (start.lab_s - idle.lab_s) / idle_s
    return round(max(0.0, end.lab_s - start.lab_s - rate * window_s), 3)
