#!/usr/bin/python
"""Ansible module: read, in one call, everything the zookeeper role compares before it acts."""

DOCUMENTATION = r"""
---
module: zookeeper_probe
short_description: Read the state of a ZooKeeper host that the zookeeper role compares before acting
description:
  - Changes nothing. Returns the owner, group, mode, SHA-1 checksum or link target of each path
    in O(paths), the content of each file in O(read), the service account, the systemd unit's
    state, whether the running server predates one of its configuration files, and the
    server's C(srvr) mode.
  - The zookeeper role compares these with what it would write and runs a module only where
    they differ, so a run with nothing to change costs one call per host instead of one per
    file.
options:
  paths:
    description:
      - Files, directories and links to describe (a missing one is reported as not existing).
    type: list
    elements: path
    required: false
    default: []
  read:
    description:
      - Small files whose content is returned too (C(myid), C(/etc/hosts)).
    type: list
    elements: path
    required: false
    default: []
  user:
    description:
      - The service account.
    type: str
    required: false
    default: zookeeper
  group:
    description:
      - The service account's group.
    type: str
    required: false
    default: zookeeper
  service:
    description:
      - The systemd unit of the server.
    type: str
    required: false
    default: zookeeper
  config_files:
    description:
      - Files the running server read at its start. One changed since (its modification time
        after the unit's start, as systemd records it) makes the server RV(stale).
    type: list
    elements: path
    required: false
    default: []
  endpoint:
    description:
      - The server's client endpoint, C(address:port), asked C(srvr) when the unit is active.
    type: str
    required: false
    default: "127.0.0.1:2181"
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: It changes nothing in any mode; check mode returns what a normal run returns.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Supports check mode, and always returns C(changed=false).
  - Needs systemd (C(systemctl show)) on the host; a unit that does not exist is reported as
    neither enabled nor active.
  - Runs on the host's Python 3.6 or later, standard library only.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Describe the configuration, the data directory and the release link
  zookeeper_probe:
    paths:
      - /etc/zookeeper/zoo.cfg
      - /var/lib/zookeeper
      - /opt/zookeeper
    read:
      - /var/lib/zookeeper/myid
    config_files:
      - /etc/zookeeper/zoo.cfg
      - /var/lib/zookeeper/myid
    endpoint: 10.0.0.11:2181
  register: probe

- name: Show whether a restart is due
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} is {{ probe.mode or 'not serving' }}, stale: {{ probe.stale }}"
"""

RETURN = r"""
paths:
  description:
    - For each path of O(paths), whether it exists and, if it does, its C(type) (file, directory
      or link), C(owner), C(group) and C(mode) (an octal string); a file's SHA-1 C(checksum), a
      link's C(target).
  returned: always
  type: dict
  sample:
    /etc/zookeeper/zoo.cfg: {exists: true, type: file, owner: root, group: zookeeper,
                             mode: "0640", checksum: 4b8c1f0e1d3c2a9f8e7d6c5b4a39281706f5e4d3}
    /opt/zookeeper: {exists: true, type: link, owner: root, group: root, mode: "0777",
                     target: /opt/zookeeper-3.4.14}
    /var/lib/zookeeper/version-2: {exists: false}
content:
  description: The text of each file of O(read) that exists, by path.
  returned: always
  type: dict
  sample: {/var/lib/zookeeper/myid: "1\n"}
user:
  description: Whether O(user) exists and, if it does, its primary C(group), C(home) and C(shell).
  returned: always
  type: dict
  sample: {exists: true, group: zookeeper, home: /var/lib/zookeeper, shell: /usr/sbin/nologin}
group_exists:
  description: Whether O(group) exists.
  returned: always
  type: bool
  sample: true
service:
  description:
    - The unit's state, C(enabled), C(active), C(main_pid) (0 when not running) and C(started),
      when its main process started (epoch seconds, or null).
  returned: always
  type: dict
  sample: {enabled: true, active: true, main_pid: 4242, started: 1767225600.123456}
stale:
  description: Whether a file of O(config_files) changed after the running server started.
  returned: always
  type: bool
  sample: false
mode:
  description:
    - The server's C(srvr) mode (leader, follower, standalone), or null when the unit is not
      active or the server does not serve.
  returned: always
  type: str
  sample: follower
"""

import grp
import hashlib
import os
import pwd
import stat
import subprocess
import time
from typing import List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.zookeeper_4lw import srvr_at


def describe(path: str) -> dict:
    """What the file, directory or link at `path` is, as the file/copy modules compare it."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    result = {
        "exists": True,
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
    }
    if stat.S_ISLNK(info.st_mode):
        result.update(type="link", target=os.readlink(path))
    elif stat.S_ISDIR(info.st_mode):
        result["type"] = "directory"
    else:
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
        result.update(type="file", checksum=digest.hexdigest())
    return result


def _name(lookup, number: int) -> str:
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def account(user: str) -> dict:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "group": _name(grp.getgrgid, entry.pw_gid), "home": entry.pw_dir,
            "shell": entry.pw_shell}


def group_exists(group: str) -> bool:
    try:
        grp.getgrnam(group)
    except KeyError:
        return False
    return True


def unit(service: str) -> dict:
    proc = subprocess.run(
        ["systemctl", "show", service,
         "--property=UnitFileState,ActiveState,MainPID,ExecMainStartTimestampMonotonic"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    props = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {"enabled": props.get("UnitFileState") == "enabled",
            "active": props.get("ActiveState") == "active",
            "main_pid": int(props.get("MainPID") or 0),
            "started": wall_clock(int(props.get("ExecMainStartTimestampMonotonic") or 0))}


def wall_clock(monotonic_usec: int) -> Optional[float]:
    """The wall-clock time of a CLOCK_MONOTONIC timestamp in microseconds (systemd's record
    of when the unit's main process started), or None for none."""
    if not monotonic_usec:
        return None
    return time.time() - time.monotonic() + monotonic_usec / 1e6


def stale(service: dict, files: List[str]) -> bool:
    """True when one of `files` changed after the running server started: a change whose
    restart never happened (say, an earlier run failed or was interrupted before its
    handlers ran). The start is systemd's, to the microsecond."""
    if not service["main_pid"] or service["started"] is None:
        return False
    return any(os.path.exists(f) and os.stat(f).st_mtime > service["started"] for f in files)


# The options; DOCUMENTATION describes each (roles/zookeeper/tests/test_module_docs.py checks).
ARGUMENT_SPEC = {
    "paths": {"type": "list", "elements": "path", "default": []},
    "read": {"type": "list", "elements": "path", "default": []},
    "user": {"type": "str", "default": "zookeeper"},
    "group": {"type": "str", "default": "zookeeper"},
    "service": {"type": "str", "default": "zookeeper"},
    "config_files": {"type": "list", "elements": "path", "default": []},
    "endpoint": {"type": "str", "default": "127.0.0.1:2181"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    content = {}
    for path in params["read"]:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                content[path] = handle.read()
        except OSError:
            pass
    service = unit(params["service"])
    module.exit_json(
        changed=False,
        paths={path: describe(path) for path in params["paths"]},
        content=content,
        user=account(params["user"]),
        group_exists=group_exists(params["group"]),
        service=service,
        stale=stale(service, params["config_files"]),
        mode=srvr_at(params["endpoint"])["mode"] if service["active"] else None,
    )


if __name__ == "__main__":
    main()
