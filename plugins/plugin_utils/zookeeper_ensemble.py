"""The ensemble filters of the zookeeper role (members, /etc/hosts, inventory checks, SASL).

The ensemble has one source of truth: the hosts of the inventory group and each
host's `zookeeper_id`. `zookeeper_members` turns that into the member list that
zoo.cfg's server.N lines, myid and the /etc/hosts block are all rendered from.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_verify import (
    published_sha512,
)

HOSTS_BEGIN = "# BEGIN zookeeper ensemble (managed by Ansible)"
HOSTS_END = "# END zookeeper ensemble"


def _member_id(host: str, value: Any) -> int:
    # `zookeeper_id | default(none)` gives '' before ansible-core 2.19: missing too.
    if isinstance(value, bool) or value is None or value == "":
        raise AnsibleFilterError(
            f"{host}: zookeeper_id is {'missing' if value in (None, '') else repr(value)}; "
            "give every ensemble member an integer zookeeper_id from 1 to 255 in the inventory")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise AnsibleFilterError(
            f"{host}: zookeeper_id={value!r} is not an integer; use a number from 1 to 255"
        ) from None
    if not 1 <= number <= 255:
        raise AnsibleFilterError(
            f"{host}: zookeeper_id={number} is outside 1-255; pick an unused id in that range")
    return number


def zookeeper_members(hosts: Iterable[str], hostvars: Mapping[str, Mapping[str, Any]]
                      ) -> list[dict[str, Any]]:
    """The ensemble sorted by id: [{'id': 1, 'name': 'zookeeper01', 'address': '10.0.0.11'}].

    `address` is zookeeper_address, else ansible_host, else the inventory name; it must be
    an IP address because it goes into /etc/hosts.
    """
    members: list[dict[str, Any]] = []
    seen: dict[int, str] = {}
    for host in hosts:
        hvars = hostvars[host]
        number = _member_id(host, hvars.get("zookeeper_id"))
        if number in seen:
            raise AnsibleFilterError(
                f"{host}: zookeeper_id={number} is already used by {seen[number]}; "
                "every member needs its own id")
        seen[number] = host
        address = str(hvars.get("zookeeper_address") or hvars.get("ansible_host") or host)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise AnsibleFilterError(
                f"{host}: address {address!r} is not an IP address; set ansible_host or "
                "zookeeper_address to the address the other members reach this host at"
            ) from None
        members.append({"id": number, "name": str(host), "address": address})
    if not members:
        raise AnsibleFilterError("the ensemble group has no hosts")
    return sorted(members, key=lambda m: m["id"])


PORTS = ("zookeeper_client_port", "zookeeper_quorum_port", "zookeeper_election_port")
TIMING = ("zookeeper_tick_time", "zookeeper_init_limit", "zookeeper_sync_limit")


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


SETTINGS = ("zookeeper_id", "address", *PORTS, *TIMING, "zookeeper_max_session_timeout",
            "zookeeper_ensemble_name", "zookeeper_tls_quorum")
# What each host's own check (the zookeeper_validate action, tasks/validate-inventory.yml)
# registers: its ensemble settings as `settings`, its `problems` and `cautions` (warnings).
VALIDATED = "__zookeeper_validated"
# The settings resolved on each host besides zookeeper_id and address.
SETTINGS_OF_HOST = (*PORTS, "zookeeper_client_port_address", *TIMING,
                    "zookeeper_max_session_timeout", "zookeeper_ensemble_name",
                    "zookeeper_ensemble_group", "zookeeper_tls_quorum")


def settings_of(host_vars: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A host's ensemble settings as its own check resolved them in the play (its inventory
    values over the role defaults), or None where it has not run (a host outside the play)."""
    return (host_vars.get(VALIDATED) or {}).get("settings")


