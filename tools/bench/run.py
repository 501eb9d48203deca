"""Benchmark of the roles on a lab of its own, as ratios to two floors measured in the same run.

Every repetition re-creates the lab `bench` (10.213.16.0/24, hosts with OpenJDK already
installed; untimed) twice and measures:

1. by-hand floor (fresh hosts): plain ssh + shell in parallel on every host: the same tarball
   from the lab's mirror, its sha512 checked, unpacked to /opt, zoo.cfg and myid written,
   QuorumPeerMain started; the time until one leader and the others followers answer `srvr`
   (tools/bench/floors.py), and the machine's CPU until then (tools/bench/cpu.py);
2. fresh converge (fresh hosts again): the wall time of `playbooks/site.yml`, the time from
   its start until the ensemble has one leader and the others followers (polled every 0.1 s,
   once a second at 30 servers: bench.lab.watch_interval), and the machine's CPU until then;
3. Ansible floor, no-op re-run, Ansible floor: site.yml run again (its wall time and changed
   tasks), between two runs of a playbook of one no-op task (ansible.builtin.ping);
4. config change: site.yml with another `zookeeper_tick_time` while a client writes 20 times
   a second: run time, longest gap between acknowledged writes, failed writes, elections,
   whether no server served at some moment, and acknowledged writes lost (must be 0);
5. peak memory: each server's VmHWM and its JVM heap setting (-Xms/-Xmx), over SSH;
6. leader SIGKILL: the time from the kill to the first write acknowledged through the
   survivors, then the time until the ensemble is whole again.

The toolkit's figures are judged as ratios, each to the floor of its own repetition: fresh
converge until quorum / by-hand floor (target <= 3x), no-op re-run / Ansible floor (<= 1.5x,
and changed=0). The table gives median, min and max over the repetitions, with the machine's
CPU model and core count; RESULTS/bench.json has every raw value, RESULTS/config-change.png the
first config change's timeline, and a complete run appends its medians to
docs/bench-history.tsv (not with --no-history). The targets are not assertions: the exit code
is 0 when every measurement ran, 1 when something failed to run (a playbook failed, an
acknowledged write was lost, the ensemble did not become healthy), 130 when interrupted.

--members N deploys one ensemble of N; --ensembles K --members N deploys K ensembles of N in
one inventory and one site.yml run (the config change's writes and the SIGKILL go to the
first ensemble). --growth measures the fresh converge for several fleet sizes instead
(tools/bench/growth.py).

Run it with the repository's virtualenv (`make bench BENCH_ARGS="--repeat 1"`). It only
touches its own lab: containers bench-*, network zk-bench; `tools/lab --name bench ... down`
removes it at the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter, cpu_between, lab_cpu_above_idle
from bench.figures import (
    FIGURES,
    HISTORY_COLUMNS,
    HISTORY_FIGURES,
    Figure,
    append_history,
    heap_line,
    machine,
    machine_text,
    repetition_ratios,
    results_table,
    summarize_figures,
)
from bench.growth import (
    DEFAULT_SHAPES,
    growth_forks,
    new_growth_document,
    print_growth,
    run_growth,
    write_growth,
)
from bench.floors import (
    run_ansible_floor,
    run_by_hand_floor,
    run_task_cost,
    write_floor_playbook,
)
from bench.lab import (
    LAB_NAME,
    LAB_SUBNET,
    MAX_HOSTS,
    REPO,
    BenchError,
    HealthWatch,
    LabHosts,
    PlaybookRun,
    Shape,
    close,
    commit_state,
    connect,
    ensembles_report,
    lab,
    parse_shape,
    progress,
    project_forks,
    recreate_lab,
    run_playbook,
    ssh,
    summary,
    wait_healthy,
)
from kazoo.client import KazooClient
from testkit.playbook_output import changed_tasks, profile_line
from zk_status import Server
from testkit.zk_traffic import Traffic, first_acknowledged, missing

DEFAULT_RESULTS = REPO / "results" / "bench"
HISTORY = REPO / "docs" / "bench-history.tsv"
MEMBERS = (3, 5, 7, 9)

DEFAULT_TICK = 2000  # the role's zookeeper_tick_time, what a fresh converge deploys
CHANGED_TICK = 2500
WRITE_RATE = 20.0  # writes per second during the config change
HEALTHY_GRACE = 30.0  # how long after a converge the ensemble may take to be whole
FAILOVER_LIMIT = 30.0  # how long to try writing through the survivors after the kill
TRAFFIC_MARGIN = 2.0  # seconds of writes before and after the config change
PLAYBOOK_LIMIT = 900.0  # the longest a playbook may run under traffic
IDLE_WINDOW_S = 3.0  # the converged hosts left alone, to know their idle CPU (fleet mode)
# The runs whose per-task profile the report prints (section of a repetition, name).
PROFILES = (("converge", "fresh converge"), ("rerun", "no-op re-run"))

# The date after the kill is the kernel's clock, which the containers share with this host.
KILL_COMMAND = "systemctl kill --signal=SIGKILL --kill-who=main zookeeper && date +%s.%N"
MEMORY_COMMAND = ("pid=$(systemctl show -p MainPID --value zookeeper) && "
                  "grep VmHWM /proc/$pid/status && tr '\\0' ' ' < /proc/$pid/cmdline && echo")

VMHWM_LINE = re.compile(r"^VmHWM:\s*(?P<kb>\d+)\s*kB", re.MULTILINE)
HEAP_OPTION = re.compile(r"(?:^|\s)-Xm(?P<which>[sx])(?P<size>\S+)")


# --------------------------------------------------------------------------- parsing

def parse_vmhwm(text: str) -> int:
    """VmHWM in kB from /proc/PID/status."""
    match = VMHWM_LINE.search(text)
    if match is None:
        raise ValueError(f"no VmHWM line in {text[:200]!r}")
    return int(match["kb"])


def parse_heap(command_line: str) -> dict[str, str]:
    """The -Xms and -Xmx of a JVM command line: {"Xms": "512m", "Xmx": "512m"}."""
    return {f"Xm{m['which']}": m["size"] for m in HEAP_OPTION.finditer(command_line)}


def parse_epoch(text: str) -> float | None:
    """The last line of `date +%s.%N`, or None."""
    lines = text.strip().splitlines()
    try:
        return float(lines[-1]) if lines else None
    except ValueError:
        return None


def next_tick(current: int) -> int:
    """A tickTime different from the deployed one: 2500 after 2000, 2000 after 2500."""
    return CHANGED_TICK if current == DEFAULT_TICK else DEFAULT_TICK


# --------------------------------------------------------------------------- measurements

@dataclass
class Bench:
    """The benchmark's state: where it writes, the lab it measures, what it found."""

    results: Path
    repeat: int
    shape: Shape = field(default_factory=Shape)
    hosts: LabHosts | None = None
    tick: int = DEFAULT_TICK
    findings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # variables of every member, in the inventory (the fleet mode's heap)
    group_vars: dict[str, Any] = field(default_factory=dict)

    @property
    def inventory(self) -> Path:
        return self.results / "inventory" / "hosts.yml"

    @property
    def floor_playbook(self) -> Path:
        return self.results / "ansible-floor.yml"

    def log(self, index: int, name: str) -> Path:
        return self.results / "logs" / f"{index}-{name}.log"

    def lab_hosts(self) -> LabHosts:
        if self.hosts is None:
            raise BenchError("no lab yet")
        return self.hosts

    @property
    def ensembles(self) -> list[list[Server]]:
        return self.lab_hosts().ensembles

    @property
    def servers(self) -> list[Server]:
        return self.lab_hosts().servers

    def server(self, name: str) -> Server:
        return next(s for s in self.servers if s.name == name)


