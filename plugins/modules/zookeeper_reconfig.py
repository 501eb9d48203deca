#!/usr/bin/python
"""Ansible module: add or remove one server of a ZooKeeper 3.5+ ensemble with dynamic
reconfiguration, idempotently, without restarting any server."""

DOCUMENTATION = r"""
---
module: zookeeper_reconfig
short_description: Add or remove one ZooKeeper 3.5+ server by dynamic reconfiguration
description:
  - Reads the ensemble's dynamic configuration (C(/zookeeper/config), after a C(sync)) from the
    server at O(host):O(port), and when it does not hold the wanted membership yet, changes it
    with one incremental C(reconfig) (C(-add) or C(-remove)) as the super user of the C(digest)
    scheme. No server restarts; every server, this one included, rewrites its own dynamic
    configuration file.
  - With O(add), a server of that id already in the configuration with the same spec (role
    C(participant) and client address C(0.0.0.0) when not given) is left alone; one with
    another spec is changed to it (ZooKeeper's way of changing a member's ports or role).
    With O(remove), a server not in the configuration is left alone.
  - Before it adds a server, it waits (O(wait_for_joiner)) until that server answers
    C(srvr) as a follower or observer on its client port, that is connected and synced with
    the leader as a non-voting member. ZooKeeper itself accepts a server that does not even
    run as long as the old members make a quorum of the new configuration, which leaves the
    ensemble with a member down.
  - Retries within O(timeout) what passes by itself, C(NewConfigNoQuorum) (no quorum of the
    new configuration connected and synced yet), C(ReconfigInProgress), and a lost connection
    (the server that led steps down when it is removed); fails at once, with what to do, on
    C(NoAuth) (no or a wrong O(super_password)), C(ReconfigDisabled) (no
    C(reconfigEnabled=true)), C(Unimplemented) (standalone mode) and C(BadArguments).
  - Returns the configuration before and after (members by id, version).
options:
  host:
    description:
      - Address of the server to talk to (its client port's).
    type: str
    required: false
    default: 127.0.0.1
  port:
    description:
      - The server's client port.
    type: int
    required: false
    default: 2181
  add:
    description:
      - The server to add (or change), as a dynamic configuration line
        C(server.N=host:quorum_port:election_port[:role];[client_host:]client_port) (or
        C(N=...)). The client port is required (ZooKeeper refuses a joining server without
        one). Exactly one of O(add) and O(remove).
    type: str
    required: false
  remove:
    description:
      - The id of the server to remove. The server keeps running as a non-voting follower
        (it still serves its clients) until it is stopped; it cannot start again with its
        configuration, which no longer lists it. Exactly one of O(add) and O(remove).
    type: int
    required: false
  super_user:
    description:
      - The user name of the C(digest) super user, as in the servers'
        C(-Dzookeeper.DigestAuthenticationProvider.superDigest=USER:DIGEST).
    type: str
    required: false
    default: super
  super_password:
    description:
      - The super user's password. Without it the session is not authenticated, which only
        works where the servers skip ACLs (C(skipACL=yes)).
    type: str
    required: false
  wait_for_joiner:
    description:
      - With O(add), wait until the joining server answers C(srvr) as a follower or observer
        on the client address of O(add) (its quorum host when the client address is a
        wildcard) before adding it; fail when it does not within O(timeout). Needs C(srvr)
        whitelisted on that server. Set it to V(false) to change the client port of a member
        (it still listens on the old one).
    type: bool
    required: false
    default: true
  timeout:
    description:
      - Seconds for the whole change, the waits and retries included.
    type: float
    required: false
    default: 120
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the configuration and reports whether a run would change it, and to what.
  diff_mode:
    support: full
    details: The dynamic configuration text before and after.
  platform:
    platforms: posix
notes:
  - Supports check mode. In check mode it reads the configuration (no authentication needed)
    and returns C(changed=true) and the configuration it would lead to in RV(after), without
    waiting for the joining server.
  - Needs ZooKeeper 3.5 or later with C(reconfigEnabled=true), C(standaloneEnabled=false)
    advised, and a quorum. Each server writes the new configuration to
    C(zoo.cfg.dynamic.VERSION) next to its static C(zoo.cfg), which it rewrites too, so that
    directory must be writable by the server's user; when it is not, the server logs
    C(Permission denied), runs with the new configuration and restarts with the old one.
  - One change at a time; a joining server is started first with a dynamic configuration
    that lists the current members and itself.
  - ZooKeeper's own reconfig is not idempotent (repeating one makes a new configuration
    version); this module is, as it compares first.
  - Runs on the host's Python 3.6 or later, standard library only (no kazoo).
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Add server 4 once it runs (started with the current members and itself listed)
  zkops.zookeeper34.zookeeper_reconfig:
    add: "server.4=10.0.0.14:2888:3888:participant;2181"
    super_password: "{{ zookeeper_super_password }}"
  delegate_to: zookeeper01

- name: Remove server 2, then stop it
  zkops.zookeeper34.zookeeper_reconfig:
    remove: 2
    host: 10.0.0.11
    super_password: "{{ zookeeper_super_password }}"
    timeout: 60
  register: removal

- name: The membership, without changing it
  zkops.zookeeper34.zookeeper_reconfig:
    remove: 9
  check_mode: true
  register: membership
"""