def zookeeper_problems(hosts: Iterable[str], hostvars: Mapping[str, Mapping[str, Any]]
                       ) -> dict[str, list[str]]:
    """Every problem of an ensemble's inventory at once, as {'errors': [...], 'warnings': [...]}.

    Each member's settings are those it resolved in the play (`settings_of`: its
    inventory values over the role defaults); a member outside the play falls back to its
    inventory values over the first member's. Each message names the host, the variable,
    the value and what to do.
    """
    resolved = {h: settings_of(hostvars[h]) for h in hosts}
    base = next((v for v in resolved.values() if v), {})
    settings = []
    for host, own in resolved.items():
        hv = hostvars[host]
        fallback = {**base, **{k: hv[k] for k in SETTINGS if k in hv},
                    "zookeeper_id": hv.get("zookeeper_id"),
                    "address": hv.get("zookeeper_address") or hv.get("ansible_host") or host}
        settings.append({**(own or fallback), "host": host})
    errors: list[str] = []
    warnings: list[str] = []
    ids: dict[int, str] = {}
    endpoints: dict[tuple[str, int], str] = {}
    for member in settings:
        host = member["host"]
        try:
            number = _member_id(host, member.get("zookeeper_id"))
            if number in ids:
                errors.append(f"{host}: zookeeper_id={number} is already used by {ids[number]}; "
                              "every member needs its own id")
            ids.setdefault(number, host)
        except AnsibleFilterError as err:
            errors.append(str(err))
        address = member.get("address")
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            errors.append(
                f"{host}: no IP address (ansible_host/zookeeper_address is {address!r}); set "
                "ansible_host, or zookeeper_address, to the IP the other members reach it at")
            address = None
        ports: dict[str, int] = {}
        for var in PORTS:
            port = _positive_int(member.get(var))
            if port is None or port > 65535:
                errors.append(f"{host}: {var}={member.get(var)!r} is not a port (1-65535)")
            else:
                ports[var] = port
        for i, (var, port) in enumerate(ports.items()):
            for other, other_port in list(ports.items())[i + 1:]:
                if port == other_port:
                    errors.append(f"{host}: {var} and {other} are both {port}; give each of "
                                  "the client, quorum and election ports its own number")
        if address is not None:
            for var, port in ports.items():
                key = (address, port)
                if key in endpoints and endpoints[key] != host:
                    errors.append(
                        f"{host}: {address}:{port} ({var}) is also used by {endpoints[key]}; "
                        "members sharing an address need different ports")
                endpoints.setdefault(key, host)
        timing = {var: _positive_int(member.get(var)) for var in TIMING}
        for var, value in timing.items():
            if value is None:
                errors.append(f"{host}: {var}={member.get(var)!r} is not a positive integer")
        tick = timing["zookeeper_tick_time"]
        session = member.get("zookeeper_max_session_timeout")
        if _positive_int(session) is None:
            errors.append(f"{host}: zookeeper_max_session_timeout={session!r} is not a positive "
                          "integer (milliseconds)")
        elif tick is not None and int(session) < 2 * tick:
            errors.append(
                f"{host}: zookeeper_max_session_timeout={session} is below 2 x "
                f"zookeeper_tick_time ({2 * tick}), the shortest session ZooKeeper allows; "
                f"raise it to at least {2 * tick}")
    groups: dict[str, list[str]] = {}
    for member in settings:
        groups.setdefault(str(member.get("zookeeper_ensemble_name")), []).append(member["host"])
    if len(groups) > 1:
        listing = "; ".join(f"{name}: {', '.join(hosts)}" for name, hosts in sorted(groups.items()))
        errors.append(f"the group holds more than one ensemble by zookeeper_ensemble_name "
                      f"({listing}); put each ensemble in its own inventory group")
    quorum_tls: dict[bool, list[str]] = {}
    for member in settings:
        on = str(member.get("zookeeper_tls_quorum")).strip().lower() in ("true", "yes", "1")
        quorum_tls.setdefault(on, []).append(member["host"])
    if len(quorum_tls) > 1:
        errors.append(f"zookeeper_tls_quorum is on for {', '.join(quorum_tls[True])} and off for "
                      f"{', '.join(quorum_tls[False])}; members that speak TLS to each other "
                      "refuse those that do not: set it the same on every member (the role "
                      "switches a running ensemble in rolling passes)")
    if settings and len(settings) % 2 == 0:
        warnings.append(
            f"the ensemble has {len(settings)} members, an even number: it tolerates no more "
            f"failures ({(len(settings) - 1) // 2}) than {len(settings) - 1} members would; "
            "use an odd number")
    return {"errors": errors, "warnings": warnings}


