"""Shared fixtures of the Molecule scenarios' verification.

The ensemble under test comes from an Ansible inventory: ZK_INVENTORY, else the one
Molecule generated (MOLECULE_INVENTORY_FILE). Host facts are checked over SSH with
testinfra, client behaviour with kazoo, connecting only to the scenario's own
containers.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import testinfra
from kazoo.client import KazooClient

REPO = Path(__file__).resolve().parents[3]
# The tools (zk_status, testkit, labs) and the checkout's collection import by name here, as in
# the unit tests (pytest.ini's pythonpath, which Molecule's verifier run may not read).
for _path in (REPO / "tools", REPO / ".collections"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
import zk_status  # noqa: E402

GROUP = "zookeeper"


@dataclass(frozen=True)
class Member:
    name: str
    address: str  # where its client port answers (zookeeper_client_port_address, if set)
    zookeeper_id: int
    port: int
    peer_address: str  # its own address: server.N, /etc/hosts, firewall rules, SSH

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"


class Ensemble:
    """The members of the inventory group, their hosts and their live state."""

    def __init__(self, inventory: str, hostvars: dict[str, dict[str, Any]] | None = None
                 ) -> None:
        """The group's hosts in `inventory`, or the hosts of `hostvars` if given."""
        self.inventory = inventory
        if hostvars is None:
            data = zk_status.load_inventory(inventory)
            hostvars = {h: data["_meta"]["hostvars"][h]
                        for h in zk_status.group_hosts(data, GROUP)}
        self.hostvars: dict[str, dict[str, Any]] = hostvars
        self.members = [
            Member(h, zk_status.client_address(h, v), int(v["zookeeper_id"]),
                   int(v.get("zookeeper_client_port", 2181)), zk_status.member_address(h, v))
            for h, v in self.hostvars.items()]
        self._hosts: dict[str, Any] = {}

    def connection_vars(self, name: str) -> dict[str, Any]:
        """A host's ansible_* variables, with the lab inventory's {{ inventory_dir }}
        resolved (ansible-inventory --list does not template)."""
        inventory_dir = Path(self.inventory)
        if not inventory_dir.is_dir():
            inventory_dir = inventory_dir.parent
        return {k: (v.replace("{{ inventory_dir }}", str(inventory_dir.resolve()))
                    if isinstance(v, str) else v)
                for k, v in self.hostvars[name].items() if k.startswith("ansible_")}

    def host(self, member: Member) -> Any:
        """A testinfra host reached over SSH as the inventory describes it; where the
        inventory logs in with a password and sudo (the upgrade scenario's zk_lab_login, whose
        hosts take no key of root's), through `podman exec`, as root."""
        if member.name not in self._hosts:
            hv = self.connection_vars(member.name)
            if hv.get("ansible_password"):
                self._hosts[member.name] = testinfra.get_host(
                    f"podman://{self.container(member)}")
                return self._hosts[member.name]
            key = str(hv.get("ansible_ssh_private_key_file")
                      or hv.get("ansible_private_key_file") or "")
            self._hosts[member.name] = testinfra.get_host(
                f"ssh://{hv.get('ansible_user', 'root')}@{hv.get('ansible_host', member.name)}:"
                f"{hv.get('ansible_port', 22)}",
                ssh_identity_file=key or None,
                ssh_extra_args=str(hv.get("ansible_ssh_common_args", "")),
                controlpersist=60)
        return self._hosts[member.name]

    def container(self, member: Member) -> str:
        """The lab container a member runs in (tools/lab names it <lab>-<member>)."""
        return f"{self.hostvars[member.name]['zk_lab_name']}-{member.name}"

    def servers(self) -> list[zk_status.Server]:
        return [zk_status.Server(m.name, m.address, m.port) for m in self.members]

    def status(self) -> dict[str, Any]:
        results = zk_status.query_all(self.servers(), 2.0)
        return zk_status.build_report(results, len(self.members))

    def modes(self) -> dict[str, str]:
        return {s["name"]: s["mode"] for s in self.status()["servers"]}

    def leader(self) -> Member:
        report = self.status()
        assert report["leader"], f"no leader: {self.describe(report)}"
        return self.member(report["leader"])

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        """Poll (bounded) until one leader and N-1 followers serve."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.status()
            if report["exit_code"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        if report["exit_code"] != 0:
            down = [s["name"] for s in report["servers"]
                    if s["mode"] not in {"leader", "follower"}]
            logs = "".join(f"\n--- {name}:\n{self.log_tail(self.member(name))}" for name in down)
            pytest.fail(f"ensemble not healthy after {timeout:g} s: {self.describe(report)}{logs}")
        return report

    def describe(self, report: dict[str, Any] | None = None) -> str:
        """What each server said, for assertion messages."""
        report = report or self.status()
        return report["summary"] + "; " + ", ".join(
            f"{s['name']}={s['mode']}{' (' + s['error'] + ')' if s['error'] else ''}"
            for s in report["servers"])

    def snapshot(self, members: list[Member] | None = None) -> dict[str, str]:
        """What a refused play must leave as it was on every member (or on `members`): the
        checksums of zoo.cfg, myid, /etc/hosts and the unit, the release symlink, the
        server's PID."""
        state = {}
        for member in self.members if members is None else members:
            state[member.name] = self.host(member).run(
                f"sha256sum {WATCHED}; readlink /opt/zookeeper; "
                "systemctl show -p MainPID,NRestarts zookeeper").stdout
        return state

    def inventory_source(self) -> Path:
        """What to hand ansible-playbook: Molecule's inventory directory (with its
        host_vars and group_vars), or the inventory as given."""
        path = Path(self.inventory)
        return path.parent if path.is_file() and os.environ.get("MOLECULE_INVENTORY_FILE") \
            else path

    def log_tail(self, member: Member, lines: int = 30) -> str:
        out = self.host(member).run(f"tail -n {lines} /var/log/zookeeper/zookeeper.log; "
                                    "systemctl status --no-pager -n 5 zookeeper")
        return out.stdout


