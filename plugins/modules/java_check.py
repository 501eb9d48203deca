#!/usr/bin/python
"""Ansible module (documentation; the action plugin of the same name does the work on the
controller): the java role's checks before anything is installed, in one step."""

DOCUMENTATION = r"""
---
module: java_check
short_description: Check the java role's variables and the Java a run would leave, before any change
description:
  - The java role's checks, in this order, stopping at the first that fails; every variable of
    O(spec)'s entry point against its type and choices (as
    C(ansible.builtin.validate_argument_spec)); then what Java the host has, from O(found) or, when
    that is not given, from a call of M(zkops.zookeeper34.java_probe) on the host with the role's
    C(java_binary), C(java_package), C(java_install) and O(packages); then that the binary runs,
    unless the run installs the package (C(java_install) on and the package missing).
  - Fails, naming the host, the binary, what it printed and what to do, when Java does not run
    and the run would not install it.
  - Returns what was found and the Java major version a run would leave; the role records them
    as facts.
  - One step instead of four tasks a host (each task costs the controller 30-40 ms a host on its
    own).
options:
  spec:
    description:
      - The java role's C(meta/argument_specs.yml), whose O(entry_point) options are checked.
    type: path
    required: true
  entry_point:
    description: The entry point of O(spec) whose options are checked.
    type: str
    default: main
  found:
    description:
      - What an earlier look at the host found (the C(java) that
        M(zkops.zookeeper34.zookeeper_probe) returns); omitted, the action runs
        M(zkops.zookeeper34.java_probe) on the host.
    type: dict
  packages:
    description: M(zkops.zookeeper34.java_probe)'s O(zkops.zookeeper34.java_probe#module:packages).
    type: dict
    default: {}
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
  - An action plugin on the controller; the host's Python only matters for the call of
    M(zkops.zookeeper34.java_probe).
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the java role's variables and the Java a run would leave
  zkops.zookeeper34.java_check:
    spec: "{{ role_path }}/meta/argument_specs.yml"
    packages: {Debian-12: openjdk-17-jre-headless, Ubuntu: openjdk-11-jre-headless}
  register: checked
"""

RETURN = r"""
found:
  description: What M(zkops.zookeeper34.java_probe) returns (O(found), or its own call's result).
  returned: success
  type: dict
install_pending:
  description: The run installs the package (C(java_install) is on and the package is missing).
  returned: success
  type: bool
expected_major:
  description: >-
    The Java major version a run would leave; that of the package when it is installed by the
    run (0 when its name does not say).
  returned: success
  type: int
  sample: 17
major_version:
  description: The major version of the runtime that is there now; null when the run installs one.
  returned: success
  type: int
  sample: 17
ansible_facts:
  description: The distribution facts of M(zkops.zookeeper34.java_probe), when this call ran it.
  returned: when O(found) is not given
  type: dict
"""

# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks) and
# the action plugin checks its arguments against it.
ARGUMENT_SPEC = {
    "spec": {"type": "path", "required": True},
    "entry_point": {"type": "str", "default": "main"},
    "found": {"type": "dict"},
    "packages": {"type": "dict", "default": {}},
}
