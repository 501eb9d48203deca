#!/usr/bin/python
"""Ansible module (documentation; the action plugin of the same name does the work on the
controller): check a host against the run, then decide which phases have work on it."""

DOCUMENTATION = r"""
---
module: zookeeper_decide
short_description: Check a host against the run, then decide which of the role's phases have work
description:
  - Runs on the controller and contacts no host. Two steps of the zookeeper role's reconcile loop,
    from what M(zkops.zookeeper34.zookeeper_probe) observed and the inventory.
  - First the checks of the host; the variable named by O(problems) is rendered, a list of
    messages, and any message fails the task with all of them, one a line. Nothing else is
    rendered then.
  - Then the decision; each variable named in O(phases) is rendered, true where that phase has
    work on the host, and returned in RV(todo).
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
  - An action plugin; it runs on the controller only, so the host's Python does not matter.
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
todo:
  description: Each phase of O(phases), true where it has work on the host.
  returned: success
  type: dict
  sample: {install: false, config: true, service: true, metrics: false}
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
}
