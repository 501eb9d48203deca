#!/usr/bin/env python3
"""Benchmark of the roles on a lab of its own: converge, re-run, config change, failover, memory.

Every repetition re-creates the lab `bench` (10.213.16.0/24, hosts with OpenJDK already
installed; untimed), then measures:

1. fresh converge: the wall time of `playbooks/site.yml`, and the time from its start until
   the ensemble has one leader and two followers (polled every 0.1 s while it runs);
2. no-op re-run: the wall time of site.yml run again, and the changed tasks (PLAY RECAP);
3. config change: site.yml with another `zookeeper_tick_time` while a client writes 20 times
   a second: run time, longest gap between acknowledged writes, failed writes, elections,
   whether no server served at some moment, and acknowledged writes lost (must be 0);
4. peak memory: each server's VmHWM and its JVM heap setting (-Xms/-Xmx), over SSH;
5. leader SIGKILL: the time from the kill to the first write acknowledged through the two
   survivors, then the time until the ensemble is whole again.

The figures are printed as a table (median, min, max over the repetitions, with the targets)
and written with every raw value to RESULTS/bench.json; RESULTS/config-change.png is the
timeline of the first repetition's config change. The targets are not assertions: the exit
code is 0 when every measurement ran, 1 when something failed to run (a playbook failed, an
acknowledged write was lost, the ensemble did not become healthy), 130 when interrupted.

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
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from playbook_output import changed_tasks, changed_total, parse_recap
from zk_status import Server, build_report, query_all
from zk_traffic import Traffic, first_acknowledged, missing

REPO = Path(__file__).resolve().parent.parent
LAB_NAME = "bench"
LAB_SUBNET = "10.213.16.0/24"
LAB = [str(REPO / "tools" / "lab"), "--name", LAB_NAME, "--subnet", LAB_SUBNET, "--java"]
PLAYBOOK = REPO / "playbooks" / "site.yml"
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
DEFAULT_RESULTS = REPO / "results" / "bench"

DEFAULT_TICK = 2000  # the role's zookeeper_tick_time, what a fresh converge deploys
CHANGED_TICK = 2500
WRITE_RATE = 20.0  # writes per second during the config change
POLL_EVERY = 0.1  # seconds between two looks at the ensemble
SRVR_TIMEOUT = 0.5  # per server and look
PLAYBOOK_TIMEOUT = 900.0
LAB_TIMEOUT = 3600.0  # the first `up` may build the image
HEALTHY_GRACE = 30.0  # how long after a converge the ensemble may take to be whole
HEALTHY_LIMIT = 90.0  # how long to wait for a healthy ensemble before and after an operation
FAILOVER_LIMIT = 30.0  # how long to try writing through the survivors after the kill
TRAFFIC_MARGIN = 2.0  # seconds of writes before and after the config change
OUTPUT_TAIL = 3000  # characters of a failed playbook's output shown

SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
# The date after the kill is the kernel's clock, which the containers share with this host.
KILL_COMMAND = "systemctl kill --signal=SIGKILL --kill-who=main zookeeper && date +%s.%N"
MEMORY_COMMAND = ("pid=$(systemctl show -p MainPID --value zookeeper) && "
                  "grep VmHWM /proc/$pid/status && tr '\\0' ' ' < /proc/$pid/cmdline && echo")

VMHWM_LINE = re.compile(r"^VmHWM:\s*(?P<kb>\d+)\s*kB", re.MULTILINE)
HEAP_OPTION = re.compile(r"(?:^|\s)-Xm(?P<which>[sx])(?P<size>\S+)")


class BenchError(RuntimeError):
    """A measurement that could not run; the benchmark stops and exits 1."""


# --------------------------------------------------------------------------- figures

@dataclass(frozen=True)
class Figure:
    """One figure of the table: where its raw values are, its unit and its target."""

    key: str  # "<section>.<field>" of a repetition
    label: str
    unit: str = ""  # "s", "MiB", "" (a count) or "flag" (0 no, 1 yes)
    limit: float | None = None  # target: value <= limit

    @property
    def target(self) -> str:
        """The target as printed: `<= 10 s`, `0`, `never`, or empty."""
        if self.limit is None:
            return ""
        if self.unit == "flag":
            return "never" if self.limit == 0 else "allowed"
        if self.limit == 0:
            return "0"
        unit = f" {self.unit}" if self.unit else ""
        return f"<= {self.limit:g}{unit}"


FIGURES = (
    Figure("converge.playbook_s", "fresh converge: site.yml", "s", 10),
    Figure("converge.healthy_s", "fresh converge: until 1 leader + 2 followers", "s"),
    Figure("rerun.playbook_s", "no-op re-run: site.yml", "s", 5),
    Figure("rerun.changed", "no-op re-run: changed (PLAY RECAP)", "", 0),
    Figure("config_change.playbook_s", "config change: site.yml under writes", "s"),
    Figure("config_change.longest_gap_s", "config change: longest write gap", "s", 1),
    Figure("config_change.acknowledged", "config change: writes acknowledged"),
    Figure("config_change.failed", "config change: writes failed"),
    Figure("config_change.lost", "config change: acknowledged writes lost", "", 0),
    Figure("config_change.elections", "config change: elections", "", 1),
    Figure("config_change.none_serving", "config change: no server serving", "flag", 0),
    Figure("memory.vmhwm_max_mib", "peak RSS (VmHWM), largest server", "MiB"),
    Figure("failover.first_write_s", "leader SIGKILL: first write via survivors", "s", 2),
    Figure("failover.healthy_s", "leader SIGKILL: until 3 serving again", "s"),
)


def figure_values(figure: Figure, repetitions: Sequence[dict[str, Any]]) -> list[float]:
    """The figure's raw values, one per repetition that measured it."""
    section, name = figure.key.split(".", 1)
    values = []
    for repetition in repetitions:
        value = (repetition.get(section) or {}).get(name)
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (int, float)):
            values.append(value)
    return values


