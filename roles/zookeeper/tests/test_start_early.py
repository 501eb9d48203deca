"""When the write of a new server's files starts it (`__zookeeper_start_early`, vars/main.yml):
only where nothing the service phase does before its start applies to the host; when that
write puts the release in place too (`__zookeeper_release_with_config`), and that the install
phase, skipped there, has nothing left to do. Rendered by
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


def probe(unit: bool = False, firewall_unit: bool = False,
          release: bool = False) -> dict[str, Any]:
    """What zookeeper_probe says of the two units' files and of the release's lib."""
    return {"paths": {UNIT: {"exists": unit}, FIREWALL_UNIT: {"exists": firewall_unit},
                      RELEASE_LIB: {"exists": release}}}


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
           what: str = "__zookeeper_start_early", expression: str = "") -> dict[str, bool]:
    """Each host's `what` (or `expression`, said as `what`), from an ansible-playbook run with
    `flags`."""
    inventory = {"all": {"hosts": {name: dict(NEW, **given) for name, given in hosts.items()},
                         "vars": dict(DEFAULTS, ansible_connection="local",
                                      ansible_python_interpreter=sys.executable)}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY.format(role=ROLE, what=what,
                                                   expression=expression or what))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.json"), str(tmp_path / "play.yml"), *flags],
        capture_output=True, text=True, env=env, check=False, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    said = dict(re.findall(rf'"{what} (\S+) (True|False)"', proc.stdout))
    assert set(said) == set(hosts), proc.stdout[-3000:]
    return {name: value == "True" for name, value in said.items()}


def test_only_a_new_host_that_nothing_else_must_precede_starts_with_its_files(
        tmp_path: Path) -> None:
    said = render(tmp_path, {name: case[0] for name, case in CASES.items()})
    assert said == {name: case[1] for name, case in CASES.items()}


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
