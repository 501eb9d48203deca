"""The zookeeper_membership action plugin, run once for a play by ansible-playbook, on hosts
that are never contacted (SSH to a loopback port nothing listens on): each host's
`__zookeeper_probe` is given in the inventory, as tasks/observe.yml would have registered it.
The planner's rules themselves are tested in test_membership.py; here, what the step adds: the
refusals no single plan sees, the restore that silences them, and the members it returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugins import NOWHERE, inventory_play, reported

PLAY = """
- name: Plan as the zookeeper role's host checks do
  hosts: all
  gather_facts: false
  tasks:
    - name: Plan
      zkops.zookeeper34.zookeeper_membership:
        restore_marker: /var/lib/zookeeper/restore-in-progress.json
        plain_client_port_off: "{{ plain_off | default(false) }}"
      run_once: true
      register: membership
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ {'walks': membership.plans | dict2items | selectattr('value.walk')
          | map(attribute='key') | list, 'members': membership.members} | to_json }}"
      run_once: true
"""


def server(members: list[int], mode: str, content: dict[str, str] | None = None
           ) -> dict[str, Any]:
    """A probe of a running server started with `members`."""
    listed = [{"id": i} for i in members]
    return {"service": {"active": True}, "mode": mode, "content": content or {},
            "ensemble": {"running": listed, "config": listed, "data": True, "epoch": 2}}


def ensemble(group: str, net: int, running: list[int], inventory: list[int],
             content: dict[str, str] | None = None) -> dict[str, Any]:
    """A group whose servers 1..3 run with `running`, while the inventory lists `inventory`."""
    hosts = {}
    for i in inventory:
        name = f"{group}-{i}"
        hosts[name] = {"zookeeper_id": i, "zookeeper_address": f"10.9.{net}.{i}",
                       "__zookeeper_settings": {"zookeeper_ensemble_group": group},
                       "__zookeeper_probe": server(running, "leader" if i == 3 else "follower",
                                                   content) if i in running else {
                           "service": {"active": False}, "content": {},
                           "ensemble": {"running": None, "config": None, "data": False}}}
    return {"hosts": hosts, "vars": {"zookeeper_ensemble_group": group}}


def plan(tmp_path: Path, groups: dict[str, Any], **more: Any
         ) -> tuple[int, str, dict[str, Any] | None]:
    rc, output = inventory_play(tmp_path, PLAY, {"children": groups,
                                                 "vars": {**NOWHERE, **more}})
    return rc, output, reported(output)


def test_nothing_to_change_gives_each_ensembles_members(tmp_path: Path) -> None:
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3], [1, 2, 3]),
                                      "b": ensemble("b", 2, [1, 2, 3], [1, 2, 3])})
    assert rc == 0, output
    assert got is not None and got["walks"] == []
    assert got["members"]["b"] == [{"id": i, "name": f"b-{i}", "address": f"10.9.2.{i}"}
                                   for i in (1, 2, 3)]


def test_one_ensemble_grows(tmp_path: Path) -> None:
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3], [1, 2, 3, 4]),
                                      "b": ensemble("b", 2, [1, 2, 3], [1, 2, 3])})
    assert rc == 0, output
    assert got is not None and got["walks"] == ["a"]


def test_two_ensembles_changing_at_once_are_refused(tmp_path: Path) -> None:
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3], [1, 2, 3, 4]),
                                      "b": ensemble("b", 2, [1, 2, 3], [1, 2, 3, 4])})
    assert rc != 0 and got is None
    assert "the membership of several ensembles changes in this run (a, b)" in output, output


def test_a_change_without_the_plain_client_port_is_refused(tmp_path: Path) -> None:
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3], [1, 2, 3, 4])},
                           plain_off=True)
    assert rc != 0 and got is None
    assert "the membership of a changes while zookeeper_tls_client_plain is off" in output


def test_a_plan_refused_by_the_rules_fails_with_its_reason(tmp_path: Path) -> None:
    # Servers that run with 5 members, of which the inventory keeps 3 and retires none.
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3, 4, 5], [1, 2, 3])})
    assert rc != 0 and got is None
    assert "server.4 is in the member list" in output, output


def test_a_restore_in_progress_leaves_the_refusal_to_the_host_checks(tmp_path: Path) -> None:
    marker = {"/var/lib/zookeeper/restore-in-progress.json": "{}"}
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3, 4, 5], [1, 2, 3], marker)})
    assert rc == 0, output
    assert got is not None and [m["id"] for m in got["members"]["a"]] == [1, 2, 3]
