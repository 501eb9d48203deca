#!/usr/bin/python
"""Ansible module: (re)start a ZooKeeper server safely and wait until it serves."""

DOCUMENTATION = r"""
---
module: zookeeper_server
short_description: Wait until a ZooKeeper server serves; optionally restart it first, safely
description:
  - Polls the server's C(srvr) four-letter word until its mode is leader or follower
    (standalone when O(members=1)). C(ruok) is not enough, it answers C(imok) without a quorum.
  - With O(restart=true), restarts the systemd unit first. The zookeeper role runs this one host
    at a time, followers first and the leader last (O(defer_leader)). Before a restart the whole
    ensemble (O(ensemble)) must be healthy, every member serving and every follower synced to
    the leader (the leader's C(mntr) C(zk_synced_followers)), so a restart never costs the
    quorum. After restarting a member of a larger ensemble it waits until the ensemble is
    healthy again.
  - With O(wait_ensemble=true), restarts nothing and only waits until the ensemble is healthy,
    returning its leader.
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
      - The ensemble's size; V(1) expects standalone mode.
    type: int
    required: false
    default: 3
  ensemble:
    description:
      - Every member's client endpoint (C(address:port)), checked before a restart and with
        O(wait_ensemble).
    type: list
    elements: str
    required: false
    default: []
  leaving:
    description:
      - Servers leaving the ensemble, counted while they still run.
    type: list
    elements: str
    required: false
    default: []
  member:
    description:
      - This server's own entry in O(ensemble); it need not serve before its restart (so a
        broken member can be repaired alone).
    type: str
    required: false
    default: ""
  timeout:
    description:
      - Seconds to wait, for each check (the ensemble before, the server after a restart, the
        ensemble after).
    type: float
    required: false
    default: 90
  restart:
    description:
      - Restart the unit before waiting.
    type: bool
    required: false
    default: false
  defer_leader:
    description:
      - Do not restart a server that leads now (the leader goes last); returns C(changed=false)
        for it.
    type: bool
    required: false
    default: false
  wait_ensemble:
    description:
      - Only wait until O(ensemble) (and O(leaving)) is healthy; return its RV(leader).
    type: bool
    required: false
    default: false
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
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Restarts nothing and waits for nothing; reports whether a run would restart.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Supports check mode. In check mode it restarts nothing and waits for nothing; it returns
    C(changed=true) and RV(restarted=true) when a run would restart the server (O(restart=true),
    unless O(defer_leader=true) and the server leads now).
  - Needs systemd (C(systemctl), C(journalctl)) on the host, and the four-letter words C(srvr)
    and C(mntr) whitelisted (C(4lw.commands.whitelist)); without C(mntr) a healthy ensemble is
    one where every member serves.
  - Runs on the host's Python 3.6 or later, standard library only.
author:
  - zookeeper-ansible (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Restart one server once the ensemble is healthy, unless it leads, and wait until it serves
  zookeeper_server:
    host: 10.0.0.12
    restart: true
    defer_leader: true
    members: 3
    ensemble: [10.0.0.11:2181, 10.0.0.12:2181, 10.0.0.13:2181]
    member: 10.0.0.12:2181
    log_file: /var/log/zookeeper/zookeeper.log
  throttle: 1

- name: Wait until the whole ensemble serves and find its leader
  zookeeper_server:
    wait_ensemble: true
    ensemble: [10.0.0.11:2181, 10.0.0.12:2181, 10.0.0.13:2181]
    timeout: 60
  register: health
  run_once: true
"""

RETURN = r"""
mode:
  description: The server's mode once it serves, leader, follower or standalone.
  returned: success, unless O(wait_ensemble=true)
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
  description: Whether this run restarted the server (in check mode, whether a run would).
  returned: always
  type: bool
  sample: true
leader:
  description: The leader's endpoint (C(address:port)).
  returned: with O(wait_ensemble=true)
  type: str
  sample: 10.0.0.13:2181
waited:
  description: Seconds until the server served after its restart (or at all).
  returned: unless O(wait_ensemble=true)
  type: float
  sample: 3.42
"""

import subprocess
import time
from collections import deque
from typing import List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.zookeeper_4lw import four_letter_word, parse_mntr, short_version, srvr_at

SERVING = {"leader", "follower"}


def tail(path: Optional[str], lines: int) -> str:
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines))
    except OSError as err:
        return f"(cannot read {path}: {err.strerror})"


