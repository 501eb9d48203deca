#!/usr/bin/python
"""Ansible module: the host's distribution and the Java a run would leave, in one call."""

DOCUMENTATION = r"""
---
module: java_probe
short_description: Find a host's distribution, its Java package and what its java binary reports
description:
  - Changes nothing. Reads the host's distribution (as C(ansible.builtin.setup) with
    C(gather_subset=distribution) does, and returns it as facts), picks the distribution's Java
    package from O(packages), asks the package manager whether it is installed, and reads the
    binary's version from its runtime's C(release) file, or runs C(java -version) where the
    runtime has none (RV(version)).
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
      - Ask the package manager (on the Debian family dpkg, from its status file, or
        C(dpkg-query) where that file cannot tell; C(rpm) on the Red Hat family) whether the
        package is installed; off, RV(package_state) is C(unknown).
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
    The exit status of C(java -version), 127 when the binary does not exist, 0 when the version
    was read from the runtime's C(release) file (not C(rc): Ansible would take a non-zero C(rc)
    for a failed task).
  returned: always
  type: int
  sample: 0
stderr:
  description: >-
    What C(java -version) printed (to standard error, where the JVM prints it); empty when the
    version was read from the runtime's C(release) file instead.
  returned: always
  type: str
  sample: openjdk version "17.0.11" 2024-04-16
version:
  description: >-
    The C(JAVA_VERSION) the runtime's C(release) file declares. The file is read, and no JVM
    started, where the binary (its links resolved) lies in a runtime that has the file at its home
    and its JVM library (C(lib/server/libjvm.so), Java 8's C(lib/<arch>/server/libjvm.so));
    otherwise the binary is run with C(-version).
  returned: when the release file was read
  type: str
  sample: 17.0.11
version_from:
  description: The release file read, or C(-version) when the binary was run.
  returned: when the binary exists
  type: str
  sample: /usr/lib/jvm/java-17-openjdk-amd64/release
msg:
  description: Why the binary could not be run, when it could not.
  returned: when the binary is missing
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.java_runtime import (
    OPTIONS,
    look,
)

# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks).
ARGUMENT_SPEC = OPTIONS


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(changed=False, **look(module, **module.params))


if __name__ == "__main__":
    main()
