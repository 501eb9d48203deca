"""A nemesis soak (the `nemesis` scenario; `make soak` for a long one): random faults, one at a
time, under clients, with a config change and a grow through playbooks/site.yml in the middle;
the history must be linearizable, no acknowledged write lost, never two leaders of one epoch,
and the ensemble healthy once healed.

For ZK_SOAK_SECONDS seconds of faults (120 by default; `make soak`: SOAK_SECONDS, 600), in
three equal phases, a nemesis thread applies one fault after another to the current members:

- kill: SIGKILL of a member's JVM (`systemctl kill --signal=KILL zookeeper`); systemd starts it
  again after RestartSec (2 s); held for the fault's time, then started if it is not;
- pause: SIGSTOP of a member's JVM, SIGCONT after the fault's time;
- partition: a minority (one member of three or four) cut off from the others by blackhole
  routes both ways inside the containers (as in test_partitions.py; the controller still
  reaches every member), healed after the fault's time.

Each fault aims at the leader ON_LEADER of the time, else at another member. The kinds come in
shuffled rounds (each kind once every three faults); each fault lasts FAULT_SECONDS (3-8 s) and
is undone in a `finally`; between two faults a quiet time (QUIET_SECONDS), then at most SETTLE
seconds waiting for every member to serve, so that a majority serves most of the time (a fault
may still come before the last one's victim is back: then the quorum is lost for a while; this
is a soak of safety, not of availability). The seed (ZK_SOAK_SEED, else random, printed) fixes
the sequence of kinds, durations, quiet times and victims (the leader or the n-th other member
at the time): the ensemble's own timing differs from run to run.

Between the phases, with the nemesis paused (its fault in place undone; site.yml checks every
member before changing any and refuses to run while one does not serve, and a fault during a
rolling restart could take the quorum the role counts on), and the clients still running: a
config change (tickTime 2000 -> 2200, a rolling restart) and a grow 3 -> 4 (zookeeper04 from
group `spare`; the role walks one member at a time), each by site.yml with an inventory written
to a temporary directory, retried (at most SITE_ATTEMPTS runs) once every member serves again
if a run fails. The nemesis resumes with a fault right after each.

Throughout, a Register (tools/testkit/zk_register.py: one client pinned to each member,
zookeeper04's from the start: it records failed operations until it joins) reads, writes and
CASes one znode, and a Traffic writer (tools/testkit/zk_traffic.py) keeps a ledger of
acknowledged writes; a sampler asks every member `srvr` ten times a second and records each
leader with its epoch.

ZooKeeper 3.4 does show two leaders at one look, safely: a leader paused for longer than about
one tick, or cut off, is replaced by the others, and still answers "leader" (with its old epoch,
unable to commit anything: its followers left) until it counts its followers again, about one
tickTime after it resumes. So "never two leaders" is checked as: never two leaders of the same
epoch at one look (a split brain), and a deposed leader (of a lower epoch) gives up within
syncLimit x tickTime + 1 s. Traffic.most_leaders() is printed.

After the last phase: every fault undone and none left (no blackhole route, no stopped JVM,
every unit active), the ensemble healthy within HEALTHY_LIMIT and still STEADY s later, then
the checks. Whatever happens (a failure, Ctrl-C, SIGTERM), the fixture undoes the fault in
place and then anything left on any host of the lab before it ends. The history goes
to results/nemesis/history.json (`python tools/testkit/linearizable.py` reads it), the faults with
the
seed to results/nemesis/faults.json, the writes' timeline to results/nemesis/timeline.png.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, Ensemble, assert_one_leader_per_epoch, connect, podman, run_site
from kazoo.client import KazooClient
from testkit.linearizable import check, summary
from testkit.zk_register import Register
from zk_status import Server, build_report, load_inventory, query_all
from testkit.zk_traffic import Traffic, missing

SOAK_SECONDS = float(os.environ.get("ZK_SOAK_SECONDS") or 120)
SEED = int(os.environ.get("ZK_SOAK_SEED") or secrets.randbits(32))
KINDS = ("kill", "pause", "partition")
FAULT_SECONDS = (3.0, 8.0)  # how long a fault stays in place
QUIET_SECONDS = (1.0, 4.0)  # between the end of a fault and the next
SETTLE = 10.0  # seconds a fault waits at most for every member to serve again
ON_LEADER = 1 / 3  # share of the faults aimed at the leader (else another member)
SITE_ATTEMPTS = 3  # site.yml runs an operation may take
HEALTHY_LIMIT = 90.0  # seconds the ensemble has to be healthy again, at the end and before a run
STEADY = 6.0  # seconds it must stay so at the end: more than syncLimit x tickTime (2 x 2.2 s)
TICK_TIME = 2200  # the config change: the role's default 2000 -> this
RESULTS = REPO / "results" / "nemesis"
ROOT = f"/nemesis/{uuid.uuid4().hex[:8]}"


@dataclass
class Fault:
    """One fault: what, on whom, when (seconds on the Register's clock, as history.json)."""

    kind: str
    targets: list[str]
    on_leader: bool
    planned_s: float
    start: float = 0.0
    end: float = 0.0
    undo: str = ""  # what undoing it said, when that did not go as planned


@dataclass
class SiteRun:
    operation: str
    attempt: int
    rc: int
    seconds: float
    start: float
    log: str
    tail: str = ""


@dataclass
class Plan:
    """One fault drawn from the seed, before its victims are known."""

    kind: str
    seconds: float
    quiet: float
    on_leader: bool
    picks: tuple[float, ...]


class Lab:
    """The scenario's hosts: current members, the inventory site.yml gets, and what the
    containers are made to do."""

    def __init__(self, ensemble: Ensemble, workdir: Path) -> None:
        data = load_inventory(ensemble.inventory)
        source = Path(ensemble.inventory)
        base = str((source if source.is_dir() else source.parent).resolve())
        # A lab inventory's key path is relative to it ({{ inventory_dir }}): made absolute for
        # the inventories written elsewhere.
        self.hostvars: dict[str, dict[str, Any]] = {
            host: {k: v.replace("{{ inventory_dir }}", base) if isinstance(v, str) else v
                   for k, v in hv.items()}
            for host, hv in data["_meta"]["hostvars"].items()}
        self.members = [m.name for m in ensemble.members]
        self.spare = sorted(data.get("spare", {}).get("hosts", []))
        self.settings: dict[str, Any] = {}
        self.workdir = workdir

    def address(self, name: str) -> str:
        return str(self.hostvars[name]["ansible_host"])

    def servers(self) -> list[Server]:
        return [Server(n, self.address(n), 2181) for n in list(self.members)]

    def view(self) -> Ensemble:
        return Ensemble(str(self.workdir), {n: self.hostvars[n] for n in self.members})

    def inventory(self) -> Path:
        groups = {"zookeeper": {"hosts": {n: {**self.hostvars[n], **self.settings}
                                          for n in self.members}}}
        path = self.workdir / f"inventory-{len(list(self.workdir.glob('inventory-*')))}.yml"
        path.write_text(yaml.safe_dump({"all": {"children": groups}}, sort_keys=False))
        return path

    def run(self, name: str, *command: str, check: bool = True) -> str:
        """A command in a host's container (podman exec: no SSH)."""
        container = f"{self.hostvars[name]['zk_lab_name']}-{name}"
        return podman("exec", container, *command, check=check).stdout.decode()

    def shell(self, name: str, script: str, check: bool = True) -> str:
        return self.run(name, "sh", "-c", script, check=check)

    def on_each(self, names: list[str], do: Callable[[str], str]) -> list[str]:
        """`do(name)` for each of `names` at once; their outputs, in order."""
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            return list(pool.map(do, names))

    def modes(self) -> dict[str, str]:
        return {r["name"]: r["mode"] for r in query_all(self.servers(), 1.0)}

    def leader(self) -> str | None:
        leaders = [n for n, mode in self.modes().items() if mode == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def serving(self, names: list[str] | None = None) -> bool:
        """Whether one leader and the others following serve, among `names` (the members)."""
        names = names or list(self.members)
        results = query_all([s for s in self.servers() if s.name in names], 1.0)
        return build_report(results, len(names))["exit_code"] == 0

    def wait_serving(self, limit: float, names: list[str] | None = None,
                     until: Callable[[], bool] = lambda: False) -> bool:
        deadline = time.monotonic() + limit
        while not self.serving(names):
            if time.monotonic() > deadline or until():
                return False
            time.sleep(0.25)
        return True

    def zoo_cfg(self, name: str) -> str:
        return self.run(name, "cat", "/etc/zookeeper/zoo.cfg")


STATE = ("ip route show type blackhole | sed 's/^/route /'; "
         "ps -o stat= -C java | grep -q T && echo stopped; "
         "echo unit $(systemctl is-active zookeeper)")


def faults_in_place(lab: Lab) -> dict[str, list[str]]:
    """Per host of the lab, what is left of a fault: `route ...` (a blackhole route),
    `stopped` (a JVM stopped by SIGSTOP), and `unit <state>` for a member whose unit is
    neither active nor activating (systemd restarting it)."""
    names = list(lab.hostvars)
    found = {}
    for name, out in zip(names, lab.on_each(names, lambda n: lab.shell(n, STATE, check=False))):
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        found[name] = [line for line in lines if not line.startswith("unit ")] + [
            line for line in lines if line.startswith("unit ") and name in lab.members
            and line.split()[1] not in ("active", "activating")]
    return {name: what for name, what in found.items() if what}


def heal_all(lab: Lab) -> list[str]:
    """Undo whatever fault may be left on every host of the lab: blackhole routes flushed,
    stopped JVMs continued, members whose server does not run started. What it did."""
    found = faults_in_place(lab)

    def heal(name: str) -> str:
        return lab.shell(name, "ip route flush type blackhole; "
                         "systemctl kill --signal=CONT zookeeper 2>/dev/null; "
                         + ("systemctl is-active -q zookeeper || { systemctl reset-failed "
                            "zookeeper; systemctl start zookeeper; }" if name in lab.members
                            else "true"), check=False)

    if found:
        lab.on_each(list(found), heal)
    return [f"{name}: {', '.join(what)}" for name, what in found.items()]


def leftovers(lab: Lab) -> list[str]:
    """Faults still in place, one line each."""
    return [f"{name}: {what}" for name, whats in faults_in_place(lab).items() for what in whats]


def final_health(lab: Lab, limit: float = HEALTHY_LIMIT) -> tuple[str, float]:
    """Wait (at most `limit` s in all) until every member serves, and still does STEADY s later
    (a partition left in place takes syncLimit x tickTime to show); '' or what was wrong, and
    the seconds it took."""
    began = time.monotonic()
    view = lab.view()
    try:
        view.wait_healthy(timeout=limit)
        time.sleep(STEADY)
        view.wait_healthy(timeout=max(1.0, limit - (time.monotonic() - began)))
        return "", time.monotonic() - began
    except pytest.fail.Exception as failure:
        return str(failure), time.monotonic() - began


class Nemesis:
    """One fault at a time on the lab's current members, in a thread; pause() between phases.

    Every fault is undone in a `finally`; stop() cuts a fault in place short (and so undoes
    it), whatever happens to the test."""

    def __init__(self, lab: Lab, seed: int, clock: Callable[[], float]) -> None:
        self.lab = lab
        self.rng = random.Random(seed)
        self.clock = clock  # seconds on the Register's clock
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self._round: list[str] = []
        self._go = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="nemesis")

    def start(self) -> None:
        self._thread.start()

    def resume(self) -> None:
        self._go.set()

    def pause(self, limit: float = FAULT_SECONDS[1] + 90) -> None:
        """No new fault; returns once the one in place (if any) is undone."""
        with self._lock:
            self._go.clear()
        assert self._idle.wait(limit), f"the nemesis' fault was not undone within {limit:g} s"

    def stop(self) -> None:
        self._stopping.set()
        self._cut.set()
        self._go.set()
        self._thread.join(FAULT_SECONDS[1] + 120)
        assert not self._thread.is_alive(), "the nemesis did not stop"

    def draw(self) -> Plan:
        if not self._round:
            self._round = self.rng.sample(KINDS, len(KINDS))
        return Plan(self._round.pop(0), round(self.rng.uniform(*FAULT_SECONDS), 2),
                    round(self.rng.uniform(*QUIET_SECONDS), 2), self.rng.random() < ON_LEADER,
                    tuple(self.rng.random() for _unused in range(2)))

    def _loop(self) -> None:
        plan: Plan | None = None
        fresh = True  # the first fault of a phase comes at once: right after the operation
        while not self._stopping.is_set():
            if not self._go.wait(0.2):
                fresh = True
                continue
            plan = plan or self.draw()
            if not fresh:
                self._stopping.wait(plan.quiet)
                self.lab.wait_serving(SETTLE, until=lambda: not self._go.is_set()
                                      or self._stopping.is_set())
            with self._lock:
                if self._stopping.is_set() or not self._go.is_set():
                    continue
                self._idle.clear()
            fresh = False
            try:
                self._inject(plan)
            except Exception as exc:  # recorded; the test fails on it, the soak goes on
                self.errors.append(f"{plan}: {exc!r}")
            finally:
                plan = None
                self._idle.set()

    def _victims(self, plan: Plan) -> tuple[list[str], bool]:
        members = list(self.lab.members)
        leader = self.lab.leader()
        others = [m for m in members if m != leader]
        first = leader if plan.on_leader and leader else others[int(plan.picks[0] * len(others))]
        if plan.kind != "partition":
            return [first], first == leader
        rest = [m for m in members if m != first]
        extra = random.Random(plan.picks[1]).sample(rest, (len(members) - 1) // 2 - 1)
        minority = [first, *extra]
        return minority, leader in minority

    def _inject(self, plan: Plan) -> None:
        targets, on_leader = self._victims(plan)
        fault = Fault(plan.kind, targets, on_leader, plan.seconds, self.clock())
        self.faults.append(fault)
        try:
            getattr(self, f"_{plan.kind}")(fault)
        finally:
            fault.end = self.clock()

    def _hold(self, fault: Fault) -> None:
        self._cut.wait(fault.planned_s)

    def _kill(self, fault: Fault) -> None:
        name = fault.targets[0]
        try:
            self.lab.run(name, "systemctl", "kill", "--signal=KILL", "zookeeper")
            self._hold(fault)  # systemd starts it again after RestartSec
        finally:
            state = self.lab.run(name, "systemctl", "is-active", "zookeeper", check=False).strip()
            if state in ("inactive", "failed"):
                self.lab.run(name, "systemctl", "reset-failed", "zookeeper", check=False)
                self.lab.run(name, "systemctl", "start", "zookeeper")
                fault.undo = f"systemd had not started it again ({state}): started"

    def _pause(self, fault: Fault) -> None:
        name = fault.targets[0]
        try:
            self.lab.run(name, "systemctl", "kill", "--signal=STOP", "zookeeper")
            self._hold(fault)
        finally:
            self.lab.run(name, "systemctl", "kill", "--signal=CONT", "zookeeper")

    def _partition(self, fault: Fault) -> None:
        minority = fault.targets
        rest = [m for m in self.lab.members if m not in minority]
        # Per host, the peers it stops reaching (both ways): one exec per host, all at once.
        cut = {h: rest if h in minority else minority for h in minority + rest}

        def add(host: str) -> str:
            return self.lab.shell(host, "set -e; " + "; ".join(
                f"ip route add blackhole {self.lab.address(p)}/32" for p in cut[host]))

        def heal(host: str) -> str:  # what is left after the heal
            return self.lab.shell(host, "".join(
                f"ip route del blackhole {self.lab.address(p)}/32; " for p in cut[host])
                + "ip route show type blackhole", check=False)

        try:
            self.lab.on_each(list(cut), add)
            self._hold(fault)
        finally:
            left = [h for h, out in zip(cut, self.lab.on_each(list(cut), heal)) if out.strip()]
            if left:
                fault.undo = f"blackhole routes left on {left}"
                raise AssertionError(f"partition not healed on {left}")

    def counts(self) -> dict[str, dict[str, int]]:
        return {kind: {"injected": sum(1 for f in self.faults if f.kind == kind),
                       "on the leader": sum(1 for f in self.faults
                                            if f.kind == kind and f.on_leader)}
                for kind in KINDS}


@dataclass
class Soak:
    """Everything the run recorded, for the tests below."""

    lab: Lab
    nemesis: Nemesis
    register: Register
    traffic: Traffic
    site_runs: list[SiteRun] = field(default_factory=list)
    operations: dict[str, bool] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)
    healed: list[str] = field(default_factory=list)
    health: str | None = None  # None: not checked (the run stopped before)
    health_s: float = 0.0
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)
    verdict: dict[str, Any] = field(default_factory=dict)


