"""The reconcile loop's phases (tasks/converge.yml): one include runs the phase files the
decision says have work, in order. It always runs, and its `apply` gives each file's tasks the
phase's own tag, which --tags and --skip-tags choose from, as the static imports did before."""

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


def phases_include() -> dict[str, Any]:
    """The task of tasks/converge.yml that includes the phases."""
    found = [task for task in loop_tasks() if "ansible.builtin.include_tasks" in task]
    assert len(found) == 1, f"tasks/converge.yml has {len(found)} includes"
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


def test_the_phases_include_always_runs_and_tags_each_phase_with_its_own() -> None:
    """--tags and --skip-tags choose among the phases' tasks by the tag `apply` gives them: a
    phase tag on the include itself would let --skip-tags zookeeper_metrics skip every phase."""
    include = phases_include()
    assert include["tags"] == ["always"]
    assert include["ansible.builtin.include_tasks"] == {
        "file": "{{ item }}.yml", "apply": {"tags": ["zookeeper_{{ item }}"]}}


@pytest.mark.parametrize("file", PHASES)
def test_each_phase_file_answers_to_its_phase(file: str) -> None:
    unknown = own_tags(file) - set(PHASES.values()) - {"always"}
    assert not unknown, f"tasks/{file} has tasks tagged {sorted(unknown)}, no phase's tag"


def test_the_phases_run_in_order_on_the_decision() -> None:
    loop = str(phases_include()["loop"])
    assert [loop.index(f"'{file.removesuffix('.yml')}'") for file in PHASES] == sorted(
        loop.index(f"'{file.removesuffix('.yml')}'") for file in PHASES)
    assert "__zookeeper_todo" in loop


def test_the_decision_comes_before_the_phases_and_runs_under_any_tag() -> None:
    names = [task.get("name", "") for task in loop_tasks()]
    decide = names.index("Decide which phases have work on this host")
    assert decide < names.index(phases_include()["name"])
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
