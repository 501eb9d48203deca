"""Tests of the java_probe module, run as Ansible runs it (a Python process given its arguments
as JSON) on this machine: the distribution it reports as facts, the package it picks, what the
package manager says, and what a java binary (here a small script printing as the JVM does)
reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.zkops.zookeeper34.plugins.module_utils.java_runtime import pick_package
from plugins import COLLECTIONS, MODULES

PACKAGES = {"Debian-12": "openjdk-17-jre-headless", "Debian": "default-jre-headless",
            "RedHat-7": "java-1.8.0-openjdk-headless", "RedHat": "java-11-openjdk-headless",
            "Ubuntu": "openjdk-11-jre-headless"}


def run(tmp_path: Path, module: str = "java_probe.py", **args: Any) -> dict:
    """The module's JSON result for `args`."""
    args.update(_ansible_check_mode=False, _ansible_tmpdir=str(tmp_path),
                _ansible_remote_tmp=str(tmp_path))
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    # Its module_utils by their collection names, as AnsiballZ packs them.
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    proc = subprocess.run([sys.executable, str(MODULES / module), str(path)],
                          capture_output=True, text=True, timeout=60, check=False, env=env)
    return json.loads(proc.stdout)


def os_release() -> dict[str, str]:
    fields = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        key, _unused, value = line.partition("=")
        fields[key] = value.strip('"')
    return fields


@pytest.mark.parametrize(("facts", "package"), [
    ({"distribution": "Debian", "distribution_major_version": "12", "os_family": "Debian"},
     "openjdk-17-jre-headless"),
    ({"distribution": "Debian", "distribution_major_version": "13", "os_family": "Debian"},
     "default-jre-headless"),
    ({"distribution": "CentOS", "distribution_major_version": "7", "os_family": "RedHat"},
     "java-1.8.0-openjdk-headless"),
    ({"distribution": "Rocky", "distribution_major_version": "9", "os_family": "RedHat"},
     "java-11-openjdk-headless"),
    ({"distribution": "Ubuntu", "distribution_major_version": "22", "os_family": "Debian"},
     "openjdk-11-jre-headless"),
    ({"distribution": "SLES", "distribution_major_version": "15", "os_family": "Suse"}, ""),
])
def test_the_package_is_picked_most_specific_first(facts: dict, package: str) -> None:
    assert pick_package(PACKAGES, facts) == package


def test_the_distribution_is_returned_as_setup_names_it(tmp_path: Path) -> None:
    result = run(tmp_path, binary="/nonexistent/java", packages=PACKAGES)
    assert result.get("failed") is not True, result
    facts = result["ansible_facts"]
    release = os_release()
    assert facts["ansible_distribution_major_version"] == release["VERSION_ID"].split(".")[0]
    assert facts["ansible_distribution"].lower() == release["ID"]
    assert facts["ansible_os_family"] and facts["ansible_distribution_version"]
    # What this machine is decides the package, as the vars files once did.
    assert result["package"] == pick_package(
        PACKAGES, {k.removeprefix("ansible_"): v for k, v in facts.items()})


def test_a_missing_binary_is_reported_not_failed(tmp_path: Path) -> None:
    result = run(tmp_path, binary=str(tmp_path / "no-java"))
    assert result.get("failed") is not True, result
    assert result["version_rc"] == 127 and "does not exist" in result["msg"]


