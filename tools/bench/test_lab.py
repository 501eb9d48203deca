"""Unit tests of tools/bench/lab.py: fleet shapes, the inventory of K ensembles, the health of
each ensemble, forks from ansible.cfg. Nothing here starts a lab or talks to ZooKeeper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import lab as bench_lab
import pytest
import yaml
from bench.lab import Shape
from zk_status import Server

KEY = '"{{ inventory_dir }}/../../../.lab/ssh/id_ed25519"'


def lab_inventory_text(hosts: int) -> str:
    """An inventory as `tools/lab up --inventory` writes it."""
    lines = ["---", "# Written by `tools/lab up` for the lab `bench`.", "all:", "  children:",
             "    zookeeper:", "      hosts:"]
    for i in range(1, hosts + 1):
        lines += [f"        zookeeper{i:02d}:", f"          ansible_host: 10.213.16.{10 + i}",
                  f"          zookeeper_id: {i}"]
    lines += ["      vars:", '        zookeeper_version: "3.4.13"',
              '        zookeeper_mirror: "http://10.213.16.250:8080"',
              '        zookeeper_build_fixes: ["CVE-2017-5637", "CVE-2019-0201"]',
              "  vars:", "    ansible_user: root", f"    ansible_ssh_private_key_file: {KEY}",
              "    ansible_ssh_common_args: >-",
              "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- shapes

@pytest.mark.parametrize(("text", "ensembles", "members", "hosts", "short"), [
    ("3", 1, 3, 3, "1x3"),
    ("9", 1, 9, 9, "1x9"),
    ("3x3", 3, 3, 9, "3x3"),
    ("2X5", 2, 5, 10, "2x5"),
])
def test_parse_shape(text: str, ensembles: int, members: int, hosts: int, short: str) -> None:
    shape = bench_lab.parse_shape(text)
    assert (shape.ensembles, shape.members, shape.hosts, shape.short) == (
        ensembles, members, hosts, short)


@pytest.mark.parametrize("text", ["", "x3", "three", "0", "3x0", "0x3", "8x4", "27x1"])
def test_parse_shape_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        bench_lab.parse_shape(text)


def test_shape_describes_itself() -> None:
    assert Shape().describe() == "1 ensemble of 3 members"
    assert Shape(3, 3).describe() == "3 ensembles of 3 members (9 hosts)"
    assert Shape(3, 3).groups() == ["zk_a", "zk_b", "zk_c"]


def test_split_ensembles_keeps_the_lab_order() -> None:
    servers = [Server(f"zookeeper{i:02d}", f"10.213.16.{10 + i}", 2181) for i in range(1, 10)]
    ensembles = bench_lab.split_ensembles(servers, 3)
    assert [[s.name for s in e] for e in ensembles] == [
        ["zookeeper01", "zookeeper02", "zookeeper03"],
        ["zookeeper04", "zookeeper05", "zookeeper06"],
        ["zookeeper07", "zookeeper08", "zookeeper09"]]
    assert bench_lab.split_ensembles(servers[:5], 5) == [servers[:5]]


# --------------------------------------------------------------------------- inventory

def test_inventory_of_three_ensembles_of_three() -> None:
    data = bench_lab.ensembles_inventory(yaml.safe_load(lab_inventory_text(9)), Shape(3, 3))
    zookeeper = data["all"]["children"]["zookeeper"]
    assert list(zookeeper["children"]) == ["zk_a", "zk_b", "zk_c"]
    assert "hosts" not in zookeeper
    zk_b = zookeeper["children"]["zk_b"]
    assert zk_b["hosts"] == {
        "zookeeper04": {"ansible_host": "10.213.16.14", "zookeeper_id": 1},
        "zookeeper05": {"ansible_host": "10.213.16.15", "zookeeper_id": 2},
        "zookeeper06": {"ansible_host": "10.213.16.16", "zookeeper_id": 3}}
    assert zk_b["vars"] == {"zookeeper_ensemble_group": "zk_b", "zookeeper_ensemble_name": "b"}
    # the lab's variables are copied where the lab put them
    assert zookeeper["vars"] == {"zookeeper_version": "3.4.13",
                                 "zookeeper_mirror": "http://10.213.16.250:8080",
                                 "zookeeper_build_fixes": ["CVE-2017-5637", "CVE-2019-0201"]}
    assert data["all"]["vars"]["ansible_user"] == "root"
    assert data["all"]["vars"]["ansible_ssh_private_key_file"] == (
        "{{ inventory_dir }}/../../../.lab/ssh/id_ed25519")


def test_inventory_needs_the_shape_s_hosts() -> None:
    with pytest.raises(ValueError, match="needs 9"):
        bench_lab.ensembles_inventory(yaml.safe_load(lab_inventory_text(3)), Shape(3, 3))


def test_group_vars_join_the_lab_s_own() -> None:
    data = bench_lab.ensembles_inventory(yaml.safe_load(lab_inventory_text(6)), Shape(2, 3),
                                         {"zookeeper_heap_size": "64m"})
    variables = data["all"]["children"]["zookeeper"]["vars"]
    assert variables["zookeeper_heap_size"] == "64m"
    assert variables["zookeeper_mirror"] == "http://10.213.16.250:8080"


def test_written_inventory_reads_back(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab-hosts.yml"
    lab_file.write_text(lab_inventory_text(6))
    bench_lab.write_ensembles_inventory(lab_file, tmp_path / "hosts.yml", Shape(2, 3))
    text = (tmp_path / "hosts.yml").read_text()
    assert text.startswith("---\n# Written by tools/bench/run.py from lab-hosts.yml")
    data = yaml.safe_load(text)
    groups = data["all"]["children"]["zookeeper"]["children"]
    assert {name: [h["zookeeper_id"] for h in g["hosts"].values()]
            for name, g in groups.items()} == {"zk_a": [1, 2, 3], "zk_b": [1, 2, 3]}


# --------------------------------------------------------------------------- health

@pytest.mark.parametrize(("modes", "expected"), [
    (["leader", "follower", "follower"], True),
    (["follower", "follower", "down"], False),
    (["leader", "follower", "down"], False),
    (["leader", "leader", "follower"], False),
    (["standalone", "follower", "follower"], False),
    (["follower", "leader", "follower", "follower", "follower", "follower", "follower"], True),
])
def test_leader_and_followers(modes: list[str], expected: bool) -> None:
    report = {"servers": [{"name": f"zk{i}", "mode": m} for i, m in enumerate(modes)],
              "expected": len(modes)}
    assert bench_lab.leader_and_followers(report) is expected


def test_each_ensemble_is_judged_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    servers = [Server(f"zookeeper{i:02d}", f"10.213.16.{10 + i}", 2181) for i in range(1, 7)]
    modes = ["leader", "follower", "follower", "follower", "follower", "down"]

    def query_all(asked: list[Server], timeout: float) -> list[dict[str, Any]]:
        assert asked == servers  # every server of every ensemble, asked at once
        return [{"name": s.name, "address": s.address, "port": s.port, "mode": m}
                for s, m in zip(asked, modes)]

    monkeypatch.setattr(bench_lab, "query_all", query_all)
    reports = bench_lab.ensembles_report(bench_lab.split_ensembles(servers, 3))
    assert [r["expected"] for r in reports] == [3, 3]
    assert [bench_lab.leader_and_followers(r) for r in reports] == [True, False]
    assert not bench_lab.all_whole(reports)
    assert bench_lab.all_whole(reports[:1])
    assert not bench_lab.all_whole([])


def test_a_watch_asks_at_most_its_budget_of_srvr_a_second() -> None:
    assert bench_lab.watch_interval(3) == bench_lab.POLL_EVERY
    assert bench_lab.watch_interval(30) == 30 / bench_lab.WATCH_SRVR_PER_S == 1.0


@pytest.mark.parametrize(("hosts", "fewest", "most"), [(3, 6, 13), (30, 1, 2)])
def test_a_watch_of_more_servers_looks_less_often(
        monkeypatch: pytest.MonkeyPatch, hosts: int, fewest: int, most: int) -> None:
    looks: list[int] = []

    def query_all(asked: list[Server], timeout: float) -> list[dict[str, Any]]:
        looks.append(len(asked))
        return [{"name": s.name, "address": s.address, "port": s.port, "mode": None,
                 "error": "not serving"} for s in asked]

    monkeypatch.setattr(bench_lab, "query_all", query_all)
    servers = [Server(f"zookeeper{i:02d}", f"10.213.16.{10 + i}", 2181)
               for i in range(1, hosts + 1)]
    with bench_lab.HealthWatch(bench_lab.split_ensembles(servers, 3)) as watch:
        assert watch.wait(1.2) is None  # never whole
    # 0.1 s apart for 3 servers, 1 s apart for 30: at most 30 srvr a second (and a first look)
    assert fewest <= len(looks) <= most
    assert set(looks) == {hosts}


def test_a_watch_samples_when_every_ensemble_is_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    servers = [Server(f"zookeeper{i:02d}", f"10.213.16.{10 + i}", 2181) for i in range(1, 4)]
    answers = iter([["follower", None, None], ["leader", "follower", "follower"]])

    def query_all(asked: list[Server], timeout: float) -> list[dict[str, Any]]:
        return [{"name": s.name, "address": s.address, "port": s.port, "mode": m}
                for s, m in zip(asked, next(answers))]

    monkeypatch.setattr(bench_lab, "query_all", query_all)
    samples = iter(["whole"])
    with bench_lab.HealthWatch([servers], lambda: next(samples)) as watch:
        assert watch.wait(5) is not None
    assert watch.healthy_sample == "whole"


# --------------------------------------------------------------------------- ansible

def test_project_forks(tmp_path: Path) -> None:
    assert bench_lab.project_forks() >= 1
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nforks = 12\n")
    assert bench_lab.project_forks(config) == 12
    config.write_text("[defaults]\ngathering = explicit\n")
    assert bench_lab.project_forks(config) == 5
    assert bench_lab.project_forks(tmp_path / "missing.cfg") == 5
