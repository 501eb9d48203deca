#!/usr/bin/python
"""Ansible module: lay down a ZooKeeper host's directories, files and links in one call."""

DOCUMENTATION = r"""
---
module: zookeeper_files
short_description: Write a ZooKeeper host's directories, files and links in one call
description:
  - Makes each directory of O(directories), writes each file of O(files) and O(secret_files)
    with its content, owner, group and mode, points each link of O(links) at its target and
    removes each path of O(absent), all in one call; only what differs is touched. It can
    also put a release in place first (O(release)) and start a unit last (O(start)).
  - The zookeeper role renders every file on the controller, compares it with what
    zookeeper_probe found and hands this module only what differs, so that a fresh host costs
    one call instead of one or two per file (a template or copy task is a C(stat) and a
    C(copy), and a transfer).
  - A file is written to a temporary file beside it and renamed over it (atomic); with
    C(unsafe_writes) it is written in place when the rename fails (a bind-mounted
    C(/etc/hosts) in a container). Owner, group, mode and SELinux context are set as
    ansible.builtin.copy sets them.
options:
  account:
    description:
      - A system group and a system user in it, made before anything else when missing; an
        existing user gets this primary group, home and shell when they differ.
    type: dict
    required: false
    suboptions:
      user:
        description: The user's name.
        type: str
        required: true
      group:
        description: Its primary group, a system group made when missing.
        type: str
        required: true
      home:
        description: Its home directory (not created).
        type: path
        required: true
      shell:
        description: Its login shell.
        type: path
        required: true
      comment:
        description: The GECOS comment of a new user.
        type: str
        required: false
        default: ""
  directories:
    description:
      - Directories to create (with missing parents) and give C(owner), C(group) and C(mode).
    type: list
    elements: dict
    required: false
    default: []
    suboptions:
      path:
        description: The directory.
        type: path
        required: true
      owner:
        description: Its owner (unchanged when omitted).
        type: str
        required: false
      group:
        description: Its group (unchanged when omitted).
        type: str
        required: false
      mode:
        description: Its mode, an octal string such as C("0750") (unchanged when omitted).
        type: str
        required: false
  files:
    description:
      - Files to write; their directories must exist.
    type: list
    elements: dict
    required: false
    default: []
    suboptions: &file_options
      path:
        description: The file.
        type: path
        required: true
      content:
        description: Its whole text.
        type: str
        required: true
      owner:
        description: Its owner (the writer's when new and omitted).
        type: str
        required: false
      group:
        description: Its group (the writer's when new and omitted).
        type: str
        required: false
      mode:
        description: Its mode, an octal string such as C("0640").
        type: str
        required: false
      unsafe_writes:
        description: Write in place when the atomic rename fails.
        type: bool
        required: false
        default: false
  secret_files:
    description:
      - Files written as O(files) are, after them, whose content is a secret (logins, a
        password digest). No diff of them is shown, and their content is kept out of the
        module's logs and result, so that the task needs no C(no_log) and the other files'
        diffs still show.
    type: list
    elements: dict
    required: false
    default: []
    suboptions: *file_options
  links:
    description:
      - Symbolic links to point at a target (the target need not exist).
    type: list
    elements: dict
    required: false
    default: []
    suboptions:
      path:
        description: The link.
        type: path
        required: true
      target:
        description: What it points at.
        type: path
        required: true
  release:
    description:
      - A release to put in place after the account and the directories, before the files,
        as the zkops.zookeeper34.zookeeper_release module does with these options (the same
        names, checks and messages). Nothing is done when O(release.dest)/O(release.top)/lib
        exists; else the tarball (and its signature) is fetched where missing or different,
        its sha512 and signature are checked, and it is unpacked into a directory of its own
        renamed into place. A release that is refused fails the call before any file is
        written.
      - The zookeeper role passes it on a new server of the tarball method (no unit before the
        run; the account and the directories are made in this call too) where the run selects
        no tags, so that the server starts one call sooner; not in check mode (the release
        module reads the published sha512 there).
    type: dict
    required: false
    suboptions:
      path:
        description: As O(zkops.zookeeper34.zookeeper_release#module:path).
        type: path
        required: true
      url:
        description: As O(zkops.zookeeper34.zookeeper_release#module:url).
        type: str
        required: false
      checksum:
        description: As O(zkops.zookeeper34.zookeeper_release#module:checksum).
        type: str
        required: false
        default: ""
      signature_check:
        description: As O(zkops.zookeeper34.zookeeper_release#module:signature_check).
        type: bool
        required: false
        default: true
      keys:
        description: As O(zkops.zookeeper34.zookeeper_release#module:keys).
        type: str
        required: false
      dest:
        description: As O(zkops.zookeeper34.zookeeper_release#module:dest).
        type: path
        required: true
      top:
        description: As O(zkops.zookeeper34.zookeeper_release#module:top).
        type: str
        required: true
      advice:
        description: As O(zkops.zookeeper34.zookeeper_release#module:advice).
        type: str
        required: false
        default: ""
      signature_missing_advice:
        description: As O(zkops.zookeeper34.zookeeper_release#module:signature_missing_advice).
        type: str
        required: false
        default: ""
      timeout:
        description: As O(zkops.zookeeper34.zookeeper_release#module:timeout).
        type: int
        required: false
        default: 10
      validate_certs:
        description: As O(zkops.zookeeper34.zookeeper_release#module:validate_certs).
        type: bool
        required: false
        default: true
  absent:
    description:
      - Files or links to remove when they exist.
    type: list
    elements: path
    required: false
    default: []
  start:
    description:
      - A systemd unit to start once everything else is done, unless it is active; systemd
        reloads its configuration first when the unit's file changed since it read it. The
        start is not waited for (C(systemctl start) returns once the unit's process runs).
        A start that fails is a warning (RV(started) is false); the zookeeper role's start step
        starts the unit again and says why it does not run.
      - The zookeeper role names its unit here only on a new server whose start nothing else
        in the run has to precede, so that its JVM boots while the run goes on, with
        O(enabled); the wait of its service phase then waits until the server serves.
    type: str
    required: false
  enabled:
    description:
      - With O(start), whether the unit is to start at boot; after the start, C(systemctl
        enable) (or C(disable)) runs where the unit is otherwise. Omitted, it is left as it is.
        An enable that fails is a warning (RV(enabled) says what the unit is).
      - The enable comes after the start, since it reloads systemd's whole configuration,
        which takes a few tenths of a second on a busy host. It is asked only of a unit this
        call starts; the zookeeper role's start step then has nothing left to do on that host
        (one call per host fewer while the new JVMs boot).
    type: bool
    required: false
  serve:
    description:
      - With O(start), wait until the ZooKeeper server that this call started serves (as leader
        or follower; standalone with O(serve.members=1)), asking its C(srvr) every 0.25 s, and
        fail the task when it does not within O(serve.timeout), with its last answer, the
        unit's state, its journal and the tail of O(serve.log_file), as zookeeper_server
        does. A unit that was active already, or whose start failed, is not waited for
        (RV(serving) is false; the caller's wait step starts it or waits).
      - The zookeeper role asks it of every new server of a new ensemble, where every host of
        the play runs the call at once (the play's hosts at most C(forks)), so that a majority
        of each ensemble starts while the others wait; its own wait step then has nothing left
        to do on those hosts.
    type: dict
    required: false
    suboptions:
      host:
        description: Address the server's client port listens on.
        type: str
        default: 127.0.0.1
      port:
        description: The client port.
        type: int
        default: 2181
      tls:
        description:
          - Ask over TLS (a C(secureClientPort)), with these files on the host, C(ca),
            C(cert) and C(key), as zookeeper_server's C(tls). Empty
            asks plain TCP.
        type: dict
        default: {}
      members:
        description: The size of the member list the server runs with; V(1) expects standalone.
        type: int
        default: 3
      timeout:
        description: Seconds to wait.
        type: float
        default: 90
      log_file:
        description: The server's log, whose last lines a failure shows.
        type: path
      log_lines:
        description: Lines of the log and of the unit's journal shown on failure.
        type: int
        default: 40
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what it would change and changes nothing.
  diff_mode:
    support: full
    details: The text of each file before and after, and each link's old and new target.
  platform:
    platforms: posix
notes:
  - Supports check mode (nothing is written, RV(changed_paths) lists what would change) and
    diff mode (but for O(secret_files)).
  - A path of O(links) that is a directory or a file is refused, not replaced.
  - Runs on the host's Python 3.6 or later, standard library only.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Lay down a member's account, directories, configuration and release link
  zkops.zookeeper34.zookeeper_files:
    account: {user: zookeeper, group: zookeeper, home: /var/lib/zookeeper,
              shell: /usr/sbin/nologin, comment: Apache ZooKeeper}
    directories:
      - {path: /var/lib/zookeeper, owner: zookeeper, group: zookeeper, mode: "0750"}
      - {path: /etc/zookeeper, owner: root, group: zookeeper, mode: "0750"}
    files:
      - path: /etc/zookeeper/zoo.cfg
        content: "tickTime=2000\ndataDir=/var/lib/zookeeper\nclientPort=2181\n"
        owner: root
        group: zookeeper
        mode: "0640"
      - {path: /var/lib/zookeeper/myid, content: "1\n", owner: root, group: zookeeper,
         mode: "0644"}
    links:
      - {path: /opt/zookeeper, target: /opt/zookeeper-3.4.13}
    absent:
      - /etc/zookeeper/logback.xml
  register: written

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ written.changed_paths }}"
"""

