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
  secret_paths:
    description:
      - Paths of O(paths) that hold secrets (the JAAS logins, C(zoo.cfg) with the super user's
        digest). They are described without a checksum, so that no digest of them leaves the host
        (a password could be guessed against it offline); the task that writes them compares on
        the host.
    type: list
    elements: path
    required: false
    default: []
  read:
    description:
      - Small files whose content is returned too (C(myid), C(/etc/hosts)). A symbolic link or
        anything but a regular file is not read (it is left out of RV(content)).
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
  units:
    description:
      - Further systemd units whose state to report in RV(units), such as the firewall's.
    type: list
    elements: str
    required: false
    default: []
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
  tls:
    description:
      - Ask over TLS (a C(secureClientPort)), with these files on the host, C(ca) (the CA
        certificate the server's is checked against) and C(cert) (the certificate shown when
        the server asks for one, its key in the same file or in C(key)). Empty asks plain TCP.
    type: dict
    required: false
    default: {}
  config_file:
    description:
      - The server's C(zoo.cfg), whose C(server.N) lines are returned in RV(ensemble)'s
        C(config).
    type: path
    required: false
  runtime_config:
    description:
      - The copy of C(zoo.cfg) the unit makes as the server starts (C(ExecStartPre)), that is
        the member list the running server uses, returned in RV(ensemble)'s C(running). Without it
        (a unit of an older version of the role), the running list is read from O(config_file)
        unless that changed after the start.
    type: path
    required: false
  dynamic_dir:
    description:
      - Where a server with dynamic reconfiguration (ZooKeeper 3.5+) keeps the zoo.cfg it runs
        with and its dynamic files. When its C(zoo.cfg) is there, the member list it names is
        both RV(ensemble)'s C(config) and (the unit active) its C(running), C(running_from)
        C(dynamic).
    type: path
    required: false
  data_dir:
    description:
      - The server's C(dataDir), to tell whether its C(version-2) holds snapshots or transaction
        logs, and to read the C(currentEpoch) kept there.
    type: path
    required: false
  java:
    description:
      - Also look at Java in the same call, as M(zkops.zookeeper34.java_probe) does (the
        distribution, returned as facts, its Java package and whether it is installed, and what
        the java binary reports), and return it in RV(java). Omitted, Java is not looked at.
    type: dict
    required: false
    suboptions:
      binary:
        description: The java binary to run with C(-version).
        type: path
        required: false
        default: /usr/bin/java
      package:
        description: The package to look for; empty picks one from O(java.packages).
        type: str
        required: false
        default: ""
      packages:
        description:
          - Package names by C(<distribution>-<major version>), C(<os family>-<major version>),
            C(<distribution>) or C(<os family>), tried in that order.
        type: dict
        required: false
        default: {}
      query:
        description:
          - Ask the package manager whether the package is installed; off, its state is
            C(unknown).
        type: bool
        required: false
        default: true
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
  zkops.zookeeper34.zookeeper_probe:
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
    - For each path of O(paths), whether it exists and, if it does, its C(type) (file, directory,
      link or other), C(owner), C(group) and C(mode) (an octal string); a file's SHA-1
      C(checksum) (none for O(secret_paths)), a link's C(target). No link is followed.
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
    - The unit's state, C(enabled), C(active), C(main_pid) (0 when not running), C(started),
      when its main process started (epoch seconds, or null), and C(need_reload), whether its
      file changed on disk since systemd read it.
  returned: always
  type: dict
  sample: {enabled: true, active: true, main_pid: 4242, started: 1767225600.123456,
           need_reload: false}
units:
  description: The state of each unit of O(units), as RV(service) gives the server's.
  returned: always
  type: dict
  sample: {zookeeper-firewall: {enabled: true, active: true, main_pid: 0, started: null,
                                need_reload: false}}
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
zxid:
  description: The server's last zxid as C(srvr) prints it, or null when it does not serve.
  returned: always
  type: str
  sample: "0x300000012"
java:
  description:
    - What M(zkops.zookeeper34.java_probe) returns for O(java) (C(package), C(package_state),
      C(version_rc), C(stderr), C(version) and C(version_from), and C(msg) when the binary cannot
      be run), its distribution
      facts included (C(ansible_facts)), which are also returned as facts.
  returned: when O(java) is given
  type: dict
  sample: {package: openjdk-17-jre-headless, package_state: installed, version_rc: 0,
           stderr: "openjdk version \"17.0.11\" 2024-04-16",
           ansible_facts: {ansible_distribution: Debian, ansible_os_family: Debian}}
