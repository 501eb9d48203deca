"""Unit tests of tools/bench/cpu.py: /proc/stat's busy time, a container's cgroup and its CPU
under cgroup v1 and v2, a meter's samples and a window's figures. Files stand in for /proc and
/sys/fs/cgroup; one test reads this machine's own /proc/stat while it spins."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bench import cpu as bench_cpu
from bench.cpu import CpuMeter, CpuSample

STAT = "cpu  100 20 30 4000 50 6 7 8 0 0\ncpu0 50 10 15 2000 25 3 3 4 0 0\n"
V1_CGROUP = ("12:pids:/libpod_parent/libpod-abc/libpod_parent/libpod-abc/init.scope\n"
             "2:cpuacct:/libpod_parent/libpod-abc\n1:cpu:/libpod_parent/libpod-abc\n"
             "0::/libpod_parent/libpod-abc/init.scope\n")
V2_CGROUP = "0::/machine.slice/libpod-abc.scope/init.scope\n"


def test_busy_seconds_leave_out_idle_and_iowait() -> None:
    # user 100 + nice 20 + system 30 + irq 6 + softirq 7 + steal 8 = 171 ticks
    assert bench_cpu.busy_seconds(STAT, ticks=100) == 1.71


def test_busy_seconds_refuse_another_file() -> None:
    with pytest.raises(ValueError, match="not /proc/stat"):
        bench_cpu.busy_seconds("intr 1 2 3\n", ticks=100)


def test_this_machines_busy_seconds_grow_while_it_spins() -> None:
    stat = Path("/proc/stat")
    before = bench_cpu.busy_seconds(stat.read_text())
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert bench_cpu.busy_seconds(stat.read_text()) - before >= 0.25


def proc_with(tmp_path: Path, pid: int, cgroup: str) -> Path:
    proc = tmp_path / "proc"
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "cgroup").write_text(cgroup)
    (proc / "stat").write_text(STAT)
    return proc


def test_cgroup_of_a_container_under_v1_is_its_cpuacct_one(tmp_path: Path) -> None:
    proc = proc_with(tmp_path, 42, V1_CGROUP)
    assert bench_cpu.cgroup_of(42, proc) == ("v1", "/libpod_parent/libpod-abc")


def test_cgroup_of_a_container_under_v2_leaves_out_its_systemds_init_scope(
        tmp_path: Path) -> None:
    proc = proc_with(tmp_path, 42, V2_CGROUP)
    assert bench_cpu.cgroup_of(42, proc) == ("v2", "/machine.slice/libpod-abc.scope")


def test_cgroup_of_a_process_gone_is_none(tmp_path: Path) -> None:
    assert bench_cpu.cgroup_of(42, tmp_path) is None


def cgroups(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    v1 = root / "cpuacct" / "libpod_parent" / "libpod-abc"
    v1.mkdir(parents=True)
    (v1 / "cpuacct.usage").write_text("2500000000\n")
    v2 = root / "unified" / "machine.slice" / "libpod-def.scope"
    v2.mkdir(parents=True)
    (v2 / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    return root


def test_cgroup_usage_in_seconds_under_v1_and_v2(tmp_path: Path) -> None:
    root = cgroups(tmp_path)
    assert bench_cpu.cgroup_usage_s(("v1", "/libpod_parent/libpod-abc"), root) == 2.5
    assert bench_cpu.cgroup_usage_s(("v2", "/machine.slice/libpod-def.scope"), root) == 1.5
    assert bench_cpu.cgroup_usage_s(("v1", "/libpod_parent/gone"), root) is None
    assert bench_cpu.cgroup_usage_s(("v2", "/machine.slice/gone.scope"), root) is None


def test_a_meter_sums_its_containers_and_knows_when_one_is_unreadable(tmp_path: Path) -> None:
    root = cgroups(tmp_path)
    proc = proc_with(tmp_path, 42, V1_CGROUP)
    both = [("v1", "/libpod_parent/libpod-abc"), ("v2", "/machine.slice/libpod-def.scope")]
    assert CpuMeter(both, proc, root).sample() == CpuSample(171 / bench_cpu.TICKS, 4.0)
    gone = [*both, ("v1", "/libpod_parent/gone")]
    assert CpuMeter(gone, proc, root).sample().lab_s is None
    assert CpuMeter([], proc, root).sample().lab_s is None


def test_cpu_between_two_samples() -> None:
    window = bench_cpu.cpu_between(CpuSample(100.0, 10.0), CpuSample(118.0, 25.5), 10.0, cores=2)
    assert window == {"machine_cpu_s": 18.0, "lab_cpu_s": 15.5, "cores": 2, "busy_share": 0.9}
    unknown = bench_cpu.cpu_between(CpuSample(100.0, None), CpuSample(101.0, 3.0), 0.0, cores=2)
    assert unknown == {"machine_cpu_s": 1.0, "lab_cpu_s": None, "cores": 2, "busy_share": None}


def test_lab_cpu_above_idle_takes_the_idle_rate_off_the_window() -> None:
    idle, start = CpuSample(100.0, 10.0), CpuSample(101.0, 10.3)  # 0.3 s in 3 s idle: 0.1/s
    end = CpuSample(110.0, 15.3)  # 5 s of lab CPU in a window of 5 s
    # 5 s less 5 s x 0.1/s of idle
    assert bench_cpu.lab_cpu_above_idle(idle, start, end, idle_s=3.0, window_s=5.0) == 4.5
    # never below nothing, whatever the idle rate was
    assert bench_cpu.lab_cpu_above_idle(idle, start, CpuSample(110.0, 10.4), 3.0, 5.0) == 0.0
    assert bench_cpu.lab_cpu_above_idle(idle, start, CpuSample(110.0, None), 3.0, 5.0) is None
    assert bench_cpu.lab_cpu_above_idle(idle, start, end, idle_s=0.0, window_s=5.0) is None
