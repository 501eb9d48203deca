"""When the write of a new server's files starts it (`__zookeeper_start_early`, vars/main.yml):
only where nothing the service phase does before its start applies to the host; when that
write puts the release in place too (`__zookeeper_release_with_config`), and that the install
phase, skipped there, has nothing left to do; when that write is the host's whole converge
(`__zookeeper_new_server`) and site.yml's short path takes the host (`__zookeeper_new_ensemble`:
every member of its ensemble in the play is such a server). Rendered by
ansible-playbook itself (the role's defaults as the inventory's lowest layer, its vars as the role
gives them, real `--tags`, `--skip-tags` and `--check`), one host per case, each given what the
probe, the membership plan and the Java check would have said of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[1]
UNIT = "/etc/systemd/system/zookeeper.service"
FIREWALL_UNIT = "/etc/systemd/system/zookeeper-firewall.service"
PLAY = """
- name: Render {what}
  hosts: all
  gather_facts: false
  tasks:
    - name: The role's vars (above the inventory's, as a role's are)
      ansible.builtin.include_vars:
        file: "{role}/vars/main.yml"
      tags: [always]
    - name: Say it
      ansible.builtin.debug:
        msg: "{what} {{{{ inventory_hostname }}}} {{{{ ({expression}) | bool }}}}"
      tags: [always]
"""
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
# The release's lib directory, where the role looks for a release in place (the default version).
RELEASE_LIB = f"{DEFAULTS['zookeeper_install_root']}/zookeeper-{DEFAULTS['zookeeper_version']}/lib"


# The metrics collector's files (none on a new host: no collector to remove).
METRICS_FILES = ["/etc/systemd/system/zookeeper-metrics.timer",
                 "/etc/systemd/system/zookeeper-metrics.service",
                 "/usr/local/sbin/zookeeper-metrics",
                 f"{DEFAULTS['zookeeper_metrics_textfile_dir']}/zookeeper.prom"]


def probe(unit: bool = False, firewall_unit: bool = False,
          release: bool = False) -> dict[str, Any]:
    """What zookeeper_probe says of the two units' files, of the release's lib and of the
    metrics collector's files."""
    return {"paths": {UNIT: {"exists": unit}, FIREWALL_UNIT: {"exists": firewall_unit},
                      RELEASE_LIB: {"exists": release},
                      **{path: {"exists": False} for path in METRICS_FILES}}}


# A new host: no unit, no firewall unit, no membership walk, Java 11 (the default max is 17).
NEW = {"__zookeeper_probe": probe(),
       "__zookeeper_membership": {"plans": {"zookeeper": {"walk": False, "steps": []}}},
       "java_major_version": 11}
CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "new_host": ({}, True),
    "unit_there_before": ({"__zookeeper_probe": probe(unit=True)}, False),
    "firewall_on": ({"zookeeper_firewall": True}, False),
    "firewall_to_remove": ({"__zookeeper_probe": probe(firewall_unit=True)}, False),
    "membership_walk": ({"__zookeeper_membership": {
        "plans": {"zookeeper": {"walk": True, "steps": []}}}}, False),
    "java_too_new": ({"java_major_version": 21}, False),
}


def render(tmp_path: Path, hosts: dict[str, dict[str, Any]], *flags: str,
           what: str = "__zookeeper_start_early", expression: str = "",
           groups: dict[str, list[str]] | None = None) -> dict[str, bool]:
    """Each host's `what` (or `expression`, said as `what`), from an ansible-playbook run with
    `flags`; `groups` puts the hosts in groups, each an ensemble (zookeeper_ensemble_group)."""
    inventory: dict[str, Any] = {"all": {
        "hosts": {name: dict(NEW, **given) for name, given in hosts.items()},
        "vars": dict(DEFAULTS, ansible_connection="local",
                     ansible_python_interpreter=sys.executable)}}
    if groups:
        inventory["all"]["children"] = {
            group: {"hosts": {name: {} for name in members},
                    "vars": {"zookeeper_ensemble_group": group}}
            for group, members in groups.items()}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY.format(role=ROLE, what=what,
                                                   expression=expression or what))
    # (the collection's filters, which some of the role's variables use)
    (tmp_path / "ansible.cfg").write_text(
        f"[defaults]\ncollections_path = {ROLE.parents[1] / '.collections'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.json"), str(tmp_path / "play.yml"), *flags],
        capture_output=True, text=True, env=env, check=False, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    said = dict(re.findall(rf'"{what} (\S+) (True|False)"', proc.stdout))
    played = (flags[flags.index("--limit") + 1].split(",") if "--limit" in flags else hosts)
    assert set(said) == set(played), proc.stdout[-3000:]
    return {name: value == "True" for name, value in said.items()}


