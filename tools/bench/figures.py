"""The benchmark's figures: statistics, the ratios to the floors, the table, the machine, and
the history line (docs/bench-history.tsv). Pure functions of bench.json's repetitions."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Figure:
    """One figure of the table: where its raw values are, its unit and its target. The label
    may name `{quorum}` (`1 leader + 2 followers`) and `{members}`."""

    key: str  # "<section>.<field>" of a repetition
    label: str
    unit: str = ""  # "s", "MiB", "x" (a ratio), "%" (a share), "" (a count), "flag" (0/1)
    limit: float | None = None  # target: value <= limit

    @property
    def target(self) -> str:
        """The target as printed: `<= 4x`, `<= 1 s`, `0`, `never`, or empty."""
        if self.limit is None:
            return ""
        if self.unit == "flag":
            return "never" if self.limit == 0 else "allowed"
        if self.limit == 0:
            return "0"
        if self.unit == "x":
            return f"<= {self.limit:g}x"
        unit = f" {self.unit}" if self.unit else ""
        return f"<= {self.limit:g}{unit}"

    def text(self, members: int = 3, ensembles: int = 1) -> str:
        """The label for ensembles of `members`."""
        quorum = f"1 leader + {members - 1} followers"
        if ensembles > 1:
            quorum += " each"
        return self.label.format(quorum=quorum, members=members)


# The no-op re-run's controller CPU over the Ansible floor's, before the reconcile loop of
# issue #27 (commit c2ca594, 2026-12-04; `make bench` and `make bench-fleet` on this
# project's 2-core machine, median): the target is a third of it. A ratio to the floor of the
# same run, so that it travels between machines as the other ratios do.
NOOP_CPU_BEFORE = {"3 hosts": 8.33, "30 hosts": 21.33}


def noop_cpu_target(hosts: str) -> float:
    """A third of the no-op re-run's controller CPU ratio before #27, for `hosts`."""
    return round(NOOP_CPU_BEFORE[hosts] / 3, 2)