def operate(soak: Soak, name: str, change: Callable[[], None]) -> None:
    """One operation by site.yml, the nemesis paused: once every member serves, a run; a failed
    run is retried the same way, SITE_ATTEMPTS runs at most."""
    lab = soak.lab
    before = list(lab.members)
    change()
    with soak.traffic.span(name):
        for attempt in range(1, SITE_ATTEMPTS + 1):
            lab.wait_serving(HEALTHY_LIMIT, before)
            log = RESULTS / f"site-{len(soak.site_runs) + 1}.log"
            began = time.monotonic()
            start = round(began - soak.register.started, 2)
            try:
                rc, output = run_site(lab.inventory())
            except subprocess.TimeoutExpired as exc:
                rc, output = -1, f"timed out after {exc.timeout} s"
            log.write_text(output + "\n")
            soak.site_runs.append(SiteRun(name, attempt, rc, round(time.monotonic() - began, 1),
                                          start, str(log), output[-3000:] if rc else ""))
            if rc == 0:
                break
    soak.operations[name] = rc == 0


@pytest.fixture(scope="module")
def soak(ensemble: Ensemble, tmp_path_factory: pytest.TempPathFactory,
         measurements: list[str]) -> Iterator[Soak]:
    ensemble.wait_healthy()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("site-*.log"):
        old.unlink()
    lab = Lab(ensemble, tmp_path_factory.mktemp("nemesis"))
    if not lab.spare:
        pytest.fail("the nemesis scenario needs a host in group `spare` to grow the ensemble")
    joining = lab.spare[0]
    seed = f"nemesis: seed {SEED} (replay: ZK_SOAK_SEED={SEED}), {SOAK_SECONDS:g} s of faults"
    print(f"\n{seed}")
    measurements.append(seed)
    pinned = [f"{lab.address(n)}:2181" for n in [*lab.members, joining]]
    register = Register(servers=pinned, path=f"{ROOT}/register", clients=len(pinned),
                        duration=10 * SOAK_SECONDS + 3600, max_ops=10**7, rate=10.0,
                        seed=SEED)
    client = connect(ensemble.members, tries=-1)
    traffic = Traffic(client, f"{ROOT}/writes", lab.servers, limit=10 * SOAK_SECONDS + 3600)
    nemesis = Nemesis(lab, SEED, lambda: round(time.monotonic() - register.started, 3))
    result = Soak(lab, nemesis, register, traffic)
    began = time.monotonic()

    def config_change() -> None:
        lab.settings["zookeeper_tick_time"] = TICK_TIME

    def grow() -> None:
        lab.members = [*lab.members, joining]

    phases: list[tuple[str, Callable[[], None]] | None] = [
        (f"config change: tickTime 2000 -> {TICK_TIME}", config_change),
        (f"grow {len(lab.members)} -> {len(lab.members) + 1} ({joining})", grow), None]
    done = False
    # SIGTERM (a CI timeout, molecule stopped) unwinds like Ctrl-C: the faults are undone.
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        with traffic, register:
            time.sleep(2)  # the clients' baseline
            nemesis.start()
            try:
                for phase in phases:
                    nemesis.resume()
                    time.sleep(SOAK_SECONDS / len(phases))
                    nemesis.pause()
                    if phase:
                        operate(result, *phase)
            finally:
                nemesis.stop()
            result.leftovers = leftovers(lab)
            result.health, result.health_s = final_health(lab)
            time.sleep(3)  # writes and register operations on the healed ensemble
        done = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        result.healed = heal_all(lab)  # whatever happened: no fault outlives the test
        client.stop()
        client.close()
        result.seconds = time.monotonic() - began
        if not done:  # what was recorded up to the failure, for its diagnosis
            with contextlib.suppress(Exception):
                record(result, measurements)
    record(result, measurements)
    yield result


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def record(soak: Soak, measurements: list[str]) -> None:
    """Check the history; write the results; the figures into `measurements`."""
    register, traffic = soak.register, soak.traffic
    history = register.history()
    register.to_json(RESULTS / "history.json")
    soak.violations = check(history, register.initial_value, register.initial_version)
    soak.verdict = summary(history, soak.violations)
    (RESULTS / "violations.txt").write_text("".join(v + "\n" for v in soak.violations))
    write_faults(soak)
    traffic.to_json(RESULTS / "traffic.json", {"parent": f"{ROOT}/writes", "seed": SEED})
    traffic.plot(RESULTS / "timeline.png", f"nemesis soak, seed {SEED}: writes and the leader")
    measurements.extend(figures(soak))