def zookeeper_ensembles_problems(hosts: Iterable[str], hostvars: Mapping[str, Mapping[str, Any]],
                                 groups: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """`zookeeper_problems` of every ensemble the play's `hosts` belong to (each host's resolved
    `zookeeper_ensemble_group`, which must list it), and what ensembles must not share: a host,
    or a name."""
    by_group: dict[str, list[str]] = {}
    errors: list[str] = []
    for host in hosts:
        own = settings_of(hostvars[host]) or {}
        group = str(own.get("zookeeper_ensemble_group") or "zookeeper")
        if host not in (groups.get(group) or []):
            errors.append(f"{host} is not in the inventory group '{group}' "
                          "(zookeeper_ensemble_group); run the role on the members of that group.")
            continue
        by_group.setdefault(group, []).append(host)
    warnings: list[str] = []
    names: dict[str, str] = {}
    member_of: dict[str, str] = {}
    for group in sorted(by_group):
        members = list(groups.get(group) or [])
        found = zookeeper_problems(members, hostvars)
        prefix = f"ensemble group {group}: " if len(by_group) > 1 else ""
        errors += [prefix + e if e.startswith("the ") else e for e in found["errors"]]
        warnings += [prefix + w if w.startswith("the ") else w for w in found["warnings"]]
        for host in members:
            if host in member_of:
                errors.append(f"{host} is a member of two ensembles, groups {member_of[host]} and "
                              f"{group}; a host serves one ensemble: take it out of one group")
            member_of.setdefault(host, group)
        name = str((settings_of(hostvars[by_group[group][0]]) or {})
                   .get("zookeeper_ensemble_name"))
        if name in names:
            errors.append(f"ensemble groups {names[name]} and {group} are both named {name!r} "
                          "(zookeeper_ensemble_name); give each ensemble its own name (metrics, "
                          "backups and zk-status tell them apart by it)")
        names.setdefault(name, group)
    return {"errors": errors, "warnings": warnings}


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def zookeeper_etc_hosts(content: str, members: list[dict[str, Any]]) -> str:
    """/etc/hosts with one managed block for the members and every other line kept.

    Member names are taken off loopback lines (Debian maps its own name to 127.0.1.1,
    which would make a server bind its quorum ports on loopback); a loopback line left
    with no name at all is dropped. Everything else stays byte for byte.
    """
    names = {m["name"] for m in members}
    block = [HOSTS_BEGIN] + [f"{m['address']}\t{m['name']}" for m in members] + [HOSTS_END]
    out: list[str] = []
    inside = False
    placed = False
    for line in (content or "").splitlines():
        if line.strip() == HOSTS_BEGIN:
            inside = True
            continue
        if inside:
            if line.strip() == HOSTS_END:
                inside = False
                out.extend(block)
                placed = True
            continue
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and _is_loopback(fields[0]) and names & set(fields[1:]):
            kept = [f for f in fields[1:] if f not in names]
            if kept:
                out.append("\t".join([fields[0], *kept]))
            continue
        out.append(line)
    if not placed:
        if out and out[-1].strip():
            out.append("")
        out.extend(block)
    return "\n".join(out) + "\n"


def zookeeper_sha512(text: str) -> str:
    """The sha512 digest from a .sha512 file, in either format Apache has used:
    `<hex>  <file>` (sha512sum) or `<file>: 0123ABCD 4567EF01 ...` (gpg --print-md)."""
    try:
        return published_sha512(text)
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from None


COMPARED = ("type", "owner", "group", "mode", "checksum", "target")


def zookeeper_differs(found: Mapping[str, Any] | None, want: Mapping[str, Any]) -> bool:
    """Whether a path as zookeeper_probe found it differs from what a task would make of it.

    `want` holds any of type, owner, group, mode (octal text), checksum (SHA-1) and target
    (of a link); other keys are ignored. A path that does not exist always differs.
    """
    if not found or not found.get("exists"):
        return True
    for key in COMPARED:
        if key not in want:
            continue
        if key == "mode":
            if int(str(want[key]), 8) != int(str(found.get(key, "0")), 8):
                return True
        elif str(want[key]) != str(found.get(key)):
            return True
    return False


def zookeeper_pending(items: Iterable[Mapping[str, Any]],
                      found: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The items of a zookeeper_files list (directories, files or links) that differ from
    what zookeeper_probe found, or that it did not look at: a file by its content's SHA-1,
    owner, group and mode; a directory by type, owner, group and mode; a link by its target.
    An item with an empty path (an optional directory left unset) is left out.
    """
    pending = []
    for item in items:
        if not item.get("path"):
            continue
        if "content" in item:
            want = {"checksum": hashlib.sha1(str(item["content"]).encode("utf-8")).hexdigest()}
        elif "target" in item:
            want = {"target": item["target"]}
        else:
            want = {"type": "directory"}
        want.update({key: item[key] for key in ("owner", "group", "mode") if item.get(key)})
        if zookeeper_differs(found.get(item["path"]), want):
            pending.append(item)
    return pending


def zookeeper_existing(paths: Iterable[str], found: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The paths zookeeper_probe found existing."""
    return [path for path in paths if (found.get(path) or {}).get("exists")]


def zookeeper_not_files(found: Mapping[str, Mapping[str, Any]], paths: Iterable[str]) -> list[str]:
    """Of `paths` (files the role writes as root), those zookeeper_probe found as a symbolic
    link someone but root made (`path -> target`), then those that are neither a regular file
    nor a link (`path`), each in the probe's order. A link root made is not among them (the
    role replaces it: Debian's package links myid into /etc/zookeeper/conf)."""
    wanted = set(paths)
    managed = [(path, seen) for path, seen in found.items()
               if path in wanted and (seen or {}).get("type") is not None]
    links = [f"{path} -> {seen['target']}" if seen.get("target") else path
             for path, seen in managed if seen["type"] == "link" and seen.get("owner") != "root"]
    return links + [path for path, seen in managed if seen["type"] == "other"]


SERVING_MODES = ("leader", "follower", "standalone")


def zookeeper_down(hosts: Iterable[str], hostvars: Mapping[str, Mapping[str, Any]],
                   unit_path: str, running_is_up: bool = False,
                   expected: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The hosts whose zookeeper_probe found ZooKeeper deployed (its unit there) but not
    serving, and those that serve: {'down': [...], 'serving': [...]}. A new host (no unit
    yet) is neither. With `running_is_up` (a membership walk, which plans with servers that
    run but elect), a server whose unit runs is not down; with `expected` (the hosts in the
    running ensemble's member lists), a host outside it (a member still to join) is not down."""
    down: list[str] = []
    serving: list[str] = []
    wanted = None if expected is None else set(expected)
    for host in hosts:
        if wanted is not None and host not in wanted:
            continue
        probe = hostvars[host].get("__zookeeper_probe") or {}
        if probe.get("mode") in SERVING_MODES:
            serving.append(host)
        elif running_is_up and (probe.get("service") or {}).get("active"):
            continue
        elif (probe.get("paths") or {}).get(unit_path, {}).get("exists"):
            down.append(host)
    return {"down": down, "serving": serving}


JAAS_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def zookeeper_jaas_string(value: Any) -> str:
    """`value` as a quoted string of a JAAS configuration file.

    Java reads that file with a StreamTokenizer, which ends a quoted string at `"` or at the end
    of a line and reads backslash escapes, so those characters are escaped.
    """
    return '"' + "".join(JAAS_ESCAPES.get(c, c) for c in str(value)) + '"'


def zookeeper_super_digest(password: Any, user: str = "super") -> str:
    """The digest ZooKeeper's DigestAuthenticationProvider.superDigest takes for `user` with
    `password`: base64 of the SHA-1 of `user:password`."""
    raw = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return base64.b64encode(raw).decode("ascii")


# The ensemble filters, by the names tasks apply them with.
# plugins/filter/zookeeper.py names each and loads this file when a task first applies one.
FILTERS = {
    "zookeeper_members": zookeeper_members,
    "zookeeper_etc_hosts": zookeeper_etc_hosts,
    "zookeeper_sha512": zookeeper_sha512,
    "zookeeper_problems": zookeeper_problems,
    "zookeeper_ensembles_problems": zookeeper_ensembles_problems,
    "zookeeper_differs": zookeeper_differs,
    "zookeeper_existing": zookeeper_existing,
    "zookeeper_pending": zookeeper_pending,
    "zookeeper_down": zookeeper_down,
    "zookeeper_not_files": zookeeper_not_files,
    "zookeeper_jaas_string": zookeeper_jaas_string,
    "zookeeper_super_digest": zookeeper_super_digest,
}
