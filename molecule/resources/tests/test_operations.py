"""Day-2 operations while a client writes all the time (the `operations` scenario).

One kazoo client writes about 20 sequential znodes a second, recording each acknowledged
one, and a sampler records who leads, through the whole module. Meanwhile, in order:
a config change (rolling restart), replacing a dead member by a new, empty host at a new
address, a change applied with
zookeeper_restart_strategy=all-at-once, and two rolling changes whose ansible-playbook is
interrupted (SIGINT once a follower went down; SIGKILL of its whole process group while the
leader restarts), each finished by the next run. Growing and shrinking are the `membership`
scenario's (test_membership_changes.py), under partitions too. Every operation goes through
playbooks/site.yml with an inventory this module writes. The rolling ones must keep the longest gap
between acknowledged writes under GAP_LIMIT; at the end every acknowledged write must
be on every server. The timeline goes to results/operations/ (JSON and PNG).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Ensemble, connect, interrupt_playbook, run_site, site_command
from kazoo.client import KazooClient
from membership_lab import write_inventory
from zk_status import Server, load_inventory, query_all
from testkit.zk_traffic import Span, Traffic, missing

GAP_LIMIT = 5.0  # seconds without an acknowledged write that a rolling operation may cause
RESULTS = REPO / "results" / "operations"
PARENT = f"/operations/{uuid.uuid4().hex[:8]}"
REPLACED = "zookeeper01"  # the lowest id: the others must learn its new address


class Operations:
    """The scenario's hosts, the inventory the next site.yml run gets, and the traffic."""

    def __init__(self, ensemble: Ensemble, workdir: Path) -> None:
        data = load_inventory(ensemble.inventory)
        self.hostvars: dict[str, dict[str, Any]] = data["_meta"]["hostvars"]
        self.members = [m.name for m in ensemble.members]
        self.settings: dict[str, Any] = {}
        self.workdir = workdir
        self.measurements: list[dict[str, Any]] = []
        self.client = connect(ensemble.members, tries=-1)
        self.traffic = Traffic(self.client, PARENT, self.servers)

    def address(self, name: str) -> str:
        return str(self.hostvars[name]["ansible_host"])

    def servers(self) -> list[Server]:
        """What the sampler asks who leads: the members."""
        return [Server(n, self.address(n), 2181) for n in self.members]

    def inventory(self) -> Path:
        """An inventory of the current members, with the settings."""
        return write_inventory(self.workdir, self.hostvars, self.members, [], self.settings)

    def site(self, **extra_vars: Any) -> str:
        rc, output = run_site(self.inventory(), extra_vars or None)
        assert rc == 0, f"site.yml failed:\n{output[-4000:]}"
        return output

    def view(self, names: list[str] | None = None) -> Ensemble:
        """An Ensemble of the current members (or of `names`): SSH hosts, health, logs."""
        return Ensemble(str(self.workdir), {n: self.hostvars[n] for n in names or self.members})

    def host(self, name: str) -> Any:
        view = self.view([name])
        return view.host(view.member(name))

    def pids(self) -> dict[str, str]:
        return {n: self.host(n).check_output("systemctl show -p MainPID --value zookeeper")
                for n in self.members}

    def down_windows(self) -> dict[str, tuple[float, float]]:
        """Per member, the seconds (on the kernel's monotonic clock, which the lab's containers
        share) from its server's last stop to its start after that, as systemd recorded them."""
        windows = {}
        for name in self.members:
            props = dict(line.split("=", 1) for line in self.host(name).check_output(
                "systemctl show -p ActiveExitTimestampMonotonic "
                "-p ActiveEnterTimestampMonotonic zookeeper").splitlines())
            windows[name] = (int(props["ActiveExitTimestampMonotonic"]) / 1e6,
                             int(props["ActiveEnterTimestampMonotonic"]) / 1e6)
        return windows

    def check(self, span: Span, gap_limit: float | None = GAP_LIMIT, elections: int = 1) -> None:
        """Record the operation's figures; the ensemble must be healthy after it, and the
        writes flowing again (so that a gap reaching past the operation's end is measured)."""
        report = self.view().wait_healthy(timeout=90)
        deadline = time.monotonic() + 30
        while self.traffic.last_acknowledged() <= span.end:
            assert time.monotonic() < deadline, f"{span.name}: no write acknowledged in 30 s since"
            time.sleep(0.1)
        figures = self.traffic.summary(span)
        self.measurements.append(figures)
        assert report["serving"] == len(self.members), report["summary"]
        if gap_limit is not None:
            assert figures["longest_gap_s"] < gap_limit, (
                f"{span.name}: no write acknowledged for {figures['longest_gap_s']} s: {figures}")
            assert figures["elections"] <= elections, f"{span.name}: {figures}"

    def zoo_cfg_servers(self, name: str) -> list[str]:
        text = self.host(name).file("/etc/zookeeper/zoo.cfg").content_string
        return [line.split("=")[1].split(":")[0] for line in text.splitlines()
                if line.startswith("server.")]