WATCHED = ("/etc/zookeeper/zoo.cfg /var/lib/zookeeper/myid /etc/hosts "
           "/etc/systemd/system/zookeeper.service")


def site_command(inventory: str | Path, extra_vars: dict[str, Any] | None = None,
                 limit: str | None = None, playbook: str = "site.yml",
                 options: tuple[str, ...] = ()) -> list[str]:
    """The ansible-playbook command line for one of playbooks/."""
    return [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
            str(REPO / "playbooks" / playbook), "-e", json.dumps(extra_vars or {}),
            *(["--limit", limit] if limit else []), *options]


def site_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment playbooks run with: the project's ansible.cfg, no colours, `env`."""
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                **(env or {}))


def run_site(inventory: str | Path, extra_vars: dict[str, Any] | None = None,
             limit: str | None = None, playbook: str = "site.yml",
             options: tuple[str, ...] = (), env: dict[str, str] | None = None
             ) -> tuple[int, str]:
    """Run one of playbooks/ (with further ansible-playbook `options` and environment `env`);
    returns its exit code and its output on one line."""
    proc = subprocess.run(site_command(inventory, extra_vars, limit, playbook, options),
                          capture_output=True, text=True, timeout=600, check=False,
                          env=site_env(env))
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def interrupt_playbook(command: list[str], log: Path, reached: Callable[[], bool],
                       sig: signal.Signals, what: str, limit: float,
                       every: float = 0.05, grace: float = 5.0) -> tuple[float, int]:
    """Run a playbook (`command`, output to `log`) in its own process group and send `sig` to
    the whole group once `reached()` says so, polling every `every` s for at most `limit` s
    (the playbook must not end first). A playbook still running `grace` s later gets `sig`
    again, as an operator presses Ctrl-C again: ansible-playbook can lose a SIGINT (its handler
    raises KeyboardInterrupt, which Python drops when it lands in logging's at-fork hook while
    a worker is forked: "Exception ignored in: <function _releaseLock>"), and its handler has
    reset itself, so the second one ends it. Returns once the playbook's workers are gone too
    (wait_for_workers), with the time of the first signal (monotonic) and the exit code."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=site_env(),
                                start_new_session=True)
        deadline = time.monotonic() + limit
        try:
            while not reached():
                assert proc.poll() is None, f"the playbook ended first: {log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"{what} not within {limit:g} s"
                time.sleep(every)
            sent = time.monotonic()
            os.killpg(proc.pid, sig)
            for _unused in range(3):
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    out.write(f"\n[test] still running {grace:g} s after {sig.name}: sent again\n")
                    out.flush()
                    os.killpg(proc.pid, sig)
        finally:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            wait_for_workers(command)
    return sent, proc.returncode


def wait_for_workers(command: list[str], limit: float = 120.0) -> None:
    """Wait until no worker of the ansible-playbook `command` ran is left. Its workers are forks
    of it (the same command line) in sessions of their own, which a signal to its process group
    misses: after a SIGKILL, or a second SIGINT, each finishes the task it runs on its host.
    What still runs after `limit` s is killed."""
    tail = ("\0".join(command) + "\0").encode()
    deadline = time.monotonic() + limit
    while (left := processes_ending_with(tail)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def processes_ending_with(tail: bytes) -> list[int]:
    """The processes whose command line (/proc/PID/cmdline) ends with `tail`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().endswith(tail):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """A Podman command on the lab's containers (with the runc runtime the labs use); with
    `check`, one that fails raises with what Podman said (CalledProcessError alone does not)."""
    proc = subprocess.run(["podman", "--runtime", "runc", *args], capture_output=True,
                          timeout=60, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")
    return proc


def assert_refused(ensemble: Ensemble, name: str, before: dict[str, str], rc: int, output: str,
                   message: str) -> None:
    """A refused play: it failed, said `message` (a regular expression), changed nothing,
    and every member is as `before` (Ensemble.snapshot) was."""
    assert rc != 0, f"{name}: the play succeeded:\n{output[-3000:]}"
    assert re.search(message, output), f"{name}: expected message not found:\n{output[-3000:]}"
    assert re.search(r"changed=[1-9]", output) is None, f"{name}: something changed"
    assert ensemble.snapshot() == before, f"{name}: a watched file or the server changed"


def zoo_cfg_settings(text: str) -> dict[str, str]:
    """The key=value settings of a zoo.cfg text (comments left out)."""
    return dict(line.split("=", 1) for line in text.splitlines()
                if "=" in line and not line.startswith("#"))


def sync_limit_seconds(configs: Iterable[str]) -> float:
    """syncLimit x tickTime in seconds, the largest of these zoo.cfg texts (an empty text, a
    host not installed, counts nothing): how long a cut-off leader may still say it leads."""
    worst = 0.0
    for text in configs:
        cfg = zoo_cfg_settings(text)
        if "syncLimit" in cfg and "tickTime" in cfg:
            worst = max(worst, int(cfg["syncLimit"]) * int(cfg["tickTime"]) / 1000)
    return worst


def assert_one_leader_per_epoch(traffic: Any, configs: Callable[[], Iterable[str]],
                                span: Any = None, name: str = "leaders") -> None:
    """What a Traffic sampler (tools/testkit/zk_traffic.py) saw within `span`: never two leaders
    of one epoch at one look (a split brain), and a deposed leader, of an older epoch, saying so
    no longer than syncLimit x tickTime + 1 s of the zoo.cfg texts `configs` gives (read only
    when one was deposed). Two sides each leading a majority of its own list through a partition
    show as leaders of two epochs: the older one's stretch lasts the whole cut."""
    split = traffic.split(span)
    assert not split, f"{name}: two servers led the same epoch at one look: {split[:5]}"
    deposed = traffic.deposed(span)
    if not deposed:
        return
    limit = sync_limit_seconds(configs()) + 1.0
    for server, stretches in deposed.items():
        assert max(stretches) <= limit, (
            f"{name}: {server}, deposed, still said it leads for {max(stretches):.2f} s (limit "
            f"syncLimit x tickTime + 1 s = {limit:g} s): {stretches}")


def connect(members: list[Member], timeout: float = 15.0, tries: int = 3,
            max_delay: float = 0.5) -> KazooClient:
    """A started kazoo client whose connection string lists `members`; `tries=-1`
    keeps reconnecting (for clients that must ride through a failover). After each round of
    the members that failed, kazoo sleeps up to `max_delay` x 1.4 (its jitter)."""
    client = KazooClient(hosts=",".join(m.endpoint for m in members), timeout=10.0,
                         connection_retry={"max_tries": tries, "delay": 0.1,
                                           "max_delay": max_delay})
    client.start(timeout=timeout)
    return client


@pytest.fixture(scope="session")
def ensemble() -> Ensemble:
    inventory = inventory_path()
    if not inventory:
        pytest.fail("set ZK_INVENTORY (or run under Molecule) to name the ensemble's inventory")
    return ensemble_for(inventory)


@pytest.fixture
def client_factory() -> Iterator[Callable[..., KazooClient]]:
    """Make kazoo clients and stop every one of them after the test."""
    clients: list[KazooClient] = []

    def make(members: list[Member], timeout: float = 15.0, tries: int = 3) -> KazooClient:
        client = connect(members, timeout, tries)
        clients.append(client)
        return client

    yield make
    for client in clients:
        try:
            client.stop()
            client.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def acknowledged() -> dict[str, bytes]:
    """Every znode a test wrote and ZooKeeper acknowledged: none may ever be lost."""
    return {}


MEASUREMENTS: list[str] = []


@pytest.fixture(scope="session")
def measurements() -> list[str]:
    """Figures measured during the run, printed in pytest's summary."""
    return MEASUREMENTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MEASUREMENTS:
        terminalreporter.section("measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Host tests run once per ensemble member."""
    if "member" in metafunc.fixturenames:
        inventory = inventory_path()
        members = ensemble_for(inventory).members if inventory else []
        metafunc.parametrize("member", members, ids=[m.name for m in members])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs(variable): runs only where the ensemble's hosts set that variable true")
    config.addinivalue_line(
        "markers", "only_in(*scenarios): runs only in these Molecule scenarios (a test whose "
        "subject does not depend on what the other scenarios vary)")


def scenario_name() -> str:
    """The Molecule scenario the tests run in (`default` outside Molecule)."""
    return os.environ.get("MOLECULE_SCENARIO_NAME", "default")


def inventory_path() -> str | None:
    return os.environ.get("ZK_INVENTORY") or os.environ.get("MOLECULE_INVENTORY_FILE")


@functools.cache
def ensemble_for(inventory: str) -> Ensemble:
    """One Ensemble per inventory for the whole session (ansible-inventory runs once)."""
    return Ensemble(inventory)


# Suites that run in one scenario only: the bad-inventory suite does not depend on the
# distribution or install method (default, or a lab run, is enough); the operations suite
# needs the operations scenario's spare hosts; the Vagrant suite the Vagrant lab.
ONLY_IN = {"test_bad_inventories.py": "default", "test_startup_failure.py": "default",
           "test_check_mode.py": "default", "test_faults_at_start.py": "default",
           "test_operations.py": "operations", "test_partitions.py": "operations",
           "test_vagrant.py": "vagrant", "test_restore.py": "restore",
           "test_upgrade.py": "upgrade", "test_sudo_login.py": "upgrade",
           "test_ensembles.py": "ensembles",
           "test_membership_changes.py": "membership", "test_reconfig.py": "reconfig38",
           "test_nemesis.py": "nemesis", "test_interrupt.py": "default",
           "test_tls.py": "reconfig38",
           "test_signature_refusals.py": "default"}
# Scenarios that run only some suites: operations its own and the host checks; vagrant its own
# and the client checks (its hosts are the same image, role and release as default's); restore
# its own and, on Debian 12, the host, client and refusal checks (failover and backup on Java 17
# are default's suites; the release is the same); package the host, client and refusal checks
# (its server runs under the same unit, gate and playbooks as default's: failover is default's);
# ubuntu the host, client, failover and refusal checks, on Ubuntu 22.04's systemd and OpenJDK.
SCENARIO_SUITES = {"operations": {"test_hosts.py", "test_partitions.py", "test_operations.py"},
                   "package": {"test_hosts.py", "test_ensemble.py", "test_refusals.py"},
                   "ubuntu": {"test_hosts.py", "test_ensemble.py", "test_failover.py",
                              "test_refusals.py"},
                   "vagrant": {"test_vagrant.py", "test_ensemble.py"},
                   "upgrade": {"test_hosts.py", "test_sudo_login.py", "test_upgrade.py"},
                   "ensembles": {"test_ensembles.py"},
                   "membership": {"test_membership_changes.py"},
                   "restore": {"test_hosts.py", "test_ensemble.py", "test_refusals.py",
                               "test_restore.py"},
                   "reconfig38": {"test_reconfig.py", "test_tls.py"},
                   "nemesis": {"test_nemesis.py"}}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Host facts (and the Vagrant lab's, before any test writes) first, then refused plays,
    client behaviour, failover (which stops servers) and operations (which change the
    ensemble) last."""
    order = {"test_hosts.py": 0, "test_vagrant.py": 0, "test_refusals.py": 1,
             "test_bad_inventories.py": 1, "test_startup_failure.py": 1, "test_check_mode.py": 1,
             "test_faults_at_start.py": 1,
             "test_ensemble.py": 2, "test_hardening.py": 2, "test_failover.py": 3,
             "test_partitions.py": 3,
             "test_operations.py": 4, "test_upgrade.py": 4, "test_sudo_login.py": 5}
    items.sort(key=lambda item: order.get(Path(str(item.fspath)).name, 9))
    scenario = scenario_name()
    suite = {item: Path(str(item.fspath)).name for item in items}
    dropped = [i for i in items if ONLY_IN.get(suite[i], scenario) != scenario
               or suite[i] not in SCENARIO_SUITES.get(scenario, {suite[i]})
               or any(scenario not in m.args for m in i.iter_markers("only_in"))]
    # Tests of an optional feature run where the scenario turns it on.
    needed = {m.args[0] for i in items for m in i.iter_markers("needs")}
    if needed and inventory_path():
        first = ensemble_for(inventory_path()).hostvars
        on = {var for var in needed if str(next(iter(first.values())).get(var)).lower() == "true"}
        dropped += [i for i in items if any(m.args[0] not in on for m in i.iter_markers("needs"))]
    if dropped:
        dropped = list(dict.fromkeys(dropped))  # an item can be dropped for two reasons
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]