FIGURES = (
    Figure("floor.by_hand_s", "by-hand floor: ssh + shell until {quorum}", "s"),
    Figure("converge.playbook_s", "fresh converge: site.yml", "s"),
    Figure("converge.healthy_s", "fresh converge: until {quorum}", "s"),
    Figure("ratios.converge", "fresh converge until quorum / by-hand floor", "x", 3),
    Figure("converge.machine_cpu_s", "fresh converge: machine CPU until quorum", "s"),
    Figure("converge.busy_share", "fresh converge: cores busy until quorum", "%"),
    Figure("floor.ansible_s", "Ansible floor: one no-op task", "s"),
    Figure("rerun.playbook_s", "no-op re-run: site.yml", "s"),
    Figure("ratios.noop", "no-op re-run / Ansible floor", "x", 1.5),
    Figure("rerun.changed", "no-op re-run: changed (PLAY RECAP)", "", 0),
    Figure("rerun.cpu_per_host_s", "no-op re-run: controller CPU per host", "s"),
    Figure("ratios.noop_cpu", "no-op re-run / Ansible floor, controller CPU", "x",
           noop_cpu_target("3 hosts")),
    Figure("config_change.playbook_s", "config change: site.yml under writes", "s"),
    Figure("config_change.longest_gap_s", "config change: longest write gap", "s", 1),
    Figure("config_change.acknowledged", "config change: writes acknowledged"),
    Figure("config_change.failed", "config change: writes failed"),
    Figure("config_change.lost", "config change: acknowledged writes lost", "", 0),
    Figure("config_change.elections", "config change: elections", "", 1),
    Figure("config_change.none_serving", "config change: no server serving", "flag", 0),
    Figure("memory.vmhwm_max_mib", "peak RSS (VmHWM), largest server", "MiB"),
    Figure("failover.first_write_s", "leader SIGKILL: first write via survivors", "s", 2),
    Figure("failover.healthy_s", "leader SIGKILL: until {members} serving again", "s"),
)
# The fleet mode's (tools/bench/fleet.py): K ensembles in one inventory, and the first of
# them alone (--limit) on the same hosts.
FLEET_FIGURES = (
    Figure("floor.by_hand_s", "by-hand floor: ssh + shell until {quorum}", "s"),
    Figure("converge_one.playbook_s", "fresh converge, first ensemble alone (--limit): site.yml",
           "s"),
    Figure("converge_one.healthy_s", "fresh converge, first ensemble alone: until quorum", "s"),
    Figure("converge.playbook_s", "fresh converge, every ensemble: site.yml", "s"),
    Figure("converge.healthy_s", "fresh converge, every ensemble: until {quorum}", "s"),
    Figure("ratios.converge", "fresh converge until quorum / by-hand floor", "x"),
    Figure("ratios.growth", "fresh converge until quorum: every ensemble / the first alone",
           "x", 3),
    Figure("floor.machine_cpu_s", "by-hand floor: machine CPU until {quorum}", "s"),
    Figure("floor.lab_cpu_s", "by-hand floor: of it, the lab's containers", "s"),
    Figure("converge_one.machine_cpu_s",
           "fresh converge, first ensemble alone: machine CPU until quorum", "s"),
    Figure("converge.machine_cpu_s", "fresh converge, every ensemble: machine CPU until quorum",
           "s"),
    Figure("converge.lab_cpu_s", "fresh converge, every ensemble: of it, the lab's containers",
           "s"),
    Figure("converge.busy_share", "fresh converge, every ensemble: cores busy until quorum",
           "%"),
    Figure("ratios.floor_cpu_bound",
           "by-hand floor's machine CPU / cores, over the first ensemble alone", "x"),
    Figure("ratios.least_cpu_bound",
           "least CPU (by-hand floor + Ansible floor) / cores, over the first ensemble alone",
           "x"),
    Figure("ratios.cpu_bound",
           "every ensemble's machine CPU / cores, over the first ensemble alone", "x"),
    Figure("converge.cpu_per_host_s", "fresh converge: controller CPU per host", "s"),
    Figure("floor.ansible_s", "Ansible floor: one no-op task", "s"),
    Figure("floor.ansible_cpu_s", "Ansible floor: controller CPU", "s"),
    Figure("floor.ansible_hosts_cpu_s", "Ansible floor: the hosts' CPU above idle", "s"),
    Figure("rerun.playbook_s", "no-op re-run: site.yml", "s"),
    Figure("ratios.noop", "no-op re-run / Ansible floor", "x", 2),
    Figure("rerun.changed", "no-op re-run: changed (PLAY RECAP)", "", 0),
    Figure("check.playbook_s", "site.yml --check on the converged fleet", "s"),
    Figure("ratios.check", "site.yml --check / Ansible floor", "x", 2),
    Figure("check.changed", "site.yml --check: changed (PLAY RECAP)", "", 0),
    Figure("rerun.cpu_per_host_s", "no-op re-run: controller CPU per host", "s"),
    Figure("ratios.noop_cpu", "no-op re-run / Ansible floor, controller CPU", "x",
           noop_cpu_target("30 hosts")),
    Figure("memory.vmhwm_max_mib", "peak RSS (VmHWM), largest server", "MiB"),
)
FIGURE = {figure.key: figure for figure in FIGURES}


# --------------------------------------------------------------------------- ratios

def ratio(value: Any, floor: Any) -> float | None:
    """value / floor, two decimals; None when either is missing or the floor is not > 0."""
    if not isinstance(value, (int, float)) or not isinstance(floor, (int, float)) or floor <= 0:
        return None
    return round(value / floor, 2)


def repetition_ratios(repetition: dict[str, Any]) -> dict[str, float | None]:
    """A repetition's ratios, each to a floor or run measured in the same repetition: the
    fresh converge until quorum over the by-hand floor; the no-op re-run over the Ansible
    floor, in wall time and in controller CPU; and in the fleet mode, the fresh converge of
    every ensemble over that of the first alone, site.yml --check over the Ansible floor, and
    the least wall time the machine CPU of the by-hand floor and of every ensemble's converge
    allow (floor_cpu_bound, cpu_bound) over the first ensemble's converge alone, and that of
    the by-hand floor's work with the least any Ansible run costs on top (least_cpu_bound;
    None where the repetition has no such figures)."""
    floor = repetition.get("floor") or {}
    converge = repetition.get("converge") or {}
    rerun = repetition.get("rerun") or {}
    first_alone = (repetition.get("converge_one") or {}).get("healthy_s")
    return {
        "converge": ratio(converge.get("healthy_s"), floor.get("by_hand_s")),
        "noop": ratio(rerun.get("playbook_s"), floor.get("ansible_s")),
        "noop_cpu": ratio(rerun.get("controller_cpu_s"), floor.get("ansible_cpu_s")),
        "growth": ratio(converge.get("healthy_s"), first_alone),
        "check": ratio((repetition.get("check") or {}).get("playbook_s"),
                       floor.get("ansible_s")),
        "floor_cpu_bound": ratio(cpu_bound(floor), first_alone),
        "least_cpu_bound": ratio(least_cpu_bound(floor), first_alone),
        "cpu_bound": ratio(cpu_bound(converge), first_alone),
    }