def fresh_lab(bench: Bench) -> dict[str, Any]:
    """A fresh lab of the bench's shape (untimed); what it is, for bench.json."""
    bench.hosts = recreate_lab(bench.shape, bench.inventory, bench.group_vars)
    bench.tick = DEFAULT_TICK
    return {"image": bench.hosts.description["image"], "hosts": bench.hosts.description["hosts"]}


def measure_by_hand_floor(bench: Bench, index: int) -> dict[str, Any]:
    """The by-hand floor on the fresh hosts (tools/bench/floors.py)."""
    hosts = bench.lab_hosts()
    return run_by_hand_floor(hosts.ensembles, hosts.ssh_key, hosts.tarball_url,
                             bench.log(index, "by-hand-floor"), meter=CpuMeter.of_lab(LAB_NAME))


def measure_converge(bench: Bench, index: int, limit: int | None = None,
                     name: str = "converge") -> dict[str, Any]:
    """site.yml on fresh hosts, and when every ensemble first had its leader and followers;
    with `limit`, on the first `limit` ensembles alone (`--limit zk_a,...`)."""
    ensembles = bench.ensembles if limit is None else bench.ensembles[:limit]
    options = [] if limit is None else ["--limit", ",".join(bench.shape.groups()[:limit])]
    hosts = sum(len(ensemble) for ensemble in ensembles)
    meter = CpuMeter.of_lab(LAB_NAME)
    before = meter.sample()
    with HealthWatch(ensembles, meter.sample) as watch:
        run = run_playbook(bench.inventory, bench.log(index, name), options=options)
        healthy_at = watch.wait(HEALTHY_GRACE)
    if healthy_at is None:
        raise BenchError(f"{name}: no leader and followers {HEALTHY_GRACE:g} s after "
                         f"site.yml ended: {summary(ensembles_report(ensembles))}")
    healthy_s = healthy_at - run.started
    return {"playbook_s": round(run.seconds, 3), "healthy_s": round(healthy_s, 3),
            "controller_cpu_s": round(run.cpu_s, 3), "cpu_per_host_s": round(run.cpu_s / hosts, 3),
            **cpu_between(before, watch.healthy_sample, healthy_s),
            "hosts": hosts, "changed": run.changed, "recap": run.recap, "profile": run.profile}


