"""Unit tests of tools/testkit/playbook_output.py: the PLAY RECAP counts, the tasks that changed,
and the short form of the task_timing callback's profile (shared by tools/bench/run.py and
tools/ci/core_matrix.py). Nothing here runs a playbook."""

from __future__ import annotations

from testkit.playbook_output import (
    changed_tasks,
    changed_total,
    parse_recap,
    profile_line,
    task_profile,
)

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


def test_parse_recap_counts_per_host() -> None:
    recap = parse_recap(RERUN_OUTPUT)
    assert sorted(recap) == ["zookeeper01", "zookeeper02", "zookeeper03"]
    assert recap["zookeeper02"] == {"ok": 35, "changed": 2, "unreachable": 0, "failed": 0,
                                    "skipped": 18, "rescued": 0, "ignored": 0}
    assert changed_total(recap) == 3


def test_parse_recap_with_colours_and_trailing_lines() -> None:
    coloured = ("PLAY RECAP ****\n"
                "\x1b[0;33mzookeeper01\x1b[0m                : \x1b[0;32mok=3   \x1b[0m "
                "\x1b[0;33mchanged=2   \x1b[0m unreachable=0    failed=0\n"
                "\n"
                "Thursday 01 January  00:00:00 +0000 (0:00:01.000)  0:00:30.000 ****\n")
    assert parse_recap(coloured) == {
        "zookeeper01": {"ok": 3, "changed": 2, "unreachable": 0, "failed": 0}}


def test_parse_recap_takes_the_last_recap_and_tolerates_none() -> None:
    two = RERUN_OUTPUT.replace("changed=2", "changed=9") + RERUN_OUTPUT
    assert changed_total(parse_recap(two)) == 3
    assert parse_recap("ERROR! the playbook could not be found") == {}
    assert changed_total({}) == 0


def test_changed_tasks_name_the_task_and_host_once() -> None:
    assert changed_tasks(RERUN_OUTPUT) == [
        "zookeeper : Write zoo.cfg (zookeeper02)",
        "zookeeper : Restart ZooKeeper (rolling) (zookeeper02)",
        "zookeeper : Read /etc/hosts (zookeeper01)",
    ]
    assert changed_tasks("PLAY RECAP ***\nzookeeper01 : ok=1 changed=0\n") == []


def test_parse_recap_with_a_version_banner_and_no_retired_hosts() -> None:
    output = "ansible-playbook [core 2.16.19]\n" + RERUN_OUTPUT
    assert changed_total(parse_recap(output)) == 3


TIMING = {
    "total_s": 4.3, "tasks": 3, "controller_only_tasks": 2, "controller_only_s": 0.1,
    "hosts_s": 4.0, "outside_s": 0.2,
    "timings": [
        {"name": "Check", "action": "assert", "seconds": 0.05},
        {"name": "Probe", "action": "zookeeper_probe", "seconds": 4.0},
        {"name": "Fact", "action": "set_fact", "seconds": 0.05},
    ],
}


def test_task_profile_orders_the_slowest_first() -> None:
    profile = task_profile(TIMING, top=2)
    assert profile["slowest"] == ["4.00 s zookeeper_probe: Probe", "0.05 s assert: Check"]
    assert {k: profile[k] for k in ("tasks", "controller_only_tasks", "hosts_s")} == {
        "tasks": 3, "controller_only_tasks": 2, "hosts_s": 4.0}
    assert "timings" not in profile


def test_profile_line() -> None:
    line = profile_line("no-op", task_profile(TIMING))
    assert line.startswith("no-op: 3 tasks, 2 of them controller-only (0.10 s), on the hosts "
                           "4.00 s, outside tasks 0.20 s; slowest: 4.00 s zookeeper_probe")
