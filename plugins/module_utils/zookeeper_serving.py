"""The wait until a ZooKeeper server of this host serves, and what a failed wait says, shared
by the zookeeper role's modules on the hosts (zookeeper_server, and zookeeper_files where its
write started a new server): `srvr` polled until the mode is leader or follower (standalone
for a list of one), then, on a timeout, the unit's state, its journal and the tail of the
server's log.

It runs on the hosts' Python, 3.6 and later: standard library only, no
``from __future__ import annotations``; ``make lint`` checks the floor with vermin.
"""

import os
import re
import subprocess
import time
from collections import deque
from typing import Optional, Tuple

from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import srvr_at
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_nofollow import (
    NotAFile,
    open_no_follow,
)

SERVING = {"leader", "follower"}
# Seconds between two checks of a poll: each asks srvr (a gate or a walk: every server, and the
# leader's mntr); four times a second notices a change soon enough and keeps that traffic small
# on a large ensemble.
POLL_EVERY = 0.25

TAIL_BYTES = 256 * 1024  # the end of the log a failure message quotes from
# What a four-letter word (the role's own `srvr` every 0.25 s while it waits) leaves in the log:
# four lines a poll, which would push out of the tail the lines that say why the server failed.
POLL_LINE = re.compile(
    r" - (Processing [a-z]{4} command from |Accepted socket connection from |"
    r"Closed socket connection for client \S+ \(no session established for client\))")


def poll(check, timeout: float):
    """Call check() every POLL_EVERY seconds until it returns (True, ...) or the timeout
    passes; returns check()'s last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer[0] or time.monotonic() >= deadline:
            return answer
        time.sleep(POLL_EVERY)


def wanted_modes(members: int) -> set:
    """The modes of a server that serves, in a member list of `members`."""
    return {"standalone"} if members == 1 else SERVING


def wait_serving(endpoint: str, members: int, timeout: float) -> Tuple[bool, dict]:
    """Whether the server at `endpoint` served (its mode one of wanted_modes) within
    `timeout` seconds, and its last srvr answer."""
    wanted = wanted_modes(members)

    def serves() -> Tuple[bool, dict]:
        status = srvr_at(endpoint)
        return status["mode"] in wanted, status

    return poll(serves, timeout)


def tail(path: Optional[str], lines: int) -> str:
    """The last `lines` lines of the server's log file, without the lines four-letter words
    leave (the role's own polling; how many were left out is said first). The log directory
    belongs to the service account: a link there is not followed (root would print what it
    points to) and neither is anything but a regular file read (a FIFO would block)."""
    if not path:
        return ""
    try:
        fd = open_no_follow(path)
    except NotAFile as err:
        what = "it is a symbolic link" if err.link else "not a regular file"
        return f"(not reading {path}: {what})"
    except OSError as err:
        return f"(cannot read {path}: {err.strerror})"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        handle.seek(max(0, info.st_size - TAIL_BYTES))
        text = handle.read(TAIL_BYTES).decode("utf-8", errors="replace")
    kept = deque(maxlen=lines)
    polls = 0
    for line in text.splitlines(keepends=True):
        if POLL_LINE.search(line):
            polls += 1
        else:
            kept.append(line)
    said = f"({polls} lines of four-letter-word polling left out)\n" if polls else ""
    return said + "".join(kept)


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


def failure(params: dict, endpoint: str, wanted: set, status: dict) -> str:
    """Why the server at `endpoint` is taken not to serve: its last srvr answer, the state and
    journal of its unit (`params`: service, log_lines) and the tail of its log (log_file),
    after `params`' timeout."""
    last = status.get("error") or f"mode {status.get('mode')}"
    return (f"ZooKeeper on {endpoint} did not serve as {' or '.join(sorted(wanted))} within "
            f"{params['timeout']:g} s; last srvr answer: {last}; unit {params['service']}: "
            f"{unit_state(params['service'])}. The unit's journal (the JVM's own output):\n"
            f"{journal(params['service'], params['log_lines'])}\n"
            f"Last lines of {params['log_file']}:\n"
            f"{tail(params['log_file'], params['log_lines'])}")
