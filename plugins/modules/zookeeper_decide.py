#!/usr/bin/python
"""Ansible module (documentation; the action plugin of the same name does the work on the
controller): check a host against the run, then decide which phases have work on it."""

DOCUMENTATION = r"""
---
module: zookeeper_decide
short_description: Check a host against the run, then decide which of the role's phases have work
description:
  - Runs on the controller. Two steps of the zookeeper role's reconcile loop, from what
    M(zkops.zookeeper34.zookeeper_probe) observed and the inventory; with O(java), the java
    role's check before them.
  - With O(java), first the java role's check, as M(zkops.zookeeper34.java_check) makes it with
    those options (it contacts the host only where O(java.found) is not given); a failure there
    fails the task with its message. What it returns is RV(java), and the variable
    C(__java_checked), which the java role reads, is that result while the rest is rendered.
  - First the checks of the host; the variable named by O(problems) is rendered, a list of
    messages, and any message fails the task with all of them, one a line. Nothing else is
    rendered then.
  - Then the decision; each variable named in O(phases) is rendered, true where that phase has
    work on the host, and returned in RV(todo); with O(new_server), that variable too, returned
    in RV(new_server).
  - The variables are named, not given as values, so that the decision is rendered only on a
    host that passed its checks (a host with a half-finished restore, say, has files the decision
    could not read).
options:
  problems:
    description:
      - The variable whose value is the list of the host's problems (empty strings are left out).
    type: str
    required: true
  phases:
    description: Each phase and the variable that says whether it has work on the host.
    type: dict
    required: true
  new_server:
    description:
      - The variable that says whether the host is a new server that the write of its files
        alone puts in place and starts, with nothing else for the phases to do (the role's
        short path for a new ensemble, tasks/new-server.yml). Omitted, RV(new_server) is false.
    type: str
  java:
    description:
      - The java role's check, run first (one step a host fewer than its own task); omitted,
        no Java is checked.
    type: dict
    suboptions:
      spec:
        description: M(zkops.zookeeper34.java_check)'s O(zkops.zookeeper34.java_check#module:spec).
        type: path
        required: true
      entry_point:
        description: >-
          M(zkops.zookeeper34.java_check)'s O(zkops.zookeeper34.java_check#module:entry_point).
        type: str
        default: main
      found:
        description: M(zkops.zookeeper34.java_check)'s O(zkops.zookeeper34.java_check#module:found).
        type: dict
      packages:
        description: >-
          M(zkops.zookeeper34.java_check)'s O(zkops.zookeeper34.java_check#module:packages).
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
    M(zkops.zookeeper34.java_probe) that O(java) without O(java.found) makes.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the host against the run, then decide which phases have work on it
  zkops.zookeeper34.zookeeper_decide:
    problems: __zookeeper_host_problems
    phases: {install: __zookeeper_install_todo, config: __zookeeper_config_todo}
  register: decision
"""

RETURN = r"""
java:
  description: >-
    With O(java), what M(zkops.zookeeper34.java_check) returns: what was found, whether the
    run installs the package, and the major versions.
  returned: success, with O(java)
  type: dict
todo:
  description: Each phase of O(phases), true where it has work on the host.
  returned: success
  type: dict
  sample: {install: false, config: true, service: true, metrics: false}
new_server:
  description: The value of O(new_server) (false without it).
  returned: success
  type: bool
msg:
  description: The host's problems, one a line.
  returned: failure
  type: str
"""

# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks) and
# the action plugin checks its arguments against it.
ARGUMENT_SPEC = {
    "problems": {"type": "str", "required": True},
    "phases": {"type": "dict", "required": True},
    "new_server": {"type": "str"},
    # (its suboptions: java_check's options, which the action plugin checks them against)
    "java": {"type": "dict"},
}