RETURN = r"""
before:
  description: The configuration before, C(version) (hexadecimal, as ZooKeeper writes it)
    and C(members), each server's spec by id.
  returned: success
  type: dict
  sample:
    version: "100000000"
    members: {"1": "10.0.0.11:2888:3888:participant;0.0.0.0:2181"}
after:
  description: The configuration after (read back after a C(sync)); in check mode, what it
    would be.
  returned: success
  type: dict
  sample:
    version: "10000009c"
    members: {"1": "10.0.0.11:2888:3888:participant;0.0.0.0:2181",
              "4": "10.0.0.14:2888:3888:participant;0.0.0.0:2181"}
attempts:
  description: How many reconfig requests were sent (0 when nothing was to do).
  returned: success
  type: int
  sample: 1
waited:
  description: Seconds spent, from the first connection to the configuration read back.
  returned: always
  type: float
  sample: 1.42
msg:
  description: What was done, or why it failed.
  returned: always
  type: str
  sample: added server 4
"""

import time
from typing import Any, Dict, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import srvr_at
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_client import (
    BAD_ARGUMENTS,
    BAD_VERSION,
    CONNECTION_LOSS,
    NEW_CONFIG_NO_QUORUM,
    NO_AUTH,
    OPERATION_TIMEOUT,
    RECONFIG_DISABLED,
    RECONFIG_IN_PROGRESS,
    UNIMPLEMENTED,
    ConnectionLost,
    ZooKeeperClient,
    ZooKeeperError,
    format_server_spec,
    parse_config,
    parse_server_line,
    parse_server_spec,
    same_server,
)

# What passes by itself: the joining server syncs, the other reconfig ends, the leader that
# was removed hands over.
RETRIED = {NEW_CONFIG_NO_QUORUM, RECONFIG_IN_PROGRESS, CONNECTION_LOSS, OPERATION_TIMEOUT}
JOINED = {"follower", "observer"}
RETRY_PAUSE = 1.0

ADVICE = {
    NO_AUTH: "not allowed to reconfigure: authenticate as the digest super user (super_user "
             "and super_password matching the servers' "
             "-Dzookeeper.DigestAuthenticationProvider.superDigest); a wrong password is not "
             "refused at authentication, only here",
    RECONFIG_DISABLED: "dynamic reconfiguration is disabled on the servers: they need "
                       "reconfigEnabled=true in zoo.cfg (and a restart to read it)",
    UNIMPLEMENTED: "the server runs standalone, which cannot be reconfigured: "
                   "standaloneEnabled=false and a server list are needed",
    BAD_ARGUMENTS: "ZooKeeper refused the change (a malformed server spec, one without a "
                   "client port, a port another member uses, or a configuration left with "
                   "too few participants)",
}


def wanted(params: Dict[str, Any]) -> Tuple[Optional[Tuple[int, str]], Optional[int]]:
    """(id, spec) to add, or the id to remove; ValueError with the reason when the options are
    not one valid change."""
    if (params.get("add") is None) == (params.get("remove") is None):
        raise ValueError("give exactly one of add and remove")
    if params.get("remove") is not None:
        if params["remove"] < 0:
            raise ValueError(f"remove: not a server id: {params['remove']}")
        return None, params["remove"]
    sid, spec = parse_server_line(params["add"])
    parts = parse_server_spec(spec)
    if parts["client_port"] is None:
        raise ValueError(f"add: {params['add']!r} has no client port (host:quorum:election"
                         "[:role];[client_host:]client_port); ZooKeeper refuses such a joiner")
    return (sid, spec), None


def holds(members: Dict[int, str], add: Optional[Tuple[int, str]],
          remove: Optional[int]) -> bool:
    """Whether the configuration's members already are what the change wants."""
    if add is not None:
        sid, spec = add
        try:
            return sid in members and same_server(members[sid], spec)
        except ValueError:  # a member written in a form this module does not parse
            return False
    return remove not in members


