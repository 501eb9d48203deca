"""The benchmark's lab and processes: `tools/lab`, SSH, ansible-playbook runs (wall and
controller CPU time), the inventory of K ensembles, and the ensembles' health.

Shared by tools/bench/run.py (the figures), tools/bench/floors.py (the floors),
tools/bench/growth.py (the growth table) and tools/bench/fleet.py (the fleet mode). Everything
here only talks to the bench lab's own containers (10.213.16.0/24).
"""

from __future__ import annotations

import configparser
import json
import os
import resource
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kazoo.client import KazooClient
from testkit.playbook_output import changed_total, parse_recap, task_profile
from zk_status import Server, build_report, query_all

REPO = Path(__file__).resolve().parents[2]
LAB_NAME = "bench"
LAB_SUBNET = "10.213.16.0/24"
LAB_TOOL = REPO / "tools" / "lab"
PLAYBOOK = REPO / "playbooks" / "site.yml"
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
ANSIBLE_CONFIG = REPO / "ansible.cfg"
# task_timing: every run's per-task profile
CALLBACKS = REPO / "tools" / "bench" / "callback_plugins"
ZOOKEEPER_VERSION = "3.4.13"  # what the lab's inventory deploys

POLL_EVERY = 0.1  # seconds between two looks at the ensembles
# srvr a second a HealthWatch asks at most: each one costs a 3.4 server a thread and three log
# lines, about 4 ms of CPU here (30 a second: 0.12 s of CPU a second), so a watch of 30 servers
# looks once a second instead of loading the two cores it measures (docs/performance.md)
WATCH_SRVR_PER_S = 30
SRVR_TIMEOUT = 0.5  # per server and look
PLAYBOOK_TIMEOUT = 900.0
LAB_TIMEOUT = 3600.0  # the first `up` may build the image
HEALTHY_LIMIT = 90.0  # how long to wait for healthy ensembles before and after an operation
OUTPUT_TAIL = 3000  # characters of a failed playbook's output shown
MAX_HOSTS = 30

SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]


class BenchError(RuntimeError):
    """A measurement that could not run; the benchmark stops and exits 1."""


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    """The end of a long output."""
    return text if len(text) <= limit else "..." + text[-limit:]


# --------------------------------------------------------------------------- shape

@dataclass(frozen=True)
class Shape:
    """K ensembles of M members each, in one inventory: K x M hosts."""

    ensembles: int = 1
    members: int = 3

    @property
    def hosts(self) -> int:
        return self.ensembles * self.members

    @property
    def short(self) -> str:
        """`1x3`, `3x3`."""
        return f"{self.ensembles}x{self.members}"

    def describe(self) -> str:
        """`1 ensemble of 3 members`, `3 ensembles of 3 members (9 hosts)`."""
        if self.ensembles == 1:
            return f"1 ensemble of {self.members} members"
        return f"{self.ensembles} ensembles of {self.members} members ({self.hosts} hosts)"

    def groups(self) -> list[str]:
        """The inventory groups of the ensembles when there are several: zk_a, zk_b, ..."""
        return [f"zk_{letter}" for letter in string.ascii_lowercase[:self.ensembles]]


def parse_shape(text: str) -> Shape:
    """`5` is one ensemble of 5, `3x3` three ensembles of 3."""
    parts = text.lower().split("x")
    if len(parts) == 1:
        parts.insert(0, "1")
    try:
        ensembles, members = (int(part) for part in parts)  # ValueError: not two integers
        shape = Shape(ensembles, members)
    except ValueError as err:
        raise ValueError(f"not a fleet shape (N or KxN): {text!r}") from err
    if shape.members < 1 or not 1 <= shape.ensembles <= 26 or shape.hosts > MAX_HOSTS:
        raise ValueError(f"{text!r}: 1-26 ensembles of at least 1 member, "
                         f"{MAX_HOSTS} hosts at most")
    return shape


def split_ensembles(servers: Sequence[Server], members: int) -> list[list[Server]]:
    """The lab's hosts in order, `members` at a time: one list per ensemble."""
    return [list(servers[i:i + members]) for i in range(0, len(servers), members)]


