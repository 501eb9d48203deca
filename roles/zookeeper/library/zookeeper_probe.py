#!/usr/bin/python
"""Ansible module: read, in one call, everything the zookeeper role compares before it acts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: zookeeper_probe
short_description: Read the state of a ZooKeeper host that the role compares before acting
description:
  - Changes nothing. Returns the owner, group, mode, SHA-1 checksum or link target of each
    path, the service account, the unit's state, whether the running server predates one of
    its configuration files, and the server's C(srvr) mode.
  - The role compares these with what it would write and runs a module only where they
    differ, so a run with nothing to change costs one call per host instead of one per file.
options:
  paths:
    type: list
    elements: path
    default: []
    description: Files, directories and links to describe.
  read:
    type: list
    elements: path
    default: []
    description: Small files whose content is returned too (myid, /etc/hosts).
  user: {type: str, default: zookeeper, description: The service account.}
  group: {type: str, default: zookeeper, description: The service account's group.}
  service: {type: str, default: zookeeper, description: The systemd unit.}
  config_files:
    type: list
    elements: path
    default: []
    description: Files the running server read at start; one changed since makes it stale.
  endpoint: {type: str, default: "127.0.0.1:2181", description: The server's client endpoint.}
"""

RETURN = r"""
paths: {description: "path: {exists, type, owner, group, mode, checksum, target}", type: dict}
content: {description: "path: text of each I(read) file that exists", type: dict}
user: {description: "{exists, group, home, shell} of I(user)", type: dict}
group_exists: {description: Whether I(group) exists, type: bool}
service: {description: "{enabled, active, main_pid, started (epoch seconds or null)}", type: dict}
stale: {description: A config file changed after the running server started, type: bool}
mode: {description: The server's srvr mode (leader, follower, ...) or null, type: str}
"""

import grp
import hashlib
import os
import pwd
import stat
import subprocess
import time

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
        capture_output=True, text=True, check=False)
    props = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {"enabled": props.get("UnitFileState") == "enabled",
            "active": props.get("ActiveState") == "active",
            "main_pid": int(props.get("MainPID") or 0),
            "started": wall_clock(int(props.get("ExecMainStartTimestampMonotonic") or 0))}


def wall_clock(monotonic_usec: int) -> float | None:
    """The wall-clock time of a CLOCK_MONOTONIC timestamp in microseconds (systemd's record
    of when the unit's main process started), or None for none."""
    if not monotonic_usec:
        return None
    return time.time() - time.monotonic() + monotonic_usec / 1e6


def stale(service: dict, files: list[str]) -> bool:
    """True when one of `files` changed after the running server started: a change whose
    restart never happened (say, an earlier run failed or was interrupted before its
    handlers ran). The start is systemd's, to the microsecond."""
    if not service["main_pid"] or service["started"] is None:
        return False
    return any(os.path.exists(f) and os.stat(f).st_mtime > service["started"] for f in files)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "read": {"type": "list", "elements": "path", "default": []},
            "user": {"type": "str", "default": "zookeeper"},
            "group": {"type": "str", "default": "zookeeper"},
            "service": {"type": "str", "default": "zookeeper"},
            "config_files": {"type": "list", "elements": "path", "default": []},
            "endpoint": {"type": "str", "default": "127.0.0.1:2181"},
        },
        supports_check_mode=True,
    )
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
