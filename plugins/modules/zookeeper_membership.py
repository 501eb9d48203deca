#!/usr/bin/python
"""Ansible module (documentation; the action plugin of the same name does the work on the
controller): plan each ensemble's membership change, and refuse one that is not safe."""

DOCUMENTATION = r"""
---
module: zookeeper_membership
short_description: Plan each ensemble's membership change on the controller, refusing an unsafe one
description:
  - Runs on the controller; run it once for the play (C(run_once)). It contacts a host only
    to ask electing servers again (see O(settle_timeout)).
  - For every ensemble of the play, from what each member's server runs with (its
    M(zkops.zookeeper34.zookeeper_probe) result, C(__zookeeper_probe)) and the retired hosts'
    (O(retired_probes)) to the inventory's members, one voting member per step, each step checked
    against ZooKeeper's rules (C(plugins/plugin_utils/zookeeper_membership.py), docs/membership.md).
  - Fails, listing every problem, when a plan could split an ensemble, lose data or cost an
    outage, when the members of several ensembles would change in one run, or when a change would
    need the plain client port that O(plain_client_port_off) says is off. While a restore is in
    progress on a host of the play (O(restore_marker)), nothing is refused here; the host checks
    refuse the run, naming the restore to finish.
  - Returns the plans and each ensemble's members; the role reads them for the rest of the run.
options:
  retired_probes:
    description:
      - The results of M(zkops.zookeeper34.zookeeper_probe) looped over group C(zookeeper_retired)
        (each with its C(item); an unreachable one counts as down).
    type: list
    elements: dict
    default: []
  allow_outage:
    description: Plan a change that costs an outage (C(zookeeper_membership_allow_outage)).
    type: bool
    default: false
  reconfig:
    description: The ensembles change their members by dynamic reconfiguration (3.8).
    type: bool
    default: false
  restore_marker:
    description: The file a restore in progress leaves (C(__zookeeper_restore_marker)).
    type: str
    default: ""
  plain_client_port_off:
    description:
      - The servers have no plain client port (C(zookeeper_tls_client) on,
        C(zookeeper_tls_client_plain) off), which a membership walk asks every server on.
    type: bool
    default: false
  settle_timeout:
    description:
      - Where a plan is refused (or would cost an outage) for want of a leader or of servers
        while some servers answer but do not serve yet (they are electing, just started or
        back from a partition, where ZooKeeper's election retries with a back-off of up to
        60 seconds), ask those again every second from the task's host (as the membership
        walk does, with M(zkops.zookeeper34.zookeeper_server)'s
        O(zkops.zookeeper34.zookeeper_server#module:action=observe)) for at most this many
        seconds, then plan again from what they say. The plan's C(notes) say whom it waited
        for and how long. V(0) plans once.
    type: int
    default: 0
  not_probed:
    description:
      - What RV(found) gives for a member whose probe result has no C(ensemble) (not in the play,
        not reached, not probed yet).
    type: dict
    default: {}
  unit_path:
    description:
      - The systemd unit of the ZooKeeper service (C(__zookeeper_unit_path)). Given, RV(states)
        says which members of each ensemble serve and which are deployed (the unit is there)
        but do not.
    type: str
    default: ""
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
- name: Plan each ensemble's membership change
  zkops.zookeeper34.zookeeper_membership:
    retired_probes: "{{ retired.results | default([]) }}"
  run_once: true
  register: membership
"""

RETURN = r"""
plans:
  description: Each ensemble's plan, by its group; C(walk) is true where its members change.
  returned: success
  type: dict
members:
  description: Each ensemble's members (C(id), C(name), C(address)) sorted by id, by its group.
  returned: success
  type: dict
found:
  description:
    - What the probe found of each member's server (its result's C(ensemble), else
      O(not_probed)), in the order of the group, by group. Read from every member's variables
      once for the run, where each host's later checks would read them again at each use.
  returned: success
  type: dict
states:
  description:
    - With O(unit_path), each ensemble's members in the play that serve (C(serving)) and those
      deployed there but not serving (C(down)), by group; during a membership walk a server
      whose unit runs is not down, nor is a member still to join. Read once for the run from
      every member's probe result, where each host's checks would read them all again.
  returned: success, with O(unit_path)
  type: dict
  sample: {zookeeper: {down: [zookeeper02], serving: [zookeeper01, zookeeper03]}}
msg:
  description:
    - On failure, the problems, one a line.
    - Otherwise, where an ensemble's members change, how (its plan's C(summary) lines), shown
      in the run's output.
  returned: failure, or when an ensemble's members change
  type: raw
"""

# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks) and
# the action plugin checks its arguments against it.
ARGUMENT_SPEC = {
    "retired_probes": {"type": "list", "elements": "dict", "default": []},
    "allow_outage": {"type": "bool", "default": False},
    "reconfig": {"type": "bool", "default": False},
    "restore_marker": {"type": "str", "default": ""},
    "plain_client_port_off": {"type": "bool", "default": False},
    "settle_timeout": {"type": "int", "default": 0},
    "not_probed": {"type": "dict", "default": {}},
    "unit_path": {"type": "str", "default": ""},
}
