"""Per-task wall time of a playbook run, for `make bench --profile` and by hand.

ansible.posix's profile_tasks is not reachable offline, so this is the project's own. Enable it
with

    ANSIBLE_CALLBACK_PLUGINS=tools/bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=task_timing \
        ansible-playbook ...

At the end of the run it prints the slowest tasks (ANSIBLE_TASK_TIMING_TOP, default 25) and the
share of the run spent in tasks that only run on the controller (no host contacted: assert,
set_fact, include_vars, meta, debug) against tasks that run a module on the hosts. With
ANSIBLE_TASK_TIMING_JSON=PATH it also writes every task's timing there as JSON.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_timing
type: aggregate
short_description: wall time of each task, slowest first
description:
  - Prints the slowest tasks of the run and how the run's time splits between tasks that run
    only on the controller and tasks that run a module on the hosts.
requirements:
  - enabled in callbacks_enabled (ANSIBLE_CALLBACKS_ENABLED=task_timing)
"""

# Actions that never reach a host (the action plugin does all the work on the controller).
# java_check does in site.yml, where the zookeeper role's probe has looked at Java for it.
CONTROLLER_ONLY = frozenset({
    "assert", "set_fact", "include_vars", "meta", "debug", "fail", "add_host", "group_by",
    "include_tasks", "include_role", "import_tasks", "import_role", "set_stats",
    "validate_argument_spec", "zookeeper_validate", "java_check", "zookeeper_decide",
    "zookeeper_membership",
})


def short_action(action: str) -> str:
    """`ansible.builtin.set_fact` -> `set_fact`."""
    return action.rsplit(".", 1)[-1]


class CallbackModule(CallbackBase):
    """Times every task from its start until the next task (or the end of the play) starts."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._tasks: list[dict] = []
        self._current: dict | None = None
        self._started = time.monotonic()

    def _close_current(self) -> None:
        if self._current is not None:
            self._current["seconds"] = time.monotonic() - self._current["started"]
            self._tasks.append(self._current)
            self._current = None

    def _start(self, task, handler: bool = False) -> None:
        # A meta task with a condition (`end_host`) is announced once per host, one after the
        # other: one task all the same.
        if self._current is not None and self._current["uuid"] == task._uuid:
            return
        self._close_current()
        self._current = {
            "name": task.get_name(),
            "action": short_action(task.action),
            "path": task.get_path() or "",
            "handler": handler,
            "uuid": task._uuid,
            "started": time.monotonic(),
        }

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task) -> None:
        self._start(task, handler=True)

    def v2_playbook_on_play_start(self, play) -> None:
        self._close_current()

    def summary(self) -> dict:
        """The run's timing: every task, and the split between controller and hosts."""
        total = time.monotonic() - self._started
        timed = sum(task["seconds"] for task in self._tasks)
        controller = [task for task in self._tasks if task["action"] in CONTROLLER_ONLY]
        local = sum(task["seconds"] for task in controller)
        return {
            "total_s": round(total, 3),
            "tasks": len(self._tasks),
            "controller_only_tasks": len(controller),
            "controller_only_s": round(local, 3),
            "hosts_s": round(timed - local, 3),
            "outside_s": round(total - timed, 3),
            "timings": [{key: (round(value, 3) if key == "seconds" else value)
                         for key, value in task.items() if key not in ("started", "uuid")}
                        for task in self._tasks],
        }

    def v2_playbook_on_stats(self, stats) -> None:
        self._close_current()
        summary = self.summary()
        top = int(os.environ.get("ANSIBLE_TASK_TIMING_TOP", "25"))
        self._display.banner("TASK TIMING")
        for task in sorted(summary["timings"], key=lambda t: t["seconds"], reverse=True)[:top]:
            self._display.display(f"{task['seconds']:7.2f} s  {task['action']:<18} {task['name']}")
        self._display.display(
            f"{summary['tasks']} tasks in {summary['total_s']:.2f} s: "
            f"{summary['controller_only_tasks']} controller-only tasks "
            f"{summary['controller_only_s']:.2f} s, tasks on the hosts {summary['hosts_s']:.2f} s, "
            f"outside tasks {summary['outside_s']:.2f} s")
        path = os.environ.get("ANSIBLE_TASK_TIMING_JSON")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(summary, handle, indent=1)
