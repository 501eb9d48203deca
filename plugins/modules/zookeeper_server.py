#!/usr/bin/python
"""Ansible module: (re)start, start or stop a ZooKeeper server only when the ensemble keeps its
quorum, and wait until the ensemble serves as expected."""

DOCUMENTATION = r"""
---
module: zookeeper_server
short_description: Change a ZooKeeper server's state only when its ensemble keeps the quorum
description:
  - Polls the server's C(srvr) four-letter word until its mode is leader or follower
    (standalone when O(members=1)). C(ruok) is not enough, it answers C(imok) without a quorum.
  - With O(action=restart), O(action=start) or O(action=stop), changes the systemd unit, one
    server at a time (the zookeeper role runs it under C(throttle=1) or in a loop), but only
    when the gate holds. The gate reads every server of O(peers) and the leader's C(mntr).
    The servers of O(serving) must serve and one of them lead; a follower goes down only when the
    leader keeps a majority of B(its own) member list (O(peers) gives each server's list size)
    without it, counting the followers C(mntr) reports synced; the leader goes down only when
    the servers left running (serving or electing) number at least O(elect_quorum). The gate
    waits up to O(timeout) for that, then fails without changing anything.
  - With O(servers), the member list in O(config_file) is replaced (atomically, after the
    gate, right before the (re)start), so that a server's member list changes only when it
    restarts.
  - A leader that restarts is stopped first; it starts again once the others have elected a
    leader, so that it cannot take part in (and win again) the election it caused. A transient
    systemd timer starts it anyway ten seconds later, should the run die meanwhile.
  - After the change it waits until every server of O(after) serves with one leader, every
    follower synced.
  - With O(action=started), the unit is started only when it is not active, without a gate
    (the service phase of the zookeeper role, for servers whose ensemble cannot serve before they
    do), then enabled or disabled as O(enabled) says (after the start, so that the reload of
    systemd's configuration that C(systemctl enable) makes does not delay it), and a server it
    started is then waited for (one already active is not, since a restart may be due first,
    unless O(wait_active=true)). It changes only what differs and reports C(changed) only then.
  - With O(action=observe), changes nothing and returns what each server of O(peers) says.
    With O(action=wait), O(peers) and no O(member), only waits until the ensemble is healthy.
  - A server that does not serve in time fails the task with the last C(srvr) answer, the
    unit's state, its journal (the JVM's own output) and the tail of O(log_file).
options:
  host:
    description:
      - Address the server's client port listens on.
    type: str
    required: false
    default: 127.0.0.1
  port:
    description:
      - The client port.
    type: int
    required: false
    default: 2181
  members:
    description:
      - The size of the member list the server runs with; V(1) expects standalone mode.
    type: int
    required: false
    default: 3
  action:
    description:
      - V(wait) only waits until the server serves; V(observe) reads every server of O(peers);
        V(restart), V(start) and V(stop) change the unit when the gate holds; V(started) starts
        the unit only when it is not active, without a gate, and sets O(enabled).
    type: str
    required: false
    default: wait
    choices: [wait, observe, restart, start, stop, started]
  enabled:
    description:
      - With O(action=started), whether the unit starts at boot (C(systemctl enable) or
        C(disable) where it differs); unchanged when omitted.
    type: bool
    required: false
  peers:
    description:
      - Every server expected to run before the change (this one included when it runs), by
        client endpoint (C(address:port)), with the size of the member list it runs with.
        Empty means a single server, not gated.
    type: dict
    required: false
    default: {}
  serving:
    description:
      - The servers of O(peers) that must serve (leader or follower) before the change; by
        default all of them.
    type: list
    elements: str
    required: false
  after:
    description:
      - The servers that must serve after the change; by default O(peers) with this server
        (without it for O(action=stop)).
    type: list
    elements: str
    required: false
  member:
    description:
      - This server's own endpoint in O(peers); it need not serve before its restart (so a
        broken member can be repaired alone).
    type: str
    required: false
    default: ""
  elect_quorum:
    description:
      - Servers that must stay running (serving or electing) for the leader to go down; by
        default a majority of the largest member list among the others.
    type: int
    required: false
  defer_leader:
    description:
      - Do not restart a server that leads now (the leader goes last); returns C(changed=false)
        for it.
    type: bool
    required: false
    default: false
  servers:
    description:
      - The member list to run with, as the C(server.N=...) lines of O(config_file); they replace
        the file's own (the rest of the file stays as it is), after the gate and right before
        the (re)start, so that a server's member list changes only when it restarts.
    type: list
    elements: str
    required: false
  config_file:
    description:
      - The server's C(zoo.cfg), whose member list O(servers) replaces.
    type: path
    required: false
    default: /etc/zookeeper/zoo.cfg
  wait:
    description:
      - Wait after the change (for the server, then for O(after)); V(false) returns as soon as
        systemd took the start or stop (servers started together, which no gate can check one
        by one).
    type: bool
    required: false
    default: true
  wait_active:
    description:
      - With O(action=started), wait until the server serves even when its unit was active
        already, as a new server is that the write of its files started a moment before
        (site.yml's short path for a new ensemble, where this step starts only a server whose
        start by that write failed).
    type: bool
    required: false
    default: false
  only_if_stale:
    description:
      - With O(action=restart), restart only when one of these files changed after the running
        server started (a server that already started with them is left alone, say one a
        membership change restarted after the files were written).
    type: list
    elements: path
    required: false
  disable:
    description:
      - With O(action=stop), also disable the unit, so that a reboot cannot start the server
        with a member list the ensemble left.
    type: bool
    required: false
    default: false
  timeout:
    description:
      - Seconds to wait, for each check (the gate before, the server after a restart, the
        ensemble after).
    type: float
    required: false
    default: 90
  service:
    description:
      - The systemd unit of the server.
    type: str
    required: false
    default: zookeeper
  log_file:
    description:
      - The server's log, whose last lines a failure shows; none when not given.
    type: path
    required: false
  log_lines:
    description:
      - Lines of the log and of the unit's journal shown on failure.
    type: int
    required: false
    default: 40
  tls:
    description:
      - Ask over TLS (a C(secureClientPort)), with these files on the host, C(ca) (the CA
        certificate the server's is checked against) and C(cert) (the certificate shown when
        the server asks for one, its key in the same file or in C(key)). Empty asks plain TCP.
    type: dict
    required: false
    default: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Changes nothing and waits for nothing; reports whether a run would change the unit.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Supports check mode. In check mode it changes nothing and waits for nothing; it returns
    C(changed=true) and RV(restarted=true) when a run would change the unit (unless
    O(defer_leader=true) and the server leads now).
  - Needs systemd (C(systemctl), C(journalctl)) on the host, and the four-letter words C(srvr)
    and C(mntr) whitelisted (C(4lw.commands.whitelist)); without C(mntr) the gate counts the
    followers that serve instead of those the leader has synced.
  - ZooKeeper 3.4 lets a leader count any synced follower toward its quorum, even one outside
    its own member list; the gate counts the same way.
  - Runs on the host's Python 3.6 or later, standard library only.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Restart one server once the ensemble can spare it, unless it leads, and wait
  zkops.zookeeper34.zookeeper_server:
    action: restart
    host: 10.0.0.12
    defer_leader: true
    member: 10.0.0.12:2181
    peers: {10.0.0.11:2181: 3, 10.0.0.12:2181: 3, 10.0.0.13:2181: 3}
    log_file: /var/log/zookeeper/zookeeper.log
  throttle: 1

- name: Stop a leaving server for good once the others keep their quorum without it
  zkops.zookeeper34.zookeeper_server:
    action: stop
    disable: true
    host: 10.0.0.14
    member: 10.0.0.14:2181
    peers: {10.0.0.11:2181: 4, 10.0.0.12:2181: 3, 10.0.0.13:2181: 4, 10.0.0.14:2181: 4}

- name: What every server says now
  zkops.zookeeper34.zookeeper_server:
    action: observe
    peers: {10.0.0.11:2181: 3, 10.0.0.12:2181: 3, 10.0.0.13:2181: 3}
  register: live
  run_once: true
"""

