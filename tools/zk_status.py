"""Report the health of an Apache ZooKeeper ensemble (3.4, 3.8, or both during a rolling upgrade).

Every server of the ensemble is asked, concurrently, for the four-letter word
``srvr`` on its client port; the leader is also asked for ``mntr`` to learn how
many followers are synced (``zk_synced_followers`` / ``zk_followers``).  A
server whose four-letter-word whitelist refuses ``mntr`` (3.5 and later answer
only ``srvr`` unless whitelisted) is still reported, from ``srvr``, with the
synced count as unknown.

Each member's ZooKeeper version comes from the first line of ``srvr``.  Members
running different versions are listed in the summary (``versions: ...``) but do
not make the ensemble degraded: that is normal during a rolling upgrade.

Four-letter words are sent over a plain TCP socket rather than through kazoo:
``KazooClient.command()`` needs an established session, which a server that is
outside a quorum will not grant -- and those are exactly the servers this tool
must be able to describe.

Servers come either from an Ansible inventory (``--inventory``, any format
``ansible-inventory`` understands, hosts of ``--group``) or from an explicit
``--servers host:port,...`` list.  The result is a table (or a JSON document
with ``--json``) and one of these exit codes:

* 0 healthy   -- every expected server serves as leader/follower (or the only
  server of a one-server ensemble serves as standalone) with exactly one leader;
* 1 degraded  -- a quorum (``N // 2 + 1``) serves with exactly one leader, but
  some member is down or not serving;
* 2 no quorum -- fewer than a majority serve, or there is no leader, or there
  is more than one leader;
* 3 usage error (bad arguments, unreadable inventory, missing/empty group).

``--prometheus`` prints the same figures as the hosts' metrics collector
(``zookeeper_metrics``, plugins/module_utils/zookeeper_metrics.py) in Prometheus' text
format instead, from ``srvr`` and ``mntr`` of every server, each series labelled with the
ensemble, the server id (``zookeeper_id``, from an inventory) and the server's name; the exit
code is the same.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

# The four-letter-word client and the metrics collector's series (--prometheus) are the
# collection's module_utils, which the modules and the hosts' collector run too. Imported by
# their collection names: where the collection is not importable already, through Ansible's own
# collection loader, with this checkout's collection (.collections/) before the configured paths.
try:
    importlib.import_module("ansible_collections.zkops.zookeeper34.plugins.module_utils")
except ImportError:
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(Path(__file__).resolve().parent.parent / ".collections")])
from ansible_collections.zkops.zookeeper34.plugins.module_utils import zookeeper_metrics
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import (
    four_letter_word,
    parse_mntr,
    parse_srvr,
    short_version,
    use_tls,
)

__all__ = ["four_letter_word", "main", "parse_mntr", "parse_srvr"]

DEFAULT_PORT = 2181
DEFAULT_TLS_PORT = 2281
DEFAULT_GROUP = "zookeeper"
DEFAULT_TIMEOUT = 2.0

EXIT_HEALTHY = 0
EXIT_DEGRADED = 1
EXIT_NO_QUORUM = 2
EXIT_USAGE = 3

STATUS_HEALTHY = "healthy"
STATUS_DEGRADED = "degraded"
STATUS_NO_QUORUM = "no-quorum"

ENSEMBLE_MODES = ("leader", "follower", "observer")


RESULT_KEYS = (
    "name",
    "address",
    "port",
    "mode",
    "version",
    "zxid",
    "connections",
    "outstanding",
    "latency_min",
    "latency_avg",
    "latency_max",
    "synced_followers",
    "followers",
    "error",
)


class UsageError(Exception):
    """A problem with the command line or the inventory (exit code 3)."""


class Server(NamedTuple):
    """One ensemble member to query (its id and ensemble label its --prometheus series)."""

    name: str
    address: str
    port: int
    server_id: str | None = None
    ensemble: str | None = None


# --------------------------------------------------------------------------
# Four-letter words
# --------------------------------------------------------------------------


def describe_error(exc: BaseException) -> str:
    """Turn a network exception into a short, human readable reason."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _int_or_none(value: Any) -> int | None:
    """Return ``value`` if it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------
# Querying
# --------------------------------------------------------------------------


def empty_result(name: str, address: str, port: int) -> dict[str, Any]:
    """Return a result record with every field unknown."""
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(name=name, address=address, port=port)
    return result


def ask_mntr(address: str, port: int, timeout: float) -> dict[str, Any]:
    """``mntr`` of one server; {} when it cannot be had (refused, network error)."""
    if timeout <= 0:
        return {}
    try:
        return parse_mntr(four_letter_word(address, port, "mntr", timeout))
    except OSError:
        return {}


def leader_sync(address: str, port: int, timeout: float) -> tuple[int | None, int | None]:
    """Ask a leader for ``mntr``; return (synced followers, followers).

    Any failure (refused by the whitelist, network error, missing keys) gives
    None for the unknown values rather than an error.
    """
    if timeout <= 0:
        return None, None
    try:
        metrics = parse_mntr(four_letter_word(address, port, "mntr", timeout))
    except OSError:
        return None, None
    return (
        _int_or_none(metrics.get("zk_synced_followers")),
        _int_or_none(metrics.get("zk_followers")),
    )


def query_server(name: str, address: str, port: int, timeout: float,
                 with_mntr: bool = False) -> dict[str, Any]:
    """Query one server (``srvr``, plus ``mntr`` on a leader).

    Returns a record with the keys of ``RESULT_KEYS``.  A server that cannot
    be reached or does not serve gets ``mode = "down"`` and the reason in
    ``error`` (``connection refused``, ``timeout``, ``not serving``, ...).
    The whole query, ``mntr`` included, stays within ``timeout`` seconds.
    ``version`` is the release from ``srvr``'s first line (``3.4.13``), None
    when the server does not answer or does not serve.
    ``with_mntr`` asks every serving server for ``mntr`` and keeps its values
    under ``mntr``, and srvr's whole version text under ``srvr_version`` (for
    ``--prometheus``).
    """
    result = empty_result(name, address, port)
    deadline = time.monotonic() + timeout
    try:
        reply = four_letter_word(address, port, "srvr", timeout)
    except OSError as exc:
        result.update(mode="down", error=describe_error(exc))
        return result
    if not reply.strip():
        result.update(mode="down", error="empty reply")
        return result
    srvr = parse_srvr(reply)
    if srvr["error"]:
        result.update(mode="down", error=srvr["error"])
        return result
    for key in ("mode", "zxid", "connections", "outstanding",
                "latency_min", "latency_avg", "latency_max"):
        result[key] = srvr[key]
    result["version"] = short_version(srvr["version"])
    if with_mntr:
        result["mntr"] = ask_mntr(address, port, deadline - time.monotonic())
        result["srvr_version"] = srvr["version"]
        if result["mode"] == "leader":
            result.update(synced_followers=_int_or_none(result["mntr"].get("zk_synced_followers")),
                          followers=_int_or_none(result["mntr"].get("zk_followers")))
        return result
    if result["mode"] == "leader":
        synced, followers = leader_sync(address, port, deadline - time.monotonic())
        result.update(synced_followers=synced, followers=followers)
    return result


def query_all(servers: Sequence[Server], timeout: float,
              with_mntr: bool = False) -> list[dict[str, Any]]:
    """Query every server concurrently; results keep the order of ``servers``."""
    if not servers:
        return []
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        futures = [
            pool.submit(query_server, s.name, s.address, s.port, timeout, with_mntr)
            for s in servers
        ]
        return [future.result() for future in futures]


# --------------------------------------------------------------------------
# Assessment
# --------------------------------------------------------------------------


def quorum_size(expected: int) -> int:
    """Smallest majority of an ensemble of ``expected`` servers."""
    return expected // 2 + 1


def is_serving(result: Mapping[str, Any], expected: int) -> bool:
    """True when the server serves as part of the expected ensemble.

    Leader, follower and observer count; ``standalone`` only counts for a
    one-server ensemble (a standalone member of a larger ensemble is not
    part of it).
    """
    mode = result.get("mode")
    return mode in ENSEMBLE_MODES or (mode == "standalone" and expected == 1)


def leaders(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the servers that claim to be leader."""
    return [str(r.get("name")) for r in results if r.get("mode") == "leader"]


