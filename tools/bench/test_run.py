"""Unit tests of tools/bench/run.py's pure parts: PLAY RECAP and /proc parsing, the JSON document
with its ratios, the history record, the command line. Nothing here starts a lab or talks to
ZooKeeper (statistics and the table: test_bench_figures.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import run as bench
from bench import figures as bench_figures
import pytest
from bench.lab import Shape
from bench.test_figures import repetition as figures_repetition


def repetition(index: int, converge: float, gap: float) -> dict[str, Any]:
    """test_bench_figures' repetition with the floors (5 s by hand, 2.5 s Ansible) and re-run
    (20 s + index) that the ratios below are worked out against."""
    return figures_repetition(index, converge, gap, by_hand=5.0, ansible=2.5, rerun=20.0)


# --------------------------------------------------------------------------- parsing

def test_parse_memory_and_heap() -> None:
    out = ("VmHWM:\t  104448 kB\n"
           "/usr/bin/java -Xms512m -Xmx512m -Dlog4j.configuration=file:/etc/zookeeper/l.p "
           "-cp /opt/zookeeper/* org.apache.zookeeper.server.quorum.QuorumPeerMain "
           "/etc/zookeeper/zoo.cfg \n")
    assert bench.parse_vmhwm(out) == 104448
    assert bench.parse_heap(out) == {"Xms": "512m", "Xmx": "512m"}
    assert bench.parse_heap("/usr/bin/java -cp x Main") == {}
    with pytest.raises(ValueError, match="no VmHWM"):
        bench.parse_vmhwm("grep: /proc/0/status: No such file or directory")


def test_parse_epoch() -> None:
    assert bench.parse_epoch("1732242000.123456789\n") == pytest.approx(1732242000.123456789)
    assert bench.parse_epoch("") is None
    assert bench.parse_epoch("date: invalid\n") is None


def test_next_tick_alternates() -> None:
    assert bench.next_tick(bench.DEFAULT_TICK) == 2500
    assert bench.next_tick(2500) == bench.DEFAULT_TICK == 2000


# --------------------------------------------------------------------------- JSON

def test_document_layout(tmp_path: Any) -> None:
    document = bench.new_document(2)
    assert {"commit", "dirty", "date", "host", "lab", "repeat", "repetitions"} <= set(document)
    assert document["host"]["nproc"] >= 1
    assert document["host"]["cores"] == document["host"]["nproc"]
    assert document["host"]["cpu_model"]
    assert document["lab"] == {"name": "bench", "subnet": "10.213.16.0/24",
                               "java_preinstalled": True, "hosts": 3, "ensembles": 1,
                               "members": 3}
    document["repetitions"] = [repetition(1, 30.0, 0.8), repetition(2, 20.0, 1.4)]
    state = bench.Bench(tmp_path, repeat=2, findings=["re-run changed 1"])
    bench.finish_document(document, state, None)
    assert document["complete"] is True
    assert document["error"] is None
    assert document["findings"] == ["re-run changed 1"]
    gap = document["figures"]["config_change.longest_gap_s"]
    assert gap == {"label": "config change: longest write gap", "unit": "s",
                   "values": [0.8, 1.4], "median": pytest.approx(1.1), "min": 0.8, "max": 1.4,
                   "target": "<= 1 s", "limit": 1, "verdict": "met 1/2"}
    assert document["figures"]["converge.healthy_s"]["verdict"] is None
    assert set(document["figures"]) == {f.key for f in bench_figures.FIGURES}
    # converge until quorum 25 and 15 s over the 5 s by-hand floor; no-op 21 and 22 s over 2.5
    assert [(r["ratios"]["converge"], r["ratios"]["noop"]) for r in document["repetitions"]] == [
        (5.0, 8.4), (3.0, 8.8)]
    assert document["figures"]["ratios.converge"]["verdict"] == "met 1/2"
    assert json.loads(json.dumps(document)) == document


def test_an_interrupted_document_is_incomplete(tmp_path: Any) -> None:
    document = bench.new_document(3)
    document["repetitions"] = [{"index": 1, "converge": {"playbook_s": 30.0}}]
    bench.finish_document(document, bench.Bench(tmp_path, repeat=3), "site.yml failed")
    assert document["complete"] is False
    assert document["error"] == "site.yml failed"
    assert document["figures"]["converge.playbook_s"]["values"] == [30.0]
    assert document["figures"]["failover.first_write_s"]["verdict"] == "not run"
    assert set(document["repetitions"][0]["ratios"].values()) == {None}


def test_document_of_several_ensembles(tmp_path: Any) -> None:
    shape = Shape(3, 3)
    document = bench.new_document(1, shape)
    assert document["lab"]["hosts"] == 9
    document["repetitions"] = [repetition(1, 30.0, 0.8)]
    bench.finish_document(document, bench.Bench(tmp_path, repeat=1, shape=shape), None)
    assert document["figures"]["converge.healthy_s"]["label"] == (
        "fresh converge: until 1 leader + 2 followers each")


def test_history_is_written_for_a_complete_run_only(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "bench-history.tsv"
    document = bench.new_document(1)
    document["repetitions"] = [repetition(1, 30.0, 0.8)]
    bench.finish_document(document, bench.Bench(tmp_path, repeat=2), None)
    bench.record_history(document, history)
    assert not history.exists()
    assert "not written (the run is incomplete)" in capsys.readouterr().out
    bench.finish_document(document, bench.Bench(tmp_path, repeat=1), None)
    bench.record_history(document, history)
    header, line = history.read_text().splitlines()
    assert header.startswith("date\tcommit\tmachine\tshape\trepetitions\tby_hand_floor_s")
    assert line.split("\t")[3:6] == ["1x3", "1", "5.00"]


def test_profile_lines_say_what_the_number_of_tasks_costs() -> None:
    first = repetition(1, 30.0, 0.8)
    assert bench.profile_lines([first]) == []
    profile = {"tasks": 60, "controller_only_tasks": 40, "controller_only_s": 2.0,
               "hosts_s": 2.5, "outside_s": 0.5, "slowest": ["0.60 s setup: Gather"]}
    first["rerun"]["profile"] = profile
    first["floor"]["task_cost"] = {"per_task_s": 0.04}
    lines = bench.profile_lines([first])
    assert lines[0].startswith("profile, no-op re-run (repetition 1): 60 tasks, 40 of them")
    assert lines[1] == ("task cost: 40 ms per controller-only task on every host; the no-op "
                        "re-run's 60 tasks x 40 ms = 2.40 s of its 21.00 s")


def test_args() -> None:
    args = bench.parse_args([])
    assert (args.repeat, args.keep, args.results) == (3, False, bench.DEFAULT_RESULTS)
    assert (args.members, args.ensembles, args.no_history, args.growth) == (3, 1, False, False)
    args = bench.parse_args(["--repeat", "1", "--keep", "--results", "/tmp/x", "--no-history"])
    assert (args.repeat, args.keep, str(args.results), args.no_history) == (
        1, True, "/tmp/x", True)
    args = bench.parse_args(["--ensembles", "3", "--members", "3"])
    assert (args.ensembles, args.members) == (3, 3)
    for wrong in (["--repeat", "0"], ["--members", "4"], ["--ensembles", "0"],
                  ["--ensembles", "5", "--members", "7"]):
        with pytest.raises(SystemExit):
            bench.parse_args(wrong)


def test_growth_args() -> None:
    args = bench.parse_args(["--growth"])
    assert [s.short for s in args.shapes] == ["1x3", "1x5", "1x7", "1x9", "3x3"]
    assert args.forks is None
    args = bench.parse_args(["--growth", "--shapes", "3", "5", "--forks", "5", "20"])
    assert ([s.hosts for s in args.shapes], args.forks) == ([3, 5], [5, 20])
    with pytest.raises(SystemExit):
        bench.parse_args(["--growth", "--shapes", "three"])