def test_only_a_new_host_that_nothing_else_must_precede_starts_with_its_files(
        tmp_path: Path) -> None:
    said = render(tmp_path, {name: case[0] for name, case in CASES.items()})
    assert said == {name: case[1] for name, case in CASES.items()}


def test_skipping_tags_that_no_task_has_leaves_the_run_untagged(tmp_path: Path) -> None:
    """Molecule skips molecule-notest and notest on every run: its converges take the path a
    user's run without tags takes (the early start, the release in the files' call, site.yml's
    short path), so its scenarios test that path."""
    said = render(tmp_path, {"new_host": {}}, "--skip-tags", "molecule-notest,notest",
                  what="__zookeeper_untagged_run")
    assert said == {"new_host": True}
    assert render(tmp_path, {"new_host": {}}, "--skip-tags", "notest,zookeeper_service",
                  what="__zookeeper_untagged_run") == {"new_host": False}


@pytest.mark.parametrize("flags", [("--tags", "zookeeper_config"),
                                   ("--skip-tags", "zookeeper_metrics"), ("--check",)])
def test_a_run_that_selects_tags_or_checks_starts_nothing_early(
        tmp_path: Path, flags: tuple[str, ...]) -> None:
    """Under --tags or --skip-tags the service phase may not run at all (a --tags
    zookeeper_config run must leave a new server stopped), and check mode starts nothing."""
    assert render(tmp_path, {"new_host": {}}, *flags) == {"new_host": False}


RELEASE_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "new_host": ({}, True),
    "release_there": ({"__zookeeper_probe": probe(release=True)}, False),
    # an upgrade, or a release directory cut short under a server: the install phase's own step
    "unit_there_before": ({"__zookeeper_probe": probe(unit=True)}, False),
    "package_method": ({"zookeeper_install_method": "package"}, False),
    # tasks/tls.yml writes into the account's directories before the files' call
    "tls": ({"zookeeper_tls_quorum": True}, False),
}


def test_the_files_call_puts_the_release_in_place_only_on_a_new_tarball_host(
        tmp_path: Path) -> None:
    said = render(tmp_path, {name: case[0] for name, case in RELEASE_CASES.items()},
                  what="__zookeeper_release_with_config")
    assert said == {name: case[1] for name, case in RELEASE_CASES.items()}


@pytest.mark.parametrize("flags", [("--tags", "zookeeper_config"),
                                   ("--skip-tags", "zookeeper_metrics"), ("--check",)])
def test_a_run_that_selects_tags_or_checks_fetches_the_release_in_its_own_step(
        tmp_path: Path, flags: tuple[str, ...]) -> None:
    """Under --tags zookeeper_config the install phase does not run: no release is to be
    fetched; check mode reads the published sha512 in the release's own step."""
    assert render(tmp_path, {"new_host": {}}, *flags,
                  what="__zookeeper_release_with_config") == {"new_host": False}


