"""Unit tests of tools/bench/floors.py: the by-hand floor's zoo.cfg and shell script, the
Ansible floor's playbook. Nothing here starts a lab."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import floors as bench_floors
import pytest
import yaml
from bench.cpu import CpuMeter
from bench.lab import BenchError
from zk_status import Server

URL = "http://10.213.16.250:8080/zookeeper-3.4.13/zookeeper-3.4.13.tar.gz"


def ensemble(first: int, count: int = 3) -> list[Server]:
    return [Server(f"zookeeper{i:02d}", f"10.213.16.{10 + i}", 2181)
            for i in range(first, first + count)]


def test_zoo_cfg_of_one_ensemble() -> None:
    assert bench_floors.zoo_cfg(ensemble(4)) == (
        "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=/var/lib/zk-floor\n"
        "clientPort=2181\n4lw.commands.whitelist=srvr,mntr,ruok\n"
        "server.1=10.213.16.14:2888:3888\nserver.2=10.213.16.15:2888:3888\n"
        "server.3=10.213.16.16:2888:3888\n")


def test_release_dir() -> None:
    assert bench_floors.release_dir(URL) == "zookeeper-3.4.13"


def test_floor_script_fetches_checks_unpacks_configures_and_starts() -> None:
    script = bench_floors.floor_script(URL, 2, bench_floors.zoo_cfg(ensemble(1)))
    lines = script.splitlines()
    assert lines[:2] == ["set -eu", "cd /tmp"]
    assert lines[2].startswith("python3 -c 'import sys, urllib.request as r; ")
    assert lines[2].endswith(f" {URL} zookeeper-3.4.13.tar.gz")
    assert "sha512sum --check --quiet zookeeper-3.4.13.tar.gz.sha512" in lines
    assert "tar -xzf zookeeper-3.4.13.tar.gz -C /opt" in lines
    assert "echo 2 > /var/lib/zk-floor/myid" in lines
    assert "cat > /opt/zookeeper-3.4.13/conf/zoo.cfg <<'EOF'" in lines
    assert "server.3=10.213.16.13:2888:3888" in lines
    assert lines[-1] == (
        "systemd-run --quiet --unit=zk-floor --working-directory=/opt/zookeeper-3.4.13 "
        "\"$(command -v java)\" -cp '/opt/zookeeper-3.4.13/*:/opt/zookeeper-3.4.13/lib/*:conf' "
        "org.apache.zookeeper.server.quorum.QuorumPeerMain conf/zoo.cfg")


@pytest.mark.skipif(shutil.which("sh") is None, reason="no sh")
def test_floor_script_is_valid_shell() -> None:
    script = bench_floors.floor_script(URL, 1, bench_floors.zoo_cfg(ensemble(1)))
    subprocess.run(["sh", "-n", "-c", script], check=True)


def test_every_host_gets_its_own_ensemble_and_id() -> None:
    scripts = bench_floors.host_scripts([ensemble(1), ensemble(4)], URL)
    assert len(scripts) == 6
    fifth = scripts[ensemble(4)[1]]
    assert "echo 2 > /var/lib/zk-floor/myid" in fifth
    assert "server.1=10.213.16.14:2888:3888" in fifth
    assert "10.213.16.11" not in fifth


def test_ansible_floor_playbook(tmp_path: Path) -> None:
    path = bench_floors.write_floor_playbook(tmp_path / "results" / "ansible-floor.yml")
    plays = yaml.safe_load(path.read_text())
    assert len(plays) == 1
    assert plays[0]["hosts"] == "zookeeper"
    assert plays[0]["gather_facts"] is False
    assert plays[0]["tasks"] == [{"name": "One no-op task", "ansible.builtin.ping": None}]
    for tasks in (1, bench_floors.TASK_COST_TASKS):
        cost = yaml.safe_load(path.with_name(f"task-cost-{tasks}.yml").read_text())
        assert len(cost) == 1 and cost[0]["gather_facts"] is False
        assert len(cost[0]["tasks"]) == tasks
        assert all(set(task) == {"name", "ansible.builtin.assert"} for task in cost[0]["tasks"])


class FakeWatch:
    """A HealthWatch whose ensembles are whole as soon as asked."""

    def __init__(self, ensembles: object, sample: Callable[[], Any] | None = None) -> None:
        self.ensembles = ensembles
        self.sample = sample
        self.healthy_sample: Any = None

    def __enter__(self) -> FakeWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def wait(self, limit: float) -> float:
        if self.sample is not None:
            self.healthy_sample = self.sample()
        return time.monotonic()


def test_by_hand_floor_runs_one_ssh_per_host_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    def ssh_argv(key: Path, address: str, command: str) -> list[str]:
        started.append(address)
        return ["sh", "-c", f"sleep 0.5; echo started on {address}"]

    monkeypatch.setattr(bench_floors, "ssh_argv", ssh_argv)
    monkeypatch.setattr(bench_floors, "HealthWatch", FakeWatch)
    began = time.monotonic()
    floor = bench_floors.run_by_hand_floor([ensemble(1)], tmp_path / "key", URL,
                                           tmp_path / "floor.log")
    assert time.monotonic() - began < 1.2  # together: one after the other takes 1.5 s
    assert started == ["10.213.16.11", "10.213.16.12", "10.213.16.13"]
    assert sorted(floor["by_hand_scripts_s"]) == ["zookeeper01", "zookeeper02", "zookeeper03"]
    assert all(0.45 < s < 1.2 for s in floor["by_hand_scripts_s"].values())
    assert 0.45 < floor["by_hand_s"] < 1.2
    log = (tmp_path / "floor.log").read_text()
    assert "## zookeeper02 (10.213.16.12)\n$ set -eu" in log
    assert "started on 10.213.16.13" in log


def test_by_hand_floor_fails_when_a_script_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_floors, "ssh_argv", lambda key, address, command: [
        "sh", "-c", "exit 3" if address.endswith(".12") else "true"])
    monkeypatch.setattr(bench_floors, "HealthWatch", FakeWatch)
    with pytest.raises(BenchError, match=r"by-hand floor: zookeeper02: exit 3; output in"):
        bench_floors.run_by_hand_floor([ensemble(1)], tmp_path / "key", URL,
                                       tmp_path / "floor.log")


def test_by_hand_floor_measures_the_machines_cpu_until_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each "host" spins one core for 0.5 s: 1.5 s of CPU on this machine, whatever its cores
    spin = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    monkeypatch.setattr(bench_floors, "ssh_argv", lambda key, address, command: [
        sys.executable, "-c", spin])
    monkeypatch.setattr(bench_floors, "HealthWatch", FakeWatch)
    floor = bench_floors.run_by_hand_floor([ensemble(1)], tmp_path / "key", URL,
                                           tmp_path / "floor.log", meter=CpuMeter([]))
    assert 1.4 <= floor["machine_cpu_s"] < 1.5 + floor["by_hand_s"] * floor["cores"]
    assert floor["lab_cpu_s"] is None  # no container measured
    assert 0 < floor["busy_share"] <= 1.05
    without = bench_floors.run_by_hand_floor([ensemble(1)], tmp_path / "key", URL,
                                             tmp_path / "floor.log")
    assert "machine_cpu_s" not in without
