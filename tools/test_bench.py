"""Unit tests of tools/bench.py's pure parts: statistics and the table, PLAY RECAP and
/proc parsing, the JSON document. Nothing here starts a lab or talks to ZooKeeper."""

from __future__ import annotations

import json
from typing import Any

import bench
import pytest

RERUN_OUTPUT = """\
PLAY [Deploy the ZooKeeper ensemble] *******************************************

TASK [zookeeper : Write zoo.cfg] ***********************************************
ok: [zookeeper01]
changed: [zookeeper02]
ok: [zookeeper03]

RUNNING HANDLER [zookeeper : Restart ZooKeeper (rolling)] **********************
changed: [zookeeper02]

TASK [zookeeper : Read /etc/hosts] *********************************************
changed: [zookeeper01] => (item=/etc/hosts)
changed: [zookeeper01] => (item=/etc/hosts.bak)
[WARNING]: Could not match supplied host pattern, ignoring: zookeeper_retired

PLAY [Retire former members of the ensemble] ***********************************
skipping: no hosts matched

PLAY RECAP *********************************************************************
zookeeper01                : ok=36   changed=1    unreachable=0    failed=0    skipped=25   rescued=0    ignored=0
zookeeper02                : ok=35   changed=2    unreachable=0    failed=0    skipped=18   rescued=0    ignored=0
zookeeper03                : ok=35   changed=0    unreachable=0    failed=0    skipped=18   rescued=0    ignored=0

"""  # noqa: E501


def repetition(index: int, converge: float, gap: float, none_serving: bool = False,
               heap: str = "512m") -> dict[str, Any]:
    """A repetition as run_repetition fills it in (the fields the figures read)."""
    return {
        "index": index,
        "converge": {"playbook_s": converge, "healthy_s": converge - 5.0, "changed": 36},
        "rerun": {"playbook_s": 20.0 + index, "changed": 0, "changed_tasks": []},
        "config_change": {"playbook_s": 60.0, "longest_gap_s": gap, "acknowledged": 1200,
                          "failed": 3, "lost": 0, "elections": 1,
                          "none_serving": none_serving},
        "memory": {"servers": {"zookeeper01": {"vmhwm_kb": 102400, "Xms": heap, "Xmx": heap}},
                   "vmhwm_max_mib": 100.0},
        "failover": {"first_write_s": 1.5, "healthy_s": 6.0},
    }


# --------------------------------------------------------------------------- statistics

def test_describe_gives_median_min_max() -> None:
    assert bench.describe([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert bench.describe([4.0, 1.0]) == {"median": 2.5, "min": 1.0, "max": 4.0}
    assert bench.describe([]) == {"median": None, "min": None, "max": None}


@pytest.mark.parametrize(("values", "limit", "expected"), [
    ([8.0, 9.5, 10.0], 10, "met"),
    ([11.0, 12.0], 10, "not met"),
    ([9.0, 11.0, 12.0], 10, "met 1/3"),
    ([0, 0], 0, "met"),
    ([], 10, "not run"),
    ([50.0], None, ""),
])
def test_verdict_counts_the_repetitions_that_met_the_target(
        values: list[float], limit: float | None, expected: str) -> None:
    assert bench.verdict(values, limit) == expected


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (1.234, "s", "1.23"),
    (0.0, "s", "0.00"),
    (123.6, "MiB", "124"),
    (3, "", "3"),
    (2.5, "", "2.5"),
    (1, "flag", "yes"),
    (0, "flag", "no"),
    (None, "s", "-"),
])
def test_format_value(value: float | None, unit: str, expected: str) -> None:
    assert bench.format_value(value, unit) == expected