@pytest.fixture(scope="module")
def ops(ensemble: Ensemble, tmp_path_factory: pytest.TempPathFactory,
        measurements: list[str]) -> Iterator[Operations]:
    ensemble.wait_healthy()
    operations = Operations(ensemble, tmp_path_factory.mktemp("operations"))
    with operations.traffic:
        time.sleep(3)  # a baseline before the first operation
        yield operations
        time.sleep(3)
    traffic = operations.traffic
    RESULTS.mkdir(parents=True, exist_ok=True)
    traffic.to_json(RESULTS / "operations.json", {"parent": PARENT})
    traffic.plot(RESULTS / "timeline.png",
                 "operations scenario: acknowledged writes, failures and the leader")
    for figures in operations.measurements:
        measurements.append(
            f"operation {figures['operation']}: {figures['seconds']:.1f} s, "
            f"{figures['acknowledged']} writes acknowledged, {figures['failed']} failed, "
            f"longest gap {figures['longest_gap_s']:.2f} s, {figures['elections']} election(s), "
            f"leaders {' -> '.join(str(n) for n in figures['leaders'])}")
    measurements.append(f"operations timeline: {RESULTS / 'timeline.png'} "
                        f"(data: {RESULTS / 'operations.json'})")
    operations.client.stop()
    operations.client.close()


def test_config_change_restarts_one_server_at_a_time(ops: Operations) -> None:
    before = ops.pids()
    with ops.traffic.span("config change: tickTime 2500") as span:
        ops.settings["zookeeper_tick_time"] = 2500
        ops.site()
    ops.check(span)
    after = ops.pids()
    assert all(after[n] != before[n] for n in ops.members), f"not restarted: {before} {after}"
    for name in ops.members:
        assert "tickTime=2500" in ops.host(name).file("/etc/zookeeper/zoo.cfg").content_string
    # One at a time: no two servers were ever stopped at the same moment.
    windows = sorted(ops.down_windows().items(), key=lambda item: item[1])
    for (first, (_unused, started)), (then, (stopped, _unused)) in zip(windows, windows[1:]):
        assert started < stopped, (
            f"{then} stopped before {first} was started again: {dict(windows)}")


