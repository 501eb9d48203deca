"""What each install method needs before any host changes, checked by zookeeper_validate
(plugins/plugin_utils/zookeeper_methods.py): the local method's tarball on the controller, the
package method's package on the host's distribution. The first tests run ansible-playbook on the
role's tasks/validate-inventory.yml as site.yml does (test_validate_action.py's harness: a host
that is contacted where it should not be is unreachable); the last ones call the helpers on
files made here."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import pytest
from plugins import REPO
from test_validate_action import inventory, validate

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import zookeeper_methods as methods

VARS = REPO / "roles/zookeeper/vars"
INTRO = ("zookeeper_install_method=local needs zookeeper_local_tarball, a release tarball on the "
         "controller")


def release(folder: Path, sha512: bool = True, asc: bool = True, body: bytes = b"release") -> Path:
    """A stand-in release tarball with its .sha512 (sha512sum's format) and .asc beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / "zookeeper-3.4.13.tar.gz"
    tarball.write_bytes(body)
    if sha512:
        (folder / f"{tarball.name}.sha512").write_text(
            f"{hashlib.sha512(body).hexdigest()}  {tarball.name}\n")
    if asc:
        (folder / f"{tarball.name}.asc").write_text("signature\n")
    return tarball


def local(tarball: Path, **more: object) -> dict:
    return {"zookeeper_install_method": "local", "zookeeper_local_tarball": str(tarball), **more}


def test_a_good_local_tarball_passes_without_contacting_a_host(tmp_path: Path) -> None:
    rc, output = validate(tmp_path, inventory(group=local(release(tmp_path / "r"))))
    assert rc == 0, output
    assert INTRO not in output, output


@pytest.mark.parametrize("case", ["missing", "wrong sha512", "no sha512", "bad sha512 file",
                                  "no asc"])
def test_a_local_tarball_is_refused_naming_the_host_and_the_file(tmp_path: Path, case: str) -> None:
    tarball = release(tmp_path / "r", sha512=case != "no sha512", asc=case != "no asc")
    group = local(tarball)
    if case == "missing":
        group = local(tmp_path / "nowhere.tar.gz")
        expected = f"zookeeper01: {INTRO}: {tmp_path}/nowhere.tar.gz was not found."
    elif case == "wrong sha512":
        group["zookeeper_checksum"] = "0" * 128
        expected = (f"zookeeper01: {INTRO}: its sha512 {hashlib.sha512(b'release').hexdigest()} "
                    f"does not match the expected {'0' * 128}; fetch the release again or "
                    "correct zookeeper_checksum.")
    elif case == "no sha512":
        expected = (f"zookeeper01: {INTRO}, and its sha512 in zookeeper_checksum or in "
                    f"{tarball}.sha512.")
    elif case == "bad sha512 file":
        Path(f"{tarball}.sha512").write_text("not a digest\n")
        expected = f"zookeeper01: {tarball}.sha512: no sha512 digest in the checksum file"
    else:
        expected = (f"zookeeper01: {INTRO}, and its signature beside it: {tarball}.asc was not "
                    "found; put the .asc Apache publishes with the release there, or set "
                    "zookeeper_signature_check=false")
    rc, output = validate(tmp_path, inventory(group=group))
    assert rc != 0
    assert expected in output, output
    # Every host of the play is checked, each named.
    assert all(f"{host}: " in output for host in ("zookeeper02", "zookeeper03")), output
    if case == "no asc":
        unchecked = {**group, "zookeeper_signature_check": False}
        rc, output = validate(tmp_path, inventory(group=unchecked))
        assert rc == 0, output


def test_each_host_s_own_local_tarball_is_checked(tmp_path: Path) -> None:
    # The run-once assert of the role until now checked the first host's tarball alone.
    good = release(tmp_path / "good")
    bad = release(tmp_path / "bad", body=b"changed")
    Path(f"{bad}.sha512").write_text(Path(f"{good}.sha512").read_text())
    rc, output = validate(tmp_path, inventory(group=local(good),
                                              hosts={"zookeeper03": local(bad)}))
    assert rc != 0
    assert f"zookeeper03: {INTRO}: its sha512 {hashlib.sha512(b'changed').hexdigest()}" in output
    assert f"zookeeper01: {INTRO}" not in output and f"zookeeper02: {INTRO}" not in output, output


PACKAGE_PLAY = """
- name: Validate the inventory as site.yml does, then show what the role takes of the package
  hosts: zookeeper
  gather_facts: false
  tasks:
    - name: Validate the inventory before any host is contacted
      ansible.builtin.import_role:
        name: zkops.zookeeper34.zookeeper
        tasks_from: validate-inventory.yml
    - name: Show the package, the release and the distribution facts
      ansible.builtin.debug:
        msg: >-
          SHOWN {{ {'host': inventory_hostname, 'package': __zookeeper_package,
          'version': __zookeeper_version, 'facts': ansible_facts | default({})}
          | to_json | b64encode }} END
"""


def shown(output: str) -> dict[str, dict]:
    """What each host showed, by host (the hosts answer in whatever order they finish)."""
    found = [json.loads(base64.b64decode(line.split("SHOWN ", 1)[1].split(" END", 1)[0]))
             for line in output.splitlines() if "SHOWN " in line]
    return {item.pop("host"): item for item in found}


def this_machine_package() -> str:
    """The ZooKeeper release the role's vars files give this machine's distribution, told from
    /etc/os-release apart from Ansible's facts ('' for a distribution without a package)."""
    fields = dict(line.split("=", 1) for line in
                  Path("/etc/os-release").read_text().splitlines() if "=" in line)
    name = fields.get("ID", "").strip('"')
    major = fields.get("VERSION_ID", "").strip('"').split(".")[0]
    return {("debian", "11"): "3.4.13", ("debian", "12"): "3.8.0"}.get((name, major), "")


def test_the_package_method_reads_the_distribution_and_its_package(tmp_path: Path) -> None:
    # zookeeper01 runs here (a local connection: its distribution is this machine's); the
    # others keep the tarball method at an address nothing answers, so they are not contacted.
    this = {"zookeeper_install_method": "package", "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable}
    rc, output = validate(tmp_path, inventory(hosts={"zookeeper01": this}), play=PACKAGE_PLAY)
    expected = this_machine_package()
    if not expected:  # a distribution without a package of a line the role knows
        assert rc != 0
        assert "zookeeper01: zookeeper_install_method=package on " in output, output
        assert "would install nothing: the distribution has no zookeeper package" in output
        return
    assert rc == 0, output
    by_host = shown(output)
    first = by_host["zookeeper01"]
    package = methods.package_facts(str(VARS), first["facts"])
    assert package["version"] == expected, first
    assert first["package"] == package and first["version"] == expected, first
    # The tarball hosts have no package, and nothing was read of them.
    for host in ("zookeeper02", "zookeeper03"):
        assert by_host[host] == {"package": {}, "version": "3.4.14", "facts": {}}, output


def test_a_package_host_with_bad_variables_is_not_contacted(tmp_path: Path) -> None:
    # Its variables are refused first; the host behind it (nothing listens) is never asked.
    rc, output = validate(tmp_path, inventory(group={"zookeeper_install_method": "package",
                                                     "zookeeper_metrics": "x"}))
    assert rc != 0
    assert "zookeeper01: Validation of arguments failed" in output, output


# The helpers on their own.

def test_package_files_are_tried_from_the_most_to_the_least_specific(tmp_path: Path) -> None:
    facts = {"distribution": "Ubuntu", "os_family": "Debian", "distribution_major_version": "11"}
    assert methods.package_files(facts) == ["Ubuntu-11.yml", "Debian-11.yml", "default.yml"]
    for name, version in (("default.yml", ""), ("Debian-11.yml", "3.4.13"),
                          ("Ubuntu-11.yml", "3.8.0")):
        (tmp_path / name).write_text(f"__zookeeper_package_version: '{version}'\nother: 1\n")
        assert methods.package_facts(str(tmp_path), facts) == {"version": version}
    with pytest.raises(FileNotFoundError, match=r"default\.yml"):
        methods.package_facts(str(tmp_path / "none"), facts)


def test_the_role_s_package_files() -> None:
    debian = {"distribution": "Debian", "os_family": "Debian"}
    assert methods.package_facts(str(VARS), {**debian, "distribution_major_version": "11"})[
        "version"] == "3.4.13"
    assert methods.package_facts(str(VARS), {**debian, "distribution_major_version": "12"})[
        "version"] == "3.8.0"
    rocky = {"distribution": "Rocky", "os_family": "RedHat", "distribution_major_version": "9"}
    assert methods.package_facts(str(VARS), rocky)["version"] == ""


@pytest.mark.parametrize(("version", "refused"), [("3.4.13", None), ("3.8.0", None),
                                                  ("3.6.2", "would install ZooKeeper 3.6.2,"),
                                                  ("", "would install nothing: the distribution "
                                                       "has no zookeeper package,")])
def test_the_package_s_line_must_be_known(version: str, refused: str | None) -> None:
    facts = {"distribution": "Rocky", "distribution_version": "9.3",
             "distribution_release": "Blue Onyx"}
    problem = methods.package_problem("zk1", facts, {"version": version}, ["3.4", "3.8"])
    if refused is None:
        assert problem is None
    else:
        assert problem.startswith(f"zk1: zookeeper_install_method=package on Rocky 9.3 "
                                  f"(Blue Onyx) {refused} not a release of 3.4 or 3.8. Use "
                                  "zookeeper_install_method=tarball"), problem


def test_local_check_only_for_the_local_method() -> None:
    assert methods.local_check({"zookeeper_install_method": "tarball"}) is None
    assert methods.local_check({"zookeeper_install_method": "local",
                                "zookeeper_local_tarball": "/t.tgz", "zookeeper_checksum": "AB",
                                "zookeeper_signature_check": True}) == {
        "tarball": "/t.tgz", "checksum": "AB", "signature_check": True}


def test_each_tarball_is_hashed_once_for_the_play(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tarball = release(tmp_path)
    read: list[str] = []
    real = methods.sha512_of
    monkeypatch.setattr(methods, "sha512_of", lambda path: read.append(path) or real(path))
    check = {"tarball": str(tarball), "checksum": "", "signature_check": True}
    assert methods.local_problems({f"zk{i}": check for i in range(30)}) == []
    assert read == [str(tarball)]
    # A pinned checksum in capitals is the same digest.
    pinned = {**check, "checksum": hashlib.sha512(b"release").hexdigest().upper()}
    assert methods.local_problems({"zk1": pinned}) == []


def test_an_ensemble_problem_comes_before_the_local_tarball(tmp_path: Path) -> None:
    # As every host's own problems: the ensemble's refusal alone, the tarball not even hashed.
    rc, output = validate(tmp_path, inventory(group=local(tmp_path / "nowhere.tar.gz"),
                                              hosts={"zookeeper02": {"zookeeper_id": 1}}))
    assert rc != 0
    assert "zookeeper02: zookeeper_id=1 is already used by zookeeper01" in output, output
    assert INTRO not in output, output