def predicted(members: Dict[int, str], add: Optional[Tuple[int, str]],
              remove: Optional[int]) -> Dict[int, str]:
    """The members after the change, specs as ZooKeeper writes them."""
    after = dict(members)
    if add is not None:
        after[add[0]] = format_server_spec(parse_server_spec(add[1]))
    else:
        after.pop(remove, None)
    return after


def summary(config: Dict[str, Any]) -> Dict[str, Any]:
    return {"version": config["version_hex"],
            "members": {str(sid): spec for sid, spec in sorted(config["members"].items())}}


def config_text(members: Dict[int, str], version: Optional[str]) -> str:
    lines = [f"server.{sid}={spec}" for sid, spec in sorted(members.items())]
    if version:
        lines.append(f"version={version}")
    return "\n".join(lines) + "\n"


def joiner_endpoint(spec: str) -> str:
    """Where the joining server's client port answers: its client address, or its (first)
    quorum host when that is a wildcard."""
    parts = parse_server_spec(spec)
    host = parts["client_host"]
    if host in (None, "", "0.0.0.0", "::", "[::]"):
        host = parts["host"].split("|")[0]
        if "|" in parts["host"]:  # 3.6's several addresses: host:quorum:election|host...
            host = host.rsplit(":", 2)[0]
    return f"{host.strip('[]')}:{parts['client_port']}"


def describe_change(add: Optional[Tuple[int, str]], remove: Optional[int],
                    before: Dict[int, str]) -> str:
    if add is not None:
        return f"{'changed' if add[0] in before else 'added'} server {add[0]}"
    return f"removed server {remove}"


class Session:
    """A ZooKeeperClient that reconnects (and authenticates again) on demand."""

    def __init__(self, params: Dict[str, Any], deadline: float) -> None:
        self.params = params
        self.deadline = deadline
        self.client: Optional[ZooKeeperClient] = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def get(self) -> ZooKeeperClient:
        """A connected, authenticated client, trying again until the deadline while the server
        gives no session (it elects, or it syncs after a handoff)."""
        while self.client is None:
            client = ZooKeeperClient(self.params["host"], self.params["port"],
                                     timeout=max(1.0, min(10.0, self.remaining())))
            try:
                client.connect()
                if self.params.get("super_password"):
                    user = self.params.get("super_user") or "super"
                    client.add_auth("digest",
                                    f"{user}:{self.params['super_password']}".encode())
                self.client = client
            except ConnectionLost:
                client.close()
                if self.remaining() <= RETRY_PAUSE:
                    raise
                time.sleep(RETRY_PAUSE)
        return self.client

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def read(self) -> Tuple[Dict[str, Any], str]:
        """The configuration (sync, getData), reconnecting while the time lasts."""
        while True:
            try:
                text, _stat = self.get().get_config(sync=True)
                return parse_config(text), text
            except (ConnectionLost, ZooKeeperError) as err:
                retried = isinstance(err, ConnectionLost) or err.code in RETRIED
                self.drop()
                if not retried or self.remaining() <= RETRY_PAUSE:
                    raise
                time.sleep(RETRY_PAUSE)


def wait_joiner(session: Session, endpoint: str) -> Tuple[bool, str]:
    """Poll the joining server's srvr until it runs as a follower or observer (the session
    kept alive meanwhile); (whether it did, its last answer)."""
    while True:
        status = srvr_at(endpoint)
        said = status.get("mode") or status.get("error") or "no answer"
        if status.get("mode") in JOINED:
            return True, said
        if session.remaining() <= RETRY_PAUSE:
            return False, said
        time.sleep(RETRY_PAUSE)
        try:
            session.get().ping()
        except (ConnectionLost, ZooKeeperError):
            session.drop()