def measure_ansible_floor(bench: Bench, index: int, which: int, floor: dict[str, Any],
                          hosts_cpu: bool = False) -> None:
    """One run of the Ansible floor on the converged hosts: its wall and controller CPU time
    appended to `floor`'s runs, and their medians so far as the floor. With `hosts_cpu`, also
    the lab containers' CPU during the run above their idle rate (measured over IDLE_WINDOW_S
    just before): what one `ping` per host costs on the hosts (`ansible_hosts_cpu_s`)."""
    if hosts_cpu:
        meter = CpuMeter.of_lab(LAB_NAME)
        idle, idle_at = meter.sample(), time.monotonic()
        time.sleep(IDLE_WINDOW_S)
        start, start_at = meter.sample(), time.monotonic()
    run = run_ansible_floor(bench.inventory, bench.floor_playbook,
                            bench.log(index, f"ansible-floor-{which}"))
    measured: dict[str, float | None] = {"ansible": run.seconds, "ansible_cpu": run.cpu_s}
    if hosts_cpu:
        measured["ansible_hosts_cpu"] = lab_cpu_above_idle(
            idle, start, meter.sample(), start_at - idle_at, time.monotonic() - start_at)
    for key, value in measured.items():
        runs = floor.setdefault(f"{key}_runs_s", [])
        runs.append(None if value is None else round(value, 3))
        known = [seconds for seconds in runs if seconds is not None]
        floor[f"{key}_s"] = statistics.median(known) if len(known) == len(runs) else None


def measure_rerun(bench: Bench, index: int, options: Sequence[str] = (),
                  name: str = "rerun") -> dict[str, Any]:
    """site.yml again on the converged hosts (with `options`: --check): how long, the
    controller's CPU (in all and per host), and what it changed (should be nothing)."""
    run = run_playbook(bench.inventory, bench.log(index, name), options=options)
    tasks = changed_tasks(run.output)
    if run.changed:
        bench.findings.append(f"repetition {index}: the {name} changed {run.changed}: "
                              + "; ".join(tasks))
    return {"playbook_s": round(run.seconds, 3), "controller_cpu_s": round(run.cpu_s, 3),
            "cpu_per_host_s": round(run.cpu_s / bench.shape.hosts, 3),
            "changed": run.changed, "changed_tasks": tasks, "recap": run.recap,
            "profile": run.profile}


def deployed_tick(bench: Bench) -> dict[str, str]:
    """tickTime in each server's zoo.cfg."""
    return {s.name: ssh(bench.lab_hosts().ssh_key, s.address,
                        "sed -n 's/^tickTime=//p' /etc/zookeeper/zoo.cfg").strip()
            for s in bench.servers}