def describe(values: Sequence[float]) -> dict[str, float | None]:
    """Median, min and max (None for no values)."""
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def verdict(values: Sequence[float], limit: float | None) -> str:
    """`met` when every repetition met the target, `not met` when none did, else `met k/n`;
    empty without a target, `not run` without values."""
    if limit is None:
        return ""
    if not values:
        return "not run"
    met = sum(1 for value in values if value <= limit)
    if met == len(values):
        return "met"
    return "not met" if met == 0 else f"met {met}/{len(values)}"


def format_value(value: float | None, unit: str) -> str:
    """A cell: seconds with two decimals, MiB whole, counts as integers, flags as yes/no."""
    if value is None:
        return "-"
    if unit == "flag":
        return "yes" if value else "no"
    if unit == "s":
        return f"{value:.2f}"
    if unit == "MiB":
        return f"{value:.0f}"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def figure_row(figure: Figure, values: Sequence[float]) -> list[str]:
    """The cells of one table row."""
    stats = describe(values)
    label = f"{figure.label} ({figure.unit})" if figure.unit in {"s", "MiB"} else figure.label
    return [label, *(format_value(stats[k], figure.unit) for k in ("median", "min", "max")),
            figure.target, verdict(values, figure.limit)]


TABLE_HEADER = ["FIGURE", "MEDIAN", "MIN", "MAX", "TARGET", ""]


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = TABLE_HEADER) -> str:
    """Aligned columns; the first column left-aligned, the numbers right-aligned."""
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:4], widths[1:4])]
        cells += [cell.ljust(width) for cell, width in zip(row[4:], widths[4:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summarize_figures(repetitions: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every figure with its raw values, statistics, target and verdict (for bench.json)."""
    figures = {}
    for figure in FIGURES:
        values = figure_values(figure, repetitions)
        figures[figure.key] = {"label": figure.label, "unit": figure.unit, "values": values,
                               **describe(values), "target": figure.target or None,
                               "limit": figure.limit, "verdict": verdict(values, figure.limit)
                               or None}
    return figures


def results_table(repetitions: Sequence[dict[str, Any]]) -> str:
    """The table printed at the end."""
    return format_table([figure_row(f, figure_values(f, repetitions)) for f in FIGURES])


def heap_line(repetitions: Sequence[dict[str, Any]]) -> str:
    """The JVM heap settings seen on the servers, e.g. `-Xms512m -Xmx512m on every server`."""
    settings = sorted({f"-Xms{server.get('Xms', '?')} -Xmx{server.get('Xmx', '?')}"
                       for repetition in repetitions
                       for server in ((repetition.get("memory") or {}).get("servers") or {}
                                      ).values()})
    if not settings:
        return "JVM heap: not measured"
    if len(settings) == 1:
        return f"JVM heap: {settings[0]} on every server"
    return "JVM heap: " + ", ".join(settings)


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


def servers_from_lab(description: dict[str, Any], port: int = 2181) -> list[Server]:
    """The ensemble's servers from `tools/lab up --json`."""
    return [Server(host["name"], host["address"], port) for host in description["hosts"]]


def leader_and_followers(report: dict[str, Any]) -> bool:
    """One leader and every other expected member a follower (zk_status.build_report)."""
    modes = [server.get("mode") for server in report.get("servers", [])]
    return (modes.count("leader") == 1
            and modes.count("follower") == report.get("expected", len(modes)) - 1)


def next_tick(current: int) -> int:
    """A tickTime different from the deployed one: 2500 after 2000, 2000 after 2500."""
    return CHANGED_TICK if current == DEFAULT_TICK else DEFAULT_TICK


# --------------------------------------------------------------------------- processes

def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    """The end of a long output."""
    return text if len(text) <= limit else "..." + text[-limit:]


def lab(*args: str) -> str:
    """Run `tools/lab --name bench --subnet ... --java ARGS`; its log lines go to stderr."""
    try:
        proc = subprocess.run([*LAB, *args], stdout=subprocess.PIPE, text=True,
                              timeout=LAB_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"tools/lab {' '.join(args)} took longer than {LAB_TIMEOUT:g} s") from err
    if proc.returncode != 0:
        raise BenchError(f"tools/lab {' '.join(args)} failed (exit {proc.returncode})")
    return proc.stdout


def ssh(key: Path, address: str, command: str, timeout: float = 30.0) -> str:
    """Run a command as root on a lab host; its stdout."""
    argv = ["ssh", "-i", str(key), *SSH_OPTIONS, f"root@{address}", command]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"ssh root@{address} {command!r}: no answer in {timeout:g} s") from err
    if proc.returncode != 0:
        raise BenchError(f"ssh root@{address} {command!r} failed ({proc.returncode}): "
                         f"{tail(proc.stderr.strip(), 500)}")
    return proc.stdout


@dataclass
class PlaybookRun:
    """One ansible-playbook run."""

    name: str
    started: float  # time.monotonic() when it was started
    seconds: float
    rc: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return parse_recap(self.output)

    @property
    def changed(self) -> int:
        return changed_total(self.recap)


def run_playbook(inventory: Path, log: Path, extra_vars: dict[str, Any] | None = None
                 ) -> PlaybookRun:
    """Run site.yml, its output written to `log`; raises BenchError unless it exits 0."""
    argv = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(PLAYBOOK)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env, cwd=REPO, timeout=PLAYBOOK_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as err:
        raise BenchError(f"{log.stem}: site.yml ran longer than {PLAYBOOK_TIMEOUT:g} s") from err
    run = PlaybookRun(log.stem, started, time.monotonic() - started, proc.returncode,
                      proc.stdout)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {' '.join(argv)}\n{run.output}\n# exit {run.rc} after {run.seconds:.2f} s\n")
    if run.rc != 0:
        raise BenchError(f"{run.name}: site.yml failed (exit {run.rc}); full output in {log}; "
                         f"its end:\n{tail(run.output)}")
    return run


# --------------------------------------------------------------------------- ensemble

def ensemble_report(servers: Sequence[Server]) -> dict[str, Any]:
    """zk_status's report of the ensemble, now."""
    return build_report(query_all(servers, SRVR_TIMEOUT), len(servers))


def wait_healthy(servers: Sequence[Server], limit: float = HEALTHY_LIMIT) -> dict[str, Any]:
    """Poll (bounded) until one leader and the others followers; raises BenchError."""
    deadline = time.monotonic() + limit
    report = ensemble_report(servers)
    while not leader_and_followers(report):
        if time.monotonic() > deadline:
            raise BenchError(f"ensemble not healthy after {limit:g} s: {report['summary']}")
        time.sleep(POLL_EVERY)
        report = ensemble_report(servers)
    return report


class HealthWatch:
    """Polls the ensemble every 0.1 s in a thread and notes when it first has one leader and
    the others followers."""

    def __init__(self, servers: Sequence[Server]) -> None:
        self.servers = list(servers)
        self.healthy_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            if leader_and_followers(ensemble_report(self.servers)):
                self.healthy_at = time.monotonic()
                return
            self._stop.wait(POLL_EVERY)

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


# --------------------------------------------------------------------------- measurements

@dataclass
class Bench:
    """The benchmark's state: where it writes, the lab it measures, what it found."""

    results: Path
    repeat: int
    servers: list[Server] = field(default_factory=list)
    ssh_key: Path = REPO / ".lab" / "ssh" / "id_ed25519"
    tick: int = DEFAULT_TICK
    findings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def inventory(self) -> Path:
        return self.results / "inventory" / "hosts.yml"

    def log(self, index: int, name: str) -> Path:
        return self.results / "logs" / f"{index}-{name}.log"

    def server(self, name: str) -> Server:
        return next(s for s in self.servers if s.name == name)


def recreate_lab(bench: Bench) -> dict[str, Any]:
    """`down` then `up`: fresh containers with Java installed (untimed)."""
    lab("down")
    description = json.loads(lab("up", "--inventory", str(bench.inventory), "--json"))
    bench.servers = servers_from_lab(description)
    bench.ssh_key = Path(description["ssh_key"])
    bench.tick = DEFAULT_TICK
    return {"image": description["image"], "hosts": description["hosts"]}


def measure_converge(bench: Bench, index: int) -> dict[str, Any]:
    """site.yml on fresh hosts, and when the ensemble first had its leader and followers."""
    with HealthWatch(bench.servers) as watch:
        run = run_playbook(bench.inventory, bench.log(index, "converge"))
        healthy_at = watch.wait(HEALTHY_GRACE)
    if healthy_at is None:
        raise BenchError(f"fresh converge: no leader and followers {HEALTHY_GRACE:g} s after "
                         f"site.yml ended: {ensemble_report(bench.servers)['summary']}")
    return {"playbook_s": round(run.seconds, 3), "healthy_s": round(healthy_at - run.started, 3),
            "changed": run.changed, "recap": run.recap}


def measure_rerun(bench: Bench, index: int) -> dict[str, Any]:
    """site.yml again, right after: how long, and what it changed (should be nothing)."""
    run = run_playbook(bench.inventory, bench.log(index, "rerun"))
    tasks = changed_tasks(run.output)
    if run.changed:
        bench.findings.append(f"repetition {index}: the no-op re-run changed {run.changed}: "
                              + "; ".join(tasks))
    return {"playbook_s": round(run.seconds, 3), "changed": run.changed, "changed_tasks": tasks,
            "recap": run.recap}


def deployed_tick(bench: Bench) -> dict[str, str]:
    """tickTime in each server's zoo.cfg."""
    return {s.name: ssh(bench.ssh_key, s.address,
                        "sed -n 's/^tickTime=//p' /etc/zookeeper/zoo.cfg").strip()
            for s in bench.servers}


def traffic_during(bench: Bench, client: KazooClient, parent: str, span_name: str,
                   operation: Callable[[], PlaybookRun]) -> tuple[Traffic, PlaybookRun]:
    """Run `operation` inside a span while a Traffic writes, with a margin before and after."""
    with Traffic(client, parent, lambda: bench.servers, rate=WRITE_RATE,
                 limit=PLAYBOOK_TIMEOUT + 4 * TRAFFIC_MARGIN) as traffic:
        time.sleep(TRAFFIC_MARGIN)
        with traffic.span(span_name):
            run = operation()
        time.sleep(TRAFFIC_MARGIN)
    return traffic, run


def measure_config_change(bench: Bench, index: int, plot: Path | None) -> dict[str, Any]:
    """site.yml with another tickTime under 20 writes/s; nothing acknowledged may be lost."""
    wait_healthy(bench.servers)
    tick = next_tick(bench.tick)
    parent = f"/bench/{uuid.uuid4().hex[:12]}"
    name = f"site.yml tickTime={tick}"
    client = connect(bench.servers, tries=-1)
    try:
        traffic, run = traffic_during(
            bench, client, parent, name,
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
    wait_healthy(bench.servers)
    reader = connect(bench.servers)
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
        out = ssh(bench.ssh_key, server.address, MEMORY_COMMAND)
        try:
            servers[server.name] = {"vmhwm_kb": parse_vmhwm(out), **parse_heap(out)}
        except ValueError as err:
            raise BenchError(f"{server.name}: cannot read the server's memory: {err}") from err
    largest = max(s["vmhwm_kb"] for s in servers.values())
    return {"servers": servers, "vmhwm_max_mib": round(largest / 1024, 1)}


def measure_failover(bench: Bench, index: int) -> dict[str, Any]:
    """SIGKILL the leader; time to the first write acknowledged by the survivors, then until
    the ensemble is whole again."""
    leader = bench.server(wait_healthy(bench.servers)["leader"])
    survivors = [s for s in bench.servers if s != leader]
    parent = f"/bench/failover-{index}-{uuid.uuid4().hex[:8]}"
    client = connect(survivors, tries=-1)
    try:
        client.ensure_path(parent)  # connected to a survivor before the kill
        called = time.time()
        killed_at = parse_epoch(ssh(bench.ssh_key, leader.address, KILL_COMMAND)) or time.time()
        found = first_acknowledged(client, f"{parent}/w-", FAILOVER_LIMIT, clock=time.time)
    finally:
        close(client)
    if found is None:
        raise BenchError(f"no write acknowledged through {', '.join(s.name for s in survivors)} "
                         f"within {FAILOVER_LIMIT:g} s of killing leader {leader.name}")
    new_leader = ensemble_report(bench.servers)["leader"]
    report = wait_healthy(bench.servers)
    healthy_at = time.time()
    modes = {s["name"]: s["mode"] for s in report["servers"]}
    return {"killed_leader": leader.name, "new_leader": new_leader,
            "ssh_s": round(killed_at - called, 3),
            "first_write_s": round(found[1] - killed_at, 3),
            "healthy_s": round(healthy_at - killed_at, 3),
            "killed_came_back_as": modes[leader.name]}


def run_repetition(bench: Bench, index: int, repetition: dict[str, Any]) -> None:
    """The measurements of one repetition, filled into `repetition` as they complete."""
    step = f"[{index}/{bench.repeat}]"
    progress(f"{step} re-creating lab {LAB_NAME} ({LAB_SUBNET}, Java preinstalled; untimed)")
    repetition["lab"] = recreate_lab(bench)
    progress(f"{step} fresh converge: site.yml")
    converge = repetition["converge"] = measure_converge(bench, index)
    progress(f"{step} fresh converge {converge['playbook_s']:.1f} s, 1 leader + 2 followers after "
             f"{converge['healthy_s']:.1f} s")
    rerun = repetition["rerun"] = measure_rerun(bench, index)
    progress(f"{step} no-op re-run {rerun['playbook_s']:.1f} s, changed={rerun['changed']}")
    progress(f"{step} config change: tickTime {bench.tick} -> {next_tick(bench.tick)} under "
             f"{WRITE_RATE:g} writes/s")
    plot = bench.results / "config-change.png" if index == 1 else None
    change = repetition["config_change"] = measure_config_change(bench, index, plot)
    progress(f"{step} config change {change['playbook_s']:.1f} s, longest gap "
             f"{change['longest_gap_s']:.2f} s, {change['failed']} failed, "
             f"{change['elections']} elections, {change['lost']} lost")
    memory = repetition["memory"] = measure_memory(bench)
    progress(f"{step} peak RSS: " + ", ".join(
        f"{name} {s['vmhwm_kb'] / 1024:.0f} MiB" for name, s in memory["servers"].items()))
    progress(f"{step} leader SIGKILL")
    failover = repetition["failover"] = measure_failover(bench, index)
    progress(f"{step} killed {failover['killed_leader']}: first write via the survivors after "
             f"{failover['first_write_s']:.2f} s, whole again after {failover['healthy_s']:.1f} s")


# --------------------------------------------------------------------------- report

def git(*args: str) -> str:
    """The stripped stdout of a git command in the repository (empty on failure)."""
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                          check=False).stdout.strip()


def new_document(repeat: int) -> dict[str, Any]:
    """bench.json before any measurement."""
    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        # uncommitted changes in the working tree: the commit alone does not say what ran
        "dirty": bool(git("status", "--porcelain")),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "host": {"nproc": os.cpu_count(), "loadavg_start": list(os.getloadavg())},
        "lab": {"name": LAB_NAME, "subnet": LAB_SUBNET, "java_preinstalled": True},
        "repeat": repeat,
        "write_rate": WRITE_RATE,
        "repetitions": [],
    }


def finish_document(document: dict[str, Any], bench: Bench, error: str | None) -> None:
    """Figures, findings and the outcome, once the measurements are over."""
    document["host"]["loadavg_end"] = list(os.getloadavg())
    document["figures"] = summarize_figures(document["repetitions"])
    document["findings"] = bench.findings
    document["problems"] = bench.problems
    document["error"] = error
    document["complete"] = error is None and len(document["repetitions"]) == bench.repeat and all(
        "failover" in repetition for repetition in document["repetitions"])


def print_report(document: dict[str, Any], results: Path) -> None:
    """The table, the heap setting, the findings and where the files are, on stdout."""
    repetitions = document["repetitions"]
    print(f"bench: commit {document['commit']}{' (dirty)' if document['dirty'] else ''}, "
          f"{document['date']}, nproc {document['host']['nproc']}, "
          f"{len(repetitions)} repetition(s); 'met' = every repetition met the target")
    print(results_table(repetitions))
    print(heap_line(repetitions))
    for finding in document["findings"]:
        print(f"finding: {finding}")
    for problem in document["problems"]:
        print(f"problem: {problem}")
    if document["error"]:
        print(f"error: {document['error']}")
    print(f"raw values: {results / 'bench.json'}; timeline: {results / 'config-change.png'}")


# --------------------------------------------------------------------------- command line

def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="tools/bench.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=positive_int, default=3,
                        help="repetitions of every measurement (default: %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the bench lab up at the end (default: remove it)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="directory of bench.json, the PNG, logs and the lab inventory "
                             "(default: results/bench)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every measurement ran, 1 when one failed, 130 interrupted."""
    args = parse_args(argv)
    # Connection losses are expected while servers restart; the Traffic counts them.
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    results = args.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    bench = Bench(results, args.repeat)
    document = new_document(args.repeat)
    error: str | None = None
    code = 0
    try:
        for index in range(1, args.repeat + 1):
            document["repetitions"].append(repetition := {"index": index})
            run_repetition(bench, index, repetition)
    except BenchError as err:
        error, code = str(err), 1
        progress(f"error: {err}")
    except KeyboardInterrupt:
        error, code = "interrupted", 130
        progress("interrupted")
    finally:
        if args.keep:
            progress(f"lab {LAB_NAME} kept: inventory {bench.inventory}; remove it with "
                     f"tools/lab --name {LAB_NAME} --subnet {LAB_SUBNET} down")
        else:
            progress(f"removing lab {LAB_NAME}")
            try:
                lab("down")
            except BenchError as err:
                progress(f"error: {err}")
                code = code or 1
    finish_document(document, bench, error)
    (results / "bench.json").write_text(json.dumps(document, indent=1) + "\n")
    print_report(document, results)
    return code or (1 if bench.problems else 0)


if __name__ == "__main__":
    sys.exit(main())
