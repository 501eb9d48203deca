"""The zookeeper_membership action plugin, run once for a play by ansible-playbook, on hosts
that are never contacted (SSH to a loopback port nothing listens on): each host's
`__zookeeper_probe` is given in the inventory, as tasks/observe.yml would have registered it.
The planner's rules themselves are tested in test_membership.py; here, what the step adds: the
refusals no single plan sees, the restore that silences them, the members it returns, and the
wait for electing servers (asked with zookeeper_server from the task's host, here the
controller itself, at loopback servers that answer `srvr` as ZooKeeper does)."""

from __future__ import annotations

import socket
import threading
import time
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
        settle_timeout: "{{ settle | default(0) }}"
        not_probed: {quorum_tls: null, client_ports: null}
        unit_path: "{{ unit | default(omit) }}"
      run_once: true
      register: membership
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ {'walks': membership.plans | dict2items | selectattr('value.walk')
          | map(attribute='key') | list, 'members': membership.members, 'found': membership.found,
          'notes': membership.plans.values() | map(attribute='notes') | flatten,
          'shown': membership.msg | default(none),
          'states': membership.states | default(none)} | to_json }}"
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
                       "__zookeeper_validated": {"settings": {"zookeeper_ensemble_group": group}},
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
    assert got is not None and got["walks"] == [] and got["shown"] is None
    assert got["members"]["b"] == [{"id": i, "name": f"b-{i}", "address": f"10.9.2.{i}"}
                                   for i in (1, 2, 3)]


def test_what_each_members_probe_found_is_returned_in_the_groups_order(tmp_path: Path) -> None:
    """The host checks read each member's server from here (vars/main.yml,
    __zookeeper_members_found): a member whose probe has no `ensemble` (not reached, not
    probed) is given as not probed."""
    b = ensemble("b", 2, [1, 2, 3], [1, 2, 3])
    b["hosts"]["b-2"]["__zookeeper_probe"]["ensemble"]["client_ports"] = {"plain": 2181}
    a = ensemble("a", 1, [1, 2, 3], [1, 2, 3])
    rc, output, got = plan(tmp_path, {"a": a, "b": b})
    assert rc == 0, output
    assert got is not None and list(got["found"]) == ["a", "b"]
    assert got["found"]["b"] == [b["hosts"][f"b-{i}"]["__zookeeper_probe"]["ensemble"]
                                 for i in (1, 2, 3)]
    assert got["found"]["b"][1]["client_ports"] == {"plain": 2181}
    del a["hosts"]["a-3"]["__zookeeper_probe"]["ensemble"]
    a["hosts"]["a-3"]["__zookeeper_probe"]["unreachable"] = True
    rc, output, got = plan(tmp_path, {"a": a})
    assert got is not None, output
    assert got["found"]["a"][2] == {"quorum_tls": None, "client_ports": None}
    assert got["found"]["a"][0] == a["hosts"]["a-1"]["__zookeeper_probe"]["ensemble"]


UNIT = "/etc/systemd/system/zookeeper.service"


def test_which_members_serve_and_which_are_down_by_ensemble(tmp_path: Path) -> None:
    """The host checks refuse a run where a deployed member does not serve while others do
    (tasks/validate-hosts.yml, __zookeeper_states): each ensemble's, read here once for the run.
    A new host (no unit) is neither; without unit_path nothing is returned."""
    a = ensemble("a", 1, [1, 2, 3], [1, 2, 3])
    for name in ("a-1", "a-2", "a-3"):
        a["hosts"][name]["__zookeeper_probe"]["paths"] = {UNIT: {"exists": True}}
    # a-2 is deployed, with the others on its list, but its server is stopped.
    a["hosts"]["a-2"]["__zookeeper_probe"].update(service={"active": False}, mode=None)
    rc, output, got = plan(tmp_path, {"a": a, "b": ensemble("b", 2, [1, 2, 3], [1, 2, 3])},
                           unit=UNIT)
    assert rc == 0, output
    assert got is not None and got["states"] == {
        "a": {"down": ["a-2"], "serving": ["a-1", "a-3"]},
        "b": {"down": [], "serving": ["b-1", "b-2", "b-3"]}}, output
    # b-4 is new (no unit), not down: b grows by it, and its three others serve.
    b = ensemble("b", 2, [1, 2, 3], [1, 2, 3, 4])
    b["hosts"]["b-4"]["__zookeeper_probe"]["paths"] = {UNIT: {"exists": False}}
    rc, output, got = plan(tmp_path, {"b": b}, unit=UNIT)
    assert rc == 0, output
    assert got is not None and got["walks"] == ["b"]
    assert got["states"] == {"b": {"down": [], "serving": ["b-1", "b-2", "b-3"]}}, output
    rc, output, got = plan(tmp_path, {"a": a})
    assert got is not None and got["states"] is None, output


