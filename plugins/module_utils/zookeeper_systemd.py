"""What systemd knows of the ZooKeeper unit, shared by the zookeeper role's modules on the
hosts: its state, when its main process started, and whether a configuration file changed
after that (the server runs with an older configuration: a restart is due).

It runs on the hosts' Python, 3.6 and later: standard library only, no
``from __future__ import annotations``; ``make lint`` checks the floor with vermin.
"""

import os
import subprocess
import time
from typing import Dict, List, Optional


_PROPERTIES = ("--property=UnitFileState,ActiveState,MainPID,ExecMainStartTimestampMonotonic,"
               "NeedDaemonReload")


def units(services: List[str]) -> Dict[str, Dict]:
    """What `unit` says of each of `services`, from one `systemctl show` for all of them (it
    prints their properties in the order asked, a blank line between two units)."""
    if not services:
        return {}
    proc = subprocess.run(["systemctl", "show", *services, _PROPERTIES],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    blocks = [block for block in proc.stdout.split("\n\n") if block.strip()]
    if len(blocks) != len(services):  # one of them unreadable: ask for each alone
        if len(services) == 1:
            blocks = [proc.stdout]
        else:
            return {service: units([service])[service] for service in services}
    return {service: _state(block) for service, block in zip(services, blocks)}


def systemctl(*args: str) -> Optional[str]:
    """Run `systemctl ARGS`: None when it succeeded, else what failed, with systemd's message."""
    proc = subprocess.run(["systemctl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    if proc.returncode == 0:
        return None
    return f"systemctl {' '.join(args)} failed: {proc.stderr.strip()}"


def unit(service: str) -> Dict:
    """The unit's `enabled`, `active`, `main_pid` (0 when not running), `started` (when its
    main process started, epoch seconds, or None) and `need_reload` (its file changed on disk
    since systemd read it)."""
    return units([service])[service]


def _state(text: str) -> Dict:
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {"enabled": props.get("UnitFileState") == "enabled",
            "active": props.get("ActiveState") == "active",
            "main_pid": int(props.get("MainPID") or 0),
            "started": wall_clock(int(props.get("ExecMainStartTimestampMonotonic") or 0)),
            "need_reload": props.get("NeedDaemonReload") == "yes"}


def wall_clock(monotonic_usec: int) -> Optional[float]:
    """The wall-clock time of a CLOCK_MONOTONIC timestamp in microseconds (systemd's record
    of when the unit's main process started), or None for none."""
    if not monotonic_usec:
        return None
    return time.time() - time.monotonic() + monotonic_usec / 1e6


def stale(service: Dict, files: List[str]) -> bool:
    """True when one of `files` changed after the running server started: a change whose
    restart never happened (say, an earlier run failed or was interrupted before its
    handlers ran). The start is systemd's, to the microsecond."""
    if not service["main_pid"] or service["started"] is None:
        return False
    return any(os.path.exists(f) and os.stat(f).st_mtime > service["started"] for f in files)