def test_nothing_is_left_for_the_install_phase_where_the_files_call_puts_the_release(
        tmp_path: Path) -> None:
    """tasks/phases.yml skips the install phase there: each of its tasks must have nothing to do
    (a task added to tasks/install.yml that the config phase's call does not cover fails this)."""
    tasks = yaml.safe_load((ROLE / "tasks" / "install.yml").read_text())
    # no account either (the probe's words for it)
    new_host = {"__zookeeper_probe": dict(probe(), group_exists=False, user={"exists": False})}
    for number, task in enumerate(tasks):
        when = task.get("when", "true")
        expression = " and ".join(f"({w})" for w in when) if isinstance(when, list) else when
        said = render(tmp_path, {"new_host": new_host}, what=f"INSTALL_TASK_{number}",
                      expression=expression)
        assert said == {"new_host": False}, f"{task['name']} would run on a new server"
    assert render(tmp_path, {"new_host": new_host},
                  what="__zookeeper_release_with_config") == {"new_host": True}


# What the write of a new server's files returned (tasks/config.yml registers it), and whether
# the service phase's steps up to the start (tasks/service-start.yml, the start step among them)
# are then left out on the host (__zookeeper_started_early); the host checks decided the config
# phase has work (__zookeeper_todo reads their decision).
WRITTEN_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "started_and_enabled": ({"__zookeeper_written": {"started": True, "enabled": True}}, True),
    "enable_failed": ({"__zookeeper_written": {"started": True, "enabled": False}}, False),
    "start_failed": ({"__zookeeper_written": {"started": False, "enabled": False}}, False),
    "not_started_early": ({"__zookeeper_written": {"started": False, "enabled": None}}, False),
    "left_disabled_as_asked": ({"zookeeper_service_enabled": False,
                                "__zookeeper_written": {"started": True, "enabled": False}}, True),
    "enabled_against_the_inventory": ({"zookeeper_service_enabled": False, "__zookeeper_written": {
        "started": True, "enabled": True}}, False),
    # a pass whose config phase did not run reads no earlier pass's write
    "earlier_pass": ({"__zookeeper_decision": {"todo": {"config": False}}, "__zookeeper_written": {
        "started": True, "enabled": True}}, False),
    "skipped_write": ({"__zookeeper_written": {"skipped": True}}, False),
}


def test_the_start_step_is_left_out_only_where_the_write_started_and_enabled_the_server(
        tmp_path: Path) -> None:
    """The start step is the one that reports a start or an enable that failed (with the unit's
    journal), and the restart handler leaves a server the write started as it is."""
    hosts = {name: dict({"__zookeeper_decision": {"todo": {"config": True}}}, **case[0])
             for name, case in WRITTEN_CASES.items()}
    said = render(tmp_path, hosts, what="__zookeeper_started_early")
    assert said == {name: case[1] for name, case in WRITTEN_CASES.items()}
    by_write = render(tmp_path, hosts, what="__zookeeper_started_by_write")
    assert {name for name, value in by_write.items() if value} == {
        "started_and_enabled", "enable_failed", "left_disabled_as_asked",
        "enabled_against_the_inventory"}


# A new server for which the write of its files is the whole converge (__zookeeper_new_server,
# decided by the host checks): site.yml's short path, tasks/new-server.yml. Rendered for hosts
# of one ensemble (group zookeeper), none of whose servers runs (the membership plugin's words;
# "walk" is a case's membership walk).
def membership(walk: bool, members: int) -> dict[str, Any]:
    return {"__zookeeper_membership": {
        "plans": {"zookeeper": {"walk": walk, "steps": []}},
        "found": {"zookeeper": [{"quorum_tls": None}] * members}}}


NEW_SERVER_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "new_host": ({}, True),
    # the write neither puts the release in place nor starts the server
    "unit_there_before": ({"__zookeeper_probe": probe(unit=True)}, False),
    "release_there": ({"__zookeeper_probe": probe(release=True)}, False),
    "package_method": ({"zookeeper_install_method": "package"}, False),
    "firewall_on": ({"zookeeper_firewall": True}, False),
    "membership_walk": ({"walk": True}, False),
    # TLS files go in place before the write; the metrics collector after the start
    "tls": ({"zookeeper_tls_client": True}, False),
    "metrics_on": ({"zookeeper_metrics": True}, False),
}