def journal(service: str, lines: int) -> str:
    """The unit's own output (the JVM's stdout and stderr: a refused option, a missing class,
    a crash before log4j starts), which the server's log file never holds."""
    try:
        proc = subprocess.run(
            ["journalctl", "--unit", service, "--lines", str(lines), "--no-pager",
             "--output", "short-iso"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"(cannot read the journal: {err})"
    return proc.stdout or proc.stderr


def unit_state(service: str) -> str:
    proc = subprocess.run(
        ["systemctl", "show", service, "--value",
         "--property=ActiveState,SubState,NRestarts,ExecMainStatus"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return " ".join(proc.stdout.split()) or proc.stderr.strip()


def ensemble_health(ensemble: List[str], leaving: List[str], spare: str = ""
                    ) -> Tuple[bool, str, Optional[str]]:
    """Healthy: every member but `spare` (the server about to restart, which may be the
    broken one being repaired) serves, one server leads (a member, or a leaving server that
    still runs), and (where the leader answers mntr) every serving follower is synced to it.
    Returns the verdict, what each server said and the leader's endpoint."""
    modes = {ep: srvr_at(ep) for ep in ensemble + leaving}
    leaders = [ep for ep, st in modes.items() if st["mode"] == "leader"]
    serving = [ep for ep, st in modes.items() if st["mode"] in SERVING]
    said = ", ".join(f"{ep} {st['mode'] or st['error']}" for ep, st in modes.items())
    if any(modes[ep]["mode"] not in SERVING for ep in ensemble if ep != spare) \
            or len(leaders) != 1:
        return False, said, None
    host, _sep, port = leaders[0].rpartition(":")
    try:
        mntr = parse_mntr(four_letter_word(host, int(port), "mntr", 2.0))
    except OSError as err:
        return False, f"{said}; mntr on the leader failed: {err}", None
    synced = mntr.get("zk_synced_followers")
    if synced is None:  # mntr not whitelisted: every member serving is all we can see
        return True, said, leaders[0]
    return (synced >= len(serving) - 1, f"{said}; synced followers {synced}/{len(serving) - 1}",
            leaders[0])


def poll(check, timeout: float):
    """Call check() every 0.1 s until it returns (True, ...) or the timeout passes; returns
    check()'s last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer[0] or time.monotonic() >= deadline:
            return answer
        time.sleep(0.1)


# The options; DOCUMENTATION describes each (roles/zookeeper/tests/test_module_docs.py checks).
ARGUMENT_SPEC = {
    "host": {"type": "str", "default": "127.0.0.1"},
    "port": {"type": "int", "default": 2181},
    "members": {"type": "int", "default": 3},
    "ensemble": {"type": "list", "elements": "str", "default": []},
    "leaving": {"type": "list", "elements": "str", "default": []},
    "member": {"type": "str", "default": ""},
    "timeout": {"type": "float", "default": 90},
    "restart": {"type": "bool", "default": False},
    "defer_leader": {"type": "bool", "default": False},
    "wait_ensemble": {"type": "bool", "default": False},
    "service": {"type": "str", "default": "zookeeper"},
    "log_file": {"type": "path"},
    "log_lines": {"type": "int", "default": 40},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    endpoint = f"{params['host']}:{params['port']}"
    if module.check_mode:
        # Check mode restarts nothing and waits for nothing: it says what a run would do.
        status = srvr_at(endpoint)
        would = params["restart"] and not (params["defer_leader"] and status["mode"] == "leader")
        module.exit_json(changed=would, restarted=would, mode=status["mode"], waited=0.0,
                         msg=f"check mode: {endpoint} {'would restart' if would else 'unchanged'}"
                             f" (now {status['mode'] or status['error']})")
    if params["wait_ensemble"]:
        ok, detail, leader = poll(lambda: ensemble_health(params["ensemble"], params["leaving"]),
                                  params["timeout"])
        if not ok:
            module.fail_json(msg=f"the ensemble is not healthy after {params['timeout']:g} s: "
                                 f"{detail}", leader=leader)
        module.exit_json(changed=False, leader=leader, restarted=False)
    restarted = False
    if params["restart"]:
        if params["defer_leader"] and srvr_at(endpoint)["mode"] == "leader":
            module.exit_json(changed=False, restarted=False, mode="leader", waited=0.0,
                             msg="leads now: restarted last")
        if len(params["ensemble"]) > 1:
            ok, detail = poll(lambda: ensemble_health(params["ensemble"], params["leaving"],
                                                      params["member"]), params["timeout"])[:2]
            if not ok:
                module.fail_json(
                    msg=f"not restarting {endpoint}: the ensemble is not healthy after "
                        f"{params['timeout']:g} s ({detail}); restarting now could cost the "
                        "quorum. Bring every member back, then run again.",
                    restarted=False, waited=0.0)
        proc = subprocess.run(["systemctl", "restart", params["service"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False)
        if proc.returncode != 0:
            module.fail_json(msg=f"systemctl restart {params['service']} failed: "
                                 f"{proc.stderr.strip()}", restarted=False, waited=0.0)
        restarted = True
    wanted = {"standalone"} if params["members"] == 1 else SERVING
    started = time.monotonic()

    def serves() -> Tuple[bool, dict]:
        status = srvr_at(endpoint)
        return status["mode"] in wanted, status

    ok, status = poll(serves, params["timeout"])
    if ok and restarted and len(params["ensemble"]) > 1:
        # A restarted leader leaves the followers re-electing and re-syncing: the step ends
        # when the whole ensemble is healthy again, so the next one starts from a full quorum.
        healthy, detail = poll(lambda: ensemble_health(params["ensemble"], params["leaving"]),
                               params["timeout"])[:2]
        if not healthy:
            module.fail_json(
                msg=f"{endpoint} serves again after its restart, but the ensemble did not become "
                    f"healthy within {params['timeout']:g} s: {detail}",
                waited=round(time.monotonic() - started, 2), changed=True, restarted=True)
    if ok:
        module.exit_json(changed=restarted, restarted=restarted, mode=status["mode"],
                         zxid=status.get("zxid"), version=short_version(status.get("version")),
                         waited=round(time.monotonic() - started, 2))
    last = status.get("error") or f"mode {status['mode']}"
    module.fail_json(
        msg=(f"ZooKeeper on {endpoint} did not serve as {' or '.join(sorted(wanted))} within "
             f"{params['timeout']:g} s; last srvr answer: {last}; unit {params['service']}: "
             f"{unit_state(params['service'])}. The unit's journal (the JVM's own output):\n"
             f"{journal(params['service'], params['log_lines'])}\n"
             f"Last lines of {params['log_file']}:\n"
             f"{tail(params['log_file'], params['log_lines'])}"),
        waited=round(time.monotonic() - started, 2), changed=restarted, restarted=restarted)


if __name__ == "__main__":
    main()