def ensembles_inventory(lab_inventory: dict[str, Any], shape: Shape,
                        group_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """The inventory of `shape.ensembles` ensembles made from the one `tools/lab up` writes
    (one group `zookeeper`): group `zookeeper` gets a child group per ensemble (zk_a, zk_b, ...)
    with its own zookeeper_id 1..M, zookeeper_ensemble_group and zookeeper_ensemble_name; the
    lab's variables (mirror, SSH) stay where they were, `group_vars` added to group
    `zookeeper`'s."""
    group = lab_inventory["all"]["children"]["zookeeper"]
    hosts = list((group.get("hosts") or {}).items())
    if len(hosts) != shape.hosts:
        raise ValueError(f"the lab inventory has {len(hosts)} hosts, {shape.short} needs "
                         f"{shape.hosts}")
    children: dict[str, Any] = {}
    for index, name in enumerate(shape.groups()):
        members = hosts[index * shape.members:(index + 1) * shape.members]
        children[name] = {
            "hosts": {host: {**(variables or {}), "zookeeper_id": member_id}
                      for member_id, (host, variables) in enumerate(members, start=1)},
            "vars": {"zookeeper_ensemble_group": name,
                     "zookeeper_ensemble_name": name.removeprefix("zk_")},
        }
    return {"all": {"children": {"zookeeper": {"children": children,
                                               "vars": {**(group.get("vars") or {}),
                                                        **(group_vars or {})}}},
                    "vars": dict(lab_inventory["all"].get("vars") or {})}}


def write_ensembles_inventory(lab_inventory: Path, path: Path, shape: Shape,
                              group_vars: dict[str, Any] | None = None) -> None:
    """Write the inventory of `shape` beside the lab's (its key path is relative to it)."""
    data = ensembles_inventory(yaml.safe_load(lab_inventory.read_text()), shape, group_vars)
    header = (f"---\n# Written by tools/bench/run.py from {lab_inventory.name}: "
              f"{shape.describe()}, one site.yml run.\n")
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


# --------------------------------------------------------------------------- processes

def git(*args: str) -> str:
    """The stripped stdout of a git command in the repository (empty on failure)."""
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                          check=False).stdout.strip()


def commit_state() -> tuple[str, bool]:
    """The short commit and whether the working tree has uncommitted changes (the bench's own
    history file aside: a run must not make the next one dirty)."""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changes = git("status", "--porcelain", "--", ".", ":(exclude)docs/bench-history.tsv")
    return commit, bool(changes)


def lab(*args: str, hosts: int = 3) -> str:
    """Run `tools/lab --name bench --subnet ... --java --hosts N ARGS`; its log goes to stderr."""
    argv = [str(LAB_TOOL), "--name", LAB_NAME, "--subnet", LAB_SUBNET, "--java",
            "--hosts", str(hosts), *args]
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, timeout=LAB_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"tools/lab {' '.join(args)} took longer than {LAB_TIMEOUT:g} s") from err
    if proc.returncode != 0:
        raise BenchError(f"tools/lab {' '.join(args)} failed (exit {proc.returncode})")
    return proc.stdout


@dataclass
class LabHosts:
    """A fresh bench lab: its ensembles' servers, SSH key and the tarball's URL."""

    ensembles: list[list[Server]]
    ssh_key: Path
    tarball_url: str
    description: dict[str, Any]

    @property
    def servers(self) -> list[Server]:
        return [server for ensemble in self.ensembles for server in ensemble]


def recreate_lab(shape: Shape, inventory: Path,
                 group_vars: dict[str, Any] | None = None) -> LabHosts:
    """`down` then `up` with `shape.hosts` hosts (Java installed; untimed), and the inventory
    of `shape` written to `inventory` (with `group_vars` for every member)."""
    lab("down", hosts=shape.hosts)
    inventory.parent.mkdir(parents=True, exist_ok=True)
    rewritten = shape.ensembles > 1 or bool(group_vars)
    written = inventory.with_name("lab-hosts.yml") if rewritten else inventory
    description = json.loads(lab("up", "--inventory", str(written), "--json", hosts=shape.hosts))
    if rewritten:
        write_ensembles_inventory(written, inventory, shape, group_vars)
    servers = [Server(host["name"], host["address"], 2181) for host in description["hosts"]]
    release = description["releases"][ZOOKEEPER_VERSION]
    return LabHosts(split_ensembles(servers, shape.members), Path(description["ssh_key"]),
                    release["url"], description)


