"""A check run once for the play sees only the first host's variables: with several ensembles
in one inventory, a run-once check of something per ensemble would judge the first host's
ensemble alone and let the others through. The pre-change checks of tasks/validate-hosts.yml
therefore read per-ensemble values only in tasks every host runs (the host checks, where each
member reports its own ensemble)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

TASKS = Path(__file__).resolve().parents[1] / "tasks"
# Values that differ from one ensemble to the next (vars/main.yml): this host's group, its
# membership plan, the client port its checks use, its quorum TLS passes and switch.
PER_ENSEMBLE = re.compile(r"(?<![\w'\"])(zookeeper_ensemble_group|__zookeeper_plan"
                          r"|__zookeeper_checks|__zookeeper_tls_passes"
                          r"|__zookeeper_tls_switching)\b")


def run_once_tasks(file: str) -> list[dict[str, Any]]:
    found = []

    def walk(entries: list[dict[str, Any]], inherited: bool) -> None:
        for entry in entries or []:
            once = inherited or bool(entry.get("run_once"))
            if "block" in entry:
                walk(entry["block"], once)
            elif once:
                found.append(entry)

    walk(yaml.safe_load((TASKS / file).read_text()), False)
    return found


def test_no_run_once_check_reads_a_per_ensemble_value() -> None:
    tasks = run_once_tasks("validate-hosts.yml")
    assert tasks, "validate-hosts.yml has run-once tasks (the membership plans)"
    for task in tasks:
        names = sorted(set(PER_ENSEMBLE.findall(yaml.safe_dump(task, width=10**6))))
        assert not names, (f"{task['name']!r} runs once for the play but reads {names}: it "
                           f"would check the first host's ensemble only")