RETURN = r"""
mode:
  description: The server's mode once it serves, leader, follower or standalone.
  returned: success, unless O(action=observe) or O(action=stop)
  type: str
  sample: follower
zxid:
  description: The server's last zxid, as C(srvr) prints it.
  returned: when the server served (not in check mode)
  type: str
  sample: "0x100000002"
version:
  description: The server's release, from C(srvr) (the part of its version before C(-)).
  returned: when the server served (not in check mode)
  type: str
  sample: "3.8.0"
restarted:
  description: Whether this run changed the unit (in check mode, whether a run would).
  returned: always
  type: bool
  sample: true
leader:
  description: The endpoint of the server that leads at the end (null when none).
  returned: with O(peers)
  type: str
  sample: 10.0.0.13:2181
servers:
  description: What each server of O(peers) said at the end, C(mode) (null when it does not
    serve), C(zxid) and C(error).
  returned: with O(peers)
  type: dict
  sample: {"10.0.0.11:2181": {mode: follower, zxid: "0x100000002", error: null}}
waited:
  description: Seconds until the server served after its change (or at all).
  returned: unless O(action=observe)
  type: float
  sample: 3.42
"""

import os
import re
import subprocess
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import (
    four_letter_word, parse_mntr, short_version, srvr_at, use_tls)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_nofollow import (
    open_no_follow,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_serving import (
    SERVING,
    failure,
    journal,
    poll,
    wait_serving,
    wanted_modes,
)
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_systemd import (
    stale,
    systemctl as run_systemctl,
    unit,
)


def majority(size: int) -> int:
    """Servers a member list of `size` needs for a quorum (ZooKeeper 3.4's QuorumMaj)."""
    return size // 2 + 1


def observe(endpoints: List[str]) -> Dict[str, dict]:
    """srvr of every endpoint: mode (None unless leader, follower or standalone), zxid, and
    `running` (it answered at all: a server that elects says it is not serving)."""
    said = {}
    for endpoint in endpoints:
        status = srvr_at(endpoint)
        running = status.get("mode") is not None or status.get("error") == "not serving"
        said[endpoint] = {"mode": status.get("mode"), "zxid": status.get("zxid"),
                          "error": status.get("error"), "running": running,
                          "version": status.get("version")}
    return said


def describe(said: Dict[str, dict]) -> str:
    return ", ".join(f"{ep} {st['mode'] or st['error']}" for ep, st in sorted(said.items()))


def synced_followers(leader: str, said: Dict[str, dict]) -> Tuple[Optional[int], str]:
    """The followers the leader has synced (its mntr), or None without mntr (then the serving
    followers stand in for them)."""
    host, _sep, port = leader.rpartition(":")
    try:
        mntr = parse_mntr(four_letter_word(host, int(port), "mntr", 2.0))
    except OSError as err:
        return None, f"mntr on the leader failed: {err}"
    synced = mntr.get("zk_synced_followers")
    if synced is None:
        return None, "mntr not allowed"
    return int(synced), f"synced followers {synced}"


def healthy(expected: List[str], peers: List[str]) -> Tuple[bool, str, Optional[str], dict]:
    """Every server of `expected` serves, one server of `peers` leads (and it is expected), and
    the leader has every serving follower synced. Returns the verdict, what was said, the leader
    and what each server said."""
    said = observe(sorted(set(peers) | set(expected)))
    leaders = [ep for ep, st in said.items() if st["mode"] == "leader"]
    detail = describe(said)
    if any(said[ep]["mode"] not in SERVING for ep in expected) or len(leaders) != 1:
        return False, detail, leaders[0] if len(leaders) == 1 else None, said
    synced, note = synced_followers(leaders[0], said)
    followers = sum(1 for st in said.values() if st["mode"] == "follower")
    if synced is not None and synced < followers:
        return False, f"{detail}; {note} of {followers}", leaders[0], said
    return True, detail, leaders[0], said


def gate(params: dict, endpoint: str) -> Tuple[bool, str, Optional[str], dict]:
    """Whether `endpoint` may go down now (restart or stop) or start, keeping the quorum."""
    peers = params["peers"]
    serving = params["serving"] if params["serving"] is not None else list(peers)
    said = observe(sorted(set(peers) | {endpoint}))
    detail = describe(said)
    leaders = [ep for ep, st in said.items() if st["mode"] == "leader"]
    if len(leaders) != 1:
        return False, f"{len(leaders)} leaders ({detail})", None, said
    leader = leaders[0]
    missing = [ep for ep in serving if ep != endpoint and said[ep]["mode"] not in SERVING]
    if missing:
        return False, f"{', '.join(missing)} should serve ({detail})", leader, said
    if params["action"] == "start":
        return True, detail, leader, said
    if endpoint == leader:
        others = [ep for ep in peers if ep != endpoint and said[ep]["running"]]
        need = params["elect_quorum"]
        if need is None:
            need = max((majority(peers[ep]) for ep in peers if ep != endpoint), default=0)
        if len(others) < need:
            return (False, f"the leader goes down only when at least {need} others run to elect "
                           f"a new one; {len(others)} do ({detail})", leader, said)
        return True, detail, leader, said
    if said[endpoint]["mode"] != "follower":
        return True, detail, leader, said  # not part of the leader's quorum now
    synced, note = synced_followers(leader, said)
    if synced is None:
        synced = sum(1 for st in said.values() if st["mode"] == "follower")
    need = majority(int(peers.get(leader, len(peers))))
    if synced - 1 + 1 < need:
        return (False, f"the leader {leader} runs with a list of {peers.get(leader)} and needs "
                       f"{need} servers in sync; without {endpoint} it would keep "
                       f"{synced} ({note}; {detail})", leader, said)
    return True, detail, leader, said


SERVER_LINE = re.compile(r"^\s*server\.\d+\s*=")


def with_servers(text: str, servers: List[str]) -> str:
    """`text` (a zoo.cfg) with its server.N lines replaced by `servers`, where the first of
    them was (at the end when it had none)."""
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines) if SERVER_LINE.match(line)), len(lines))
    kept = [line for line in lines if not SERVER_LINE.match(line)]
    before = sum(1 for line in lines[:at] if not SERVER_LINE.match(line))
    return "\n".join(kept[:before] + list(servers) + kept[before:]) + "\n"