def test_the_binary_is_run_with_minus_version(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text('#!/bin/sh\n[ "$1" = -version ] || exit 3\n'
                    'echo \'openjdk version "17.0.11" 2024-04-16\' >&2\n')
    java.chmod(0o755)
    result = run(tmp_path, binary=str(java))
    assert result["version_rc"] == 0, result
    assert result["stderr"].startswith('openjdk version "17.0.11"')


def runtime(root: Path, version: str, layout: str = "jdk", libjvm: bool = True) -> Path:
    """A runtime's files under `root` as OpenJDK lays them out ("jdk": bin/java,
    lib/server/libjvm.so and release at its home; "jre8": Java 8's jre/bin/java and
    jre/lib/amd64/server/libjvm.so, release above jre/), with `version` in its release file. Its
    java is a script that leaves a file `ran` behind and says another version: the probe read
    the release file only if neither shows."""
    home = root / ("jre" if layout == "jre8" else "")
    lib = home / "lib" / ("amd64/server" if layout == "jre8" else "server")
    (home / "bin").mkdir(parents=True)
    lib.mkdir(parents=True)
    if libjvm:
        (lib / "libjvm.so").write_bytes(b"")
    (root / "release").write_text(f'IMPLEMENTOR="Debian"\nJAVA_VERSION="{version}"\n'
                                  'JAVA_VERSION_DATE="2024-07-16"\n')
    java = home / "bin" / "java"
    java.write_text(f'#!/bin/sh\ntouch {root}/ran\n'
                    'echo \'openjdk version "99.0.1" 2030-01-01\' >&2\n')
    java.chmod(0o755)
    return java


def test_the_version_is_read_from_the_runtime_release_file(tmp_path: Path) -> None:
    """No JVM is started where the runtime declares its version (a link to the binary, as
    /usr/bin/java is, resolves to the runtime first)."""
    java = runtime(tmp_path / "jdk", "11.0.24")
    link = tmp_path / "java"
    link.symlink_to(java)
    result = run(tmp_path, binary=str(link))
    assert result["version_rc"] == 0 and result["version"] == "11.0.24", result
    assert result["version_from"] == str(tmp_path / "jdk" / "release")
    assert not (tmp_path / "jdk" / "ran").exists()
    jre8 = runtime(tmp_path / "jdk8", "1.8.0_412", layout="jre8")
    result = run(tmp_path, binary=str(jre8))
    assert (result["version"], result["version_from"]) == (
        "1.8.0_412", str(tmp_path / "jdk8" / "release")), result
    assert not (tmp_path / "jdk8" / "ran").exists()


def test_a_runtime_without_its_jvm_library_is_run_with_minus_version(tmp_path: Path) -> None:
    """A release file alone does not make a runtime: without its libjvm.so the binary is run
    (and what it says counts)."""
    java = runtime(tmp_path / "jdk", "11.0.24", libjvm=False)
    result = run(tmp_path, binary=str(java))
    assert result["version_rc"] == 0 and "version" not in result, result
    assert result["version_from"] == "-version" and '"99.0.1"' in result["stderr"]
    assert (tmp_path / "jdk" / "ran").exists()


@pytest.mark.skipif(not shutil.which("dpkg-query") and not shutil.which("rpm"),
                    reason="neither dpkg-query nor rpm on this machine")
def test_the_package_manager_is_asked(tmp_path: Path) -> None:
    # A package every Debian or EL machine has, and one no machine has.
    present = "bash"
    installed = run(tmp_path, binary="/bin/true", package=present)
    assert installed["package"] == present and installed["package_state"] == "installed"
    missing = run(tmp_path, binary="/bin/true", package="no-such-package-zk")
    assert missing["package_state"] == "missing"
    unasked = run(tmp_path, binary="/bin/true", package=present, query=False)
    assert unasked["package_state"] == "unknown"
    none = run(tmp_path, binary="/bin/true", packages={})
    assert none["package"] == "" and none["package_state"] == "unknown"
    assert os.access("/bin/true", os.X_OK) and none["version_rc"] != 127


def test_zookeeper_probe_looks_at_java_in_the_same_call(tmp_path: Path) -> None:
    """site.yml reads Java with the rest of the host: zookeeper_probe's `java` returns what
    java_probe does, and the distribution as facts; without it, Java is not looked at."""
    java = tmp_path / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.24" 2024-07-16\' >&2\n')
    java.chmod(0o755)
    alone = run(tmp_path, binary=str(java), packages=PACKAGES, query=False)
    both = run(tmp_path, "zookeeper_probe.py", user="nobody", group="nogroup",
               java={"binary": str(java), "packages": PACKAGES, "query": False})
    assert both.get("failed") is not True, both
    looked = {key: alone[key] for key in alone if key not in ("changed", "invocation")}
    assert both["java"] == looked
    assert both["ansible_facts"] == alone["ansible_facts"] and both["java"]["version_rc"] == 0
    without = run(tmp_path, "zookeeper_probe.py", user="nobody", group="nogroup")
    assert "java" not in without and "ansible_facts" not in without


FACTS_IMPORT = """
import json, sys
{first}
from ansible_collections.zkops.zookeeper34.plugins.module_utils import java_runtime
from ansible.module_utils.facts.system.distribution import DistributionFactCollector
class Module:  # what the collector calls of AnsibleModule
    def get_bin_path(self, name, *args, **kwargs):
        return None
    def run_command(self, args, *more, **kwargs):
        return 1, "", ""
facts = DistributionFactCollector().collect(module=Module())
loaded = sorted(m for m in sys.modules if m.startswith("ansible.module_utils.facts."))
import ansible.module_utils.facts as package
print(json.dumps({{"facts": {{k: facts.get(k) for k in java_runtime.FACTS}}, "loaded": loaded,
                  "compat": callable(package.ansible_facts) and callable(package.get_all_facts)}}))
"""


def facts_import(first: str = "") -> dict[str, Any]:
    """In a fresh Python: java_runtime's import (after `first`), the distribution facts, and
    the fact modules the process holds then."""
    proc = subprocess.run([sys.executable, "-c", FACTS_IMPORT.format(first=first)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_java_runtime_imports_the_distribution_collector_alone() -> None:
    """ansible.module_utils.facts' __init__ imports every fact collector (a module compiles each
    from its zip on every run); java_runtime leaves it out, and the facts stay setup's."""
    alone = facts_import()
    full = facts_import(first="import ansible.module_utils.facts")
    assert alone["facts"] == full["facts"] and alone["facts"]["distribution"]
    assert "ansible.module_utils.facts.default_collectors" in full["loaded"]
    assert "ansible.module_utils.facts.default_collectors" not in alone["loaded"]
    assert len(alone["loaded"]) < len(full["loaded"]) // 4, alone["loaded"]
    # The package's two old functions are still there, in both.
    assert alone["compat"] and full["compat"]


STATUS = """Package: bash
Status: install ok installed
Priority: required
Version: 5.1-2

Package: openjdk-11-jre-headless
Status: deinstall ok config-files
Architecture: amd64
Version: 11.0.24+8-1

Package: openjdk-11-jre-headless
Status: install ok installed
Architecture: i386
Version: 11.0.24+8-1

Package: openjdk-17-jre-headless
Status: install ok half-installed
Version: 17.0.12+7-2

Package: zookeeper-tools
Status: install ok installed
"""


def test_dpkg_status_file_says_what_dpkg_query_would(tmp_path: Path) -> None:
    """dpkg's status file answers for a package the way `dpkg-query -W -f
    '${db:Status-Status}'` does: installed only when its Status ends in installed (any one
    architecture); a name it lacks, or a prefix of a name it has, is missing."""
    from ansible_collections.zkops.zookeeper34.plugins.module_utils.java_runtime import (
        dpkg_status,
    )

    status, updates = tmp_path / "status", tmp_path / "updates"
    status.write_text(STATUS)
    updates.mkdir()
    state = {name: dpkg_status(name, str(status), str(updates)) for name in (
        "bash", "openjdk-11-jre-headless", "openjdk-17-jre-headless", "zookeeper-tools",
        "zookeeper", "openjdk-11-jre", "no-such-package-zk")}
    assert state == {"bash": "installed", "openjdk-11-jre-headless": "installed",
                     "openjdk-17-jre-headless": "missing", "zookeeper-tools": "installed",
                     "zookeeper": "missing", "openjdk-11-jre": "missing",
                     "no-such-package-zk": "missing"}


def test_dpkg_query_is_asked_where_the_status_file_cannot_tell(tmp_path: Path) -> None:
    """An interrupted dpkg leaves its journal in updates/ (not yet in the status file), a name
    may carry an architecture, the file may be unreadable: dpkg-query is asked then."""
    from ansible_collections.zkops.zookeeper34.plugins.module_utils.java_runtime import (
        dpkg_status,
    )

    status, updates = tmp_path / "status", tmp_path / "updates"
    status.write_text(STATUS)
    updates.mkdir()
    (updates / "tmp.i").write_text("")  # dpkg's own temporary name: nothing pending
    assert dpkg_status("bash", str(status), str(updates)) == "installed"
    (updates / "0003").write_text("Package: bash\nStatus: deinstall ok config-files\n")
    assert dpkg_status("bash", str(status), str(updates)) is None
    assert dpkg_status("bash:amd64", str(status), str(tmp_path / "none")) is None
    assert dpkg_status("bash", str(tmp_path / "none"), str(updates)) is None


@pytest.mark.skipif(not Path("/var/lib/dpkg/status").is_file() or not shutil.which("dpkg-query")
                    or any(name.isdigit() for name in os.listdir("/var/lib/dpkg/updates")),
                    reason="no dpkg on this machine, or its journal not yet merged")
def test_dpkg_status_file_agrees_with_dpkg_query_on_this_machine() -> None:
    from ansible_collections.zkops.zookeeper34.plugins.module_utils.java_runtime import (
        dpkg_status,
    )

    for name in ("bash", "coreutils", "no-such-package-zk", "openjdk-17-jre-headless"):
        proc = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", name],
                              capture_output=True, text=True, check=False)
        expected = "installed" if proc.returncode == 0 and proc.stdout.strip() == "installed" \
            else "missing"
        assert dpkg_status(name) == expected, name


# In a fresh interpreter: the distribution facts, and the commands the distro library runs for
# them, as the probes look (argument "look") and as the collector alone finds them ("asked").
UNAME = """
import json, os, subprocess, sys
if sys.argv[3:] == ["bare"]:  # no command on the PATH: no lsb_release (nor uname)
    os.environ["PATH"] = "/nonexistent"
ran = []
own = subprocess.check_output
def recorded(cmd, *args, **kwargs):
    ran.append(cmd[0] if isinstance(cmd, (list, tuple)) else cmd)
    return own(cmd, *args, **kwargs)
subprocess.check_output = recorded
from ansible_collections.zkops.zookeeper34.plugins.module_utils import java_runtime
class Module:
    def get_bin_path(self, *args, **kwargs):
        return None
    def run_command(self, args, **kwargs):
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr
if sys.argv[2] == "look":  # as the probes look
    found = java_runtime.look(Module(), "/bin/true", "", {}, False)["ansible_facts"]
    facts = {k: found["ansible_" + k] for k in java_runtime.FACTS}
else:
    facts = java_runtime.DistributionFactCollector().collect(module=Module())
print(json.dumps({"facts": {k: facts.get(k) for k in java_runtime.FACTS}, "ran": ran}))
"""


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="the distro library asks uname on Linux")
def test_the_distribution_facts_are_the_same_without_uname_or_a_missing_lsb_release() -> None:
    from plugins import in_fresh_python

    for path in ("as it is", "bare"):
        asked = in_fresh_python(UNAME, "asked", path)
        known = in_fresh_python(UNAME, "look", path)
        assert "uname" in asked["ran"] and "lsb_release" in asked["ran"], asked
        # lsb_release runs where there is one (its answer may count), else neither is started
        there = path != "bare" and shutil.which("lsb_release")
        assert known["ran"] == (["lsb_release"] if there else []), (path, known)
        assert known["facts"] == asked["facts"] and known["facts"]["distribution"], known