def ssh_argv(key: Path, address: str, command: str) -> list[str]:
    """ssh as root to a lab host."""
    return ["ssh", "-i", str(key), *SSH_OPTIONS, f"root@{address}", command]


def ssh(key: Path, address: str, command: str, timeout: float = 30.0) -> str:
    """Run a command as root on a lab host; its stdout."""
    try:
        proc = subprocess.run(ssh_argv(key, address, command), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"ssh root@{address} {command!r}: no answer in {timeout:g} s") from err
    if proc.returncode != 0:
        raise BenchError(f"ssh root@{address} {command!r} failed ({proc.returncode}): "
                         f"{tail(proc.stderr.strip(), 500)}")
    return proc.stdout


@dataclass
class PlaybookRun:
    """One ansible-playbook run: wall time and the controller's CPU time (user + system of
    ansible-playbook and every process it waited for)."""

    name: str
    started: float  # time.monotonic() when it was started
    seconds: float
    rc: int
    output: str
    cpu_s: float = 0.0
    timing: dict[str, Any] | None = None  # task_timing's summary of the run

    @property
    def profile(self) -> dict[str, Any] | None:
        return task_profile(self.timing) if self.timing else None

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return parse_recap(self.output)

    @property
    def changed(self) -> int:
        return changed_total(self.recap)


def children_cpu() -> float:
    """User + system seconds of this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def project_forks(config: Path = ANSIBLE_CONFIG) -> int:
    """`forks` of the project's ansible.cfg (Ansible's default 5 without one)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config)
    return parser.getint("defaults", "forks", fallback=5)


def project_callbacks(config: Path = ANSIBLE_CONFIG) -> list[str]:
    """`callbacks_enabled` of the project's ansible.cfg."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config)
    names = parser.get("defaults", "callbacks_enabled", fallback="")
    return [name.strip() for name in names.split(",") if name.strip()]


def profile_env(path: Path) -> dict[str, str]:
    """The environment that enables the task_timing callback, its JSON written to `path`
    (callbacks the caller enabled stay enabled; without ANSIBLE_CALLBACKS_ENABLED, those of the
    project's ansible.cfg, which the variable would otherwise replace)."""
    given = os.environ.get("ANSIBLE_CALLBACKS_ENABLED")
    enabled = ([name for name in given.split(",") if name.strip()] if given is not None
               else project_callbacks())
    paths = [str(CALLBACKS), *filter(None, os.environ.get("ANSIBLE_CALLBACK_PLUGINS",
                                                          "").split(os.pathsep))]
    return {"ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join(paths),
            "ANSIBLE_CALLBACKS_ENABLED": ",".join([*enabled, "task_timing"]),
            "ANSIBLE_TASK_TIMING_JSON": str(path)}


def run_playbook(inventory: Path, log: Path, extra_vars: dict[str, Any] | None = None,
                 playbook: Path = PLAYBOOK, forks: int | None = None,
                 options: Sequence[str] = ()) -> PlaybookRun:
    """Run a playbook (site.yml by default) with the project's ansible.cfg and `options`
    (`--check`, `--limit GROUP`), its output written to `log`; raises BenchError unless it
    exits 0."""
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(playbook), *options]
    if forks is not None:
        argv += ["--forks", str(forks)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    timing = log.with_suffix(".tasks.json")  # beside the log, in its directory
    log.parent.mkdir(parents=True, exist_ok=True)
    timing.unlink(missing_ok=True)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_CONFIG), ANSIBLE_NOCOLOR="1",
               **profile_env(timing))
    cpu_before = children_cpu()
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env, cwd=REPO, timeout=PLAYBOOK_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"{log.stem}: {playbook.name} ran longer than "
                         f"{PLAYBOOK_TIMEOUT:g} s") from err
    run = PlaybookRun(log.stem, started, time.monotonic() - started, proc.returncode,
                      proc.stdout, children_cpu() - cpu_before)
    if timing.exists():
        run.timing = json.loads(timing.read_text())
    log.write_text(f"$ {' '.join(argv)}\n{run.output}\n# exit {run.rc} after {run.seconds:.2f} s"
                   f" (controller CPU {run.cpu_s:.2f} s)\n")
    if run.rc != 0:
        raise BenchError(f"{run.name}: {playbook.name} failed (exit {run.rc}); full output in "
                         f"{log}; its end:\n{tail(run.output)}")
    return run


