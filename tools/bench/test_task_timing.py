"""Tests of the task_timing callback (tools/callback_plugins/task_timing.py) with a real
ansible-playbook run on the controller itself (connection local: no host is contacted), and
of the short form tools/bench/run.py keeps of it (playbook_output.task_profile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench.lab import CALLBACKS, profile_env
from testkit.playbook_output import profile_line, task_profile

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOK = """
- name: Timed
  hosts: localhost,other
  connection: local
  gather_facts: false
  tasks:
    - name: A check on the controller
      ansible.builtin.assert:
        that: true
        quiet: true
    - name: A module run on the host, slow on purpose
      ansible.builtin.command: sleep 0.3
      changed_when: false
    - name: A fact on the controller
      ansible.builtin.set_fact:
        timed: true
    # (announced once per host)
    - name: The end for one host
      ansible.builtin.meta: end_host
      when: inventory_hostname == 'other'
"""


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """The callback's JSON and the run's output."""
    if not ANSIBLE_PLAYBOOK.exists():
        pytest.fail(f"{ANSIBLE_PLAYBOOK} missing: run `make venv`")
    where = tmp_path_factory.mktemp("timing")
    (where / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_TASK_TIMING_TOP="2",
               **profile_env(where / "timing.json"))
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,other,", "play.yml",
                           "-e", f"ansible_python_interpreter={sys.executable}"], cwd=where,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((where / "timing.json").read_text()), proc.stdout


def test_profile_env_enables_the_project_callback_beside_the_callers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "junit")
    monkeypatch.setenv("ANSIBLE_CALLBACK_PLUGINS", "/elsewhere")
    env = profile_env(Path("/tmp/t.json"))
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == "junit,task_timing"
    assert env["ANSIBLE_CALLBACK_PLUGINS"].split(os.pathsep) == [str(CALLBACKS), "/elsewhere"]
    assert (CALLBACKS / "task_timing.py").exists()


def test_profile_env_keeps_the_callbacks_of_the_project_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANSIBLE_CALLBACKS_ENABLED", raising=False)
    env = profile_env(Path("/tmp/t.json"))
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == "zkops.zookeeper34.preload,task_timing"


def test_every_task_is_timed_and_classified(timed_run: tuple[dict, str]) -> None:
    timing, _unused = timed_run
    names = [task["name"] for task in timing["timings"]]
    assert names == ["A check on the controller", "A module run on the host, slow on purpose",
                     "A fact on the controller", "The end for one host"]
    assert timing["tasks"] == 4
    assert timing["controller_only_tasks"] == 3
    slow = timing["timings"][1]
    assert slow["action"] == "command" and slow["seconds"] >= 0.3
    assert timing["hosts_s"] == pytest.approx(slow["seconds"], abs=0.002)
    assert timing["controller_only_s"] < slow["seconds"]
    assert timing["total_s"] >= timing["hosts_s"] + timing["controller_only_s"]


def test_the_run_prints_the_slowest_tasks_first(timed_run: tuple[dict, str]) -> None:
    _unused, output = timed_run
    report = output.split("TASK TIMING", 1)[1].splitlines()[1:]
    assert "A module run on the host, slow on purpose" in report[0]
    assert len([line for line in report if line.strip().endswith("purpose")
                or "controller" in line.split("  ")[-1]]) >= 2
    assert "4 tasks in" in output and "3 controller-only tasks" in output


def test_task_profile_keeps_the_totals_and_the_slowest(timed_run: tuple[dict, str]) -> None:
    timing, _unused = timed_run
    profile = task_profile(timing, top=1)
    assert profile["tasks"] == 4 and profile["controller_only_tasks"] == 3
    assert len(profile["slowest"]) == 1
    assert profile["slowest"][0].endswith("command: A module run on the host, slow on purpose")
    line = profile_line("no-op", profile)
    assert line.startswith("no-op: 4 tasks, 3 of them controller-only")
