"""The zookeeper_decide action plugin, run by ansible-playbook on a host that is never contacted
(SSH to a loopback port nothing listens on): the host's problems fail the task, all of them, and
then nothing of the decision is rendered; without problems, each phase's variable is rendered as
a boolean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugins import NOWHERE, inventory_play, reported

PLAY = """
- name: Decide as the zookeeper role's host checks do
  hosts: all
  gather_facts: false
  vars:
    # Rendering it fails: the decision of a host with problems must not be rendered.
    todo_broken: "{{ no_such_variable.anywhere }}"
  tasks:
    - name: Check, then decide
      zkops.zookeeper34.zookeeper_decide:
        problems: problems
        phases: "{{ phases }}"
      register: decision
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ decision.todo | to_json }}"
"""


def decide(tmp_path: Path, **host: Any) -> tuple[int, str, dict[str, Any] | None]:
    rc, output = inventory_play(tmp_path, PLAY, {"hosts": {"zk1": {**NOWHERE, **host}}})
    return rc, output, reported(output)


def test_without_problems_each_phase_is_decided(tmp_path: Path) -> None:
    rc, output, todo = decide(
        tmp_path, problems="{{ ['', ''] | select | list }}",
        install="{{ 1 == 2 }}", config="{{ 'x' in ['x'] }}", service="False", metrics="yes",
        phases={"install": "install", "config": "config", "service": "service",
                "metrics": "metrics"})
    assert rc == 0, output
    assert todo == {"install": False, "config": True, "service": False, "metrics": True}


def test_problems_fail_the_host_and_nothing_of_the_decision_is_rendered(tmp_path: Path) -> None:
    rc, output, todo = decide(tmp_path, problems=["zk1: the first problem", "",
                                                  "zk1: the second problem"],
                              phases={"install": "todo_broken"})
    assert rc != 0 and todo is None
    assert '"msg": "zk1: the first problem\\nzk1: the second problem"' in output, output
    assert "is undefined" not in output, output


def test_a_broken_decision_is_an_error_not_a_skipped_phase(tmp_path: Path) -> None:
    rc, output, todo = decide(tmp_path, problems=[], phases={"install": "todo_broken"})
    assert rc != 0 and todo is None
    assert "'no_such_variable' is undefined" in output, output


def test_problems_that_are_not_a_list_are_an_error(tmp_path: Path) -> None:
    rc, output, todo = decide(tmp_path, problems="one problem", phases={})
    assert rc != 0 and todo is None
    assert "problems is not a list" in output, output
