"""The java_check action plugin, run by ansible-playbook on the java role's own
tasks/validate.yml. Where the Java was found already (the zookeeper role's probe, given here as
__zookeeper_probe.java) the host is reached by SSH at a loopback port nothing listens on, so a
step that contacted it would make it unreachable; where the action is to look itself, the host is
this machine (local connection) and its java binary a small script that prints as the JVM does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugins import NOWHERE, inventory_play, reported_numbers

PLAY = """
- name: Check Java as site.yml's pre_tasks do
  hosts: all
  gather_facts: false
  tasks:
    - name: Check
      ansible.builtin.import_role:
        name: zkops.zookeeper34.java
        tasks_from: validate.yml
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ {'expected': java_expected_major,
          'major': java_major_version | default('unset'),
          'pending': __java_install_pending, 'package': __java_package_name,
          'distribution': ansible_facts['distribution'] | default('unset')} | to_json }}"
"""
LOCAL = {"ansible_connection": "local"}


def check(tmp_path: Path, host: dict[str, Any]) -> tuple[int, str, dict[str, Any] | None]:
    """The play on one host `zk1` with these variables: its return code, output, and what the
    role recorded (None when it failed)."""
    rc, output = inventory_play(tmp_path, PLAY, {"hosts": {"zk1": host}})
    return rc, output, reported_numbers(output)


def probed(**java: Any) -> dict[str, Any]:
    """A host the zookeeper role's probe looked at already (its `java`)."""
    return {**NOWHERE, "__zookeeper_probe": {"java": {
        "package": "openjdk-17-jre-headless", "package_state": "installed", "version_rc": 0,
        "stderr": 'openjdk version "17.0.2" 2022-01-18', **java}}}


def test_a_java_found_running_is_recorded_without_contacting_the_host(tmp_path: Path) -> None:
    rc, output, got = check(tmp_path, probed())
    assert rc == 0, output
    assert got == {"expected": 17, "major": 17, "pending": False,
                   "package": "openjdk-17-jre-headless", "distribution": "unset"}, output


def test_a_version_from_the_runtime_release_file_is_recorded(tmp_path: Path) -> None:
    """The probe read the runtime's release file (no `java -version` output)."""
    rc, output, got = check(tmp_path, probed(stderr="", version="1.8.0_412",
                                             version_from="/usr/lib/jvm/java-8/release"))
    assert rc == 0, output
    assert (got["expected"], got["major"]) == (8, 8), output


def test_a_missing_package_the_run_installs_gives_its_major(tmp_path: Path) -> None:
    rc, output, got = check(tmp_path, probed(
        package="java-1.8.0-openjdk-headless", package_state="missing", version_rc=127,
        stderr="", msg="/usr/bin/java does not exist or cannot be run"))
    assert rc == 0, output
    assert got is not None and (got["expected"], got["major"], got["pending"]) == (8, "unset", True)


def test_a_binary_that_is_not_the_package_jvm_is_refused(tmp_path: Path) -> None:
    rc, output, got = check(tmp_path, {**probed(version_rc=127, stderr="", msg=(
        "/opt/jdk/bin/java does not exist or cannot be run")), "java_binary": "/opt/jdk/bin/java"})
    assert rc != 0 and got is None
    assert ("zk1: `/opt/jdk/bin/java -version` failed (/opt/jdk/bin/java does not exist or "
            "cannot be run), so no host was changed. The package openjdk-17-jre-headless is "
            "installed, so java_binary is not the JVM it installs") in output, output


def test_the_variables_are_checked_before_the_host_is_looked_at(tmp_path: Path) -> None:
    # No __zookeeper_probe: the action would call java_probe on the host (unreachable) after
    # the argument specs.
    rc, output, got = check(tmp_path, {**NOWHERE, "java_install": "maybe"})
    assert rc != 0 and got is None
    assert "Validation of arguments failed" in output and "java_install" in output, output


def test_without_a_look_it_probes_the_host(tmp_path: Path) -> None:
    jvm = tmp_path / "java"
    jvm.write_text('#!/bin/sh\necho \'openjdk version "11.0.20" 2023-07-18\' >&2\n')
    jvm.chmod(0o755)
    rc, output, got = check(tmp_path, {**LOCAL, "java_binary": str(jvm), "java_install": False})
    assert rc == 0, output
    assert got is not None and (got["expected"], got["major"], got["pending"]) == (11, 11, False)
    # java_probe's distribution facts, as setup names them.
    assert got["distribution"] != "unset", output


def test_without_a_look_a_missing_binary_is_refused(tmp_path: Path) -> None:
    rc, output, got = check(tmp_path, {**LOCAL, "java_binary": str(tmp_path / "none" / "java"),
                                       "java_install": False})
    assert rc != 0 and got is None
    assert (f"zk1: `{tmp_path}/none/java -version` failed ({tmp_path}/none/java does not "
            "exist or cannot be run), so no host was changed. With java_install=False, set "
            "java_binary to an installed JVM") in output, output