def write_faults(soak: Soak) -> None:
    data = {"seed": SEED, "soak_seconds": SOAK_SECONDS, "clock": "seconds on history.json's",
            "faults": [asdict(f) for f in soak.nemesis.faults],
            "site_runs": [asdict(r) for r in soak.site_runs],
            "nemesis_errors": soak.nemesis.errors, "leftovers": soak.leftovers,
            "healed_at_the_end": soak.healed}
    (RESULTS / "faults.json").write_text(json.dumps(data, indent=1) + "\n")


def figures(soak: Soak) -> list[str]:
    faults = soak.nemesis.counts()
    traffic, verdict = soak.traffic, soak.verdict
    deposed = traffic.deposed()
    two = sum(1 for sample in traffic.samples if len(sample.leading) > 1)
    lines = [
        f"nemesis: {soak.seconds:.0f} s in all",
        "nemesis: faults injected: " + ", ".join(
            f"{kind} {c['injected']} ({c['on the leader']} on the leader)"
            for kind, c in faults.items()) + f"; errors {len(soak.nemesis.errors)}",
        "nemesis: site.yml runs: " + "; ".join(
            f"{r.operation} #{r.attempt} rc {r.rc} in {r.seconds:.0f} s" for r in soak.site_runs),
        f"nemesis: register operations {verdict['operations']} by outcome "
        f"{json.dumps(verdict['outcomes'], sort_keys=True)}, by kind "
        f"{json.dumps(verdict['by_kind'], sort_keys=True)}",
        f"nemesis: linearizable: {verdict['linearizable']} ({verdict['violations']} violations "
        f"{json.dumps(verdict['violations_by_kind'])}); versions "
        f"{json.dumps(verdict['versions'])}; history {RESULTS / 'history.json'}",
        f"nemesis: writes acknowledged {len(traffic.acked)}, failed {len(traffic.failures)}, "
        f"longest gap {traffic.longest_gap():.2f} s, elections {traffic.elections()}",
        f"nemesis: leaders: Traffic.most_leaders() {traffic.most_leaders()}; "
        f"looks with two leaders {two} of {len(traffic.samples)}, same epoch "
        f"{len(traffic.split())}; deposed leaders still saying so: "
        + (", ".join(f"{n} {len(s)}x, longest {max(s):.2f} s" for n, s in deposed.items())
           or "none"),
        "nemesis: health not checked (the run stopped before)" if soak.health is None
        else f"nemesis: NOT healthy: {soak.health[:300]}" if soak.health
        else f"nemesis: healthy {soak.health_s - STEADY:.1f} s after the last fault was undone, "
        f"and still {STEADY:g} s later",
    ]
    for operation in traffic.spans:
        f = traffic.summary(operation)
        lines.append(f"nemesis: {f['operation']}: {f['seconds']:.0f} s, longest gap "
                     f"{f['longest_gap_s']:.2f} s, {f['elections']} election(s)")
    return lines