def traffic_during(servers: Sequence[Server], client: KazooClient, parent: str,
                   span_name: str, operation: Callable[[], PlaybookRun]
                   ) -> tuple[Traffic, PlaybookRun]:
    """Run `operation` inside a span while a Traffic writes, with a margin before and after."""
    with Traffic(client, parent, lambda: servers, rate=WRITE_RATE,
                 limit=PLAYBOOK_LIMIT + 4 * TRAFFIC_MARGIN) as traffic:
        time.sleep(TRAFFIC_MARGIN)
        with traffic.span(span_name):
            run = operation()
        time.sleep(TRAFFIC_MARGIN)
    return traffic, run


def measure_config_change(bench: Bench, index: int, plot: Path | None) -> dict[str, Any]:
    """site.yml with another tickTime under 20 writes/s to the first ensemble; nothing
    acknowledged may be lost."""
    wait_healthy(bench.ensembles)
    written = bench.ensembles[0]
    tick = next_tick(bench.tick)
    parent = f"/bench/{uuid.uuid4().hex[:12]}"
    name = f"site.yml tickTime={tick}"
    client = connect(written, tries=-1)
    try:
        traffic, run = traffic_during(
            written, client, parent, name,
            lambda: run_playbook(bench.inventory, bench.log(index, "config-change"),
                                 {"zookeeper_tick_time": tick}))
    finally:
        close(client)
    bench.tick = tick
    figures = traffic.summary(traffic.spans[0])
    timeline = bench.results / f"config-change-{index}.json"
    traffic.to_json(timeline, {"repetition": index, "tick_time": tick})
    if plot is not None:
        traffic.plot(plot, f"bench: config change under {WRITE_RATE:g} writes/s (rep. {index})")
    wait_healthy(bench.ensembles)
    reader = connect(written)
    try:
        lost = missing(reader, parent, traffic.acked)
    finally:
        close(reader)
    on_hosts = deployed_tick(bench)
    if lost:
        bench.problems.append(f"repetition {index}: {len(lost)} acknowledged writes lost in the "
                              f"config change: {lost[:5]}")
    if set(on_hosts.values()) != {str(tick)} or not run.changed:
        bench.problems.append(f"repetition {index}: the config change did not deploy tickTime "
                              f"{tick} (changed={run.changed}, zoo.cfg: {on_hosts})")
    return {"tick_time": tick, "playbook_s": round(run.seconds, 3), "changed": run.changed,
            "longest_gap_s": figures["longest_gap_s"], "acknowledged": figures["acknowledged"],
            "failed": figures["failed"], "elections": figures["elections"],
            "leaders": figures["leaders"], "none_serving": figures["none_serving"],
            "lost": len(lost), "lost_paths": lost[:20], "zoo_cfg_tick_time": on_hosts,
            "timeline": timeline.name}


def measure_memory(bench: Bench) -> dict[str, Any]:
    """Each server's peak resident memory (VmHWM) and its JVM heap setting."""
    servers = {}
    for server in bench.servers:
        out = ssh(bench.lab_hosts().ssh_key, server.address, MEMORY_COMMAND)
        try:
            servers[server.name] = {"vmhwm_kb": parse_vmhwm(out), **parse_heap(out)}
        except ValueError as err:
            raise BenchError(f"{server.name}: cannot read the server's memory: {err}") from err
    largest = max(s["vmhwm_kb"] for s in servers.values())
    return {"servers": servers, "vmhwm_max_mib": round(largest / 1024, 1)}


