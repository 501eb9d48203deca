"""Growth: how the fresh converge grows with the fleet (`tools/bench/run.py --growth`).

For each fleet shape (default 3, 5, 7, 9 hosts in one ensemble, and 9 as three ensembles of
three) and each forks setting (the project's ansible.cfg `forks` and 20; once when they are the
same), on fresh lab hosts: the wall time of site.yml, the time until every ensemble has one
leader and the others followers, and the controller's CPU time (user + system of
ansible-playbook and the processes it waited for: resource.RUSAGE_CHILDREN around the run).
The table gives each wall time as a ratio to the 3-host run with the same forks; the goal is
9 hosts at most 1.5x 3 hosts. Written to RESULTS/growth.json.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.figures import format_table, machine, machine_text
from bench.lab import (
    HEALTHY_LIMIT,
    BenchError,
    HealthWatch,
    Shape,
    ensembles_report,
    parse_shape,
    progress,
    recreate_lab,
    run_playbook,
    summary,
)

DEFAULT_SHAPES = tuple(parse_shape(text) for text in ("3", "5", "7", "9", "3x3"))
EXTRA_FORKS = 20
GROWTH_GOAL = 1.5  # 9 hosts / 3 hosts, wall time
GROWTH_HEADER = ["HOSTS", "SHAPE", "FORKS", "WALL S", "QUORUM S", "CONTROLLER CPU S",
                 "WALL / 3 HOSTS"]


def growth_forks(project: int, extra: int = EXTRA_FORKS) -> list[int]:
    """The forks settings to measure: the project's and `extra`, once each."""
    return sorted({project, extra})


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def growth_rows(points: Sequence[dict[str, Any]]) -> list[list[str]]:
    """The growth table's rows: medians of each point, and its wall time over the wall time of
    one ensemble of 3 with the same forks ("-" when that was not measured)."""
    base = {point["forks"]: median_or_none(point["wall_s"]) for point in points
            if point["shape"] == "1x3"}
    rows = []
    for point in points:
        wall = median_or_none(point["wall_s"])
        cells = [str(point["hosts"]), point["shape"], str(point["forks"])]
        cells += ["-" if value is None else f"{value:.2f}" for value in
                  (wall, median_or_none(point["healthy_s"]), median_or_none(point["cpu_s"]))]
        reference = base.get(point["forks"])
        cells.append(f"{wall / reference:.2f}x" if wall is not None and reference else "-")
        if point.get("error"):
            cells.append(f"error: {point['error'].splitlines()[0][:80]}")
        rows.append(cells)
    return rows


def growth_table(points: Sequence[dict[str, Any]]) -> str:
    """Hosts, shape, forks, wall, quorum, controller CPU, wall ratio to 3 hosts."""
    rows = growth_rows(points)
    header = GROWTH_HEADER + ([""] if any(len(row) > len(GROWTH_HEADER) for row in rows) else [])
    return format_table([row + [""] * (len(header) - len(row)) for row in rows], header,
                        numeric=6)


def measure_point(shape: Shape, forks: int, index: int, results: Path) -> dict[str, float]:
    """One fresh converge of `shape` with `forks`: wall, until whole, controller CPU."""
    inventory = results / "inventory" / "hosts.yml"
    hosts = recreate_lab(shape, inventory)
    log = results / "logs" / f"growth-{shape.short}-f{forks}-{index}.log"
    with HealthWatch(hosts.ensembles) as watch:
        run = run_playbook(inventory, log, forks=forks)
        healthy_at = watch.wait(HEALTHY_LIMIT)
    if healthy_at is None:
        raise BenchError(f"{shape.short}: not whole {HEALTHY_LIMIT:g} s after site.yml: "
                         f"{summary(ensembles_report(hosts.ensembles))}")
    return {"wall_s": round(run.seconds, 3), "healthy_s": round(healthy_at - run.started, 3),
            "cpu_s": round(run.cpu_s, 3)}


def run_growth(shapes: Sequence[Shape], forks: Sequence[int], repeat: int, results: Path,
               document: dict[str, Any]) -> int:
    """Measure every shape with every forks setting, `repeat` times; fills `document`
    (growth.json) and prints the table. 0 when every run worked, 1 otherwise."""
    code = 0
    points = document.setdefault("points", [])
    for shape in shapes:
        for fork in forks:
            point: dict[str, Any] = {"shape": shape.short, "hosts": shape.hosts, "forks": fork,
                                     "wall_s": [], "healthy_s": [], "cpu_s": []}
            points.append(point)
            for index in range(1, repeat + 1):
                progress(f"growth: {shape.describe()}, forks {fork} [{index}/{repeat}]")
                try:
                    measured = measure_point(shape, fork, index, results)
                except BenchError as err:
                    progress(f"error: {err}")
                    point["error"], code = str(err), 1
                    break
                for key, value in measured.items():
                    point[key].append(value)
                progress(f"growth: {shape.short} forks {fork}: site.yml {measured['wall_s']:.1f}"
                         f" s, whole after {measured['healthy_s']:.1f} s, controller CPU "
                         f"{measured['cpu_s']:.1f} s")
    return code


def new_growth_document(repeat: int, forks: Sequence[int], commit: str, dirty: bool
                        ) -> dict[str, Any]:
    """growth.json before any measurement."""
    return {"commit": commit, "dirty": dirty,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "host": machine(), "repeat": repeat, "forks": list(forks), "points": []}


def print_growth(document: dict[str, Any], path: Path) -> None:
    """The growth table, the machine and the goal."""
    dirty = "+dirty" if document["dirty"] else ""
    print(f"bench growth: commit {document['commit']}{dirty}, {document['date']}, "
          f"{machine_text(document['host'])}, {document['repeat']} repetition(s), medians; "
          f"goal: 9 hosts <= {GROWTH_GOAL:g}x 3 hosts (wall)")
    print(growth_table(document["points"]))
    print(f"raw values: {path}")


def write_growth(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")