RETURN = r"""
changed_paths:
  description: >-
    The paths created, written, re-pointed, given other attributes or removed; a group or user
    made or changed is listed as C(group:NAME) or C(user:NAME).
  returned: always
  type: list
  elements: str
  sample: [/etc/zookeeper/zoo.cfg, /opt/zookeeper]
release:
  description: >-
    With O(release), what zookeeper_release returns (release, fetched, sha512, unpacked,
    signature); without it, null.
  returned: always
  type: dict
  sample:
    release: /opt/zookeeper-3.4.13
    fetched: [/var/cache/zookeeper/zookeeper-3.4.13.tar.gz,
              /var/cache/zookeeper/zookeeper-3.4.13.tar.gz.asc]
    unpacked: true
started:
  description: Whether the unit of O(start) was started (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
enabled:
  description:
    - Whether the unit of O(start) is enabled when the call ends (in check mode, whether it
      would be), as systemd said before the call unless this call enabled or disabled it;
      null without O(start).
  returned: always
  type: bool
  sample: true
serving:
  description:
    - With O(serve), whether the server this call started served (the call fails when it did
      not in time); false where it started none.
  returned: with O(serve)
  type: bool
  sample: true
mode:
  description: With O(serve), the started server's mode once it served (null where it started none).
  returned: with O(serve)
  type: str
  sample: follower
waited:
  description: With O(serve), seconds from the start until the server served.
  returned: with O(serve)
  type: float
  sample: 3.42
"""