def cpu_bound(measured: dict[str, Any]) -> float | None:
    """The least wall time a measured window's CPU allows on its machine: its machine CPU over
    the cores (bench.cpu); None when not measured."""
    machine, cores = measured.get("machine_cpu_s"), measured.get("cores")
    if not isinstance(machine, (int, float)) or not isinstance(cores, int) or cores <= 0:
        return None
    return machine / cores


def least_cpu_bound(floor: dict[str, Any]) -> float | None:
    """The least wall time any Ansible converge of the floor's hosts could take on its machine:
    the by-hand floor's machine CPU (the servers' fetch, unpack and start, and their election)
    and the Ansible floor's, one `ping` per host (its controller CPU, and its hosts' above
    their idle rate where measured, `ansible_hosts_cpu_s`), over the cores; None without the
    by-hand floor's CPU or the Ansible floor's controller CPU."""
    controller = floor.get("ansible_cpu_s")
    hosts = floor.get("ansible_hosts_cpu_s")
    bound = cpu_bound(floor)
    if bound is None or not isinstance(controller, (int, float)):
        return None
    ansible = controller + (hosts if isinstance(hosts, (int, float)) else 0.0)
    return bound + ansible / floor["cores"]


# --------------------------------------------------------------------------- statistics

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
    """A cell: seconds with two decimals, ratios as 1.23x, shares as 97%, MiB whole, counts as
    integers, flags as yes/no."""
    if value is None:
        return "-"
    if unit == "flag":
        return "yes" if value else "no"
    if unit == "s":
        return f"{value:.2f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "MiB":
        return f"{value:.0f}"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def figure_row(figure: Figure, values: Sequence[float], members: int = 3,
               ensembles: int = 1) -> list[str]:
    """The cells of one table row."""
    stats = describe(values)
    label = figure.text(members, ensembles)
    if figure.unit in {"s", "MiB"}:
        label += f" ({figure.unit})"
    return [label, *(format_value(stats[k], figure.unit) for k in ("median", "min", "max")),
            figure.target, verdict(values, figure.limit)]