# --------------------------------------------------------------------------- ensembles

def leader_and_followers(report: dict[str, Any]) -> bool:
    """One leader and every other expected member a follower (zk_status.build_report)."""
    modes = [server.get("mode") for server in report.get("servers", [])]
    return (modes.count("leader") == 1
            and modes.count("follower") == report.get("expected", len(modes)) - 1)


def ensembles_report(ensembles: Sequence[Sequence[Server]]) -> list[dict[str, Any]]:
    """zk_status's report of each ensemble, now (every server asked at once)."""
    results = query_all([s for ensemble in ensembles for s in ensemble], SRVR_TIMEOUT)
    reports, start = [], 0
    for ensemble in ensembles:
        reports.append(build_report(results[start:start + len(ensemble)], len(ensemble)))
        start += len(ensemble)
    return reports


def all_whole(reports: Sequence[dict[str, Any]]) -> bool:
    """Every ensemble has one leader and the others followers."""
    return bool(reports) and all(leader_and_followers(report) for report in reports)


def summary(reports: Sequence[dict[str, Any]]) -> str:
    """The ensembles' states in one line."""
    return "; ".join(report["summary"] for report in reports)


def wait_healthy(ensembles: Sequence[Sequence[Server]], limit: float = HEALTHY_LIMIT
                 ) -> list[dict[str, Any]]:
    """Poll (bounded) until every ensemble is whole; its reports. Raises BenchError."""
    deadline = time.monotonic() + limit
    reports = ensembles_report(ensembles)
    while not all_whole(reports):
        if time.monotonic() > deadline:
            raise BenchError(f"ensembles not healthy after {limit:g} s: {summary(reports)}")
        time.sleep(POLL_EVERY)
        reports = ensembles_report(ensembles)
    return reports


def watch_interval(servers: int) -> float:
    """Seconds between two looks of a HealthWatch at `servers` servers: POLL_EVERY, or longer
    where that would ask more than WATCH_SRVR_PER_S srvr a second."""
    return max(POLL_EVERY, servers / WATCH_SRVR_PER_S)


class HealthWatch:
    """Polls the ensembles in a thread (every 0.1 s for 3 servers, once a second for 30:
    watch_interval) and notes when every one of them first has one leader and the others
    followers, and what `sample` (the machine's CPU) returned then."""

    def __init__(self, ensembles: Sequence[Sequence[Server]],
                 sample: Callable[[], Any] | None = None) -> None:
        self.ensembles = [list(ensemble) for ensemble in ensembles]
        self.healthy_at: float | None = None
        self.healthy_sample: Any = None
        self._sample = sample
        self.interval = watch_interval(sum(len(ensemble) for ensemble in self.ensembles))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            if all_whole(ensembles_report(self.ensembles)):
                self.healthy_at = time.monotonic()
                if self._sample is not None:
                    self.healthy_sample = self._sample()
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def wait(self, limit: float) -> float | None:
        """Wait up to `limit` seconds for the healthy moment; its monotonic time or None."""
        self._thread.join(limit)
        return self.healthy_at


def connect(servers: Sequence[Server], tries: int = 3) -> KazooClient:
    """A started kazoo client of `servers`; tries=-1 reconnects for ever (through restarts)."""
    client = KazooClient(hosts=",".join(f"{s.address}:{s.port}" for s in servers), timeout=10.0,
                         connection_retry={"max_tries": tries, "delay": 0.1, "max_delay": 0.5})
    client.start(timeout=15)
    return client


def close(client: KazooClient) -> None:
    """Stop a client, whatever state it is in."""
    try:
        client.stop()
        client.close()
    except Exception as err:  # the lab may be gone already
        progress(f"closing a ZooKeeper client: {err}")
