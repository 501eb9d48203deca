"""The zookeeper_validate action plugin, run by ansible-playbook on the role's own
tasks/validate-inventory.yml, on inventories that no host is behind: every host is reached by SSH
at a loopback port nothing listens on, so a step that contacted a host would make it
unreachable instead of giving the role's message. (The members' addresses, zookeeper_address,
are never contacted.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugins import REPO

PLAY = """
- name: Validate the inventory as site.yml does
  hosts: "{{ target | default('zookeeper') }}"
  gather_facts: false
  any_errors_fatal: false
  tasks:
    - name: Validate the inventory before any host is contacted
      ansible.builtin.import_role:
        name: zkops.zookeeper34.zookeeper
        tasks_from: validate-inventory.yml
"""
# The discard port of loopback: nothing listens there on a test machine.
NOWHERE = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}


def inventory(hosts: dict | None = None, group: dict | None = None,
              retired: dict | None = None, **more_groups: dict) -> dict:
    members = {f"zookeeper0{i}": {"zookeeper_address": f"10.9.0.{i}", "zookeeper_id": i}
               for i in (1, 2, 3)}
    for name, changes in (hosts or {}).items():
        members[name].update(changes)
    children = {"zookeeper": {"hosts": members, "vars": group or {}}}
    if retired:
        children["zookeeper_retired"] = {"hosts": retired}
    for name, hosts_of in more_groups.items():
        children[name] = {"hosts": hosts_of, "vars": {"zookeeper_ensemble_group": name}}
    return {"all": {"children": children,
                    "vars": {**NOWHERE, "ansible_python_interpreter": sys.executable}}}


def validate(tmp_path: Path, inv: dict, *options: str, play: str = PLAY) -> tuple[int, str]:
    (tmp_path / "inventory.json").write_text(json.dumps(inv))
    (tmp_path / "play.yml").write_text(play)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.json"), str(tmp_path / "play.yml"), *options],
        capture_output=True, text=True, env=env, check=False, timeout=180, cwd=REPO)
    output = proc.stdout + proc.stderr
    assert "UNREACHABLE" not in output and "unreachable=1" not in output, output
    return proc.returncode, output


def test_a_good_inventory_passes_without_contacting_a_host(tmp_path: Path) -> None:
    rc, output = validate(tmp_path, inventory())
    assert rc == 0, output
    assert "WARNING" not in output
    assert "ok=2" in output  # each host's own check, the ensembles


def test_an_unknown_release_line_is_refused_on_every_host(tmp_path: Path) -> None:
    rc, output = validate(tmp_path, inventory(group={"zookeeper_version": "3.6.4"}))
    assert rc != 0
    for host in ("zookeeper01", "zookeeper02", "zookeeper03"):
        assert (f"{host}: zookeeper_version=3.6.4 is not a release of a line this role deploys "
                "(3.4.N, 3.8.N), so no host was changed; give one of those, such as 3.4.14 or "
                "3.8.4.") in output, output


def test_an_ensemble_problem_stops_every_host_before_its_own_checks(tmp_path: Path) -> None:
    # zookeeper03's wrong type is not reported: the ensemble's refusal comes first, for all.
    rc, output = validate(tmp_path, inventory(hosts={
        "zookeeper02": {"zookeeper_id": 1}, "zookeeper03": {"zookeeper_metrics": "maybe"}}))
    assert rc != 0
    assert "zookeeper02: zookeeper_id=1 is already used by zookeeper01" in output, output
    assert "Validation of arguments failed" not in output, output
    assert "zookeeper_metrics" not in output, output


def test_an_even_member_count_is_warned_about_and_passes(tmp_path: Path) -> None:
    inv = inventory()
    inv["all"]["children"]["zookeeper"]["hosts"]["zookeeper04"] = {
        "zookeeper_address": "10.9.0.4", "zookeeper_id": 4}
    rc, output = validate(tmp_path, inv)
    assert rc == 0, output
    assert "WARNING: the ensemble has 4 members, an even number" in output, output


def test_a_wrong_type_is_refused_as_validate_argument_spec_does(tmp_path: Path) -> None:
    rc, output = validate(tmp_path, inventory(hosts={"zookeeper02": {"zookeeper_metrics": "x"}}))
    assert rc != 0
    assert ("zookeeper02: Validation of arguments failed:\\nargument 'zookeeper_metrics' is of "
            "type str and we were unable to convert to bool") in output, output
    assert output.count('"msg": "zookeeper02: Validation of arguments failed') == 1, output


def test_values_and_switches_are_refused_all_at_once(tmp_path: Path) -> None:
    # Every host's problems at once (each host's own check refuses nothing; the ensembles
    # check after it reports them all).
    rc, output = validate(tmp_path, inventory(hosts={"zookeeper03": {
        "zookeeper_heap_size": "512mb", "zookeeper_reconfig": True,
        "zookeeper_sasl_client_auth": True}, "zookeeper01": {"zookeeper_data_dir": "data"}}))
    assert rc != 0
    for text in ("zookeeper01: zookeeper_data_dir='data' is not an absolute path",
                 "zookeeper03: zookeeper_heap_size='512mb' is not a JVM heap size",
                 "zookeeper03: zookeeper_sasl_client_auth is on but zookeeper_sasl_client_users "
                 "is empty",
                 "zookeeper03: zookeeper_reconfig is on but zookeeper_version=3.4.14 is a 3.4 "
                 "release, which has no dynamic reconfiguration",
                 "zookeeper03: zookeeper_reconfig is on but zookeeper_super_password is empty"):
        assert text in output, output


def test_a_release_without_a_fix_is_warned_about_unless_the_build_has_it(tmp_path: Path) -> None:
    group = {"zookeeper_version": "3.4.13", "zookeeper_quorum_sasl": True,
             "zookeeper_quorum_sasl_password": "secret", "zookeeper_build_fixes": []}
    rc, output = validate(tmp_path, inventory(group=group))
    assert rc == 0, output
    for host in ("zookeeper01", "zookeeper02", "zookeeper03"):
        for cve, why in (("CVE-2023-44981", " (zookeeper_quorum_sasl is on)"),
                         ("CVE-2019-0201", "")):
            assert (f"WARNING: {host}: the Apache ZooKeeper 3.4.13 release (tarball method) "
                    f"lacks the fix for {cve}{why}:") in output, output
    assert ("Apache released it in 3.4.14; Debian 11's package (zookeeper_install_method="
            "package) and ZooKeeper 3.8.3+ have it. If your build is patched, add "
            "CVE-2019-0201 to zookeeper_build_fixes.") in output, output
    group.update(zookeeper_version="3.4.14", zookeeper_quorum_sasl=False)
    rc, output = validate(tmp_path, inventory(group=group))
    assert rc == 0 and "lacks the fix" not in output, output
    group.update(zookeeper_quorum_sasl=True,
                 zookeeper_build_fixes=["CVE-2023-44981", "CVE-2019-0201"])
    rc, output = validate(tmp_path, inventory(group=group))
    assert rc == 0 and "lacks the fix" not in output, output


@pytest.mark.parametrize("case", ["both", "several ensembles", "no id"])
def test_retired_hosts(tmp_path: Path, case: str) -> None:
    if case == "both":
        inv = inventory(retired={"zookeeper03": {}})
        expected = ("zookeeper03: in both groups zookeeper and zookeeper_retired; a host either "
                    "stays a member or leaves the ensemble")
    elif case == "several ensembles":
        kafka = {f"kafka0{i}": {"zookeeper_address": f"10.9.1.{i}", "zookeeper_id": i,
                                "zookeeper_ensemble_name": "kafka"} for i in (1, 2, 3)}
        retired = {"zookeeper09": {"zookeeper_address": "10.9.0.9", "zookeeper_id": 9}}
        inv = inventory(retired=retired, kafka=kafka)
        inv["all"]["children"]["zookeeper"]["vars"]["zookeeper_ensemble_name"] = "main"
        expected = ("Group zookeeper_retired has hosts (zookeeper09) while this run covers "
                    "several ensembles (zookeeper, kafka), so no host was changed")
    else:
        inv = inventory(retired={"zookeeper09": {"zookeeper_address": "10.9.0.9"}})
        expected = "zookeeper09: zookeeper_id is missing; give every ensemble member an integer"
    rc, output = validate(tmp_path, inv, "-e", "target=zookeeper:kafka")
    assert rc != 0
    assert expected in output, output


def test_the_ensembles_check_refuses_hosts_whose_own_check_did_not_run(tmp_path: Path) -> None:
    alone = """
- name: The ensembles check without each host's own
  hosts: zookeeper
  gather_facts: false
  tasks:
    - name: Check the ensembles
      zkops.zookeeper34.zookeeper_validate:
        ensembles: true
      run_once: true
"""
    rc, output = validate(tmp_path, inventory(), play=alone)
    assert rc != 0
    assert ("zookeeper01, zookeeper02, zookeeper03: not checked on their own (the task before "
            "this one, which registers __zookeeper_validated, did not run on them)") in output, \
        output
    assert "is not a port" not in output, output