def measure_failover(bench: Bench, index: int) -> dict[str, Any]:
    """SIGKILL the first ensemble's leader; time to the first write acknowledged by the
    survivors, then until every ensemble is whole again."""
    ensemble = bench.ensembles[0]
    leader = bench.server(wait_healthy(bench.ensembles)[0]["leader"])
    survivors = [s for s in ensemble if s != leader]
    parent = f"/bench/failover-{index}-{uuid.uuid4().hex[:8]}"
    client = connect(survivors, tries=-1)
    try:
        client.ensure_path(parent)  # connected to a survivor before the kill
        called = time.time()
        killed_at = parse_epoch(ssh(bench.lab_hosts().ssh_key, leader.address, KILL_COMMAND)
                                ) or time.time()
        found = first_acknowledged(client, f"{parent}/w-", FAILOVER_LIMIT, clock=time.time)
    finally:
        close(client)
    if found is None:
        raise BenchError(f"no write acknowledged through {', '.join(s.name for s in survivors)} "
                         f"within {FAILOVER_LIMIT:g} s of killing leader {leader.name}")
    new_leader = ensembles_report([ensemble])[0]["leader"]
    reports = wait_healthy(bench.ensembles)
    healthy_at = time.time()
    modes = {s["name"]: s["mode"] for s in reports[0]["servers"]}
    return {"killed_leader": leader.name, "new_leader": new_leader,
            "ssh_s": round(killed_at - called, 3),
            "first_write_s": round(found[1] - killed_at, 3),
            "healthy_s": round(healthy_at - killed_at, 3),
            "killed_came_back_as": modes[leader.name]}


def run_repetition(bench: Bench, index: int, repetition: dict[str, Any]) -> None:
    """The measurements of one repetition, filled into `repetition` as they complete."""
    step = f"[{index}/{bench.repeat}]"
    where = f"lab {LAB_NAME} ({LAB_SUBNET}, {bench.shape.hosts} hosts, Java preinstalled; untimed)"
    floor = repetition["floor"] = {}
    progress(f"{step} by-hand floor: re-creating {where}")
    fresh_lab(bench)
    floor.update(measure_by_hand_floor(bench, index))
    progress(f"{step} by-hand floor: ssh + shell until quorum {floor['by_hand_s']:.2f} s")
    progress(f"{step} fresh converge: re-creating {where}")
    repetition["lab"] = fresh_lab(bench)
    converge = repetition["converge"] = measure_converge(bench, index)
    progress(f"{step} fresh converge {converge['playbook_s']:.1f} s, quorum after "
             f"{converge['healthy_s']:.1f} s")
    measure_ansible_floor(bench, index, 1, floor)
    rerun = repetition["rerun"] = measure_rerun(bench, index)
    measure_ansible_floor(bench, index, 2, floor)
    floor["task_cost"] = run_task_cost(bench.inventory, bench.floor_playbook,
                                       bench.log(index, "task-cost"))
    ratios = repetition["ratios"] = repetition_ratios(repetition)
    progress(f"{step} no-op re-run {rerun['playbook_s']:.1f} s, changed={rerun['changed']}; "
             f"Ansible floor {floor['ansible_s']:.2f} s; ratios: converge "
             f"{ratios['converge']}x, no-op {ratios['noop']}x; one controller-only task "
             f"{floor['task_cost']['per_task_s'] * 1000:.0f} ms")
    progress(f"{step} config change: tickTime {bench.tick} -> {next_tick(bench.tick)} under "
             f"{WRITE_RATE:g} writes/s")
    plot = bench.results / "config-change.png" if index == 1 else None
    change = repetition["config_change"] = measure_config_change(bench, index, plot)
    progress(f"{step} config change {change['playbook_s']:.1f} s, longest gap "
             f"{change['longest_gap_s']:.2f} s, {change['failed']} failed, "
             f"{change['elections']} elections, {change['lost']} lost")
    memory = repetition["memory"] = measure_memory(bench)
    progress(f"{step} peak RSS: largest {memory['vmhwm_max_mib']:.0f} MiB")
    progress(f"{step} leader SIGKILL")
    failover = repetition["failover"] = measure_failover(bench, index)
    progress(f"{step} killed {failover['killed_leader']}: first write via the survivors after "
             f"{failover['first_write_s']:.2f} s, whole again after {failover['healthy_s']:.1f} s")


# --------------------------------------------------------------------------- report

def new_document(repeat: int, shape: Shape | None = None) -> dict[str, Any]:
    """bench.json before any measurement."""
    shape = shape or Shape()
    commit, dirty = commit_state()
    return {
        "commit": commit,
        # uncommitted changes in the working tree: the commit alone does not say what ran
        "dirty": dirty,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {**machine(), "nproc": os.cpu_count(), "loadavg_start": list(os.getloadavg())},
        "lab": {"name": LAB_NAME, "subnet": LAB_SUBNET, "java_preinstalled": True,
                "hosts": shape.hosts, "ensembles": shape.ensembles, "members": shape.members},
        # ANSIBLE_STRATEGY=mitogen_linear (with ANSIBLE_STRATEGY_PLUGINS) measures that lever
        "ansible": {"strategy": os.environ.get("ANSIBLE_STRATEGY", "linear"),
                    "forks": project_forks()},
        "repeat": repeat,
        "write_rate": WRITE_RATE,
        "repetitions": [],
    }


