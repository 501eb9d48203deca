"""Quorum TLS switched on (or off) on a running ensemble without an outage.

Apache's procedure for a running ensemble is three rolling restarts: every server first accepts
TLS and plain connections from its peers while still speaking plain (`portUnification=true`),
then speaks TLS while still accepting both (`sslQuorum=true`), then accepts TLS only
(`portUnification` off). Servers one stage apart always understand each other; two apart do
not (a TLS-only server refuses a peer that speaks plain). So every pass moves the servers by
one stage at most, and an interrupted switch leaves them within one stage of each other, from
where the next run goes on.

Stages, as zookeeper_probe reads them from a running server's zoo.cfg (its `quorum_tls`):
0 plain, 1 portUnification, 2 portUnification and sslQuorum, 3 sslQuorum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

PLAIN, TLS = 0, 3
STAGES = {0: "plain", 1: "portUnification=true, sslQuorum=false",
          2: "portUnification=true, sslQuorum=true", 3: "sslQuorum=true"}


def zookeeper_tls_passes(running: Mapping[str, Any], quorum_tls: Any) -> list[int]:
    """The stages of the rolling passes to make before the last one (which writes the
    inventory's zoo.cfg) when the running servers stand at `running` (host: stage, None for a
    server that does not run) and the inventory asks for quorum TLS on or off."""
    target = TLS if quorum_tls else PLAIN
    stages = {host: int(stage) for host, stage in running.items() if stage is not None}
    if not stages:
        return []
    low, high = min(stages.values()), max(stages.values())
    if high - low > 1:
        said = ", ".join(f"{host}: {STAGES[stage]}" for host, stage in sorted(stages.items()))
        raise AnsibleFilterError(
            f"the running servers' quorum TLS settings are more than one step apart ({said}), "
            "so some of them cannot talk to each other; the role never leaves them so. Make "
            "their zoo.cfg agree by hand (portUnification=true on every one lets all of them "
            "talk), restart them one at a time, then run site.yml again")
    if target >= high:
        return list(range(low + 1, target))
    return list(range(high - 1, target, -1))


def zookeeper_tls_checks(running: Mapping[str, Any], tls_client: Any, plain: Any) -> dict[str, Any]:
    """Which client port the role's own checks (the restart gate, the waits, the probe) ask the
    servers on, from the client ports each running server opened (host: zookeeper_probe's
    `client_ports`, None for a server that does not run): {'tls': bool, 'error': str}.

    The TLS port once every running server has one and the inventory keeps it on (a new
    ensemble starts with it), else the plain port. A change the checks could not follow is
    an error: the plain port turned off before every running server has a TLS port, or TLS
    turned off while a running server has no plain port."""
    ports = {host: found for host, found in running.items() if found is not None}
    over_tls = bool(tls_client) and all(found.get("tls") for found in ports.values())
    without = sorted(host for host, found in ports.items()
                     if not found.get("tls" if over_tls else "plain"))
    error = ""
    if not over_tls and not plain and tls_client:
        error = (f"zookeeper_tls_client_plain is off, but {', '.join(sorted(ports))} run without "
                 "a TLS client port yet, and the role's checks need one port every server "
                 "answers on throughout the rolling restart: run site.yml with "
                 "zookeeper_tls_client on and the plain port kept first, then again with "
                 "zookeeper_tls_client_plain: false")
    elif without:
        error = (f"{', '.join(without)} run without a plain client port (TLS only), which the "
                 "role's checks would ask with zookeeper_tls_client off: turn "
                 "zookeeper_tls_client_plain back on (one run), then TLS off")
    return {"tls": over_tls, "error": error}


FILTERS = {"zookeeper_tls_passes": zookeeper_tls_passes,
           "zookeeper_tls_checks": zookeeper_tls_checks}