ensemble:
  description:
    - The member lists the server has, each a list of C(id), C(host), C(quorum_port) and
      C(election_port) (null when there is none). C(running) is the list the running server
      started with (null when the unit is not active, or when it cannot be known, as with an
      older unit without O(runtime_config) whose O(config_file) changed after the start);
      C(running_from) says where it was read (C(runtime), C(config) or null). C(config) is
      the list in O(config_file).
    - C(data) is whether O(data_dir)'s C(version-2) holds a snapshot or a transaction log,
      C(epoch) the C(currentEpoch) beside them (null when none).
    - C(reconfig) is whether the configuration read has C(reconfigEnabled=true) (ZooKeeper 3.5+
      dynamic reconfiguration); its member list is then read from the dynamic file its
      C(dynamicConfigFile) names, when that file is beside it.
    - C(quorum_tls) is where the running server's configuration stands on the way to quorum
      TLS (C(0) plain, C(1) C(portUnification) alone, C(2) C(portUnification) and
      C(sslQuorum), C(3) C(sslQuorum) alone; null when C(running) is). C(client_ports) are
      the client ports it opened, C(plain) (C(clientPort)) and C(tls) (C(secureClientPort)),
      each a number or null (itself null when C(running) is).
    - A path the service account owns that is a symbolic link is not followed; it is reported in
      C(links) instead.
  returned: always
  type: dict
  sample:
    running: [{id: 1, host: zookeeper01, quorum_port: 2888, election_port: 3888}]
    running_from: runtime
    config: [{id: 1, host: zookeeper01, quorum_port: 2888, election_port: 3888}]
    data: true
    epoch: 3
    links: []
    reconfig: false
    quorum_tls: 0
    client_ports: {plain: 2181, tls: null}