def finish_document(document: dict[str, Any], bench: Bench, error: str | None,
                    table: Sequence[Figure] = FIGURES, last: str = "failover") -> None:
    """Ratios, the figures of `table`, findings and the outcome, once the measurements are
    over (complete: every repetition got to its `last` measurement)."""
    document["host"]["loadavg_end"] = list(os.getloadavg())
    for repetition in document["repetitions"]:
        repetition["ratios"] = repetition_ratios(repetition)
    document["figures"] = summarize_figures(document["repetitions"], bench.shape.members,
                                            bench.shape.ensembles, table)
    document["findings"] = bench.findings
    document["problems"] = bench.problems
    document["error"] = error
    document["complete"] = error is None and len(document["repetitions"]) == bench.repeat and all(
        last in repetition for repetition in document["repetitions"])


def print_report(document: dict[str, Any], results: Path, shape: Shape,
                 table: Sequence[Figure] = FIGURES,
                 profiles: Sequence[tuple[str, str]] = PROFILES) -> None:
    """The table of `table`'s figures, the heap setting, the `profiles` of repetition 1, the
    findings and where the files are, on stdout."""
    repetitions = document["repetitions"]
    print(f"bench: commit {document['commit']}{'+dirty' if document['dirty'] else ''}, "
          f"{document['date']}, {machine_text(document['host'])}, {shape.describe()}, "
          f"strategy {document['ansible']['strategy']}, forks {document['ansible']['forks']}, "
          f"{len(repetitions)} repetition(s)")
    print("ratios: each repetition's figure / the floor measured in that repetition; "
          "'met' = every repetition met the target")
    print(results_table(repetitions, shape.members, shape.ensembles, table))
    print(heap_line(repetitions))
    for line in profile_lines(repetitions, profiles):
        print(line)
    if shape.ensembles > 1 and table is FIGURES:
        print("config change writes and leader SIGKILL: ensemble a; quorum: every ensemble")
    for finding in document["findings"]:
        print(f"finding: {finding}")
    for problem in document["problems"]:
        print(f"problem: {problem}")
    if document["error"]:
        print(f"error: {document['error']}")
    print(f"raw values: {results / 'bench.json'}"
          + (f"; timeline: {results / 'config-change.png'}" if table is FIGURES else ""))


def profile_lines(repetitions: Sequence[dict[str, Any]],
                  profiles: Sequence[tuple[str, str]] = PROFILES) -> list[str]:
    """Where the first repetition's runs `profiles` (section, name) spent their time, and how
    much of the no-op its number of tasks accounts for at the measured cost of a task."""
    if not repetitions:
        return []
    first, lines = repetitions[0], []
    for key, name in profiles:
        profile = first.get(key, {}).get("profile")
        if profile:
            lines.append(profile_line(f"profile, {name} (repetition 1)", profile))
    per_task = first.get("floor", {}).get("task_cost", {}).get("per_task_s")
    rerun = first.get("rerun", {})
    if per_task is not None and rerun.get("profile"):
        tasks = rerun["profile"]["tasks"]
        lines.append(f"task cost: {per_task * 1000:.0f} ms per controller-only task on every "
                     f"host; the no-op re-run's {tasks} tasks x {per_task * 1000:.0f} ms = "
                     f"{tasks * per_task:.2f} s of its {rerun['playbook_s']:.2f} s")
    return lines


def record_history(document: dict[str, Any], path: Path = HISTORY,
                   columns: Sequence[str] = HISTORY_COLUMNS,
                   keys: Sequence[str] = HISTORY_FIGURES) -> None:
    """Append a complete run's medians (of `keys`) to the history file."""
    if not document["complete"]:
        print(f"history: {path.name} not written (the run is incomplete)")
        return
    append_history(path, document, columns, keys)
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    print(f"history: one line appended to {shown}")


# --------------------------------------------------------------------------- command line