def test_targets_as_printed() -> None:
    targets = {f.key: f.target for f in bench.FIGURES}
    assert targets["converge.playbook_s"] == "<= 10 s"
    assert targets["rerun.playbook_s"] == "<= 5 s"
    assert targets["rerun.changed"] == "0"
    assert targets["config_change.longest_gap_s"] == "<= 1 s"
    assert targets["config_change.lost"] == "0"
    assert targets["config_change.elections"] == "<= 1"
    assert targets["config_change.none_serving"] == "never"
    assert targets["failover.first_write_s"] == "<= 2 s"
    assert targets["converge.healthy_s"] == ""


def test_figure_values_skip_repetitions_that_did_not_get_there() -> None:
    runs = [repetition(1, 30.0, 0.8, none_serving=True), {"index": 2, "converge": {}}]
    figures = {f.key: f for f in bench.FIGURES}
    assert bench.figure_values(figures["converge.playbook_s"], runs) == [30.0]
    assert bench.figure_values(figures["config_change.none_serving"], runs) == [1]
    assert bench.figure_values(figures["failover.first_write_s"], runs[1:]) == []


def test_table_has_median_min_max_target_and_verdict_per_figure() -> None:
    runs = [repetition(1, 30.0, 0.8), repetition(2, 20.0, 1.4), repetition(3, 25.0, 0.9)]
    table = bench.results_table(runs)
    lines = table.splitlines()
    assert lines[0].split() == ["FIGURE", "MEDIAN", "MIN", "MAX", "TARGET"]
    assert len(lines) == 1 + len(bench.FIGURES)
    rows = {line.split("  ")[0].strip(): line for line in lines[1:]}
    assert rows["fresh converge: site.yml (s)"].split()[-8:] == [
        "25.00", "20.00", "30.00", "<=", "10", "s", "not", "met"]
    assert rows["config change: longest write gap (s)"].split()[-8:] == [
        "0.90", "0.80", "1.40", "<=", "1", "s", "met", "2/3"]
    assert rows["config change: no server serving"].split()[-5:] == [
        "no", "no", "no", "never", "met"]
    assert rows["config change: writes failed"].split()[-3:] == ["3", "3", "3"]


def test_table_columns_line_up() -> None:
    rows = [["a", "1.00", "0.50", "10.00", "<= 1 s", "met"],
            ["longer label", "12.00", "1.00", "2.00", "", ""]]
    lines = bench.format_table(rows).splitlines()
    # the numbers are right-aligned: each MEDIAN cell ends at the same column
    ends = {line.index(cell) + len(cell) for line, cell in zip(lines, ["MEDIAN", "1.00", "12.00"])}
    assert len(ends) == 1
    assert all(line == line.rstrip() for line in lines)


def test_a_figure_not_measured_shows_dashes() -> None:
    figure = bench.Figure("failover.first_write_s", "failover", "s", 2)
    assert bench.figure_row(figure, []) == ["failover (s)", "-", "-", "-", "<= 2 s", "not run"]


def test_heap_line() -> None:
    assert bench.heap_line([repetition(1, 30.0, 0.5)]) == (
        "JVM heap: -Xms512m -Xmx512m on every server")
    mixed = [repetition(1, 30.0, 0.5), repetition(2, 30.0, 0.5, heap="1g")]
    assert bench.heap_line(mixed) == "JVM heap: -Xms1g -Xmx1g, -Xms512m -Xmx512m"
    assert bench.heap_line([{"index": 1}]) == "JVM heap: not measured"


# --------------------------------------------------------------------------- parsing

def test_parse_recap_counts_per_host() -> None:
    recap = bench.parse_recap(RERUN_OUTPUT)
    assert sorted(recap) == ["zookeeper01", "zookeeper02", "zookeeper03"]
    assert recap["zookeeper02"] == {"ok": 35, "changed": 2, "unreachable": 0, "failed": 0,
                                    "skipped": 18, "rescued": 0, "ignored": 0}
    assert bench.changed_total(recap) == 3