import grp
import os
import pwd
import stat
import tempfile
import time
from typing import Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_nofollow import (
    NotAFile,
    open_no_follow,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_release import (
    ARGUMENT_SPEC as RELEASE_OPTIONS,
    put_in_place,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import use_tls
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_serving import (
    failure,
    wait_serving,
    wanted_modes,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_systemd import (
    systemctl,
    unit,
)

_ATTRIBUTES = {
    "owner": {"type": "str", "required": False},
    "group": {"type": "str", "required": False},
    "mode": {"type": "str", "required": False},
}
_FILE = dict({"path": {"type": "path", "required": True},
              "content": {"type": "str", "required": True},
              "unsafe_writes": {"type": "bool", "required": False, "default": False}},
             **_ATTRIBUTES)
ARGUMENT_SPEC = {
    "account": {"type": "dict", "required": False,
                "options": {"user": {"type": "str", "required": True},
                            "group": {"type": "str", "required": True},
                            "home": {"type": "path", "required": True},
                            "shell": {"type": "path", "required": True},
                            "comment": {"type": "str", "required": False, "default": ""}}},
    "directories": {"type": "list", "elements": "dict", "required": False, "default": [],
                    "options": dict({"path": {"type": "path", "required": True}},
                                    **_ATTRIBUTES)},
    "files": {"type": "list", "elements": "dict", "required": False, "default": [],
              "options": _FILE},
    # The same, but each content is a no_log value (masked wherever it would be shown); the
    # paths, owners and modes are not secret, so that they still show.
    "secret_files": {"type": "list", "elements": "dict", "required": False, "default": [],
                     "no_log": False,
                     "options": dict(_FILE, content={"type": "str", "required": True,
                                                     "no_log": True})},
    "links": {"type": "list", "elements": "dict", "required": False, "default": [],
              "options": {"path": {"type": "path", "required": True},
                          "target": {"type": "path", "required": True}}},
    "release": {"type": "dict", "required": False, "options": RELEASE_OPTIONS},
    "absent": {"type": "list", "elements": "path", "required": False, "default": []},
    "start": {"type": "str", "required": False},
    "enabled": {"type": "bool", "required": False},
    "serve": {"type": "dict", "required": False,
              "options": {"host": {"type": "str", "default": "127.0.0.1"},
                          "port": {"type": "int", "default": 2181},
                          "tls": {"type": "dict", "default": {}},
                          "members": {"type": "int", "default": 3},
                          "timeout": {"type": "float", "default": 90},
                          "log_file": {"type": "path"},
                          "log_lines": {"type": "int", "default": 40}}},
}


def file_args(path: str, item: dict) -> dict:
    """What AnsibleModule.set_fs_attributes_if_different takes: owner, group, mode; the
    SELinux context left as the file has it (atomic_move gives a new file the default)."""
    return {"path": path, "owner": item.get("owner"), "group": item.get("group"),
            "mode": item.get("mode"), "secontext": [None, None, None, None],
            "attributes": None}


def user_entry(name: str):
    """A user's primary group, home and shell, or None when there is no such user."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    return {"group": group, "home": entry.pw_dir, "shell": entry.pw_shell}


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


DIRECTORY_READ = os.O_RDONLY
DIRECTORY_READ |= os.O_DIRECTORY


def wanted_ids(item: dict):
    """The uid, gid and mode `item` asks for (None where it asks for none); KeyError for an
    owner or group the host does not have."""
    uid = pwd.getpwnam(item["owner"]).pw_uid if item.get("owner") else None
    gid = grp.getgrnam(item["group"]).gr_gid if item.get("group") else None
    mode = int(item["mode"], 8) if item.get("mode") else None
    return uid, gid, mode


def fix_attributes(fd: int, uid, gid, mode, check: bool) -> bool:
    """Give the open file or directory its owner, group and mode where they differ (by its
    descriptor: no path is looked up again); whether anything differed."""
    info = os.fstat(fd)
    owner_differs = (uid is not None and info.st_uid != uid) or (
        gid is not None and info.st_gid != gid)
    mode_differs = mode is not None and stat.S_IMODE(info.st_mode) != mode
    if not check:
        if owner_differs:
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        if mode_differs:  # after the chown, which clears setuid and setgid bits
            os.fchmod(fd, mode)
    return owner_differs or mode_differs


def text_diff(path: str, before, after: bytes) -> dict:
    """A diff entry as ansible.builtin.copy returns it."""
    return {"before_header": path if before is not None else "(absent)",
            "after_header": path,
            "before": (before or b"").decode("utf-8", "replace"),
            "after": after.decode("utf-8", "replace")}


class Writer:
    """Applies the module's lists to the host, noting each path it changed (or would)."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.changed_paths = []
        self.diffs = []

    def note(self, path: str, changed: bool) -> None:
        if changed and path not in self.changed_paths:
            self.changed_paths.append(path)

    def refuse(self, message: str) -> None:
        self.module.fail_json(msg=message, changed=bool(self.changed_paths),
                              changed_paths=self.changed_paths)

    def diff(self, entry: dict) -> None:
        if self.module._diff:
            self.diffs.append(entry)

    def command(self, args: list) -> None:
        """Run groupadd, useradd or usermod; its failure fails the module with its output."""
        if self.module.check_mode:
            return
        args = [self.module.get_bin_path(args[0], required=True), *args[1:]]
        rc, out, err = self.module.run_command(args)
        if rc != 0:
            self.refuse(f"{' '.join(args)} failed (rc={rc}): {(err or out).strip()}")

    def make_account(self, account: dict) -> None:
        """The system group, then the system user in it (created, or changed where it
        differs); as ansible.builtin.group and ansible.builtin.user with system=true do."""
        group, user = account["group"], account["user"]
        if not group_exists(group):
            self.diff({"before": {"group": group, "state": "absent"},
                       "after": {"group": group, "state": "present"}})
            self.command(["groupadd", "--system", group])
            self.note(f"group:{group}", True)
        wanted = {"group": group, "home": account["home"], "shell": account["shell"]}
        current = user_entry(user)
        if current == wanted:
            return
        self.diff({"before": dict(current or {"state": "absent"}, user=user),
                   "after": dict(wanted, user=user)})
        if current is None:
            self.command(["useradd", "--system", "--gid", group, "--home-dir", account["home"],
                          "--no-create-home", "--shell", account["shell"],
                          "--comment", account["comment"], user])
        else:
            self.command(["usermod", "--gid", group, "--home", account["home"],
                          "--shell", account["shell"], user])
        self.note(f"user:{user}", True)

    def not_a_file(self, path: str, kind: str) -> None:
        what = "a symbolic link" if os.path.islink(path) else f"not a {kind}"
        self.refuse(f"{path} is {what}. The role writes it as root and neither follows nor "
                    f"replaces that (its directory may belong to the service account, which "
                    f"could point it at any file of the host): see who made it, remove it, "
                    f"then run again")

    def ids(self, item: dict):
        try:
            return wanted_ids(item)
        except KeyError as err:
            if self.module.check_mode:  # the account this run would make does not exist yet
                return None, None, int(item["mode"], 8) if item.get("mode") else None
            self.refuse(f"{item['path']}: no such user or group on the host: {err}")
            raise

    def write_file(self, item: dict, secret: bool = False) -> bool:
        """Write one file of `files` (of `secret_files`: `secret`, no diff) where its content
        differs, and give it its owner, group and mode. The new content goes into a new file
        beside it (its owner, group and mode set through its descriptor), renamed over the old
        one; a link is never followed."""
        if item["unsafe_writes"]:  # /etc/hosts, in root's /etc: Ansible's own way
            return self.write_in_place(item, secret)
        path, wanted = item["path"], item["content"].encode("utf-8")
        uid, gid, mode = self.ids(item)
        # The file there, read, compared and (same content) given its attributes through one
        # descriptor; `had` is what it had, for what the item leaves open.
        current = had = None
        try:
            fd = open_no_follow(path, os.O_RDONLY, stat.S_ISREG)
        except FileNotFoundError:
            fd = None
        except NotAFile:
            # A link root made (Debian's package links /var/lib/zookeeper/myid into
            # /etc/zookeeper/conf) is replaced by the new file, never followed; one anybody
            # else made is refused.
            info = os.lstat(path)
            if not (stat.S_ISLNK(info.st_mode) and info.st_uid == 0):
                self.not_a_file(path, "regular file")
            fd = None
        if fd is not None:
            try:
                had = os.fstat(fd)
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    current = handle.read()
                if current == wanted:
                    return fix_attributes(fd, uid, gid, mode, self.module.check_mode)
            finally:
                os.close(fd)
        if not secret:
            self.diff(text_diff(path, current, wanted))
        if self.module.check_mode:
            return True
        if had is not None:
            uid = had.st_uid if uid is None else uid
            gid = had.st_gid if gid is None else gid
            mode = stat.S_IMODE(had.st_mode) if mode is None else mode
        elif mode is None:  # as a new file gets it
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        handle, temporary = tempfile.mkstemp(prefix=".zookeeper_files.",
                                             dir=os.path.dirname(path) or ".")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(wanted)
                out.flush()
                os.fsync(out.fileno())
                fix_attributes(out.fileno(), uid, gid, mode, False)
            os.rename(temporary, path)  # replaces whatever is there, follows nothing
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)
        return True

    def write_in_place(self, item: dict, secret: bool = False) -> bool:
        """A file written with unsafe_writes (a bind-mounted /etc/hosts cannot be renamed
        over): atomic_move, which falls back to writing in place."""
        path, wanted = item["path"], item["content"].encode("utf-8")
        try:
            with open(path, "rb") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        changed = False
        if current != wanted:
            changed = True
            if not secret:
                self.diff(text_diff(path, current, wanted))
            if not self.module.check_mode:
                handle, temporary = tempfile.mkstemp(prefix=".zookeeper_files.",
                                                     dir=os.path.dirname(path) or ".")
                try:
                    with os.fdopen(handle, "wb") as out:
                        out.write(wanted)
                    self.module.atomic_move(temporary, path, unsafe_writes=True)
                finally:
                    if os.path.exists(temporary):
                        os.unlink(temporary)
        if os.path.lexists(path):
            changed |= self.module.set_fs_attributes_if_different(file_args(path, item), False)
        return changed

    def make_directory(self, item: dict) -> bool:
        """Create one directory of `directories` when it is missing."""
        path = item["path"]
        if os.path.isdir(path):
            return False
        if os.path.lexists(path):
            self.refuse(f"{path} exists and is not a directory: move it away, then run again")
        self.diff({"before": {"path": path, "state": "absent"},
                   "after": {"path": path, "state": "directory"}})
        if not self.module.check_mode:
            os.makedirs(path)
        return True

    def point_link(self, item: dict) -> bool:
        """Point one link of `links` at its target (a new link renamed over the old one)."""
        path, target = item["path"], item["target"]
        current = None
        if os.path.islink(path):
            current = os.readlink(path)
            if current == target:
                return False
        elif os.path.lexists(path):
            self.refuse(f"{path} exists and is not a symbolic link: move it away, then run again")
        self.diff({"before": {"path": path, "src": current},
                   "after": {"path": path, "src": target}})
        if not self.module.check_mode:
            temporary = f"{path}.zookeeper_files.{os.getpid()}"
            os.symlink(target, temporary)
            os.rename(temporary, path)
        return True

    def remove(self, path: str) -> bool:
        """Remove one path of `absent` (a file or a link) when it exists."""
        if not os.path.lexists(path):
            return False
        if os.path.isdir(path) and not os.path.islink(path):
            self.refuse(f"{path} is a directory; zookeeper_files removes files and links only")
        self.diff({"before": {"path": path, "state": "present"},
                   "after": {"path": path, "state": "absent"}})
        if not self.module.check_mode:
            os.unlink(path)
        return True

    def attributes(self, path: str, item: dict) -> bool:
        """Give a directory its owner, group and mode, through its descriptor (a link put in
        its place is not followed). A path that check mode did not create has nothing to
        compare yet."""
        try:
            fd = open_no_follow(path, DIRECTORY_READ, stat.S_ISDIR)
        except FileNotFoundError:
            return False
        except NotAFile:
            self.not_a_file(path, "directory")
        try:
            uid, gid, mode = self.ids(item)
            return fix_attributes(fd, uid, gid, mode, self.module.check_mode)
        finally:
            os.close(fd)

    def start(self, service: str, enabled: Optional[bool]) -> Tuple[bool, bool]:
        """Start `service` unless it is active (after a daemon-reload when its unit file
        changed since systemd read it), then enable or disable it as `enabled` says (None: as
        it is); whether it was (or, in check mode, would be) started, and whether the unit is
        (would be) enabled after the call. A start or an enable that fails is a warning, not a
        failure: the caller's start step starts or enables the unit again and reports why it
        cannot, with the unit's journal."""
        state = unit(service)
        if state["active"]:
            return False, state["enabled"]
        wanted = state["enabled"] if enabled is None else enabled
        if self.module.check_mode:
            return True, wanted
        for args in ([["daemon-reload"]] if state["need_reload"] else []) + [["start", service]]:
            error = systemctl(*args)
            if error:
                self.module.warn(f"every file was written, but {error}")
                return False, state["enabled"]
        if wanted != state["enabled"]:
            error = systemctl("enable" if wanted else "disable", service)
            if error:
                self.module.warn(f"every file was written and {service} started, but {error}")
                return True, state["enabled"]
        return True, wanted

    def put_release(self, options: dict) -> dict:
        """The release put in place as zookeeper_release does it (its result, without its
        own `changed` and `diff`: the release directory is a changed path, the diff one of
        this call's); a release refused fails the call."""
        result, refused = put_in_place(self.module, options)
        if refused:
            self.refuse(refused)
        self.note(result["release"], result.pop("changed"))
        if "diff" in result:
            self.diffs.append(result.pop("diff"))
        return result

    def run(self) -> dict:
        """The account first, then directories, the release, files, secret files, links and
        removals, then the start and the enable; the module's result."""
        params = self.module.params
        if params["account"]:
            self.make_account(params["account"])
        for item in params["directories"]:
            self.note(item["path"], self.make_directory(item))
            self.note(item["path"], self.attributes(item["path"], item))
        release = self.put_release(params["release"]) if params["release"] else None
        for item in params["files"]:
            self.note(item["path"], self.write_file(item))
        for item in params["secret_files"]:
            self.note(item["path"], self.write_file(item, secret=True))
        for item in params["links"]:
            self.note(item["path"], self.point_link(item))
        for path in params["absent"]:
            self.note(path, self.remove(path))
        started, enabled = (self.start(params["start"], params["enabled"]) if params["start"]
                            else (False, None))
        result = {"changed": bool(self.changed_paths) or started,
                  "changed_paths": self.changed_paths, "release": release, "started": started,
                  "enabled": enabled}
        if self.diffs:
            result["diff"] = self.diffs
        if params["serve"] is not None:
            result.update(self.serve(params["serve"], params["start"],
                                     started and not self.module.check_mode, result))
        return result

    def serve(self, options: dict, service: Optional[str], started: bool,
              result: dict) -> dict:
        """The wait until the server this call started serves (O(serve)): its result keys;
        a server that does not serve in time fails the call, with what it did so far."""
        if not started:
            return {"serving": False, "mode": None, "waited": 0.0}
        try:
            use_tls(options["tls"])
        except OSError as err:  # ssl.SSLError too
            self.module.fail_json(msg=f"cannot use the TLS files {options['tls']}: {err}",
                                  **result)
        begun = time.monotonic()
        endpoint = f"{options['host']}:{options['port']}"
        ok, status = wait_serving(endpoint, options["members"], options["timeout"])
        waited = round(time.monotonic() - begun, 2)
        if not ok:
            self.module.fail_json(
                msg=failure(dict(options, service=service), endpoint,
                            wanted_modes(options["members"]), status),
                waited=waited, serving=False, **result)
        return {"serving": True, "mode": status["mode"], "waited": waited}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**Writer(module).run())


if __name__ == "__main__":
    main()