def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def shape_arg(text: str) -> Shape:
    """argparse type: a fleet shape, N or KxN."""
    try:
        return parse_shape(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.partition("\n\n")[0])
    parser.add_argument("--repeat", type=positive_int, default=3,
                        help="repetitions of every measurement (default: %(default)s)")
    parser.add_argument("--members", type=int, choices=MEMBERS, default=3,
                        help="members of each ensemble (default: %(default)s)")
    parser.add_argument("--ensembles", type=positive_int, default=1,
                        help="ensembles of --members each, in one inventory and one site.yml "
                             "run (default: %(default)s)")
    parser.add_argument("--no-history", action="store_true",
                        help="do not append the run to docs/bench-history.tsv (smoke runs)")
    parser.add_argument("--growth", action="store_true",
                        help="instead: the fresh converge's wall and controller CPU time for "
                             "each of --shapes and --forks (tools/bench/growth.py)")
    parser.add_argument("--shapes", type=shape_arg, nargs="+", default=list(DEFAULT_SHAPES),
                        metavar="N|KxN", help="--growth: the fleets (default: 3 5 7 9 3x3)")
    parser.add_argument("--forks", type=positive_int, nargs="+",
                        help="--growth: forks settings (default: ansible.cfg's and 20)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the bench lab up at the end (default: remove it)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="directory of bench.json, the PNG, logs and the lab inventory "
                             "(default: results/bench)")
    args = parser.parse_args(argv)
    if args.ensembles * args.members > MAX_HOSTS:
        parser.error(f"--ensembles x --members: {MAX_HOSTS} hosts at most")
    return args


def remove_lab(keep: bool, hosts: int) -> int:
    """`tools/lab ... down` unless --keep; 1 when that failed."""
    if keep:
        progress(f"lab {LAB_NAME} kept; remove it with tools/lab --name {LAB_NAME} "
                 f"--subnet {LAB_SUBNET} down")
        return 0
    progress(f"removing lab {LAB_NAME}")
    try:
        lab("down", hosts=hosts)
    except BenchError as err:
        progress(f"error: {err}")
        return 1
    return 0


def run_repetitions(bench: Bench, document: dict[str, Any],
                    one: Callable[[Bench, int, dict[str, Any]], None],
                    keep: bool) -> tuple[str | None, int]:
    """Every repetition through `one`, each appended to the document as it starts; the lab
    removed at the end unless `keep`. (error or None, exit code: 1 failed, 130 interrupted)."""
    error: str | None = None
    code = 0
    try:
        for index in range(1, bench.repeat + 1):
            document["repetitions"].append(repetition := {"index": index})
            one(bench, index, repetition)
    except BenchError as err:
        error, code = str(err), 1
        progress(f"error: {err}")
    except KeyboardInterrupt:
        error, code = "interrupted", 130
        progress("interrupted")
    finally:
        removed = remove_lab(keep, bench.shape.hosts)
        code = code or removed
    return error, code


def growth(args: argparse.Namespace, results: Path) -> int:
    """--growth: the growth table (tools/bench/growth.py)."""
    forks = args.forks or growth_forks(project_forks())
    document = new_growth_document(args.repeat, forks, *commit_state())
    code = 0
    try:
        code = run_growth(args.shapes, forks, args.repeat, results, document)
    except KeyboardInterrupt:
        code = 130
        progress("interrupted")
    finally:
        removed = remove_lab(args.keep, max(s.hosts for s in args.shapes))
        code = code or removed
    write_growth(document, results / "growth.json")
    print_growth(document, results / "growth.json")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every measurement ran, 1 when one failed, 130 interrupted."""
    args = parse_args(argv)
    # Connection losses are expected while servers restart; the Traffic counts them.
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    results = args.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    if args.growth:
        return growth(args, results)
    shape = Shape(args.ensembles, args.members)
    bench = Bench(results, args.repeat, shape)
    write_floor_playbook(bench.floor_playbook)
    document = new_document(args.repeat, shape)
    error, code = run_repetitions(bench, document, run_repetition, args.keep)
    finish_document(document, bench, error)
    (results / "bench.json").write_text(json.dumps(document, indent=1) + "\n")
    print_report(document, results, shape)
    if not args.no_history:
        record_history(document)
    return code or (1 if bench.problems else 0)


if __name__ == "__main__":
    sys.exit(main())
