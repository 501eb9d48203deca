#!/usr/bin/python
"""Ansible module: (re)start a ZooKeeper server and wait until it serves."""

from __future__ import annotations

DOCUMENTATION = r"""
module: zookeeper_server
short_description: Wait until a ZooKeeper server serves; optionally restart it first
description:
  - Polls the server's C(srvr) four-letter word until its mode is leader or follower
    (standalone for a single-server ensemble). C(ruok) is not enough, it answers
    C(imok) without a quorum.
  - With I(restart=true), restarts the systemd unit first (the role runs this one host
    at a time, so an ensemble keeps its quorum).
  - A server that does not serve in time fails the task with the last srvr answer,
    the unit's state and the tail of the server's log.
options:
  host: {type: str, default: 127.0.0.1, description: Address the client port listens on.}
  port: {type: int, default: 2181, description: Client port.}
  members: {type: int, default: 3, description: Ensemble size; 1 expects standalone mode.}
  timeout: {type: float, default: 90, description: Seconds to wait.}
  restart: {type: bool, default: false, description: Restart the unit before waiting.}
  service: {type: str, default: zookeeper, description: The systemd unit.}
  log_file: {type: path, description: Server log whose tail is shown on failure.}
  log_lines: {type: int, default: 40, description: Lines of log shown on failure.}
"""

RETURN = r"""
mode: {description: leader, follower or standalone, type: str, returned: success}
zxid: {description: The server's last zxid, type: str, returned: success}
waited: {description: Seconds until the server served, type: float, returned: always}
"""

import subprocess
import time
from collections import deque

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.zookeeper_4lw import four_letter_word, parse_srvr


def tail(path: str | None, lines: int) -> str:
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines))
    except OSError as err:
        return f"(cannot read {path}: {err.strerror})"


def unit_state(service: str) -> str:
    proc = subprocess.run(
        ["systemctl", "show", service, "--value",
         "--property=ActiveState,SubState,NRestarts,ExecMainStatus"],
        capture_output=True, text=True, check=False)
    return " ".join(proc.stdout.split()) or proc.stderr.strip()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "default": 2181},
            "members": {"type": "int", "default": 3},
            "timeout": {"type": "float", "default": 90},
            "restart": {"type": "bool", "default": False},
            "service": {"type": "str", "default": "zookeeper"},
            "log_file": {"type": "path"},
            "log_lines": {"type": "int", "default": 40},
        },
        supports_check_mode=True,
    )
    params = module.params
    changed = False
    if params["restart"] and not module.check_mode:
        proc = subprocess.run(["systemctl", "restart", params["service"]],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            module.fail_json(msg=f"systemctl restart {params['service']} failed: "
                                 f"{proc.stderr.strip()}", waited=0.0)
        changed = True
    wanted = {"standalone"} if params["members"] == 1 else {"leader", "follower"}
    started = time.monotonic()
    deadline = started + params["timeout"]
    last = "no answer yet"
    while True:
        try:
            status = parse_srvr(four_letter_word(params["host"], params["port"], "srvr", 2.0))
            if status["mode"] in wanted:
                module.exit_json(changed=changed, mode=status["mode"], zxid=status["zxid"],
                                 waited=round(time.monotonic() - started, 2))
            last = status["error"] or f"mode {status['mode']}"
        except OSError as err:
            last = f"{type(err).__name__}: {err}"
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    module.fail_json(
        msg=(f"ZooKeeper on {params['host']}:{params['port']} did not serve as "
             f"{' or '.join(sorted(wanted))} within {params['timeout']:g} s; last srvr answer: "
             f"{last}; unit {params['service']}: {unit_state(params['service'])}. "
             f"Last lines of {params['log_file']}:\n"
             f"{tail(params['log_file'], params['log_lines'])}"),
        waited=round(time.monotonic() - started, 2), changed=changed)


if __name__ == "__main__":
    main()
