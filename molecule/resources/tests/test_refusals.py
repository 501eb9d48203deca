"""Combinations the role refuses: each fails with a message naming the host, the variable and
what to do, before anything on any host changes (zoo.cfg, myid, /etc/hosts, the unit, the
release symlink and the running server are compared before and after)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import REPO, Ensemble, assert_refused, run_site, scenario_name

MIRROR_TARBALL = REPO / ".lab/mirror/zookeeper-3.4.13/zookeeper-3.4.13.tar.gz"


@dataclass
class Case:
    name: str
    extra_vars: dict[str, Any]
    message: str  # a regular expression the failure output must match
    # the hosts' release (release_of): Debian's major version, or ubuntu-22.04
    releases: set[str] = field(default_factory=lambda: {"11", "12", "ubuntu-22.04"})
    methods: set[str] = field(default_factory=lambda: {"tarball", "local", "package"})
    lines: set[str] = field(default_factory=lambda: {"3.4", "3.8"})
    # The scenarios to run it in (None: all that match the above): a refusal that does not
    # depend on the distribution, install method or release line runs in `default` only, one
    # that names the distribution's Java package also in `restore` (Debian 12) and `ubuntu`.
    scenarios: set[str] | None = None


CONTROLLER_ONLY = {"default"}
JAVA_PACKAGE = {"default", "restore", "ubuntu"}


CASES = [
    Case("Debian 12's package (3.8) on a running 3.4 ensemble",
         {"zookeeper_install_method": "package"},
         r"zookeeper01 runs ZooKeeper 3\.4\.x \(/opt/zookeeper -> /opt/zookeeper-3\.4\.13\), but "
         r"the inventory asks for 3\.8\.0, so no host was changed\. Moving to 3\.8 is an "
         r"upgrade: run playbooks/upgrade\.yml", releases={"12"}, methods={"tarball", "local"},
         lines={"3.4"}),
    Case("switch from a tarball to the package", {"zookeeper_install_method": "package"},
         r"zookeeper01 runs ZooKeeper installed by a tarball method \(/opt/zookeeper -> "
         r"/opt/zookeeper-3\.4\.13\), but zookeeper_install_method=package\. Keep the method",
         releases={"11"}, methods={"tarball", "local"}, scenarios=CONTROLLER_ONLY),
    Case("switch from the package to a tarball", {"zookeeper_install_method": "tarball"},
         r"zookeeper01 runs ZooKeeper installed by the package method .* set "
         r"zookeeper_allow_method_change=true", methods={"package"}),
    Case("local tarball missing",
         {"zookeeper_install_method": "local", "zookeeper_allow_method_change": True,
          "zookeeper_local_tarball": "/nonexistent/zookeeper-3.4.13.tar.gz"},
         r"zookeeper_install_method=local needs zookeeper_local_tarball, a release tarball on "
         r"the controller: /nonexistent/zookeeper-3\.4\.13\.tar\.gz was not found",
         scenarios=CONTROLLER_ONLY),
    Case("local tarball with the wrong sha512",
         {"zookeeper_install_method": "local", "zookeeper_allow_method_change": True,
          "zookeeper_local_tarball": str(MIRROR_TARBALL), "zookeeper_checksum": "0" * 128},
         r"its sha512 [0-9a-f]{128} does not match the expected 0{128}; fetch the release "
         r"again or correct zookeeper_checksum", scenarios=CONTROLLER_ONLY),
    Case("unknown install method", {"zookeeper_install_method": "zip"},
         r"fatal: \[zookeeper01\]: FAILED! .*value of zookeeper_install_method must be one of: "
         r"tarball, local, package, got: zip", scenarios=CONTROLLER_ONLY),
    Case("Java newer than allowed", {"zookeeper_java_max_major": 8},
         r"Java (11|17) at /usr/bin/java is newer than zookeeper_java_max_major=8",
         scenarios=JAVA_PACKAGE),
    Case("no Java, and none to install", {"java_install": False,
                                          "java_binary": "/opt/no-jdk/bin/java"},
         r"zookeeper01: `/opt/no-jdk/bin/java -version` failed \(/opt/no-jdk/bin/java does not "
         r"exist or cannot be run\), so no host was changed\. With java_install=[Ff]alse, set "
         r"java_binary to an installed JVM", scenarios=CONTROLLER_ONLY),
    Case("java_binary not the installed package's JVM", {"java_binary": "/opt/no-jdk/bin/java"},
         r"The package openjdk-1[17]-jre-headless is installed, so java_binary is not the JVM "
         r"it installs", scenarios=JAVA_PACKAGE),
]


def release_of(info: Any) -> str:
    """The release a host runs, from testinfra's system_info: Debian's major version (`11`),
    or the distribution and its version (`ubuntu-22.04`)."""
    if info.distribution == "debian":
        return str(info.release).split(".", maxsplit=1)[0]
    return f"{info.distribution}-{info.release}"


def applies(case: Case, ensemble: Ensemble) -> bool:
    member = ensemble.members[0]
    release = release_of(ensemble.host(member).system_info)
    method = ensemble.hostvars[member.name].get("zookeeper_install_method", "tarball")
    line = ".".join(str(ensemble.hostvars[member.name].get("zookeeper_version")).split(".")[:2])
    return (release in case.releases and method in case.methods and line in case.lines
            and (case.scenarios is None or scenario_name() in case.scenarios))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused_before_any_host_changes(ensemble: Ensemble, case: Case) -> None:
    if not applies(case, ensemble):
        pytest.skip(f"{case.name}: not a combination this scenario's hosts can show")
    before = ensemble.snapshot()
    rc, output = run_site(ensemble.inventory_source(), case.extra_vars)
    assert_refused(ensemble, case.name, before, rc, output, case.message)