def serving_count(results: Sequence[Mapping[str, Any]], expected: int) -> int:
    """Number of servers serving as part of the ensemble."""
    return sum(1 for r in results if is_serving(r, expected))


def assess(results: Sequence[Mapping[str, Any]], expected: int) -> tuple[str, int]:
    """Classify query results; return ``(status, exit_code)``.

    ``results`` are records as returned by ``query_server`` (only ``mode`` is
    needed); ``expected`` is the ensemble size.  Status is ``healthy`` (0),
    ``degraded`` (1) or ``no-quorum`` (2).
    """
    serving = serving_count(results, expected)
    if expected == 1 and serving == 1 and results[0].get("mode") == "standalone":
        return STATUS_HEALTHY, EXIT_HEALTHY
    if expected < 1 or len(leaders(results)) != 1 or serving < quorum_size(expected):
        return STATUS_NO_QUORUM, EXIT_NO_QUORUM
    if serving >= expected:
        return STATUS_HEALTHY, EXIT_HEALTHY
    return STATUS_DEGRADED, EXIT_DEGRADED


def single_leader(results: Sequence[Mapping[str, Any]]) -> str | None:
    """Name of the leader when there is exactly one, else None."""
    names = leaders(results)
    return names[0] if len(names) == 1 else None


def down_reasons(results: Sequence[Mapping[str, Any]], expected: int) -> list[str]:
    """``name (reason)`` for every server that does not serve the ensemble."""
    items = []
    for r in results:
        if not is_serving(r, expected):
            reason = r.get("error") or r.get("mode") or "unknown"
            items.append(f"{r.get('name')} ({reason})")
    return items


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a release: numerically by dotted part (3.4.13 < 3.8.0 < 3.10.0)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in version.split("."))


