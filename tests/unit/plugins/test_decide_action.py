"""The zookeeper_decide action plugin, run by ansible-playbook on a host that is never contacted
(SSH to a loopback port nothing listens on): the host's problems fail the task, all of them, and
then nothing of the decision is rendered; without problems, each phase's variable is rendered as
a boolean."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from plugins import COLLECTIONS, REPO

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
NOWHERE = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}


def decide(tmp_path: Path, **host: Any) -> tuple[int, str, dict[str, Any] | None]:
    inventory = {"all": {"hosts": {"zk1": {**NOWHERE, **host}},
                         "vars": {"ansible_python_interpreter": sys.executable}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.json"), str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, timeout=180, cwd=REPO)
    output = proc.stdout + proc.stderr
    assert "UNREACHABLE" not in output, output
    found = re.search(r'"RESULT (\{.*\})"', output)
    return (proc.returncode, output,
            json.loads(found[1].replace('\\"', '"')) if found else None)


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
