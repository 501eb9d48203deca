#!/usr/bin/python
"""Ansible module: the host's distribution and the Java a run would leave, in one call."""

DOCUMENTATION = r"""
---
module: java_probe
short_description: Find a host's distribution, its Java package and what its java binary reports
description:
  - Changes nothing. Reads the host's distribution (as C(ansible.builtin.setup) with
    C(gather_subset=distribution) does, and returns it as facts), picks the distribution's Java
    package from O(packages), asks the package manager whether it is installed and runs
    C(java -version).
  - One call instead of three (facts, then the package name, then a shell), made before
    anything is installed; the roles after it use the facts.
options:
  binary:
    description: The java binary to run with C(-version).
    type: path
    required: false
    default: /usr/bin/java
  package:
    description:
      - The package to look for; empty picks one from O(packages).
    type: str
    required: false
    default: ""
  packages:
    description:
      - Package names by C(<distribution>-<major version>), C(<os family>-<major version>),
        C(<distribution>) or C(<os family>), tried in that order (C(Debian-12), C(RedHat-7),
        C(Ubuntu), C(RedHat)).
    type: dict
    required: false
    default: {}
  query:
    description:
      - Ask the package manager (C(dpkg-query) on the Debian family, C(rpm) on the Red Hat
        family) whether the package is installed; off, RV(package_state) is C(unknown).
    type: bool
    required: false
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Changes nothing in any mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Changes nothing, in check mode as in a real run (check mode runs it too).
  - Runs on the host's Python 3.6 or later.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Find the distribution and the Java a run would leave
  zkops.zookeeper34.java_probe:
    binary: /usr/bin/java
    packages: {Debian-12: openjdk-17-jre-headless, RedHat-7: java-1.8.0-openjdk-headless,
               Ubuntu: openjdk-11-jre-headless}
  register: found
"""

RETURN = r"""
ansible_facts:
  description: The distribution facts the roles use, named as C(ansible.builtin.setup) names them.
  returned: always
  type: dict
  sample: {ansible_distribution: Debian, ansible_distribution_major_version: "12",
           ansible_distribution_version: "12.5", ansible_distribution_release: bookworm,
           ansible_os_family: Debian}
package:
  description: >-
    The package looked for (O(package), else the one O(packages) gives; empty when none does).
  returned: always
  type: str
  sample: openjdk-17-jre-headless
package_state:
  description: >-
    C(installed), C(missing), or C(unknown): not asked, no package to ask for, or neither
    C(dpkg-query) nor C(rpm) on the host.
  returned: always
  type: str
  sample: installed
version_rc:
  description: >-
    The exit status of C(java -version), 127 when the binary does not exist (not C(rc): Ansible
    would take a non-zero C(rc) for a failed task).
  returned: always
  type: int
  sample: 0
stderr:
  description: What C(java -version) printed (to standard error, where the JVM prints it).
  returned: always
  type: str
  sample: openjdk version "17.0.11" 2024-04-16
msg:
  description: Why the binary could not be run, when it could not.
  returned: when the binary is missing
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts.system.distribution import DistributionFactCollector

ARGUMENT_SPEC = {
    "binary": {"type": "path", "required": False, "default": "/usr/bin/java"},
    "package": {"type": "str", "required": False, "default": ""},
    "packages": {"type": "dict", "required": False, "default": {}},
    "query": {"type": "bool", "required": False, "default": True},
}
# The facts the roles read, as setup's distribution subset gives them.
FACTS = ("distribution", "distribution_major_version", "distribution_version",
         "distribution_release", "os_family")


def pick_package(packages: dict, facts: dict) -> str:
    """The first of <distribution>-<major>, <os family>-<major>, <distribution>, <os family>
    that `packages` lists, as the role's vars files were once found."""
    major = facts.get("distribution_major_version", "")
    for key in (f"{facts.get('distribution')}-{major}", f"{facts.get('os_family')}-{major}",
                facts.get("distribution"), facts.get("os_family")):
        if key in packages:
            return packages[key]
    return ""


def package_state(module: AnsibleModule, os_family: str, package: str) -> str:
    """Whether the package manager has the package installed: dpkg on the Debian family, rpm
    on the Red Hat family, else whichever of the two the host has."""
    if not package:
        return "unknown"
    manager = {"Debian": "dpkg-query", "RedHat": "rpm"}.get(os_family)
    if manager is None:
        manager = next((name for name in ("rpm", "dpkg-query") if module.get_bin_path(name)),
                       None)
    if manager == "dpkg-query":
        rc, out = module.run_command(["dpkg-query", "-W", "-f", "${db:Status-Status}",
                                      package])[:2]
        return "installed" if rc == 0 and out.strip() == "installed" else "missing"
    if manager == "rpm":
        rc = module.run_command(["rpm", "-q", "--quiet", package])[0]
        return "installed" if rc == 0 else "missing"
    return "unknown"


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    collected = DistributionFactCollector().collect(module=module)
    facts = {name: collected.get(name, "") for name in FACTS}
    package = params["package"] or pick_package(params["packages"], facts)
    result = {
        "changed": False,
        "ansible_facts": {f"ansible_{name}": value for name, value in facts.items()},
        "package": package,
        "package_state": (package_state(module, facts["os_family"], package)
                          if params["query"] else "unknown"),
    }
    binary = params["binary"]
    if not os.access(binary, os.X_OK):
        result.update(version_rc=127, stderr="", msg=f"{binary} does not exist or cannot be run")
    else:
        rc, _out, err = module.run_command([binary, "-version"])  # the JVM prints to stderr
        result.update(version_rc=rc, stderr=err)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