def reconfigure(session: Session, add: Optional[Tuple[int, str]], remove: Optional[int],
                config: Dict[str, Any]) -> Tuple[str, int, Dict[str, Any]]:
    """Send the reconfig until it is answered, it holds anyway (after a lost connection or
    another client's change), or the time is out. Returns (outcome, attempts, last config
    read): outcome "done", "held" (someone else made it) or raises ZooKeeperError /
    ConnectionLost."""
    attempts = 0
    while True:
        attempts += 1
        try:
            session.get().reconfig(joining=[f"server.{add[0]}={add[1]}"] if add else None,
                                   leaving=[str(remove)] if add is None else None,
                                   from_config=config["version"] if config["version"] else -1,
                                   timeout=max(1.0, session.remaining()))
            return "done", attempts, config
        except ZooKeeperError as err:
            if err.code not in RETRIED and err.code != BAD_VERSION:
                raise
            if session.remaining() <= RETRY_PAUSE:
                raise
            if err.code == BAD_VERSION:  # another change came first: compare again
                config, _text = session.read()
                if holds(config["members"], add, remove):
                    return "held", attempts, config
                continue
        except ConnectionLost:
            # The answer may be lost with the connection (a leader that removed itself hands
            # over): what the configuration says decides.
            session.drop()
            if session.remaining() <= RETRY_PAUSE:
                raise
        time.sleep(RETRY_PAUSE)
        config, _text = session.read()
        if holds(config["members"], add, remove):
            return "done", attempts, config


def failure_message(err: Exception, params: Dict[str, Any], stage: str) -> str:
    where = f"{params['host']}:{params['port']}"
    if isinstance(err, ConnectionLost):
        return f"{stage}: no session on {where} within {params['timeout']:g} s: {err}"
    if isinstance(err, ZooKeeperError):
        if err.code == NEW_CONFIG_NO_QUORUM:
            return (f"{stage}: still NewConfigNoQuorum after {params['timeout']:g} s: no "
                    "majority of the new configuration is connected and synced with the "
                    "leader (is the joining server started and following, are the members "
                    "up?)")
        if err.code == RECONFIG_IN_PROGRESS:
            return f"{stage}: another reconfiguration was still in progress after " \
                   f"{params['timeout']:g} s"
        advice = ADVICE.get(err.code)
        return f"{stage} on {where}: {err}" + (f": {advice}" if advice else "")
    return f"{stage} on {where}: {err}"


# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks).
ARGUMENT_SPEC = {
    "host": {"type": "str", "default": "127.0.0.1"},
    "port": {"type": "int", "default": 2181},
    "add": {"type": "str"},
    "remove": {"type": "int"},
    "super_user": {"type": "str", "default": "super"},
    "super_password": {"type": "str", "no_log": True},
    "wait_for_joiner": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 120},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    started = time.monotonic()

    def waited() -> float:
        return round(time.monotonic() - started, 2)

    try:
        add, remove = wanted(params)
    except ValueError as err:
        module.fail_json(msg=str(err), waited=0.0)
        return
    session = Session(params, started + params["timeout"])
    try:
        config, text = session.read()
    except (ConnectionLost, ZooKeeperError) as err:
        session.drop()
        module.fail_json(msg=failure_message(err, params, "reading the configuration"),
                         waited=waited())
        return
    before = summary(config)
    change = describe_change(add, remove, config["members"])
    if holds(config["members"], add, remove):
        session.drop()
        module.exit_json(changed=False, before=before, after=before, attempts=0,
                         waited=waited(), msg="the configuration holds it already")
    if module.check_mode:
        session.drop()
        members = predicted(config["members"], add, remove)
        module.exit_json(changed=True, before=before,
                         after={"version": None,
                                "members": {str(k): v for k, v in sorted(members.items())}},
                         attempts=0, waited=waited(),
                         diff={"before": text, "after": config_text(members, None)},
                         msg=f"check mode: would have {change}")
    if add is not None and params["wait_for_joiner"]:
        endpoint = joiner_endpoint(add[1])
        ok, said = wait_joiner(session, endpoint)
        if not ok:
            session.drop()
            module.fail_json(
                msg=f"server {add[0]} does not run as a follower on {endpoint} after "
                    f"{params['timeout']:g} s (srvr: {said}): start it first, with a dynamic "
                    "configuration that lists the current members and itself, so that it "
                    "connects to the leader and syncs; then add it", before=before,
                    waited=waited())
    try:
        outcome, attempts, config = reconfigure(session, add, remove, config)
        after_config, after_text = session.read()
    except (ConnectionLost, ZooKeeperError) as err:
        session.drop()
        module.fail_json(msg=failure_message(err, params, "reconfig"), before=before,
                         waited=waited())
        return
    session.drop()
    after = summary(after_config)
    if not holds(after_config["members"], add, remove):
        module.fail_json(msg=f"reconfig was answered, but {params['host']}:{params['port']} "
                             f"reads configuration {after['version']} without the change",
                         before=before, after=after, attempts=attempts, waited=waited())
    changed = outcome == "done"
    module.exit_json(changed=changed, before=before, after=after, attempts=attempts,
                     waited=waited(), diff={"before": text, "after": after_text},
                     msg=change if changed else "another client made the change first")


if __name__ == "__main__":
    main()
