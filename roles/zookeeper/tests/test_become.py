"""Privilege escalation is explicit: every play of playbooks/ becomes root on the hosts, and
every task that runs on the controller says `become: false`, so that an inventory needs no
`ansible_become` and the controller never runs sudo. (The upgrade scenario runs every playbook
as a sudo user; a controller running as root would not notice a controller task escalating,
since Ansible skips become to the same user.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yml"))
TASK_FILES = sorted(p for role in ("java", "zookeeper") for sub in ("tasks", "handlers")
                    for p in (REPO / "roles" / role / sub).glob("*.yml"))
CONTROLLER = {"localhost", "127.0.0.1"}


def tasks(entries: list[dict[str, Any]], become: Any = None, delegate: Any = None
          ) -> Iterator[tuple[dict[str, Any], Any, Any]]:
    """Each task with the `become` and `delegate_to` it gets from itself or its blocks."""
    for entry in entries or []:
        own_become = entry.get("become", become)
        own_delegate = entry.get("delegate_to", delegate)
        if "block" in entry:
            for key in ("block", "rescue", "always"):
                yield from tasks(entry.get(key) or [], own_become, own_delegate)
        else:
            yield entry, own_become, own_delegate


def on_controller(task: dict[str, Any], delegate: Any) -> bool:
    return delegate in CONTROLLER or task.get("connection") == "local"


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_every_play_on_the_hosts_becomes_root(playbook: Path) -> None:
    for play in yaml.safe_load(playbook.read_text()):
        if "import_playbook" in play or play.get("connection") == "local":
            continue
        assert play.get("become") is True, (
            f"{playbook.name}: play {play.get('name')!r} does not say become: true")
        for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            for task, become, delegate in tasks(play.get(section) or []):
                if on_controller(task, delegate):
                    assert become is False, (
                        f"{playbook.name}: {task.get('name')!r} runs on the controller "
                        "without become: false")


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: f"{p.parts[-3]}/{p.parts[-2]}/{p.name}")
def test_every_task_on_the_controller_says_become_false(path: Path) -> None:
    found = list(tasks(yaml.safe_load(path.read_text()) or []))
    assert found, f"{path}: no task found"
    wrong = [task.get("name") for task, become, delegate in found
             if on_controller(task, delegate) and become is not False]
    assert not wrong, f"{path.name}: run on the controller without become: false: {wrong}"


def test_the_walk_sees_a_block_on_the_controller() -> None:
    """The check itself: a task in a block delegated to localhost counts, and its block's
    become: false counts for it."""
    block = [{"name": "b", "delegate_to": "localhost", "block": [{"name": "t", "debug": {}}]}]
    assert [(t["name"], b, d) for t, b, d in tasks(block)] == [("t", None, "localhost")]
    block[0]["become"] = False
    assert [(t["name"], b) for t, b, _unused in tasks(block)] == [("t", False)]
