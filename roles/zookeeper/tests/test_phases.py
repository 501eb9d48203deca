"""The reconcile loop's phases (tasks/converge.yml): each phase file is included only when the
decision says it has work, so the include itself must carry every tag a task of the file
answers to, or `--tags` would skip the include, and with it the task. Its `apply` gives the
file's tasks the phase's own tag, as the static import did before.

One include per phase, not one include looping over the phases with work: Ansible runs a
looped include's files in the order the first host's results name them, so a host still to
install (a new member) got its config phase before its install phase, when the first host had
no install to do (the membership, nemesis and reconfig38 scenarios failed on fb82575:
"/etc/zookeeper/zoo.cfg: no such user or group on the host")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

TASKS = Path(__file__).resolve().parents[1] / "tasks"
PHASES = {"install.yml": "zookeeper_install", "config.yml": "zookeeper_config",
          "service.yml": "zookeeper_service", "metrics.yml": "zookeeper_metrics"}


def loop_tasks() -> list[dict[str, Any]]:
    return yaml.safe_load((TASKS / "converge.yml").read_text())


def phase_include(file: str) -> dict[str, Any]:
    """The task of tasks/converge.yml that includes `file`."""
    found = [task for task in loop_tasks()
             if (task.get("ansible.builtin.include_tasks") or {}).get("file") == file]
    assert len(found) == 1, f"tasks/converge.yml includes {file} {len(found)} times"
    return found[0]


def own_tags(file: str) -> set[str]:
    """Every tag a task of `file` names itself (blocks included)."""
    tags: set[str] = set()

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries or []:
            tags.update(entry.get("tags") or [])
            for key in ("block", "rescue", "always"):
                walk(entry.get(key) or [])

    walk(yaml.safe_load((TASKS / file).read_text()))
    return tags


@pytest.mark.parametrize("file", PHASES)
def test_each_phase_is_one_include_that_answers_to_its_tasks_tags(file: str) -> None:
    include = phase_include(file)
    tags = set(include.get("tags") or [])
    assert PHASES[file] in tags
    assert include["ansible.builtin.include_tasks"]["apply"]["tags"] == [PHASES[file]]
    missing = own_tags(file) - tags - {"always"}
    assert not missing, f"tasks/{file} has tasks tagged {sorted(missing)}, which --tags " \
        f"would skip with the include; add them to its include in tasks/converge.yml"


@pytest.mark.parametrize("file", PHASES)
def test_each_phase_runs_on_the_decision(file: str) -> None:
    when = str(phase_include(file).get("when"))
    assert "__zookeeper_todo" in when


def test_the_decision_comes_before_every_phase_and_runs_under_any_tag() -> None:
    names = [task.get("name", "") for task in loop_tasks()]
    decide = names.index("Decide which phases have work on this host")
    first_phase = min(names.index(phase_include(file)["name"]) for file in PHASES)
    assert decide < first_phase
    assert loop_tasks()[decide]["tags"] == ["always"]


def test_the_main_entry_point_validates_then_runs_the_loop() -> None:
    """The role on its own checks before it converges; site.yml, having checked in its
    pre_tasks, imports the loop alone."""
    main = yaml.safe_load((TASKS / "main.yml").read_text())
    validate = [i for i, task in enumerate(main)
                if (task.get("ansible.builtin.include_tasks") or {}).get("file") == "validate.yml"]
    loop = [i for i, task in enumerate(main)
            if task.get("ansible.builtin.import_tasks") == "converge.yml"]
    assert len(validate) == 1 and loop == [len(main) - 1] and validate[0] < loop[0]
    site = yaml.safe_load((TASKS.parents[2] / "playbooks" / "site.yml").read_text())[0]
    imported = [task["ansible.builtin.import_role"] for task in site["tasks"]
                if task["ansible.builtin.import_role"]["name"].endswith(".zookeeper")]
    assert [role.get("tasks_from") for role in imported] == ["converge.yml"]
    observed = [task["ansible.builtin.import_role"].get("tasks_from") for task in site["pre_tasks"]]
    assert observed.index("observe.yml") < observed.index("validate-hosts.yml")