def test_one_ensemble_grows(tmp_path: Path) -> None:
    rc, output, got = plan(tmp_path, {"a": ensemble("a", 1, [1, 2, 3], [1, 2, 3, 4]),
                                      "b": ensemble("b", 2, [1, 2, 3], [1, 2, 3])})
    assert rc == 0, output
    assert got is not None and got["walks"] == ["a"]
    # How it changes is shown in the run's output, as the role's debug task did.
    assert got["shown"] and any("a-4" in line for line in got["shown"]), got
    assert f'"msg": [\n        "{got["shown"][0]}' in output, output


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


NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"


def srvr_reply(mode: str) -> str:
    return ("Zookeeper version: 3.4.13-2d71af4dbe22557fda74f9a9b4309b15a7487f03, built on "
            "06/29/2018 04:05 GMT\nLatency min/avg/max: 0/0/0\nReceived: 1\nSent: 0\n"
            "Connections: 1\nOutstanding: 0\nZxid: 0x200000005\nMode: " + mode +
            "\nNode count: 4\n")


def answering(electing_for: float, mode: str) -> tuple[int, list[float]]:
    """A loopback server that answers `srvr` as an electing ZooKeeper server for
    `electing_for` seconds from the first time it is asked, then as one in `mode`; its port,
    and when it was asked. Counting from the first question, not from the start, keeps the
    number of questions independent of how long ansible-playbook takes to start on the
    machine. It stops by itself after 30 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    asked: list[float] = []
    start = time.monotonic()

    def serve() -> None:
        with listener:
            while time.monotonic() - start < 30:
                try:
                    conn, _addr = listener.accept()
                except OSError:
                    return
                with conn:
                    if conn.recv(4) == b"srvr":
                        asked.append(time.monotonic() - start)
                        electing = asked[-1] - asked[0] < electing_for
                        conn.sendall((NOT_SERVING if electing else srvr_reply(mode)).encode())

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], asked


def electing_ensemble(electing_for: float) -> tuple[dict[str, Any], list[list[float]]]:
    """Group a: servers 1..3 running with {1,2,3}, all electing when probed (as after a
    partition healed), the inventory adding 4; each answers from a loopback port, the third
    leading once it serves. The plan needs a leader to start from."""
    group = ensemble("a", 1, [1, 2, 3], [1, 2, 3, 4])
    asked = []
    for i in (1, 2, 3, 4):
        host = group["hosts"][f"a-{i}"]
        port, when = answering(electing_for, "leader" if i == 3 else "follower")
        asked.append(when)
        host.update(zookeeper_address="127.0.0.1", zookeeper_client_port=port,
                    ansible_connection="local")
        if i < 4:
            host["__zookeeper_probe"]["mode"] = None
    return group, asked


def test_electing_servers_are_asked_again_and_the_plan_made_once_they_serve(
        tmp_path: Path) -> None:
    group, asked = electing_ensemble(3.0)
    rc, output, got = plan(tmp_path, {"a": group}, settle=30)
    assert rc == 0, output
    assert got is not None and got["walks"] == ["a"]
    # How it changes is shown in the run's output, as the role's debug task did.
    assert got["shown"] and any("a-4" in line for line in got["shown"]), got
    assert f'"msg": [\n        "{got["shown"][0]}' in output, output
    waited = [n for n in got["notes"] if "was electing when the run looked" in n]
    assert len(waited) == 3, got["notes"]
    # The servers elect for 3 s from the first question: the run waits at least that long,
    # and well under its 30 s bound (a round is a module call and a second's sleep).
    assert all(3.0 <= float(n.split("served ")[1].split(" s")[0]) < 15 for n in waited), waited
    # Asked again each round until they served (at least three questions, each round taking
    # a second or more), and only the electing servers (not the stopped member 4).
    assert all(3 <= len(when) <= 8 for when in asked[:3]) and asked[3] == [], asked


def test_the_wait_is_bounded_and_the_refusal_stands_when_they_do_not_serve(
        tmp_path: Path) -> None:
    group, asked = electing_ensemble(60.0)
    start = time.monotonic()
    rc, output, got = plan(tmp_path, {"a": group}, settle=2)
    assert rc != 0 and got is None
    assert "no server of a leads now (a-1 not serving, a-2 not serving, a-3 not serving)" \
        in output, output
    assert time.monotonic() - start < 30 and all(2 <= len(when) <= 5 for when in asked[:3])


def test_without_a_settle_timeout_the_plan_is_made_once(tmp_path: Path) -> None:
    group, asked = electing_ensemble(0.0)
    rc, output, got = plan(tmp_path, {"a": group})
    assert rc != 0 and got is None and "no server of a leads now" in output, output
    assert asked == [[], [], [], []]