def test_replace_a_dead_member_by_a_new_host_at_a_new_address(ops: Operations) -> None:
    old = ops.address(REPLACED)
    new = old.rsplit(".", 1)[0] + ".31"
    lab = ops.hostvars[REPLACED]
    with ops.traffic.span(f"replace {REPLACED} ({old} -> {new})") as span:
        proc = subprocess.run(
            [str(REPO / "tools" / "lab"), f"--name={lab['zk_lab_name']}",
             f"--subnet={lab['zk_lab_subnet']}", f"--hosts={len(ops.hostvars)}",
             "replace", REPLACED, f"--address={new}"],
            capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        ops.hostvars[REPLACED] = {**ops.hostvars[REPLACED], "ansible_host": new}
        # Clients list the new address instead of the dead one: a new client takes over the
        # writing (kazoo's set_hosts() only applies after a full round of the old list, and
        # each try of the dead address costs 3 s of "no route to host").
        old_client, ops.client = ops.client, connect(ops.view().members, tries=-1)
        ops.traffic.client = ops.client
        old_client.stop()
        old_client.close()
        report = ops.view().status()
        assert report["serving"] == len(ops.members) - 1, report["summary"]
        ops.site()
    ops.check(span, elections=2)
    host = ops.host(REPLACED)
    assert host.file("/var/lib/zookeeper/myid").content_string.strip() == "1"
    for name in ops.members:
        hosts = ops.host(name).file("/etc/hosts").content_string.split("\n")
        assert [new, REPLACED] in [line.split() for line in hosts], f"{name}: /etc/hosts"
    reader = KazooClient(hosts=f"{new}:2181", timeout=10.0)
    reader.start(timeout=15)
    try:
        lost = missing(reader, PARENT, dict(ops.traffic.acked))
    finally:
        reader.stop()
        reader.close()
    assert not lost, f"the new {REPLACED} lacks {len(lost)} acknowledged znodes: {lost[:5]}"


def test_all_at_once_restarts_every_server_together(ops: Operations) -> None:
    before = ops.pids()
    with ops.traffic.span("all-at-once: maxClientCnxns 100") as span:
        ops.settings["zookeeper_max_client_cnxns"] = 100
        output = ops.site(zookeeper_restart_strategy="all-at-once")
    ops.check(span, gap_limit=None)
    assert "Restart every server at once" in output
    assert "Restart the followers one at a time" not in output
    after = ops.pids()
    assert all(after[n] != before[n] for n in ops.members), f"not restarted: {before} {after}"
    # Together: every server was started again within 3 s of the others, by systemd's clock (a
    # rolling restart spreads them by the time each takes to rejoin, several seconds). The
    # restarts go out over SSH in parallel, so their windows need not overlap.
    windows = ops.down_windows()
    starts = [started for _unused, started in windows.values()]
    assert max(starts) - min(starts) <= 3, f"the servers were not started together: {windows}"


def interrupt_site(ops: Operations, when: str, sig: signal.Signals) -> float:
    """Start site.yml with the current settings and send `sig` to its whole process group
    once `when` happens: 'follower-down' (a follower stops serving) or 'leader-down' (the
    leader does). Returns the time of the interrupt (monotonic)."""
    servers = ops.servers()
    modes = {r["name"]: r["mode"] for r in query_all(servers, 1.0)}
    leader = next(n for n, m in modes.items() if m == "leader")
    watched = [s for s in servers if (s.name == leader) == (when == "leader-down")]
    log = ops.workdir / f"interrupted-{sig.name}.log"

    def happened() -> bool:
        return not all(r["mode"] in {"leader", "follower"} for r in query_all(watched, 0.5))

    interrupted, rc = interrupt_playbook(site_command(ops.inventory()), log, happened, sig,
                                         f"no {when}", 180)
    assert rc != 0, f"site.yml was not interrupted: {log.read_text()[-3000:]}"
    return interrupted


def finish_interrupted(ops: Operations, interrupted: float, tick: int) -> float:
    """After an interrupted run: the ensemble is healthy again by itself (the seconds that
    took are returned); the next site.yml finishes what was pending and the one after
    changes nothing."""
    ops.view().wait_healthy(timeout=120)
    back = time.monotonic() - interrupted
    ops.site()
    for name in ops.members:
        assert f"tickTime={tick}" in ops.host(name).file("/etc/zookeeper/zoo.cfg").content_string
    again = ops.site()
    assert re.search(r"changed=[1-9]", again) is None, f"the run after changed something: {again}"
    return back


INTERRUPTIONS = {
    "SIGINT after a follower went down": ("follower-down", signal.SIGINT, 3000),
    "SIGKILL while the leader restarts": ("leader-down", signal.SIGKILL, 3500),
}


@pytest.mark.parametrize("how", INTERRUPTIONS, ids=["sigint-follower", "sigkill-leader"])
def test_an_interrupted_run_is_finished_by_the_next(
        ops: Operations, measurements: list[str], how: str) -> None:
    when, sig, tick = INTERRUPTIONS[how]
    before = ops.pids()
    with ops.traffic.span(f"interrupted ({how})") as span:
        ops.settings["zookeeper_tick_time"] = tick
        interrupted = interrupt_site(ops, when, sig)
        back = finish_interrupted(ops, interrupted, tick)
    ops.check(span)
    after = ops.pids()
    assert all(after[n] != before[n] for n in ops.members), f"not restarted: {before} {after}"
    measurements.append(f"interrupted by {how}: healthy again {back:.2f} s later, by itself")


def test_no_acknowledged_write_is_lost_on_any_server(ops: Operations) -> None:
    assert len(ops.measurements) == 5, "an operation above did not complete"
    acked = dict(ops.traffic.acked)
    assert len(acked) > 1000, f"only {len(acked)} writes acknowledged"
    for name in ops.members:
        reader = KazooClient(hosts=f"{ops.address(name)}:2181", timeout=10.0)
        reader.start(timeout=15)
        try:
            lost = missing(reader, PARENT, acked)
        finally:
            reader.stop()
            reader.close()
        assert not lost, f"{name} lacks {len(lost)} of {len(acked)} acknowledged: {lost[:5]}"
