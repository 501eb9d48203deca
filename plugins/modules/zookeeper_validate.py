#!/usr/bin/python
"""Ansible module (documentation; the action plugin of the same name does the work on the
controller): check the zookeeper role's inventory before any host changes."""

DOCUMENTATION = r"""
---
module: zookeeper_validate
short_description: Check the zookeeper role's variables on the controller, before any host changes
description:
  - Runs on the controller and contacts no host, except to read the distribution of a host of
    the package method (C(ansible.builtin.setup)'s distribution facts, returned as facts) when
    no task has yet. Fails, naming the host, the variable, the value and what to do, when the
    inventory cannot give a working ensemble.
  - Two steps. First, on each host (O(spec) given), it resolves the host's ensemble settings
    and checks the host, stopping at the first step that finds a problem, in this order; the
    release line of C(zookeeper_version); every variable of O(spec)'s entry point against its
    type and choices (as C(ansible.builtin.validate_argument_spec)); what a type cannot check
    (sizes, absolute paths, ranges, URLs, names, zoo.cfg keys, SASL, switches that need another
    value or release line); then the known vulnerabilities of the Apache release in use
    (O(release_cves)); then, for the package method, the distribution's package (the first of
    C(<distribution>-<major>.yml), C(<os family>-<major>.yml) and C(default.yml) in
    O(package_vars)), which must be of a line of O(known_lines). It refuses nothing; register its
    result as C(__zookeeper_validated).
  - Then, with O(ensembles), once for the play (C(run_once), so that a failure stops every
    host), every ensemble of the play at once (groups, ids, addresses, ports, timing, names,
    retired hosts) from the settings each host resolved; when they pass, each host's own
    problems and warnings, all hosts' at once, with the local method's (the tarball on the
    controller, its sha512 from C(zookeeper_checksum) or the C(.sha512) beside it, and its
    C(.asc) with C(zookeeper_signature_check); each tarball hashed once). An ensemble problem is
    reported alone, before any host's own.
  - One step of the role's reconcile loop instead of seven tasks a host (each task costs the
    controller a forked worker per host).
options:
  ensembles:
    description:
      - Check the play's ensembles instead of this host's variables.
    type: bool
    default: false
  spec:
    description:
      - The role's C(meta/argument_specs.yml), whose O(entry_point) options are the variables
        checked. Required unless O(ensembles).
    type: path
  entry_point:
    description: The entry point of O(spec) whose options are checked.
    type: str
    default: main
  known_lines:
    description:
      - The release lines the role deploys (C(3.4), C(3.8)); C(zookeeper_version) must be a
        release of one of them.
    type: list
    elements: str
    default: []
  release_cves:
    description:
      - The known vulnerabilities of the release line in use, each with C(id), C(what), C(fixed)
        (the first release with the fix, or null) and C(when) (the variable that must be on for
        it to matter, or null). A release without the fix, on the tarball or local method, is
        warned about unless C(zookeeper_build_fixes) lists the id.
    type: list
    elements: dict
    default: []
  values:
    description:
      - Values checked instead of the variables of the same name (a URL the role resolves).
    type: dict
    default: {}
  package_vars:
    description:
      - The directory of the package method's per-distribution files (the role's C(vars)), each
        with C(__zookeeper_package_name), C(__zookeeper_package_version) (empty when the
        distribution has no package), C(__zookeeper_package_logging) and
        C(__zookeeper_package_links). Required on a host of the package method.
    type: path
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
- name: Resolve and check this host's settings and variables
  zkops.zookeeper34.zookeeper_validate:
    spec: "{{ role_path }}/meta/argument_specs.yml"
    known_lines: ["3.4", "3.8"]
  register: __zookeeper_validated

- name: Check the ensembles of the play, then report every host's problems
  zkops.zookeeper34.zookeeper_validate:
    ensembles: true
  run_once: true
"""

RETURN = r"""
settings:
  description: >-
    The host's ensemble settings, rendered (C(zookeeper_id), C(address), the ports, timing,
    names and C(zookeeper_tls_quorum)), which the check with O(ensembles) compares.
  returned: on each host (without O(ensembles))
  type: dict
  sample: {zookeeper_id: 1, address: 10.0.0.11, zookeeper_client_port: 2181}
problems:
  description: What the host's own check found wrong, one message each, naming the host.
  returned: on each host (without O(ensembles))
  type: list
  elements: str
cautions:
  description: The host's warnings, one C(WARNING:) line each (a release without a fix).
  returned: on each host (without O(ensembles))
  type: list
  elements: str
package:
  description: >-
    The distribution's package, from O(package_vars) (C(name), C(version), C(logging),
    C(links); the keys without their C(__zookeeper_package_) prefix).
  returned: on each host of the package method whose variables pass
  type: dict
  sample: {name: zookeeper, version: 3.4.13, logging: log4j, links: []}
local:
  description: >-
    What the check with O(ensembles) reads of the local method's tarball (C(tarball),
    C(checksum), C(signature_check)).
  returned: on each host of the local method whose variables pass
  type: dict
ansible_facts:
  description: The distribution facts read from the host (as C(ansible.builtin.setup) gives them).
  returned: on a host of the package method whose distribution no task had read
  type: dict
msg:
  description: >-
    With O(ensembles): the warnings, one C(WARNING:) line each (an even member count, a release
    without a fix); the problems when it fails, one a line.
  returned: with O(ensembles), when there is something to say
  type: raw
  sample: ["WARNING: zookeeper01: the Apache ZooKeeper 3.4.13 release (tarball method) lacks ..."]
"""

# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks) and
# the action plugin checks its arguments against it.
ARGUMENT_SPEC = {
    "ensembles": {"type": "bool", "default": False},
    "spec": {"type": "path"},
    "entry_point": {"type": "str", "default": "main"},
    "known_lines": {"type": "list", "elements": "str", "default": []},
    "release_cves": {"type": "list", "elements": "dict", "default": []},
    "values": {"type": "dict", "default": {}},
    "package_vars": {"type": "path"},
}