def write_servers(path: str, servers: List[str]) -> bool:
    """Replace the member list of the zoo.cfg at `path` atomically (owner, group and mode
    kept); False when it is already that list. The file lives in a directory only root
    writes (the role's conf_dir), and a link is not followed."""
    fd = open_no_follow(path)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        text = handle.read().decode("utf-8")
    new = with_servers(text, servers)
    if new == text:
        return False
    temp_fd, temp = tempfile.mkstemp(prefix=".zoo.cfg.", dir=os.path.dirname(path))
    try:
        with os.fdopen(temp_fd, "wb") as handle:
            handle.write(new.encode("utf-8"))
        os.chmod(temp, info.st_mode & 0o7777)
        os.chown(temp, info.st_uid, info.st_gid)
        os.rename(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return True


def systemctl(module: AnsibleModule, *args: str) -> None:
    """systemctl `args`; a failure fails the task, a start's or restart's with the unit's
    journal, which says why (systemctl itself only points to it)."""
    error = run_systemctl(*args)
    if error:
        if args[0] in ("start", "restart"):
            error += (f"\nThe journal of {args[-1]}:\n"
                      f"{journal(args[-1], module.params['log_lines'])}")
        module.fail_json(msg=error, restarted=False, waited=0.0)


RESTART_NET = 10  # seconds after which a stopped leader is started again whatever happens
NET_UNIT = "zookeeper-back"  # the transient timer's unit


def start_later(service: str) -> bool:
    """Have systemd start `service` in RESTART_NET seconds, independently of this process (a
    transient timer): a run killed while a leader is down must not leave it down. False when
    systemd-run cannot (the leader is then restarted at once). cancel_later() undoes it."""
    cancel_later()
    command = ["systemd-run", "--quiet", f"--unit={NET_UNIT}", f"--on-active={RESTART_NET}",
               "--description=ZooKeeper back after a leader handover", "systemctl", "start",
               service]
    try:
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cancel_later() -> None:
    """Call off start_later's timer: the server was started, or is meant to stay down (a stop
    must never be undone by an earlier handover's safety net)."""
    subprocess.run(["systemctl", "stop", f"{NET_UNIT}.timer"], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, check=False)


def reload_if_needed(module: AnsibleModule, service: str, state: Optional[Dict] = None) -> None:
    """daemon-reload when the unit file changed on disk since systemd read it (`state`: what
    `unit` said of it just before, when the caller asked already)."""
    if (state or unit(service))["need_reload"]:
        systemctl(module, "daemon-reload")


def bring_up(module: AnsibleModule, params: dict, endpoint: str) -> Tuple[bool, bool]:
    """action=started: the unit started unless active, then enabled or disabled as asked (in
    check mode, only what would change is reported). Whether anything changed, and whether
    it was started."""
    service = unit(params["service"])
    enable = params["enabled"] is not None and service["enabled"] != params["enabled"]
    start = not service["active"]
    if module.check_mode:
        status = srvr_at(endpoint)
        would = ["start"] if start else []
        if enable:
            would.append("enable" if params["enabled"] else "disable")
        module.exit_json(changed=enable or start, restarted=start, mode=status["mode"],
                         waited=0.0, msg=f"check mode: {endpoint} "
                         f"{'would ' + ' and '.join(would) if would else 'unchanged'}"
                         f" (now {status['mode'] or status['error']})")
    reload_if_needed(module, params["service"], service)
    # The start first: `systemctl enable` reloads systemd's whole configuration, which takes a
    # few tenths of a second on a busy host and need not delay the JVM's start.
    if start:
        systemctl(module, "start", params["service"])
    if enable:
        systemctl(module, "enable" if params["enabled"] else "disable", params["service"])
    return enable or start, start


# The options; DOCUMENTATION describes each (tests/unit/plugins/test_module_docs.py checks).
ARGUMENT_SPEC = {
    "host": {"type": "str", "default": "127.0.0.1"},
    "port": {"type": "int", "default": 2181},
    "members": {"type": "int", "default": 3},
    "action": {"type": "str", "default": "wait",
               "choices": ["wait", "observe", "restart", "start", "stop", "started"]},
    "enabled": {"type": "bool"},
    "peers": {"type": "dict", "default": {}},
    "serving": {"type": "list", "elements": "str"},
    "after": {"type": "list", "elements": "str"},
    "member": {"type": "str", "default": ""},
    "elect_quorum": {"type": "int"},
    "defer_leader": {"type": "bool", "default": False},
    "servers": {"type": "list", "elements": "str"},
    "config_file": {"type": "path", "default": "/etc/zookeeper/zoo.cfg"},
    "wait": {"type": "bool", "default": True},
    "wait_active": {"type": "bool", "default": False},
    "only_if_stale": {"type": "list", "elements": "path"},
    "disable": {"type": "bool", "default": False},
    "timeout": {"type": "float", "default": 90},
    "service": {"type": "str", "default": "zookeeper"},
    "log_file": {"type": "path"},
    "log_lines": {"type": "int", "default": 40},
    "tls": {"type": "dict", "default": {}},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    params["peers"] = {str(k): int(v) for k, v in (params["peers"] or {}).items()}
    try:
        use_tls(params["tls"])
    except OSError as err:  # ssl.SSLError too
        module.fail_json(msg=f"cannot use the TLS files {params['tls']}: {err}")
    action = params["action"]
    endpoint = params["member"] or f"{params['host']}:{params['port']}"
    peers = params["peers"]
    if action == "observe":
        said = observe(sorted(peers))
        leaders = [ep for ep, st in said.items() if st["mode"] == "leader"]
        module.exit_json(changed=False, restarted=False, servers=said,
                         leader=leaders[0] if len(leaders) == 1 else None)
    changes = action in ("restart", "start", "stop")
    changed = None  # as restarted, unless action=started says otherwise
    restarted = False
    if action == "started":
        changed, restarted = bring_up(module, params, endpoint)
        # One already active is left to the caller, unless it asks for the wait.
        if not params["wait"] or not (restarted or params["wait_active"]):
            module.exit_json(changed=changed, restarted=restarted, waited=0.0, mode=None)
    elif module.check_mode:
        status = srvr_at(endpoint)
        would = changes and not (params["defer_leader"] and status["mode"] == "leader")
        module.exit_json(changed=would, restarted=would, mode=status["mode"], waited=0.0,
                         msg=f"check mode: {endpoint} {'would ' + action if would else 'unchanged'}"
                             f" (now {status['mode'] or status['error']})")
    if changes:
        if action == "restart" and params["only_if_stale"] is not None \
                and not stale(unit(params["service"]), params["only_if_stale"]):
            module.exit_json(changed=False, restarted=False, waited=0.0,
                             mode=srvr_at(endpoint)["mode"],
                             msg="runs with its current configuration already")
        if params["defer_leader"] and srvr_at(endpoint)["mode"] == "leader":
            module.exit_json(changed=False, restarted=False, mode="leader", waited=0.0,
                             msg="leads now: restarted last")
        if len(peers) > 1:
            ok, detail, _leader, _said = poll(lambda: gate(params, endpoint), params["timeout"])
            if not ok:
                module.fail_json(
                    msg=f"not going to {action} {endpoint}: {detail}, still after "
                        f"{params['timeout']:g} s; doing it now could cost the quorum. Bring "
                        "every member back, then run again.", restarted=False, waited=0.0)
        if params["servers"] is not None and action != "stop":
            write_servers(params["config_file"], params["servers"])
        reload_if_needed(module, params["service"])
        leads = srvr_at(endpoint)["mode"] == "leader"
        if action == "restart" and len(peers) > 1 and leads and start_later(params["service"]):
            # The leader stops, the others elect, and only then does it start again: back
            # sooner, it could take part in the election it caused (and win it again). systemd
            # starts it anyway after RESTART_NET seconds, should this module die meanwhile.
            systemctl(module, "stop", params["service"])
            others = [ep for ep in (params["after"] or peers) if ep != endpoint]
            ok, detail, _leader, _said = poll(
                lambda: healthy(others, [ep for ep in peers if ep != endpoint]),
                params["timeout"])
            systemctl(module, "start", params["service"])
            cancel_later()
            if not ok:
                module.fail_json(
                    msg=f"{endpoint} led and was stopped, but the others did not elect a leader "
                        f"within {params['timeout']:g} s ({detail}); it was started again.",
                    restarted=True, changed=True, waited=0.0)
        elif action == "stop":
            cancel_later()
            systemctl(module, "stop", params["service"])
            if params["disable"]:
                systemctl(module, "disable", params["service"])
        else:
            systemctl(module, action, params["service"])
        restarted = True
        if not params["wait"]:
            module.exit_json(changed=True, restarted=True, waited=0.0, mode=None)
    started = time.monotonic()
    ensemble_only = action == "wait" and not params["member"] and bool(peers)
    if action == "stop" or ensemble_only:
        status = {"mode": None}
    else:
        wanted = wanted_modes(params["members"])
        after = params["after"]
        if after is not None and endpoint not in after and action in ("start", "restart"):
            # It elects until a later change lets it join: it need only answer.
            wanted = wanted | {None}

            def answers() -> Tuple[bool, dict]:
                status = srvr_at(endpoint)
                return (status["mode"] is not None or status.get("error") == "not serving",
                        status)

            ok, status = poll(answers, params["timeout"])
        else:
            ok, status = wait_serving(endpoint, params["members"], params["timeout"])
        if not ok:
            module.fail_json(msg=failure(params, endpoint, wanted, status),
                             waited=round(time.monotonic() - started, 2), changed=restarted,
                             restarted=restarted)
    result = {"changed": restarted if changed is None else changed, "restarted": restarted,
              "mode": status.get("mode"),
              "zxid": status.get("zxid"), "version": short_version(status.get("version"))}
    if len(peers) > 1 or params["after"]:
        after = params["after"]
        if after is None:
            after = [ep for ep in peers if ep != endpoint]
            if not (action == "stop" or ensemble_only):
                after.append(endpoint)
        everyone = set(peers) | set(after)
        if action == "stop":
            everyone.discard(endpoint)
        elif not ensemble_only:
            everyone.add(endpoint)
        everyone = sorted(everyone)
        # Each change ends when the ensemble is healthy again, so the next starts from a quorum.
        ok, detail, leader, said = poll(lambda: healthy(after, everyone), params["timeout"])
        if not ok:
            module.fail_json(
                msg=f"{endpoint}: after the {action} the ensemble did not become healthy within "
                    f"{params['timeout']:g} s: {detail}",
                waited=round(time.monotonic() - started, 2), changed=restarted,
                restarted=restarted, servers=said, leader=leader)
        result.update(leader=leader, servers=said)
    result["waited"] = round(time.monotonic() - started, 2)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
