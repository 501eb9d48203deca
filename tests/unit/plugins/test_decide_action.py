"""The zookeeper_decide action plugin, run by ansible-playbook on a host that is never contacted
(SSH to a loopback port nothing listens on): the host's problems fail the task, all of them, and
then nothing of the decision is rendered; without problems, each phase's variable is rendered as
a boolean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugins import NOWHERE, REPO, inventory_play, reported, reported_numbers

PLAY = """
- name: Decide as the zookeeper role's host checks do
  hosts: all
  gather_facts: false
  vars:
    # Rendering it fails: the decision of a host with problems must not be rendered.
    todo_broken: "{{ no_such_variable.anywhere }}"
  tasks:
    - name: Check, then decide
      zkops.zookeeper34.zookeeper_decide:
        problems: problems
        phases: "{{ phases }}"
      register: decision
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ decision.todo | to_json }}"
"""


def decide(tmp_path: Path, **host: Any) -> tuple[int, str, dict[str, Any] | None]:
    rc, output = inventory_play(tmp_path, PLAY, {"hosts": {"zk1": {**NOWHERE, **host}}})
    return rc, output, reported(output)


def test_without_problems_each_phase_is_decided(tmp_path: Path) -> None:
    rc, output, todo = decide(
        tmp_path, problems="{{ ['', ''] | select | list }}",
        install="{{ 1 == 2 }}", config="{{ 'x' in ['x'] }}", service="False", metrics="yes",
        phases={"install": "install", "config": "config", "service": "service",
                "metrics": "metrics"})
    assert rc == 0, output
    assert todo == {"install": False, "config": True, "service": False, "metrics": True}


def test_problems_fail_the_host_and_nothing_of_the_decision_is_rendered(tmp_path: Path) -> None:
    rc, output, todo = decide(tmp_path, problems=["zk1: the first problem", "",
                                                  "zk1: the second problem"],
                              phases={"install": "todo_broken"})
    assert rc != 0 and todo is None
    assert '"msg": "zk1: the first problem\\nzk1: the second problem"' in output, output
    assert "is undefined" not in output, output


def test_a_broken_decision_is_an_error_not_a_skipped_phase(tmp_path: Path) -> None:
    rc, output, todo = decide(tmp_path, problems=[], phases={"install": "todo_broken"})
    assert rc != 0 and todo is None
    assert "'no_such_variable' is undefined" in output, output


# The short path's variable (site.yml's tasks/new-server.yml), named as the phases' are.
NEW_SERVER_PLAY = PLAY.replace(
    '        phases: "{{ phases }}"\n',
    '        phases: "{{ phases }}"\n        new_server: "{{ new_server_var | default(omit) }}"\n'
).replace("decision.todo | to_json", "{'new_server': decision.new_server} | to_json")


def test_the_new_server_variable_is_rendered_with_the_decision(tmp_path: Path) -> None:
    for given, expected in (({"new_server_var": "yes_var", "yes_var": "{{ 1 == 1 }}"}, True),
                            ({"new_server_var": "no_var", "no_var": "False"}, False),
                            ({}, False)):
        rc, output = inventory_play(tmp_path, NEW_SERVER_PLAY, {"hosts": {"zk1": {
            **NOWHERE, "problems": [], "phases": {}, **given}}})
        assert rc == 0, output
        assert reported(output) == {"new_server": expected}, (given, output)
    # not on a host with problems
    rc, output = inventory_play(tmp_path, NEW_SERVER_PLAY, {"hosts": {"zk1": {
        **NOWHERE, "problems": ["zk1: a problem"], "phases": {}, "new_server_var": "todo_broken"}}})
    assert rc != 0 and reported(output) is None
    assert '"msg": "zk1: a problem"' in output and "is undefined" not in output, output


def test_problems_that_are_not_a_list_are_an_error(tmp_path: Path) -> None:
    rc, output, todo = decide(tmp_path, problems="one problem", phases={})
    assert rc != 0 and todo is None
    assert "problems is not a list" in output, output


# site.yml's host checks make the java role's check first (tasks/checks.yml), in the same step;
# the java role's own vars file gives its variables from the decision.
JAVA_PLAY = """
- name: Check Java and the host as site.yml's host checks do
  hosts: all
  gather_facts: false
  vars_files:
    - {roles}/java/vars/main.yml
  vars:
    todo_broken: "{{{{ no_such_variable.anywhere }}}}"
    too_new: >-
      {{{{ ['Java ' ~ java_expected_major ~ ' is too new']
      if java_expected_major | int > 11 else [] }}}}
  tasks:
    - name: Check, then decide
      zkops.zookeeper34.zookeeper_decide:
        problems: "{{{{ problems_from | default('too_new') }}}}"
        java:
          spec: {roles}/java/meta/argument_specs.yml
          found: "{{{{ found }}}}"
        phases: "{{{{ phases }}}}"
      register: __zookeeper_decision
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{{{ {{'todo': __zookeeper_decision.todo, 'expected': java_expected_major,
          'pending': __java_install_pending, 'package': __java_package_name}} | to_json }}}}"
"""


def decide_with_java(tmp_path: Path, found: dict[str, Any], **host: Any
                     ) -> tuple[int, str, dict[str, Any] | None]:
    play = JAVA_PLAY.format(roles=REPO / "roles")
    rc, output = inventory_play(tmp_path, play, {"hosts": {"zk1": {
        **NOWHERE, "found": found, "phases": {"config": "config"}, "config": "yes", **host}}})
    return rc, output, reported_numbers(output)


def java_found(major: str, **found: Any) -> dict[str, Any]:
    return {"package": f"openjdk-{major}-jre-headless", "package_state": "installed",
            "version_rc": 0, "stderr": f'openjdk version "{major}.0.2" 2022-01-18', **found}


def test_the_java_check_comes_first_and_the_java_role_reads_it(tmp_path: Path) -> None:
    rc, output, got = decide_with_java(tmp_path, java_found("11"))
    assert rc == 0, output
    assert got == {"todo": {"config": True}, "expected": 11, "pending": False,
                   "package": "openjdk-11-jre-headless"}, output


def test_the_host_checks_read_the_java_it_found(tmp_path: Path) -> None:
    rc, output, got = decide_with_java(tmp_path, java_found("17"),
                                       phases={"config": "todo_broken"})
    assert rc != 0 and got is None
    assert '"msg": "Java 17 is too new"' in output, output
    assert "is undefined" not in output, output


def test_a_package_the_run_installs_is_the_java_it_would_leave(tmp_path: Path) -> None:
    rc, output, got = decide_with_java(tmp_path, java_found(
        "17", package_state="missing", version_rc=127, stderr="",
        msg="/usr/bin/java does not exist or cannot be run"))
    assert rc != 0 and got is None
    assert '"msg": "Java 17 is too new"' in output, output


def test_a_java_refused_fails_the_step_before_the_host_checks(tmp_path: Path) -> None:
    rc, output, got = decide_with_java(
        tmp_path, java_found("11", version_rc=127, stderr="", msg="/usr/bin/java: not found"),
        java_install=False, problems_from="todo_broken")
    assert rc != 0 and got is None
    assert ("zk1: `/usr/bin/java -version` failed (/usr/bin/java: not found), so no host was "
            "changed. With java_install=False") in output, output
    assert "is undefined" not in output, output


def test_the_java_role_variables_are_checked_against_its_specs(tmp_path: Path) -> None:
    rc, output, got = decide_with_java(tmp_path, java_found("11"), java_install="maybe")
    assert rc != 0 and got is None
    assert "Validation of arguments failed" in output and "java_install" in output, output