def test_parse_recap_with_colours_and_trailing_lines() -> None:
    coloured = ("PLAY RECAP ****\n"
                "\x1b[0;33mzookeeper01\x1b[0m                : \x1b[0;32mok=3   \x1b[0m "
                "\x1b[0;33mchanged=2   \x1b[0m unreachable=0    failed=0\n"
                "\n"
                "Thursday 01 January  00:00:00 +0000 (0:00:01.000)  0:00:30.000 ****\n")
    assert bench.parse_recap(coloured) == {
        "zookeeper01": {"ok": 3, "changed": 2, "unreachable": 0, "failed": 0}}


def test_parse_recap_takes_the_last_recap_and_tolerates_none() -> None:
    two = RERUN_OUTPUT.replace("changed=2", "changed=9") + RERUN_OUTPUT
    assert bench.changed_total(bench.parse_recap(two)) == 3
    assert bench.parse_recap("ERROR! the playbook could not be found") == {}
    assert bench.changed_total({}) == 0


def test_changed_tasks_name_the_task_and_host_once() -> None:
    assert bench.changed_tasks(RERUN_OUTPUT) == [
        "zookeeper : Write zoo.cfg (zookeeper02)",
        "zookeeper : Restart ZooKeeper (rolling) (zookeeper02)",
        "zookeeper : Read /etc/hosts (zookeeper01)",
    ]
    assert bench.changed_tasks("PLAY RECAP ***\nzookeeper01 : ok=1 changed=0\n") == []


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


def test_servers_from_the_lab_description() -> None:
    description = {"hosts": [{"name": "zookeeper01", "address": "10.213.16.11"},
                             {"name": "zookeeper02", "address": "10.213.16.12"}]}
    assert bench.servers_from_lab(description) == [
        bench.Server("zookeeper01", "10.213.16.11", 2181),
        bench.Server("zookeeper02", "10.213.16.12", 2181)]


@pytest.mark.parametrize(("modes", "expected"), [
    (["leader", "follower", "follower"], True),
    (["follower", "follower", "down"], False),
    (["leader", "follower", "down"], False),
    (["leader", "leader", "follower"], False),
    (["standalone", "follower", "follower"], False),
])
def test_leader_and_followers(modes: list[str], expected: bool) -> None:
    report = {"servers": [{"name": f"zk{i}", "mode": m} for i, m in enumerate(modes)],
              "expected": 3}
    assert bench.leader_and_followers(report) is expected


def test_next_tick_alternates() -> None:
    assert bench.next_tick(bench.DEFAULT_TICK) == 2500
    assert bench.next_tick(2500) == bench.DEFAULT_TICK == 2000


# --------------------------------------------------------------------------- JSON

def test_document_layout(tmp_path: Any) -> None:
    document = bench.new_document(2)
    assert {"commit", "dirty", "date", "host", "lab", "repeat", "repetitions"} <= set(document)
    assert document["host"]["nproc"] >= 1
    assert document["lab"] == {"name": "bench", "subnet": "10.213.16.0/24",
                               "java_preinstalled": True}
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
    assert set(document["figures"]) == {f.key for f in bench.FIGURES}
    assert json.loads(json.dumps(document)) == document


def test_an_interrupted_document_is_incomplete(tmp_path: Any) -> None:
    document = bench.new_document(3)
    document["repetitions"] = [{"index": 1, "converge": {"playbook_s": 30.0}}]
    bench.finish_document(document, bench.Bench(tmp_path, repeat=3), "site.yml failed")
    assert document["complete"] is False
    assert document["error"] == "site.yml failed"
    assert document["figures"]["converge.playbook_s"]["values"] == [30.0]
    assert document["figures"]["failover.first_write_s"]["verdict"] == "not run"


def test_args() -> None:
    args = bench.parse_args([])
    assert (args.repeat, args.keep, args.results) == (3, False, bench.DEFAULT_RESULTS)
    args = bench.parse_args(["--repeat", "1", "--keep", "--results", "/tmp/x"])
    assert (args.repeat, args.keep, str(args.results)) == (1, True, "/tmp/x")
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeat", "0"])
