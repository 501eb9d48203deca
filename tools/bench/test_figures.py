"""Unit tests of tools/bench/figures.py: statistics, ratios to the floors, the table with its
targets, the machine line and the history line. Nothing here starts a lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import figures
import pytest


def repetition(index: int, converge: float, gap: float, none_serving: bool = False,
               heap: str = "512m", by_hand: float = 4.0, ansible: float = 4.0,
               rerun: float = 4.0) -> dict[str, Any]:
    """A repetition as tools/bench/run.py fills it in (the fields the figures read)."""
    rep: dict[str, Any] = {
        "index": index,
        "floor": {"by_hand_s": by_hand, "by_hand_scripts_s": {"zookeeper01": 1.0},
                  "ansible_runs_s": [ansible, ansible], "ansible_s": ansible,
                  "ansible_cpu_s": ansible / 2},
        "converge": {"playbook_s": converge, "healthy_s": converge - 5.0, "changed": 36},
        "rerun": {"playbook_s": rerun + index, "controller_cpu_s": rerun, "changed": 0,
                  "changed_tasks": []},
        "config_change": {"playbook_s": 60.0, "longest_gap_s": gap, "acknowledged": 1200,
                          "failed": 3, "lost": 0, "elections": 1,
                          "none_serving": none_serving},
        "memory": {"servers": {"zookeeper01": {"vmhwm_kb": 102400, "Xms": heap, "Xmx": heap}},
                   "vmhwm_max_mib": 100.0},
        "failover": {"first_write_s": 1.5, "healthy_s": 6.0},
    }
    rep["ratios"] = figures.repetition_ratios(rep)
    return rep


# --------------------------------------------------------------------------- ratios

@pytest.mark.parametrize(("value", "floor", "expected"), [
    (16.0, 4.0, 4.0),
    (4.48, 2.9, 1.54),
    (1.0, 3.0, 0.33),
    (16.0, 0.0, None),
    (None, 4.0, None),
    (16.0, None, None),
    (True, 4.0, 0.25),  # a bool is an int; the figures never give one here
])
def test_ratio(value: Any, floor: Any, expected: float | None) -> None:
    assert figures.ratio(value, floor) == expected


def test_repetition_ratios_use_the_floors_of_the_same_repetition() -> None:
    rep = repetition(1, converge=21.0, gap=0.5, by_hand=4.0, ansible=2.5)
    # converge until quorum 16.0 / by-hand floor 4.0; no-op re-run 5.0 / Ansible floor 2.5;
    # its controller CPU 4.0 / the floor's 1.25
    assert figures.repetition_ratios(rep) == {"converge": 4.0, "noop": 2.0, "noop_cpu": 3.2,
                                              "growth": None, "check": None,
                                              "floor_cpu_bound": None, "least_cpu_bound": None,
                                              "cpu_bound": None}
    assert figures.repetition_ratios({"index": 1, "converge": {"healthy_s": 9.0}}) == {
        "converge": None, "noop": None, "noop_cpu": None, "growth": None, "check": None,
        "floor_cpu_bound": None, "least_cpu_bound": None, "cpu_bound": None}


def test_fleet_ratios_compare_with_the_first_ensemble_alone_and_the_ansible_floor() -> None:
    rep = repetition(1, converge=45.0, gap=0.5, ansible=3.0)
    rep["converge_one"] = {"playbook_s": 14.0, "healthy_s": 13.333}
    rep["check"] = {"playbook_s": 7.5, "changed": 0}
    ratios = figures.repetition_ratios(rep)
    # every ensemble whole after 40 s, the first alone after 13.333 s; --check 7.5 s / 3 s
    assert (ratios["growth"], ratios["check"]) == (3.0, 2.5)
    assert (ratios["floor_cpu_bound"], ratios["cpu_bound"]) == (None, None)  # not measured


def test_fleet_cpu_bounds_are_the_machines_cpu_over_its_cores_against_the_first_alone() -> None:
    rep = repetition(1, converge=45.0, gap=0.5)
    rep["converge_one"] = {"playbook_s": 5.0, "healthy_s": 4.0}
    rep["floor"].update(machine_cpu_s=26.0, lab_cpu_s=20.0, cores=2, busy_share=0.93)
    rep["converge"].update(machine_cpu_s=64.0, lab_cpu_s=40.0, cores=2, busy_share=0.8)
    ratios = figures.repetition_ratios(rep)
    # 26 s of CPU on 2 cores take 13 s at least: 3.25x the 4 s of the first ensemble alone
    assert (ratios["floor_cpu_bound"], ratios["cpu_bound"]) == (3.25, 8.0)
    # with the Ansible floor's 2 s of controller CPU (repetition()'s; its hosts' not measured),
    # at least (26 + 2) / 2 = 14 s: 3.5x the 4 s of the first ensemble alone
    assert ratios["least_cpu_bound"] == 3.5
    # and its hosts' 4 s above idle: (26 + 2 + 4) / 2 = 16 s, 4x
    rep["floor"]["ansible_hosts_cpu_s"] = 4.0
    assert figures.repetition_ratios(rep)["least_cpu_bound"] == 4.0
    del rep["floor"]["ansible_cpu_s"]
    assert figures.repetition_ratios(rep)["least_cpu_bound"] is None
    rep["converge"]["cores"] = 0
    assert figures.repetition_ratios(rep)["cpu_bound"] is None
    rows = {row[0]: row for row in (figures.figure_row(f, figures.figure_values(f, [rep]))
                                    for f in figures.FLEET_FIGURES)}
    assert rows["fresh converge, every ensemble: cores busy until quorum"][1] == "80%"


# --------------------------------------------------------------------------- statistics

def test_describe_gives_median_min_max() -> None:
    assert figures.describe([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert figures.describe([4.0, 1.0]) == {"median": 2.5, "min": 1.0, "max": 4.0}
    assert figures.describe([]) == {"median": None, "min": None, "max": None}


@pytest.mark.parametrize(("values", "limit", "expected"), [
    ([3.5, 3.9, 4.0], 4, "met"),
    ([4.1, 5.0], 4, "not met"),
    ([1.2, 1.6, 1.7], 1.5, "met 1/3"),
    ([0, 0], 0, "met"),
    ([], 4, "not run"),
    ([50.0], None, ""),
])
def test_verdict_counts_the_repetitions_that_met_the_target(
        values: list[float], limit: float | None, expected: str) -> None:
    assert figures.verdict(values, limit) == expected


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (1.234, "s", "1.23"),
    (0.0, "s", "0.00"),
    (4.125, "x", "4.12x"),
    (123.6, "MiB", "124"),
    (3, "", "3"),
    (2.5, "", "2.5"),
    (1, "flag", "yes"),
    (0, "flag", "no"),
    (0.934, "%", "93%"),
    (None, "s", "-"),
    (None, "x", "-"),
])
def test_format_value(value: float | None, unit: str, expected: str) -> None:
    assert figures.format_value(value, unit) == expected


def test_targets_are_ratios_for_converge_and_noop() -> None:
    targets = {f.key: f.target for f in figures.FIGURES}
    assert targets["ratios.converge"] == "<= 3x"
    assert targets["ratios.noop"] == "<= 1.5x"
    assert targets["rerun.changed"] == "0"
    assert targets["config_change.longest_gap_s"] == "<= 1 s"
    assert targets["config_change.lost"] == "0"
    assert targets["config_change.elections"] == "<= 1"
    assert targets["config_change.none_serving"] == "never"
    assert targets["failover.first_write_s"] == "<= 2 s"
    # the absolute times are reported, without a target: they do not travel between machines
    for key in ("converge.playbook_s", "converge.healthy_s", "rerun.playbook_s",
                "floor.by_hand_s", "floor.ansible_s"):
        assert targets[key] == "", key


def test_labels_follow_the_ensemble_size() -> None:
    figure = figures.FIGURE["converge.healthy_s"]
    assert figure.text() == "fresh converge: until 1 leader + 2 followers"
    assert figure.text(7) == "fresh converge: until 1 leader + 6 followers"
    assert figure.text(3, 3) == "fresh converge: until 1 leader + 2 followers each"
    assert figures.FIGURE["failover.healthy_s"].text(5) == (
        "leader SIGKILL: until 5 serving again")


def test_figure_values_skip_repetitions_that_did_not_get_there() -> None:
    runs = [repetition(1, 30.0, 0.8, none_serving=True), {"index": 2, "converge": {}}]
    assert figures.figure_values(figures.FIGURE["converge.playbook_s"], runs) == [30.0]
    assert figures.figure_values(figures.FIGURE["config_change.none_serving"], runs) == [1]
    assert figures.figure_values(figures.FIGURE["failover.first_write_s"], runs[1:]) == []


def test_table_puts_the_floors_and_ratios_beside_the_toolkit_figures() -> None:
    runs = [repetition(1, 21.0, 0.8, by_hand=4.0), repetition(2, 25.0, 1.4, by_hand=4.0),
            repetition(3, 17.0, 0.9, by_hand=4.0)]
    lines = figures.results_table(runs).splitlines()
    assert lines[0].split() == ["FIGURE", "MEDIAN", "MIN", "MAX", "TARGET"]
    assert len(lines) == 1 + len(figures.FIGURES)
    rows = {line.split("  ")[0].strip(): line for line in lines[1:]}
    labels = list(rows)
    assert labels[:4] == [
        "by-hand floor: ssh + shell until 1 leader + 2 followers (s)",
        "fresh converge: site.yml (s)",
        "fresh converge: until 1 leader + 2 followers (s)",
        "fresh converge until quorum / by-hand floor"]
    assert labels[4:6] == ["fresh converge: machine CPU until quorum (s)",
                           "fresh converge: cores busy until quorum"]
    assert labels[6:9] == ["Ansible floor: one no-op task (s)", "no-op re-run: site.yml (s)",
                           "no-op re-run / Ansible floor"]
    # until quorum 16, 20, 12 s over a 4 s floor: 4x, 5x, 3x
    assert rows["fresh converge until quorum / by-hand floor"].split()[-7:] == [
        "4.00x", "3.00x", "5.00x", "<=", "3x", "met", "1/3"]
    # no-op 5, 6, 7 s over a 4 s floor
    assert rows["no-op re-run / Ansible floor"].split()[-7:] == [
        "1.50x", "1.25x", "1.75x", "<=", "1.5x", "met", "2/3"]
    assert rows["fresh converge: site.yml (s)"].split()[-3:] == ["21.00", "17.00", "25.00"]
    assert rows["config change: longest write gap (s)"].split()[-8:] == [
        "0.90", "0.80", "1.40", "<=", "1", "s", "met", "2/3"]
    assert rows["config change: no server serving"].split()[-5:] == [
        "no", "no", "no", "never", "met"]


def test_table_columns_line_up() -> None:
    rows = [["a", "1.00", "0.50", "10.00", "<= 1 s", "met"],
            ["longer label", "12.00x", "1.00x", "2.00x", "<= 4x", ""]]
    lines = figures.format_table(rows).splitlines()
    ends = {line.index(cell) + len(cell) for line, cell in zip(lines, ["MEDIAN", "1.00", "12.00x"])}
    assert len(ends) == 1
    assert all(line == line.rstrip() for line in lines)


def test_a_figure_not_measured_shows_dashes() -> None:
    figure = figures.Figure("ratios.noop", "no-op / floor", "x", 1.5)
    assert figures.figure_row(figure, []) == ["no-op / floor", "-", "-", "-", "<= 1.5x",
                                              "not run"]


def test_summarize_figures_names_every_figure() -> None:
    summary = figures.summarize_figures([repetition(1, 17.0, 0.8)], members=5)
    assert set(summary) == {f.key for f in figures.FIGURES}
    assert summary["ratios.converge"]["values"] == [3.0]
    assert summary["ratios.converge"]["verdict"] == "met"
    assert summary["converge.healthy_s"]["label"] == (
        "fresh converge: until 1 leader + 4 followers")


def test_heap_line() -> None:
    assert figures.heap_line([repetition(1, 30.0, 0.5)]) == (
        "JVM heap: -Xms512m -Xmx512m on every server")
    mixed = [repetition(1, 30.0, 0.5), repetition(2, 30.0, 0.5, heap="1g")]
    assert figures.heap_line(mixed) == "JVM heap: -Xms1g -Xmx1g, -Xms512m -Xmx512m"
    assert figures.heap_line([{"index": 1}]) == "JVM heap: not measured"


# --------------------------------------------------------------------------- machine

def test_cpu_model() -> None:
    cpuinfo = ("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
               "model name\t: AMD EPYC  7B13 64-Core Processor\n\nprocessor\t: 1\n"
               "model name\t: AMD EPYC 7B13 64-Core Processor\n")
    assert figures.cpu_model(cpuinfo) == "AMD EPYC 7B13 64-Core Processor"
    assert figures.cpu_model("processor : 0\nmodel name :\n") == "unknown CPU"
    assert figures.machine_text({"cpu_model": "AMD EPYC", "cores": 2}) == "AMD EPYC, 2 cores"
    assert figures.machine()["cores"] >= 1


# --------------------------------------------------------------------------- history

def document(dirty: bool = False) -> dict[str, Any]:
    runs = [repetition(1, 21.0, 0.8, by_hand=4.0, ansible=2.5),
            repetition(2, 25.0, 1.2, by_hand=4.0, ansible=2.5)]
    return {"date": "2024-11-22T03:00:00+00:00", "commit": "64ab101", "dirty": dirty,
            "host": {"cpu_model": "AMD EPYC\t7B13", "cores": 2},
            "lab": {"ensembles": 1, "members": 3}, "repetitions": runs,
            "figures": figures.summarize_figures(runs)}


def test_history_line() -> None:
    line = figures.history_line(document(dirty=True))
    cells = line.split("\t")
    assert len(cells) == len(figures.HISTORY_COLUMNS)
    assert dict(zip(figures.HISTORY_COLUMNS, cells)) == {
        "date": "2024-11-22T03:00:00+00:00", "commit": "64ab101+dirty",
        "machine": "AMD EPYC 7B13, 2 cores", "shape": "1x3", "repetitions": "2",
        "by_hand_floor_s": "4.00", "ansible_floor_s": "2.50", "converge_to_quorum_s": "18.00",
        "converge_ratio": "4.50", "noop_s": "5.50", "noop_ratio": "2.20",
        "config_change_gap_s": "1.00", "failover_s": "1.50"}
    assert "\n" not in line


def test_history_line_names_a_strategy_other_than_linear() -> None:
    run = document()
    run["ansible"] = {"strategy": "mitogen_linear", "forks": 20}
    assert figures.history_line(run).split("\t")[3] == "1x3 mitogen_linear"
    run["ansible"]["strategy"] = "linear"
    assert figures.history_line(run).split("\t")[3] == "1x3"


def test_history_line_of_a_run_without_figures() -> None:
    cells = figures.history_line({"commit": "abc", "repetitions": []}).split("\t")
    assert cells[1] == "abc" and cells[4] == "0"
    assert cells[5:] == ["-"] * 8


def test_append_history_writes_the_header_once(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "bench-history.tsv"
    first = figures.append_history(path, document())
    figures.append_history(path, document(dirty=True))
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(figures.HISTORY_COLUMNS)
    assert lines[1] == first
    assert lines[2].split("\t")[1] == "64ab101+dirty"
    assert len(lines) == 3
    assert all(len(line.split("\t")) == len(figures.HISTORY_COLUMNS) for line in lines)


def test_a_history_written_before_new_columns_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "bench-fleet-history.tsv"
    columns = figures.FLEET_HISTORY_COLUMNS
    older = columns[:-2]
    path.write_text("\t".join(older) + "\n" + "\t".join(["x"] * len(older)) + "\n")
    line = figures.append_history(path, document(), columns, figures.FLEET_HISTORY_FIGURES)
    header, before, after = path.read_text().splitlines()
    assert header.split("\t") == list(columns)
    assert before.split("\t") == ["x"] * len(older) + ["-", "-"]
    assert after == line and len(line.split("\t")) == len(columns)


def test_a_history_of_other_columns_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "bench-history.tsv"
    path.write_text("date\tsomething else\n1\t2\n")
    with pytest.raises(ValueError, match="are not the start of"):
        figures.append_history(path, document())
    assert path.read_text() == "date\tsomething else\n1\t2\n"
