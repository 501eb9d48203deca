"""Fleet mode (`python -m bench.fleet`, `make bench-fleet`): the toolkit at fleet size.

By default 30 hosts as 10 ensembles of 3, in one inventory, on this one machine (lab `bench`,
10.213.16.0/24, Java preinstalled, every server's heap FLEET_HEAP), judged against floors
measured on the same 30 hosts in the same run. Each repetition, lab re-creations untimed:

1. fresh lab -> by-hand floor: plain ssh + shell on all 30 hosts at once, until every ensemble
   has one leader and the others followers (tools/bench/floors.py);
2. fresh lab -> fresh converge of the first ensemble alone (`site.yml --limit zk_a`), the 27
   other hosts up and idle: the 3-host converge on the same machine, inventory and load;
3. fresh lab -> fresh converge of every ensemble (one site.yml run), until all are whole;
4. Ansible floor (one `ping` task on every host), no-op re-run, `site.yml --check`, Ansible
   floor: wall time and controller CPU of each (the floor is the median of its two runs), and
   the hosts' CPU of each floor run above their idle rate, taken over 3 s just before it;
5. each server's peak memory (VmHWM) and heap setting.

Steps 1-3 also measure the machine's CPU until quorum (tools/bench/cpu.py); the table puts
what it allows at least (CPU / cores) for the by-hand floor and every ensemble's converge over
the first ensemble's converge alone, beside the growth ratio, and the same for the by-hand
floor's CPU with the Ansible floor's (controller and hosts) on top: the least any Ansible
converge of these hosts needs here (bench.figures.least_cpu_bound).

Ratios, each against the same repetition's floor or run: every ensemble's converge over the
first's alone (target <= 3x), no-op re-run / Ansible floor (<= 2x, changed=0),
`--check` / Ansible floor (<= 2x, changed=0), and the no-op's controller CPU over the floor's
(<= a third of what it was before the reconcile loop, bench.figures.NOOP_CPU_BEFORE). The
table gives median, min and max; `met` means every repetition met its target. RESULTS/bench.json
holds every raw value (and per-task profiles), a complete run appends its medians to
docs/bench-fleet-history.tsv (not with --no-history). Exit 0 when every measurement ran, 1 when
one failed, 130 when interrupted; the targets are not assertions.

It only touches its own lab: containers bench-*, network zk-bench, removed at the end unless
--keep.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.figures import FLEET_FIGURES, FLEET_HISTORY_COLUMNS, FLEET_HISTORY_FIGURES
from bench.floors import write_floor_playbook
from bench.lab import LAB_NAME, LAB_SUBNET, MAX_HOSTS, REPO, Shape, progress
from bench.run import (
    Bench,
    finish_document,
    fresh_lab,
    measure_ansible_floor,
    measure_by_hand_floor,
    measure_converge,
    measure_memory,
    measure_rerun,
    new_document,
    positive_int,
    print_report,
    record_history,
    run_repetitions,
)

DEFAULT_RESULTS = REPO / "results" / "bench-fleet"
HISTORY = REPO / "docs" / "bench-fleet-history.tsv"
FLEET_HEAP = "64m"  # -Xms/-Xmx of every server: 30 JVMs share this machine's memory
PROFILES = (("converge", "fresh converge, every ensemble"), ("rerun", "no-op re-run"),
            ("check", "site.yml --check"))


def run_fleet_repetition(bench: Bench, index: int, repetition: dict[str, Any]) -> None:
    """The fleet measurements of one repetition, filled into `repetition` as they complete."""
    step = f"[{index}/{bench.repeat}]"
    shape = bench.shape
    where = f"lab {LAB_NAME} ({LAB_SUBNET}, {shape.describe()}, Java preinstalled; untimed)"
    floor = repetition["floor"] = {}
    progress(f"{step} by-hand floor: re-creating {where}")
    fresh_lab(bench)
    floor.update(measure_by_hand_floor(bench, index))
    progress(f"{step} by-hand floor on {shape.hosts} hosts: {floor['by_hand_s']:.2f} s")
    progress(f"{step} fresh converge of {shape.groups()[0]} alone: re-creating {where}")
    fresh_lab(bench)
    one = measure_converge(bench, index, limit=1, name="converge-one")
    repetition["converge_one"] = one
    progress(f"{step} fresh converge of {one['hosts']} hosts {one['playbook_s']:.1f} s, quorum "
             f"after {one['healthy_s']:.1f} s")
    progress(f"{step} fresh converge of every ensemble: re-creating {where}")
    repetition["lab"] = fresh_lab(bench)
    converge = repetition["converge"] = measure_converge(bench, index)
    progress(f"{step} fresh converge of {shape.hosts} hosts {converge['playbook_s']:.1f} s, "
             f"every ensemble whole after {converge['healthy_s']:.1f} s, controller CPU "
             f"{converge['controller_cpu_s']:.1f} s")
    measure_ansible_floor(bench, index, 1, floor, hosts_cpu=True)
    rerun = repetition["rerun"] = measure_rerun(bench, index)
    check = repetition["check"] = measure_rerun(bench, index, ["--check"], "check")
    measure_ansible_floor(bench, index, 2, floor, hosts_cpu=True)
    progress(f"{step} Ansible floor {floor['ansible_s']:.2f} s (CPU {floor['ansible_cpu_s']:.1f}"
             f" s); no-op re-run {rerun['playbook_s']:.1f} s (CPU "
             f"{rerun['controller_cpu_s']:.1f} s), changed={rerun['changed']}; --check "
             f"{check['playbook_s']:.1f} s, changed={check['changed']}")
    memory = repetition["memory"] = measure_memory(bench)
    progress(f"{step} peak RSS: largest {memory['vmhwm_max_mib']:.0f} MiB")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.fleet",
                                     description=__doc__.partition("\n\n")[0])
    parser.add_argument("--repeat", type=positive_int, default=1,
                        help="repetitions of every measurement (default: %(default)s)")
    parser.add_argument("--ensembles", type=positive_int, default=10,
                        help="ensembles, in one inventory (default: %(default)s)")
    parser.add_argument("--members", type=positive_int, default=3,
                        help="members of each ensemble (default: %(default)s)")
    parser.add_argument("--no-history", action="store_true",
                        help="do not append the run to docs/bench-fleet-history.tsv")
    parser.add_argument("--keep", action="store_true",
                        help="leave the bench lab up at the end (default: remove it)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="directory of bench.json, the logs and the lab inventory "
                             "(default: results/bench-fleet)")
    args = parser.parse_args(argv)
    if args.ensembles < 2 or args.ensembles > 26:
        parser.error("--ensembles: 2 to 26 (the first one alone is measured against them all)")
    if args.ensembles * args.members > MAX_HOSTS:
        parser.error(f"--ensembles x --members: {MAX_HOSTS} hosts at most")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fleet benchmark; 0 when every measurement ran, 1 when one failed, 130
    interrupted."""
    args = parse_args(argv)
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    results = args.results.resolve()
    results.mkdir(parents=True, exist_ok=True)
    shape = Shape(args.ensembles, args.members)
    bench = Bench(results, args.repeat, shape,
                  group_vars={"zookeeper_heap_size": FLEET_HEAP})
    write_floor_playbook(bench.floor_playbook)
    document = new_document(args.repeat, shape)
    document["mode"] = "fleet"
    document["lab"]["heap"] = FLEET_HEAP
    error, code = run_repetitions(bench, document, run_fleet_repetition, args.keep)
    finish_document(document, bench, error, FLEET_FIGURES, last="memory")
    (results / "bench.json").write_text(json.dumps(document, indent=1) + "\n")
    print_report(document, results, shape, FLEET_FIGURES, PROFILES)
    if not args.no_history:
        record_history(document, HISTORY, FLEET_HISTORY_COLUMNS, FLEET_HISTORY_FIGURES)
    return code


if __name__ == "__main__":
    sys.exit(main())
