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


def unit(service: str) -> Dict:
    """The unit's `enabled`, `active`, `main_pid` (0 when not running) and `started` (when its
    main process started, epoch seconds, or None)."""
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


def stale(service: Dict, files: List[str]) -> bool:
    """True when one of `files` changed after the running server started: a change whose
    restart never happened (say, an earlier run failed or was interrupted before its
    handlers ran). The start is systemd's, to the microsecond."""
    if not service["main_pid"] or service["started"] is None:
        return False
    return any(os.path.exists(f) and os.stat(f).st_mtime > service["started"] for f in files)