def test_the_operations_ran_between_faults(soak: Soak) -> None:
    failed = [r for r in soak.site_runs if r.rc]
    assert all(soak.operations.values()) and len(soak.operations) == 2, (
        f"an operation did not end with site.yml rc 0 in {SITE_ATTEMPTS} runs: "
        + "\n".join(f"{r.operation} #{r.attempt} rc {r.rc} ({r.log}): {r.tail}" for r in failed))
    for name in soak.lab.members:
        cfg = soak.lab.zoo_cfg(name)
        assert f"tickTime={TICK_TIME}" in cfg, f"{name}: the config change is not in zoo.cfg"
        listed = [line.split("=")[1].split(":")[0] for line in cfg.splitlines()
                  if line.startswith("server.")]
        assert listed == soak.lab.members, f"{name}: zoo.cfg lists {listed}"
    counts = soak.nemesis.counts()
    assert all(c["injected"] for c in counts.values()), f"a kind of fault never came: {counts}"
    assert not soak.nemesis.errors, f"faults that could not be applied or undone: " \
                                    f"{soak.nemesis.errors}"
    # Faults just before and just after each operation (the nemesis paused only for it).
    for run in (r for r in soak.site_runs if r.attempt == 1):
        assert any(f.end <= run.start for f in soak.nemesis.faults), f"no fault before {run}"
        assert any(f.start >= run.start + run.seconds for f in soak.nemesis.faults), (
            f"no fault after {run}")


