"""What ansible-playbook printed: the PLAY RECAP counts and the tasks that changed.

Shared by tools/bench/run.py and tools/ci/core_matrix.py, which both judge runs by their output.
"""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")
TASK_LINE = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<task>.+?)\] \**$")
CHANGED_LINE = re.compile(r"^changed: \[(?P<host>[^\]]+)\]")


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes."""
    return ANSI.sub("", text)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The counts per host of the last PLAY RECAP in ansible-playbook's output."""
    _unused, found, tail = strip_ansi(output).rpartition("PLAY RECAP")
    recap: dict[str, dict[str, int]] = {}
    if not found:
        return recap
    for line in tail.splitlines()[1:]:
        match = RECAP_LINE.match(line.strip())
        if match:
            recap[match["host"]] = {k: int(v) for k, v in
                                    re.findall(r"(\w+)=(\d+)", match["counts"])}
        elif recap and line.strip():
            break
    return recap


def changed_total(recap: dict[str, dict[str, int]]) -> int:
    """The sum of changed= over every host."""
    return sum(counts.get("changed", 0) for counts in recap.values())


def changed_tasks(output: str) -> list[str]:
    """`task (host)` for every task or handler that reported changed, in order."""
    task = "?"
    found: list[str] = []
    for line in strip_ansi(output).splitlines():
        header = TASK_LINE.match(line.strip())
        if header:
            task = header["task"]
            continue
        change = CHANGED_LINE.match(line.strip())
        if change and f"{task} ({change['host']})" not in found:
            found.append(f"{task} ({change['host']})")
    return found


def task_profile(timing: dict, top: int = 5) -> dict:
    """The short form of a task_timing summary (tools/callback_plugins/task_timing.py): the
    totals and the `top` slowest tasks, for bench.json and the report."""
    slowest = sorted(timing.get("timings", []), key=lambda t: t["seconds"], reverse=True)[:top]
    return {
        **{key: timing[key] for key in ("total_s", "tasks", "controller_only_tasks",
                                        "controller_only_s", "hosts_s", "outside_s")
           if key in timing},
        "slowest": [f"{t['seconds']:.2f} s {t['action']}: {t['name']}" for t in slowest],
    }


def profile_line(name: str, profile: dict) -> str:
    """One line of the report: where a run's time went."""
    return (f"{name}: {profile['tasks']} tasks, {profile['controller_only_tasks']} of them "
            f"controller-only ({profile['controller_only_s']:.2f} s), on the hosts "
            f"{profile['hosts_s']:.2f} s, outside tasks {profile['outside_s']:.2f} s; slowest: "
            + "; ".join(profile["slowest"][:3]))