TABLE_HEADER = ("FIGURE", "MEDIAN", "MIN", "MAX", "TARGET", "")


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = TABLE_HEADER,
                 numeric: int = 3) -> str:
    """Aligned columns; the first column left-aligned, the next `numeric` right-aligned, the
    rest left-aligned."""
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in
                  zip(row[1:numeric + 1], widths[1:numeric + 1])]
        cells += [cell.ljust(width) for cell, width in
                  zip(row[numeric + 1:], widths[numeric + 1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def summarize_figures(repetitions: Sequence[dict[str, Any]], members: int = 3,
                      ensembles: int = 1, table: Sequence[Figure] = FIGURES
                      ) -> dict[str, dict[str, Any]]:
    """Every figure of `table` with its raw values, statistics, target and verdict (for
    bench.json)."""
    figures = {}
    for figure in table:
        values = figure_values(figure, repetitions)
        figures[figure.key] = {"label": figure.text(members, ensembles), "unit": figure.unit,
                               "values": values, **describe(values),
                               "target": figure.target or None, "limit": figure.limit,
                               "verdict": verdict(values, figure.limit) or None}
    return figures


def results_table(repetitions: Sequence[dict[str, Any]], members: int = 3,
                  ensembles: int = 1, table: Sequence[Figure] = FIGURES) -> str:
    """The table printed at the end: a row per figure of `table`."""
    return format_table([figure_row(f, figure_values(f, repetitions), members, ensembles)
                         for f in table])


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


# --------------------------------------------------------------------------- machine

def cpu_model(cpuinfo: str) -> str:
    """The first `model name` of /proc/cpuinfo (`AMD EPYC`), or `unknown CPU`."""
    for line in cpuinfo.splitlines():
        key, _unused, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return "unknown CPU"


def machine() -> dict[str, Any]:
    """This machine's CPU model and core count."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        text = ""
    return {"cpu_model": cpu_model(text), "cores": os.cpu_count()}


def machine_text(host: dict[str, Any]) -> str:
    """`AMD EPYC, 2 cores`."""
    return f"{host.get('cpu_model') or 'unknown CPU'}, {host.get('cores') or '?'} cores"


# --------------------------------------------------------------------------- history

HISTORY_COLUMNS = (
    "date", "commit", "machine", "shape", "repetitions",
    "by_hand_floor_s", "ansible_floor_s", "converge_to_quorum_s", "converge_ratio",
    "noop_s", "noop_ratio", "config_change_gap_s", "failover_s",
)
# The figures behind the history's medians, in HISTORY_COLUMNS' order.
HISTORY_FIGURES = (
    "floor.by_hand_s", "floor.ansible_s", "converge.healthy_s", "ratios.converge",
    "rerun.playbook_s", "ratios.noop", "config_change.longest_gap_s", "failover.first_write_s",
)
# The fleet mode's history (docs/bench-fleet-history.tsv): its columns after the first five,
# and the figures behind them.
FLEET_HISTORY_COLUMNS = (
    *HISTORY_COLUMNS[:5],
    "by_hand_floor_s", "ansible_floor_s", "converge_one_to_quorum_s", "converge_to_quorum_s",
    "growth_ratio", "noop_s", "noop_ratio", "check_s", "check_ratio", "noop_cpu_per_host_s",
    "noop_cpu_ratio", "floor_cpu_bound_ratio", "cpu_bound_ratio", "least_cpu_bound_ratio",
)
FLEET_HISTORY_FIGURES = (
    "floor.by_hand_s", "floor.ansible_s", "converge_one.healthy_s", "converge.healthy_s",
    "ratios.growth", "rerun.playbook_s", "ratios.noop", "check.playbook_s", "ratios.check",
    "rerun.cpu_per_host_s", "ratios.noop_cpu", "ratios.floor_cpu_bound", "ratios.cpu_bound",
    "ratios.least_cpu_bound",
)


def history_cell(text: Any) -> str:
    """A value without tabs or line breaks."""
    return " ".join(str(text).split()) or "-"


def history_line(document: dict[str, Any], keys: Sequence[str] = HISTORY_FIGURES) -> str:
    """One tab-separated line of docs/bench-history.tsv (no newline): the run's date, commit
    (+dirty), machine, shape (and the strategy, unless linear), repetitions and the medians
    of the figures `keys`."""
    commit = document.get("commit", "unknown") + ("+dirty" if document.get("dirty") else "")
    lab = document.get("lab") or {}
    strategy = (document.get("ansible") or {}).get("strategy", "linear")
    cells = [document.get("date", "-"), commit, machine_text(document.get("host") or {}),
             f"{lab.get('ensembles', 1)}x{lab.get('members', 3)}"
             + ("" if strategy == "linear" else f" {strategy}"),
             str(len(document.get("repetitions") or []))]
    figures = document.get("figures") or {}
    for key in keys:
        value = (figures.get(key) or {}).get("median")
        cells.append(format_value(value, "s") if value is not None else "-")
    return "\t".join(history_cell(cell) for cell in cells)


def widen_history(path: Path, columns: Sequence[str]) -> None:
    """Rewrite a history file whose header is a start of `columns` with all of them, `-` in
    the new cells of its lines; raises ValueError when its header is anything else."""
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    if header == list(columns):
        return
    if header != list(columns[:len(header)]):
        raise ValueError(f"{path}: its columns {header} are not the start of {list(columns)}; "
                         "move it aside to start a new one")
    pad = "\t-" * (len(columns) - len(header))
    path.write_text("\n".join(["\t".join(columns), *(row + pad for row in lines[1:] if row)])
                    + "\n")


def append_history(path: Path, document: dict[str, Any],
                   columns: Sequence[str] = HISTORY_COLUMNS,
                   keys: Sequence[str] = HISTORY_FIGURES) -> str:
    """Append the run's line (the medians of `keys`) to the history file, written with the
    header `columns` if new; a file written before columns were added at the end gets them,
    `-` in its earlier lines. The line."""
    line = history_line(document, keys)
    new = not path.exists() or not path.read_text().strip()
    if not new:
        widen_history(path, columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w" if new else "a") as out:
        if new:
            out.write("\t".join(columns) + "\n")
        out.write(line + "\n")
    return line
