"""What the membership tests share (test_membership_changes.py, test_reconfig.py): the lab's
hosts and the inventory the next site.yml run gets (Membership), partitions between them (cut),
and a change watched under client traffic (watched): the writer's ledger and leader looks
(tools/testkit/zk_traffic.py), a register of clients pinned to each member
(tools/testkit/zk_register.py) whose history must be linearizable
(tools/testkit/linearizable.py), nothing acknowledged lost, never two leaders of one epoch at
one look, and a deposed leader (cut off, of an older epoch) saying so no longer than syncLimit x
tickTime + 1 s: ZooKeeper 3.4's own bound, after which it counts its followers and gives up."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from conftest import REPO, Ensemble, assert_one_leader_per_epoch, connect, podman, run_site
from kazoo.client import KazooClient
from testkit.linearizable import check, summary
from testkit.zk_register import Register
from zk_status import Server, load_inventory
from testkit.zk_traffic import Span, Traffic, missing

RUN = uuid.uuid4().hex[:8]
PARENT = f"/membership/{RUN}"
# Each watched change's looks and writes (Traffic.to_json), one file per change.
RESULTS = REPO / "results" / "membership"
SETTLE = 30.0  # seconds for the writes to flow again after a change
# The member list a running server has (tasks/validate-hosts.yml's probe reads the same).
RUNNING_LIST = (
    "systemctl is-active -q zookeeper || exit 0; d=/var/lib/zookeeper/config; "
    "if [ -f $d/zoo.cfg ]; then cat \"$(sed -n 's/^dynamicConfigFile=//p' $d/zoo.cfg)\"; "
    "else cat /run/zookeeper/zoo.cfg; fi")


def write_inventory(workdir: Path, hostvars: dict[str, dict[str, Any]], members: list[str],
                    retired: list[str], settings: dict[str, Any]) -> Path:
    """A new inventory file in `workdir`: `members` in group zookeeper, `retired` in
    zookeeper_retired, each with its host variables and `settings` over them."""
    def hosts(names: list[str]) -> dict[str, Any]:
        return {n: {**hostvars[n], **settings} for n in names}

    groups: dict[str, Any] = {"zookeeper": {"hosts": hosts(members)}}
    if retired:
        groups["zookeeper_retired"] = {"hosts": hosts(retired)}
    path = workdir / f"inventory-{len(list(workdir.glob('inventory-*')))}.yml"
    path.write_text(yaml.safe_dump({"all": {"children": groups}}, sort_keys=False))
    return path


@contextmanager
def lab(ensemble: Ensemble, workdir: Path, measurements: list[str], hosts: int
        ) -> Iterator[Membership]:
    """The scenario's Membership for a module of tests; its figures go to `measurements`."""
    ensemble.wait_healthy()
    found = Membership(ensemble, workdir)
    if len(found.everyone) < hosts:
        raise AssertionError(f"this scenario needs {hosts} hosts, it has {len(found.everyone)}")
    try:
        yield found
    finally:  # the figures of the tests that ran, whatever became of the others
        measurements.extend(found.figures)


class Membership:
    """The scenario's seven hosts, who is a member or retired now, and the inventory the next
    site.yml run gets."""

    def __init__(self, ensemble: Ensemble, workdir: Path) -> None:
        data = load_inventory(ensemble.inventory)
        self.hostvars: dict[str, dict[str, Any]] = data["_meta"]["hostvars"]
        self.members = [m.name for m in ensemble.members]
        self.everyone = sorted(self.hostvars)
        self.retired: list[str] = []
        self.settings: dict[str, Any] = {}
        self.workdir = workdir
        self.figures: list[str] = []
        self.written: dict[str, float] = {}  # every acknowledged znode of every test

    def endpoint(self, name: str) -> str:
        return f"{self.hostvars[name]['ansible_host']}:2181"

    def servers(self) -> list[Server]:
        """Every host of the scenario: the sampler counts leaders among all of them."""
        return [Server(n, str(self.hostvars[n]["ansible_host"]), 2181) for n in self.everyone]

    def inventory(self) -> Path:
        return write_inventory(self.workdir, self.hostvars, self.members, self.retired,
                               self.settings)

    def site(self, **extra_vars: Any) -> tuple[int, str]:
        return run_site(self.inventory(), extra_vars or None)

    def view(self, names: list[str] | None = None) -> Ensemble:
        return Ensemble(str(self.workdir), {n: self.hostvars[n] for n in names or self.members})

    def host(self, name: str) -> Any:
        view = self.view([name])
        return view.host(view.member(name))

    def run(self, name: str, command: str) -> str:
        return self.host(name).run(command).stdout

    def running_lists(self, names: list[str]) -> dict[str, set[int]]:
        """The member list each running server runs with: the unit's copy of zoo.cfg as it
        started, or (dynamic reconfiguration, 3.8) the dynamic file the server keeps."""
        lists = {}
        for name in names:
            text = self.run(name, RUNNING_LIST)
            found = {int(i) for i in re.findall(r"^server\.(\d+)=", text, re.M)}
            if found:
                lists[name] = found
        return lists

    def container(self, name: str) -> str:
        return f"{self.hostvars[name]['zk_lab_name']}-{name}"