def render_new_server(tmp_path: Path, hosts: dict[str, dict[str, Any]],
                      *flags: str) -> dict[str, bool]:
    given = {name: {**membership(case.get("walk", False), len(hosts)),
                    **{key: value for key, value in case.items() if key != "walk"}}
             for name, case in hosts.items()}
    return render(tmp_path, given, *flags, what="__zookeeper_new_server",
                  groups={"zookeeper": list(hosts)})


def test_a_new_server_is_one_the_write_of_its_files_puts_in_place_and_starts(
        tmp_path: Path) -> None:
    said = render_new_server(tmp_path, {name: case[0] for name, case in NEW_SERVER_CASES.items()})
    assert said == {name: case[1] for name, case in NEW_SERVER_CASES.items()}


@pytest.mark.parametrize("flags", [("--tags", "zookeeper"), ("--check",)])
def test_a_tagged_or_checking_run_has_no_new_server_to_start(
        tmp_path: Path, flags: tuple[str, ...]) -> None:
    assert render_new_server(tmp_path, {"new_host": {}}, *flags) == {"new_host": False}


def test_the_short_path_is_taken_only_where_every_member_in_the_play_takes_it(
        tmp_path: Path) -> None:
    """A server of the short path waits there until it serves, before any member on the phases'
    path starts: with one such member in an ensemble of three, it would wait alone (seen on the
    lab with the condition per host: "did not serve as follower or leader within 15 s")."""
    def decided(new_server: bool) -> dict[str, Any]:
        return {"__zookeeper_decision": {"todo": {}, "new_server": new_server}}

    hosts = {"a1": decided(True), "a2": decided(True), "a3": decided(True),
             "b1": decided(True), "b2": decided(False), "b3": decided(False)}
    said = render(tmp_path, hosts, what="__zookeeper_new_ensemble",
                  groups={"zk_a": ["a1", "a2", "a3"], "zk_b": ["b1", "b2", "b3"]})
    assert said == {"a1": True, "a2": True, "a3": True, "b1": False, "b2": False, "b3": False}
    # only the members in the play count: b3, on the phases' path, is left out of it (a
    # running member, say, which the new ones join)
    said = render(tmp_path, hosts, "--limit", "a1,a2,b1,b2", what="__zookeeper_new_ensemble",
                  groups={"zk_a": ["a1", "a2", "a3"], "zk_b": ["b1", "b2", "b3"]})
    assert said == {"a1": True, "a2": True, "b1": False, "b2": False}
    said = render(tmp_path, hosts, "--limit", "b1", what="__zookeeper_new_ensemble",
                  groups={"zk_a": ["a1", "a2", "a3"], "zk_b": ["b1", "b2", "b3"]})
    assert said == {"b1": True}


def test_the_write_waits_for_its_server_only_where_every_host_of_the_play_runs_it_at_once(
        tmp_path: Path) -> None:
    """On the short path the write waits until its server serves (`__zookeeper_serve_in_write`)
    only where the play's hosts are at most `forks`: with fewer workers than hosts, a waiting
    write could hold the worker that another member of its ensemble needs to start."""
    def decided(new_server: bool) -> dict[str, Any]:
        return {"__zookeeper_decision": {"todo": {}, "new_server": new_server}}

    hosts = {"a1": decided(True), "a2": decided(True), "a3": decided(True),
             "b1": decided(True), "b2": decided(False), "b3": decided(False)}
    groups = {"zk_a": ["a1", "a2", "a3"], "zk_b": ["b1", "b2", "b3"]}
    said = render(tmp_path, hosts, "--forks", "6", what="__zookeeper_serve_in_write",
                  groups=groups)
    assert said == {"a1": True, "a2": True, "a3": True, "b1": False, "b2": False, "b3": False}
    said = render(tmp_path, hosts, "--forks", "5", what="__zookeeper_serve_in_write",
                  groups=groups)
    assert not any(said.values()), said
    said = render(tmp_path, hosts, "--forks", "3", "--limit", "a1,a2,a3",
                  what="__zookeeper_serve_in_write", groups=groups)
    assert said == {"a1": True, "a2": True, "a3": True}