"""

import grp
import hashlib
import os
import pwd
import re
import stat
from typing import Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.java_runtime import OPTIONS, look
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import (
    srvr_at,
    use_tls,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_nofollow import (
    open_no_follow,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_systemd import (
    stale,
    units,
)


def describe(path: str, checksum: bool = True) -> dict:
    """What the file, directory or link at `path` is, as the file/copy modules compare it
    (a file's content by its SHA-1 unless not `checksum`)."""
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
    elif not stat.S_ISREG(info.st_mode):
        result["type"] = "other"
    elif not checksum:
        result["type"] = "file"
    else:
        digest = hashlib.sha1()
        try:
            # Never through a link: one may have replaced the file since the lstat.
            fd = open_no_follow(path)
        except OSError:
            return dict(result, type="other")
        with os.fdopen(fd, "rb") as handle:
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


SERVER_LINE = re.compile(r"^\s*server\.(\d+)\s*=\s*([^:;\s]+):(\d+):(\d+)", re.M)


def server_lines(text: str) -> List[dict]:
    """The members a zoo.cfg lists (its `server.N=host:quorum:election[...]` lines), by id."""
    members = []
    for line in text.splitlines():
        match = SERVER_LINE.match(line)
        if match:
            members.append({"id": int(match.group(1)), "host": match.group(2),
                            "quorum_port": int(match.group(3)),
                            "election_port": int(match.group(4))})
    return sorted(members, key=lambda m: m["id"])


def read_no_follow(path: str) -> Optional[str]:
    """The text of the regular file at `path`, or None when there is none. A symbolic link is
    never followed (the service account may own the directory), nor anything but a regular
    file read: NotAFile (an OSError) is raised."""
    try:
        fd = open_no_follow(path)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(1 << 20).decode("utf-8", errors="replace")


def ensemble(service: dict, is_stale: bool, config_file: Optional[str],
             runtime_config: Optional[str], data_dir: Optional[str],
             dynamic_dir: Optional[str] = None) -> dict:
    """The member lists on disk and in the running server, and what the data directory holds."""
    links: List[str] = []

    reconfig = []
    settings_of: Dict[str, dict] = {}  # each zoo.cfg read, as key: value

    def members_in(path: Optional[str]) -> Optional[List[dict]]:
        """The server lines of a zoo.cfg, or (dynamic reconfiguration) of the dynamic file it
        names, when that one is beside it."""
        if not path:
            return None
        try:
            text = read_no_follow(path)
            if text is None:
                return None
            settings = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
            settings_of[path] = settings
            reconfig.append(settings.get("reconfigEnabled", "").strip() == "true")
            dynamic = settings.get("dynamicConfigFile", "").strip()
            if not SERVER_LINE.search(text) and dynamic \
                    and os.path.dirname(dynamic) == os.path.dirname(path):
                path, text = dynamic, read_no_follow(dynamic) or ""
        except OSError:
            links.append(path)
            return None
        return server_lines(text)

    dynamic_config = os.path.join(dynamic_dir, "zoo.cfg") if dynamic_dir else None
    dynamic = members_in(dynamic_config)
    running, running_from, running_config = None, None, None
    if dynamic is not None:  # the server keeps its own member list (dynamic reconfiguration)
        config = dynamic
        if service["active"]:
            running, running_from, running_config = dynamic, "dynamic", dynamic_config
    else:
        config = members_in(config_file)
        if service["active"]:
            running = members_in(runtime_config)
            if running is not None:
                running_from, running_config = "runtime", runtime_config
            elif not is_stale and config is not None:
                running, running_from, running_config = config, "config", config_file
    data, epoch = False, None
    if data_dir:
        version2 = os.path.join(data_dir, "version-2")
        try:
            info = os.lstat(version2)
            if stat.S_ISLNK(info.st_mode):
                links.append(version2)
            elif stat.S_ISDIR(info.st_mode):
                data = any(name.startswith(("snapshot.", "log."))
                           for name in os.listdir(version2))
        except FileNotFoundError:
            pass
        if version2 not in links:
            try:  # 3.4 keeps it beside the snapshots, in version-2
                text = read_no_follow(os.path.join(version2, "currentEpoch"))
                epoch = int(text.strip()) if text and text.strip().isdigit() else None
            except OSError:
                links.append(os.path.join(version2, "currentEpoch"))
    return {"running": running, "running_from": running_from, "config": config,
            "data": data, "epoch": epoch, "links": links, "reconfig": any(reconfig),
            "quorum_tls": quorum_tls_stage(settings_of.get(running_config or "")),
            "client_ports": client_ports(settings_of.get(running_config or ""))}


def client_ports(settings: Optional[dict]) -> Optional[dict]:
    """The client ports a running configuration opens: C(plain) (clientPort) and C(tls)
    (secureClientPort), each a number or None; None without a running configuration."""
    if settings is None:
        return None

    def port(key: str) -> Optional[int]:
        value = settings.get(key, "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    return {"plain": port("clientPort"), "tls": port("secureClientPort")}


def quorum_tls_stage(settings: Optional[dict]) -> Optional[int]:
    """Where a zoo.cfg stands on the way to quorum TLS (tasks/tls-passes.yml): 0 plain, 1 both
    accepted and plain spoken (portUnification), 2 both accepted and TLS spoken, 3 TLS only;
    None without a running configuration."""
    if settings is None:
        return None

    def on(key: str) -> bool:
        return settings.get(key, "").strip().lower() == "true"

    if on("portUnification"):
        return 2 if on("sslQuorum") else 1
    return 3 if on("sslQuorum") else 0


# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks).
ARGUMENT_SPEC = {
    "paths": {"type": "list", "elements": "path", "default": []},
    # Paths, not secrets: what they hold is never read.
    "secret_paths": {"type": "list", "elements": "path", "default": [], "no_log": False},
    "read": {"type": "list", "elements": "path", "default": []},
    "user": {"type": "str", "default": "zookeeper"},
    "group": {"type": "str", "default": "zookeeper"},
    "service": {"type": "str", "default": "zookeeper"},
    "units": {"type": "list", "elements": "str", "default": []},
    "config_files": {"type": "list", "elements": "path", "default": []},
    "endpoint": {"type": "str", "default": "127.0.0.1:2181"},
    "tls": {"type": "dict", "default": {}},
    "config_file": {"type": "path"},
    "runtime_config": {"type": "path"},
    "data_dir": {"type": "path"},
    "dynamic_dir": {"type": "path"},
    "java": {"type": "dict", "options": OPTIONS},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    content = {}
    for path in params["read"]:
        # myid and the restore marker are in the data directory, which the service account
        # owns: a link there is not followed (describe() in `paths` reports it).
        try:
            text = read_no_follow(path)
        except OSError:
            continue
        if text is not None:
            content[path] = text
    # The server's unit and the others, in one systemctl call.
    found_units = units([params["service"], *params["units"]])
    service = found_units[params["service"]]
    is_stale = stale(service, params["config_files"])
    try:
        use_tls(params["tls"])
    except OSError as err:  # ssl.SSLError too
        module.fail_json(msg=f"cannot use the TLS files {params['tls']}: {err}")
    server = srvr_at(params["endpoint"]) if service["active"] else {"mode": None}
    java = {} if params["java"] is None else look(module, **params["java"])
    module.exit_json(
        changed=False,
        **({"java": java, "ansible_facts": java["ansible_facts"]} if java else {}),
        paths={path: describe(path, path not in params["secret_paths"])
               for path in params["paths"]},
        content=content,
        user=account(params["user"]),
        group_exists=group_exists(params["group"]),
        service=service,
        units={name: found_units[name] for name in params["units"]},
        stale=is_stale,
        mode=server["mode"],
        zxid=server.get("zxid") if server["mode"] else None,
        ensemble=ensemble(service, is_stale, params["config_file"], params["runtime_config"],
                          params["data_dir"], params["dynamic_dir"]),
    )


if __name__ == "__main__":
    main()