@contextmanager
def cut(m: Membership, side: list[str], other: list[str]) -> Iterator[None]:
    """Blackhole routes both ways between every server of `side` and every one of `other`;
    removed on exit, whatever happens."""
    pairs = [(a, b) for a in side for b in other]
    try:
        for a, b in pairs:
            podman("exec", m.container(a), "ip", "route", "add", "blackhole",
                   f"{m.hostvars[b]['ansible_host']}/32")
            podman("exec", m.container(b), "ip", "route", "add", "blackhole",
                   f"{m.hostvars[a]['ansible_host']}/32")
        yield
    finally:
        for a, b in pairs:
            podman("exec", m.container(a), "ip", "route", "del", "blackhole",
                   f"{m.hostvars[b]['ansible_host']}/32", check=False)
            podman("exec", m.container(b), "ip", "route", "del", "blackhole",
                   f"{m.hostvars[a]['ansible_host']}/32", check=False)


class Watch:
    """What one change is judged by: the writer's ledger and leader looks (Traffic), and the
    register's history."""

    def __init__(self, m: Membership, name: str) -> None:
        self.m, self.name = m, name
        self.client = connect(m.view().members, tries=-1)
        # 10 writes and 15 register operations a second: enough to see every gap and order,
        # little enough that the JVMs and clients do not slow the machine the changes run on.
        self.traffic = Traffic(self.client, f"{PARENT}/{len(m.figures)}", m.servers, rate=10.0)
        self.slug = slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        # Three clients, pinned to the first three members: each interrupted change has
        # members of both lists among them when the partition comes.
        self.register = Register(servers=[m.endpoint(n) for n in m.members],
                                 path=f"/membership-register/{RUN}-{slug}", duration=600,
                                 clients=3, rate=5.0)
        self.span: Span | None = None

    def since(self, at: float) -> float:
        """A monotonic time as the register's clock has it."""
        return at - self.register.started


@contextmanager
def watched(m: Membership, name: str) -> Iterator[Watch]:
    """Run a change under traffic; afterwards the ensemble of m.members must be healthy, the
    writes flowing, nothing acknowledged lost, the history linearizable, never two leaders of
    one epoch, a deposed leader gone within syncLimit x tickTime + 1 s
    (conftest.assert_one_leader_per_epoch)."""
    watch = Watch(m, name)
    with watch.traffic, watch.register:
        time.sleep(2)
        with watch.traffic.span(name) as span:
            watch.span = span
            yield watch
        m.view().wait_healthy(timeout=120)
        deadline = time.monotonic() + SETTLE
        while watch.traffic.last_acknowledged() <= span.end:
            assert time.monotonic() < deadline, f"{name}: no write acknowledged since the change"
            time.sleep(0.2)
        time.sleep(1)
    watch.client.stop()
    watch.client.close()
    history = watch.register.history()
    violations = check(history, watch.register.initial_value, watch.register.initial_version)
    said = summary(history, violations)
    m.written.update(watch.traffic.acked)
    lost = lost_writes(m, dict(watch.traffic.acked))
    figures = watch.traffic.summary(span)
    # Each look and write of the change, kept to tell afterwards which step a gap was in.
    watch.traffic.to_json(RESULTS / f"{watch.slug}.json", {"change": name})
    m.figures.append(
        f"membership {name}: {figures['seconds']:.1f} s, {figures['elections']} election(s), "
        f"longest write gap {figures['longest_gap_s']:.2f} s, no server serving for "
        f"{figures['none_serving_s']:.2f} s, {figures['acknowledged']} writes acknowledged, "
        f"{sum(len(v) for v in lost.values())} lost, at most {figures['most_leaders']} "
        f"leader(s) at one look ({figures['split_looks']} of one epoch, a deposed one for "
        f"{figures['longest_deposed_s']:.2f} s at most); history {len(history)} operations, "
        f"{'linearizable' if not violations else f'{len(violations)} VIOLATIONS'} "
        f"({said['outcomes']})")
    assert not violations, "\n".join(violations[:20])
    assert not any(lost.values()), f"{name}: acknowledged writes lost: {lost}"
    assert_one_leader_per_epoch(watch.traffic, lambda: (
        m.run(n, "cat /etc/zookeeper/zoo.cfg 2>/dev/null || true") for n in m.everyone), span, name)


def lost_writes(m: Membership, acked: dict[str, float]) -> dict[str, list[str]]:
    """Per member, the acknowledged znodes it lacks."""
    lost = {}
    parents = sorted({path.rsplit("/", 1)[0] for path in acked})
    for name in m.members:
        reader = KazooClient(hosts=m.endpoint(name), timeout=10.0)
        reader.start(timeout=15)
        try:
            lost[name] = [p for parent in parents for p in missing(
                reader, parent, {k: v for k, v in acked.items() if k.startswith(parent + "/")})]
        finally:
            reader.stop()
            reader.close()
    return lost


def finish(m: Membership) -> str:
    """site.yml succeeds, and every member runs with the inventory's members."""
    return finished(m, *m.site())


def finished(m: Membership, rc: int, output: str) -> str:
    """The site.yml run that gave `rc` and `output` succeeded, and every member runs with the
    inventory's members."""
    assert rc == 0, f"site.yml failed:\n{output[-4000:]}"
    wanted = {int(m.hostvars[n]["zookeeper_id"]) for n in m.members}
    lists = m.running_lists(m.members)
    assert all(lists.get(n) == wanted for n in m.members), f"member lists: {lists}"
    return output


def missing_paths(m: Membership, name: str, paths: list[str]) -> list[str]:
    reader = KazooClient(hosts=m.endpoint(name), timeout=10.0)
    reader.start(timeout=15)
    try:
        reader.sync("/")
        return [p for p in paths if reader.exists(p) is None]
    finally:
        reader.stop()
        reader.close()
