"""Unit tests of tools/bench/fleet.py: its command line, its figures with their targets, the
document of a fleet run and its history line. Nothing here starts a lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench import figures
from bench import fleet
from bench import run as bench
from bench.lab import Shape
from bench.test_figures import repetition as figures_repetition


def fleet_repetition(index: int, converge: float, one: float, check: float) -> dict[str, Any]:
    """A repetition as fleet.py fills it in: the 30-host converge (until quorum 5 s less),
    the first ensemble alone (until quorum `one`), a 2 s Ansible floor, re-run 4 s + index."""
    rep = figures_repetition(index, converge, 0.5, by_hand=10.0, ansible=2.0, rerun=4.0)
    for key in ("config_change", "failover"):
        del rep[key]
    rep["converge"]["cpu_per_host_s"] = 1.5
    rep["converge_one"] = {"playbook_s": one + 0.5, "healthy_s": one}
    rep["check"] = {"playbook_s": check, "changed": 0}
    rep["ratios"] = figures.repetition_ratios(rep)
    return rep


def test_the_command_line_defaults_to_ten_ensembles_of_three() -> None:
    args = fleet.parse_args([])
    assert (args.ensembles, args.members, args.repeat) == (10, 3, 1)
    assert args.results == fleet.DEFAULT_RESULTS


@pytest.mark.parametrize("argv", [["--ensembles", "1"], ["--ensembles", "11"],
                                  ["--ensembles", "8", "--members", "5"]])
def test_the_command_line_refuses_a_fleet_it_cannot_measure(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        fleet.parse_args(argv)


def test_the_fleet_figures_carry_the_issue_s_targets() -> None:
    targets = {f.key: f.target for f in figures.FLEET_FIGURES}
    assert targets["ratios.growth"] == "<= 3x"
    assert targets["ratios.noop"] == "<= 2x"
    assert targets["ratios.check"] == "<= 2x"
    assert targets["rerun.changed"] == targets["check.changed"] == "0"
    assert targets["ratios.noop_cpu"] == f"<= {figures.noop_cpu_target('30 hosts'):g}x"
    assert figures.noop_cpu_target("30 hosts") == pytest.approx(
        figures.NOOP_CPU_BEFORE["30 hosts"] / 3, abs=0.01)
    for key in ("converge.playbook_s", "rerun.playbook_s", "check.playbook_s",
                "floor.by_hand_s", "floor.ansible_s", "rerun.cpu_per_host_s"):
        assert targets[key] == "", key


def test_a_fleet_document_is_judged_on_the_fleet_figures(tmp_path: Path) -> None:
    shape = Shape(10, 3)
    document = bench.new_document(2, shape)
    # every ensemble whole after 40 and 50 s, the first alone after 20 s: 2x and 2.5x;
    # --check 3 and 5 s over the 2 s floor: 1.5x and 2.5x
    document["repetitions"] = [fleet_repetition(1, 45.0, 20.0, 3.0),
                               fleet_repetition(2, 55.0, 20.0, 5.0)]
    bench.finish_document(document, bench.Bench(tmp_path, 2, shape), None,
                          figures.FLEET_FIGURES, last="check")
    assert document["complete"] is True
    assert set(document["figures"]) == {f.key for f in figures.FLEET_FIGURES}
    assert document["figures"]["ratios.growth"]["values"] == [2.0, 2.5]
    assert document["figures"]["ratios.growth"]["verdict"] == "met"
    assert document["figures"]["ratios.check"]["verdict"] == "met 1/2"
    assert document["figures"]["converge.healthy_s"]["label"] == (
        "fresh converge, every ensemble: until 1 leader + 2 followers each")
    table = figures.results_table(document["repetitions"], 3, 10, figures.FLEET_FIGURES)
    assert len(table.splitlines()) == 1 + len(figures.FLEET_FIGURES)
    assert "config change" not in table


def test_a_fleet_run_writes_its_own_history(tmp_path: Path) -> None:
    document = bench.new_document(1, Shape(10, 3))
    document["repetitions"] = [fleet_repetition(1, 45.0, 20.0, 3.0)]
    bench.finish_document(document, bench.Bench(tmp_path, 1, Shape(10, 3)), None,
                          figures.FLEET_FIGURES, last="check")
    history = tmp_path / "bench-fleet-history.tsv"
    bench.record_history(document, history, figures.FLEET_HISTORY_COLUMNS,
                         figures.FLEET_HISTORY_FIGURES)
    header, line = history.read_text().splitlines()
    cells = dict(zip(header.split("\t"), line.split("\t")))
    assert len(header.split("\t")) == len(line.split("\t"))
    assert cells["shape"] == "10x3"
    assert (cells["growth_ratio"], cells["check_ratio"]) == ("2.00", "1.50")