def test_every_fault_was_undone_and_the_ensemble_is_healthy(soak: Soak) -> None:
    assert not soak.leftovers, f"faults left in place after the soak: {soak.leftovers}"
    assert soak.health == "", soak.health or "the health was not checked"


def test_the_history_is_linearizable(soak: Soak) -> None:
    verdict = soak.verdict
    assert not soak.register.stuck, f"register clients still running: {soak.register.stuck}"
    assert soak.register.initialized
    ok = verdict["outcomes"].get("ok", 0)
    assert ok > 10 * SOAK_SECONDS, f"only {ok} operations succeeded: {verdict}"
    assert not soak.violations, (
        f"{len(soak.violations)} violations (seed {SEED}; {RESULTS / 'violations.txt'}, faults "
        f"in {RESULTS / 'faults.json'}):\n" + json.dumps(verdict, indent=1) + "\n"
        + "\n".join(soak.violations[:30]))


def test_no_acknowledged_write_is_lost_on_any_member(soak: Soak) -> None:
    acked = dict(soak.traffic.acked)
    assert len(acked) > 5 * SOAK_SECONDS, f"only {len(acked)} writes acknowledged"
    for name in soak.lab.members:
        reader = KazooClient(hosts=f"{soak.lab.address(name)}:2181", timeout=10.0)
        reader.start(timeout=15)
        try:
            lost = missing(reader, f"{ROOT}/writes", acked)
        finally:
            reader.stop()
            reader.close()
        assert not lost, f"{name} lacks {len(lost)} of {len(acked)} acknowledged: {lost[:5]}"


def test_never_two_leaders_of_one_epoch(soak: Soak) -> None:
    assert_one_leader_per_epoch(
        soak.traffic, lambda: (soak.lab.zoo_cfg(n) for n in soak.lab.members), name="nemesis")