def versions(results: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Release -> names of the members running it, oldest release first; members whose
    version is unknown (down, not serving) are left out."""
    found: dict[str, list[str]] = {}
    for r in results:
        if r.get("version"):
            found.setdefault(str(r["version"]), []).append(str(r.get("name")))
    return {v: found[v] for v in sorted(found, key=_version_key)}


def versions_text(results: Sequence[Mapping[str, Any]]) -> str | None:
    """``version 3.4.13`` when the members agree, ``versions: 3.4.13 (zk01), 3.8.0 (zk02,
    zk03)`` when they differ (a rolling upgrade), None when no version is known."""
    found = versions(results)
    if not found:
        return None
    if len(found) == 1:
        return f"version {next(iter(found))}"
    return "versions: " + ", ".join(f"{v} ({', '.join(names)})" for v, names in found.items())


def summarize(results: Sequence[Mapping[str, Any]], expected: int) -> str:
    """One-line summary such as ``healthy: 3/3 serving, leader zk02; version 3.4.13``.

    Members running different versions are listed (``versions: ...``) without changing the
    status: a mixed ensemble is normal during a rolling upgrade.
    """
    status, _unused = assess(results, expected)
    serving = serving_count(results, expected)
    label = "no quorum" if status == STATUS_NO_QUORUM else status
    parts = [f"{label}: {serving}/{expected} serving"]
    names = leaders(results)
    if len(names) == 1:
        parts.append(f"leader {names[0]}")
    elif len(names) > 1:
        parts.append(f"{len(names)} leaders ({', '.join(names)})")
    elif expected == 1 and status == STATUS_HEALTHY:
        parts.append("standalone")
    elif serving:
        parts.append("no leader")
    text = ", ".join(parts)
    down = down_reasons(results, expected)
    if down:
        text += "; down: " + ", ".join(down)
    release = versions_text(results)
    if release:
        text += "; " + release
    return text


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """Render a table cell; unknown values become ``-``."""
    return "-" if value is None else str(value)


def _latency_cell(result: Mapping[str, Any]) -> str:
    """Render ``min/avg/max`` or ``-``."""
    values = (result.get("latency_min"), result.get("latency_avg"), result.get("latency_max"))
    if all(v is None for v in values):
        return "-"
    return "/".join(_cell(v) for v in values)


def _synced_cell(result: Mapping[str, Any]) -> str:
    """Render ``synced/followers`` for the leader, ``?`` when unknown."""
    if result.get("mode") != "leader":
        return "-"
    synced, followers = result.get("synced_followers"), result.get("followers")
    if synced is None:
        return "?"
    return str(synced) if followers is None else f"{synced}/{followers}"


def _mode_cell(result: Mapping[str, Any]) -> str:
    """Render the mode, with the reason when the server is down."""
    mode = _cell(result.get("mode"))
    if mode == "down" and result.get("error"):
        return f"down ({result['error']})"
    return mode


TABLE_COLUMNS = ("HOST", "ADDRESS", "MODE", "VERSION", "ZXID", "CONNS", "OUTSTANDING",
                 "LATENCY min/avg/max", "SYNCED")


def table_row(result: Mapping[str, Any]) -> list[str]:
    """Cells of one table row."""
    return [
        _cell(result.get("name")),
        f"{result.get('address')}:{result.get('port')}",
        _mode_cell(result),
        _cell(result.get("version")),
        _cell(result.get("zxid")),
        _cell(result.get("connections")),
        _cell(result.get("outstanding")),
        _latency_cell(result),
        _synced_cell(result),
    ]


def format_table(results: Sequence[Mapping[str, Any]]) -> str:
    """Render results as an aligned text table (header + one row per server)."""
    rows = [list(TABLE_COLUMNS)] + [table_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    return "\n".join(lines)


def build_report(results: Sequence[Mapping[str, Any]], expected: int) -> dict[str, Any]:
    """The JSON document printed by ``--json``."""
    status, code = assess(results, expected)
    return {
        "status": status,
        "exit_code": code,
        "summary": summarize(results, expected),
        "servers": [{key: r.get(key) for key in RESULT_KEYS} for r in results],
        "leader": single_leader(results),
        "serving": serving_count(results, expected),
        "expected": expected,
        "versions": versions(results),
    }


def prometheus_text(servers: Sequence[Server], results: Sequence[Mapping[str, Any]],
                    collected_at: float, group: str = DEFAULT_GROUP) -> str:
    """The ``--prometheus`` page: every server's series as the hosts' collector writes them,
    labelled with the ensemble (the inventory's, else ``group``), the server id when the
    inventory gives one, and the server's name (the controller speaks for every server)."""
    pages = []
    for server, result in zip(servers, results, strict=True):
        if result.get("error") == "not serving":
            mode = zookeeper_metrics.NOT_SERVING
        else:
            mode = None if result.get("mode") in (None, "down") else result["mode"]
        labels = {"ensemble": server.ensemble or group, "server_id": server.server_id or "",
                  "server": server.name}
        mntr = dict(result.get("mntr") or {})
        if not mntr.get("zk_version") and result.get("srvr_version"):
            # mntr refused (3.5+ whitelist): srvr's version text is mntr's zk_version, so
            # zookeeper_version_info keeps the collector's label.
            mntr["zk_version"] = result["srvr_version"]
        pages.append((labels, zookeeper_metrics.server_samples(mode, mntr, collected_at)))
    return zookeeper_metrics.exposition(pages)


# --------------------------------------------------------------------------
# Server lists
# --------------------------------------------------------------------------


def parse_port(text: str, entry: str) -> int:
    """Parse a TCP port number, raising ``UsageError`` if invalid."""
    try:
        port = int(str(text).strip())
    except ValueError:
        raise UsageError(f"invalid port {text!r} in {entry!r}") from None
    if not 0 < port < 65536:
        raise UsageError(f"port out of range in {entry!r}")
    return port


def parse_server_entry(entry: str) -> tuple[str, int]:
    """Parse ``host:port``, ``[v6addr]:port`` or a bare ``host`` (port 2181)."""
    entry = entry.strip()
    if entry.startswith("["):
        host, sep, rest = entry[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"cannot parse server {entry!r}")
        port = parse_port(rest[1:], entry) if rest else DEFAULT_PORT
    elif entry.count(":") > 1:
        raise UsageError(f"cannot parse server {entry!r} (write IPv6 as [addr]:port)")
    else:
        host, sep, port_text = entry.partition(":")
        port = parse_port(port_text, entry) if sep else DEFAULT_PORT
    if not host or any(c.isspace() for c in host):
        raise UsageError(f"cannot parse server {entry!r}")
    return host, port


def parse_servers(spec: str) -> list[Server]:
    """Parse ``--servers host:port,host:port,...``.

    The name of each server is its host; when several entries share a host
    (e.g. a local test ensemble) the name is ``host:port`` so rows stay
    distinguishable.
    """
    entries = [e for e in (part.strip() for part in spec.split(",")) if e]
    if not entries:
        raise UsageError("--servers is empty")
    pairs = [parse_server_entry(entry) for entry in entries]
    hosts = [host for host, _unused in pairs]
    return [
        Server(host if hosts.count(host) == 1 else f"{host}:{port}", host, port)
        for host, port in pairs
    ]


def find_ansible_inventory() -> str | None:
    """Locate ``ansible-inventory``: next to the running python, else on PATH."""
    candidate = Path(sys.executable).parent / "ansible-inventory"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("ansible-inventory")


def load_inventory(path: str) -> dict[str, Any]:
    """Run ``ansible-inventory -i PATH --list`` and return its JSON."""
    exe = find_ansible_inventory()
    if exe is None:
        raise UsageError("ansible-inventory not found (next to python or on PATH)")
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    try:
        proc = subprocess.run(
            [exe, "-i", path, "--list"],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot run ansible-inventory: {exc}") from None
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise UsageError(f"ansible-inventory failed on {path}: {detail}")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise UsageError(f"ansible-inventory printed invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError("ansible-inventory printed unexpected JSON")
    return data


def group_hosts(data: Mapping[str, Any], group: str) -> list[str]:
    """Hosts of ``group`` including its child groups, in inventory order."""
    hosts: list[str] = []
    seen_groups: set[str] = set()
    pending = [group]
    while pending:
        name = pending.pop(0)
        if name in seen_groups:
            continue
        seen_groups.add(name)
        entry = data.get(name) or {}
        hosts.extend(h for h in entry.get("hosts", []) if h not in hosts)
        pending.extend(entry.get("children", []))
    return hosts


def group_known(data: Mapping[str, Any], group: str) -> bool:
    """True when ``group`` is defined (even if empty) in the inventory JSON."""
    if group in data:
        return True
    return any(
        isinstance(entry, dict) and group in entry.get("children", [])
        for key, entry in data.items() if key != "_meta"
    )


def member_address(name: str, hostvars: dict[str, Any]) -> str:
    """A member's address as the role takes it (its server.N line, its peers' firewall rules):
    ``zookeeper_address``, else ``ansible_host`` (which may only be where SSH answers), else
    the inventory hostname."""
    return str(hostvars.get("zookeeper_address") or hostvars.get("ansible_host") or name)


def client_address(name: str, hostvars: dict[str, Any]) -> str:
    """Where a member's client port answers, as the role configures it:
    ``zookeeper_client_port_address`` when the port is bound to one address, else the member's
    address (``member_address``)."""
    bound = str(hostvars.get("zookeeper_client_port_address") or "")
    if bound and bound not in ("0.0.0.0", "::"):
        return bound
    return member_address(name, hostvars)


def servers_from_inventory(path: str, group: str = DEFAULT_GROUP,
                           tls: bool = False) -> list[Server]:
    """Servers of ``group`` in the Ansible inventory at ``path``.

    Address is the one clients reach (``client_address``), port is
    ``zookeeper_client_port`` (else 2181), name is the inventory hostname. With ``tls``
    (--tls-ca), or for a host whose plain port is off (``zookeeper_tls_client_plain: false``),
    the port is its TLS client port (``zookeeper_tls_client_port``, else 2281).
    Raises ``UsageError`` for a missing or empty group, or a host without a plain port when
    ``tls`` is off.
    """
    data = load_inventory(path)
    if not group_known(data, group):
        raise UsageError(f"group {group!r} not found in inventory {path}")
    names = group_hosts(data, group)
    if not names:
        raise UsageError(f"group {group!r} in inventory {path} has no hosts")
    hostvars = (data.get("_meta") or {}).get("hostvars") or {}
    servers = []
    for name in names:
        hv = hostvars.get(name) or {}
        address = client_address(name, hv)
        tls_only = (_true(hv.get("zookeeper_tls_client"))
                    and not _true(hv.get("zookeeper_tls_client_plain", True)))
        if tls_only and not tls:
            raise UsageError(f"{name} has no plain client port (zookeeper_tls_client_plain is "
                             "off): give --tls-ca and --tls-cert (a certificate of its CA)")
        port_value = (hv.get("zookeeper_tls_client_port", DEFAULT_TLS_PORT) if tls
                      else hv.get("zookeeper_client_port", DEFAULT_PORT))
        server_id = hv.get("zookeeper_id")
        ensemble = ensemble_of(hv)
        servers.append(Server(name, address, parse_port(port_value, name),
                              None if server_id is None else str(server_id),
                              None if ensemble == group else ensemble))
    return servers


def _true(value: Any) -> bool:
    """An inventory boolean (YAML's, or text such as "false" from -e)."""
    return str(value).strip().lower() in ("true", "yes", "on", "1")


def ensemble_of(hostvars: Mapping[str, Any]) -> str | None:
    """The role's name for the host's ensemble: zookeeper_ensemble_name, else its default, the
    host's zookeeper_ensemble_group; None (the default group's) when the inventory sets neither
    or derives them (ansible-inventory does not template)."""
    for key in ("zookeeper_ensemble_name", "zookeeper_ensemble_group"):
        value = hostvars.get(key)
        if value and "{{" not in str(value):
            return str(value)
    return None


def split_ensembles(servers: Sequence[Server]) -> list[tuple[str | None, list[Server]]]:
    """The servers by ensemble (ensemble_of: its name, else its group), in inventory order:
    an inventory may hold several ensembles, each judged on its own."""
    ensembles: dict[str | None, list[Server]] = {}
    for server in servers:
        ensembles.setdefault(server.ensemble, []).append(server)
    return list(ensembles.items())


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors raise ``UsageError`` (exit code 3)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def positive_float(text: str) -> float:
    """argparse type: a float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = _Parser(
        prog="zk-status",
        description=(
            "Ask every server of a ZooKeeper ensemble (3.4, 3.8 or a mix of both during a "
            "rolling upgrade) for 'srvr' (and the leader for 'mntr') and print one row per "
            "server, with its version, plus a summary."
        ),
        epilog=(
            "exit codes: 0 healthy, 1 degraded (quorum but a member down), "
            "2 no quorum (no majority, no leader or several leaders), "
            "3 usage error"
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "-i", "--inventory", metavar="PATH",
        help="Ansible inventory (any format ansible-inventory reads)",
    )
    source.add_argument(
        "-s", "--servers", metavar="HOST:PORT,...",
        help="comma-separated servers, e.g. zk1:2181,zk2:2181 (port defaults to 2181)",
    )
    parser.add_argument(
        "-g", "--group", default=DEFAULT_GROUP,
        help="inventory group holding the ensemble (default: %(default)s)",
    )
    parser.add_argument(
        "-t", "--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help="time allowed per server, servers are queried in parallel (default: %(default)s)",
    )
    parser.add_argument(
        "--tls-ca", metavar="PEM",
        help="ask every server on its TLS client port (zookeeper_tls_client_port, or the "
             "--servers port), checking its certificate against this CA",
    )
    parser.add_argument(
        "--tls-cert", metavar="PEM",
        help="with --tls-ca: the client certificate to show (mutual TLS, which the role's TLS "
             "port asks for by default), its key in the same file or in --tls-key",
    )
    parser.add_argument("--tls-key", metavar="PEM", help="the key of --tls-cert")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true",
        help="print a JSON document instead of the table",
    )
    output.add_argument(
        "--prometheus", action="store_true",
        help="print every server's srvr and mntr figures in Prometheus' text format (the "
             "series of the role's zookeeper_metrics collector, labelled with the server)",
    )
    return parser


def resolve_servers(args: argparse.Namespace) -> list[Server]:
    """Servers selected by ``--inventory``/``--group`` or ``--servers``."""
    if args.inventory is not None:
        return servers_from_inventory(args.inventory, args.group, bool(args.tls_ca))
    return parse_servers(args.servers)


def setup_tls(args: argparse.Namespace) -> None:
    """Speak TLS to every server with --tls-ca (and --tls-cert, --tls-key)."""
    if not args.tls_ca:
        if args.tls_cert or args.tls_key:
            raise UsageError("--tls-cert and --tls-key need --tls-ca")
        return
    try:
        use_tls({"ca": args.tls_ca, "cert": args.tls_cert, "key": args.tls_key})
    except OSError as exc:
        raise UsageError(f"cannot use the TLS files: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        setup_tls(args)
        servers = resolve_servers(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.prometheus:
        results = query_all(servers, args.timeout, with_mntr=True)
        sys.stdout.write(prometheus_text(servers, results, time.time(), args.group))
        return int(build_report(results, len(servers))["exit_code"])
    ensembles = split_ensembles(servers)
    reports = []
    for name, members in ensembles:
        results = query_all(members, args.timeout)
        report = build_report(results, len(members))
        if len(ensembles) > 1:
            report["ensemble"] = name
            if not args.json:
                print(f"ensemble {name}:")
        if not args.json:
            print(format_table(results))
            print()
            print(report["summary"])
        reports.append(report)
    code = max(int(r["exit_code"]) for r in reports)
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1
                         else {"ensembles": reports, "exit_code": code}, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
