"""The optional hardening, where a scenario turns it on: SASL for clients and between members,
and the host firewall."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from conftest import REPO, Ensemble, Member, run_site
from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError, KazooException
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import make_acl
from zk_status import four_letter_word


def sasl_client(ensemble: Ensemble, members: list[Member]) -> KazooClient:
    user, password = next(iter(
        ensemble.hostvars[ensemble.members[0].name]["zookeeper_sasl_client_users"].items()))
    client = KazooClient(hosts=",".join(m.endpoint for m in members), timeout=10.0,
                         sasl_options={"mechanism": "DIGEST-MD5", "username": user,
                                       "password": password})
    client.start(timeout=15)
    return client


def outcome(call: Callable[[], Any]) -> str:
    """What a client call came to: "allowed", or the name of the error it got."""
    try:
        call()
    except KazooException as err:
        return type(err).__name__
    return "allowed"


# What a client that does not log in can do on a hardened 3.4 ensemble, znode by znode: it
# connects, and ACLs alone decide. `exists` needs no permission; getACL needs READ since the
# CVE-2019-0201 fix, which the tested build (Debian's 3.4.13 jars) carries.
ANONYMOUS = {
    "connect (no SASL login)": "allowed",
    "create a znode under / (world:anyone)": "allowed",
    "write and delete its own znode": "allowed",
    "exists on a sasl:admin znode": "allowed",
    "get on a sasl:admin znode": "NoAuthError",
    "get_children of it": "NoAuthError",
    "getACL of it": "NoAuthError",
    "set it": "NoAuthError",
    "create a child in it": "NoAuthError",
    "delete its child": "NoAuthError",
}


@pytest.mark.needs("zookeeper_sasl_client_auth")
def test_what_a_client_without_a_login_can_and_cannot_do(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        measurements: list[str]) -> None:
    """ZooKeeper 3.4 does not require a login: an anonymous client connects and ACLs decide.
    A sasl:admin znode is out of its reach, an open one is not; a wrong password is refused."""
    user = next(iter(ensemble.hostvars[ensemble.members[0].name]["zookeeper_sasl_client_users"]))
    run = uuid.uuid4().hex[:8]
    path, open_path = f"/secured/{run}", f"/open-{run}"
    writer = sasl_client(ensemble, [ensemble.members[0]])
    reader = sasl_client(ensemble, [ensemble.members[-1]])
    try:
        acl = [make_acl("sasl", user, all=True)]
        writer.create(path, b"for admin only", acl=acl, makepath=True)
        writer.create(f"{path}/child", b"", acl=acl)
        reader.sync(path)
        assert reader.get(path)[0] == b"for admin only"
        anonymous = client_factory([ensemble.members[1]])
        seen = {
            "connect (no SASL login)": "allowed" if anonymous.connected else "refused",
            "create a znode under / (world:anyone)": outcome(
                lambda: anonymous.create(open_path, b"x")),
            "write and delete its own znode": outcome(
                lambda: (anonymous.set(open_path, b"y"), anonymous.delete(open_path))),
            "exists on a sasl:admin znode": outcome(lambda: anonymous.exists(path)),
            "get on a sasl:admin znode": outcome(lambda: anonymous.get(path)),
            "get_children of it": outcome(lambda: anonymous.get_children(path)),
            "getACL of it": outcome(lambda: anonymous.get_acls(path)),
            "set it": outcome(lambda: anonymous.set(path, b"changed")),
            "create a child in it": outcome(lambda: anonymous.create(f"{path}/more", b"")),
            "delete its child": outcome(lambda: anonymous.delete(f"{path}/child")),
        }
        measurements.extend(f"anonymous client: {what}: {result}"
                            for what, result in seen.items())
        assert seen == ANONYMOUS
        assert reader.get(path)[0] == b"for admin only"
        assert reader.exists(f"{path}/child") is not None
    finally:
        writer.stop()
        reader.stop()
    # A login with a wrong password is refused outright, not downgraded to anonymous.
    wrong = KazooClient(hosts=ensemble.members[0].endpoint, timeout=5.0,
                        connection_retry={"max_tries": 1, "delay": 0.1},
                        sasl_options={"mechanism": "DIGEST-MD5", "username": user,
                                      "password": "not-the-password"})
    try:
        with pytest.raises((AuthFailedError, KazooTimeoutError)) as refused:
            wrong.start(timeout=10)
            wrong.get("/")
    finally:
        wrong.stop()
        wrong.close()
    measurements.append(f"a login with a wrong password: {refused.type.__name__}")


@pytest.mark.needs("zookeeper_sasl_client_auth")
def test_jaas_file_readable_by_the_service_only(ensemble: Ensemble) -> None:
    for member in ensemble.members:
        out = ensemble.host(member).check_output("stat -c '%U %G %a' /etc/zookeeper/jaas.conf")
        assert out == "root zookeeper 440", f"{member.name}: jaas.conf is {out}"


def jaas_sha1(ensemble: Ensemble, member: Member) -> str:
    return ensemble.host(member).check_output("sha1sum /etc/zookeeper/jaas.conf").split()[0]


@pytest.mark.needs("zookeeper_quorum_sasl")
def test_a_wrong_quorum_secret_does_not_join_and_the_role_says_why(ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    victim = ensemble.members[-1]
    inventory = ensemble.inventory_source()
    rc, output = run_site(inventory, {"zookeeper_quorum_sasl_password": "not-the-secret",
                                      "zookeeper_start_timeout": 30}, limit=victim.name)
    try:
        assert rc != 0, f"a server with the wrong quorum secret converged:\n{output[-3000:]}"
        assert f"fatal: [{victim.name}]" in output
        assert "did not serve as follower or leader within 30 s" in output, output[-3000:]
        assert "SASL" in output or "Sasl" in output, (
            f"the failure does not show why (no SASL error in the log tail):\n{output[-4000:]}")
        assert "not-the-secret" not in output, "the secret was printed"
        modes = ensemble.modes()
        assert modes[victim.name] not in {"leader", "follower"}, f"it joined anyway: {modes}"
    finally:
        # At -vvv: every module's arguments and result are printed, as AWX and ARA record them.
        digests = [jaas_sha1(ensemble, victim)]
        rc, output = run_site(inventory, limit=victim.name, options=("-vvv",))
    assert rc == 0, f"converging {victim.name} back with the right secret failed:\n{output[-3000:]}"
    ensemble.wait_healthy()
    # That run wrote the JAAS logins back: neither they nor a digest of the file before or after
    # (which a password can be guessed against offline) were printed.
    for digest in [*digests, jaas_sha1(ensemble, victim)]:
        assert digest not in output, f"a SHA-1 of jaas.conf was printed: {digest}"
    assert re.search(r"changed=[1-9]", output.rsplit("PLAY RECAP", maxsplit=1)[-1]), output[-2000:]
    for secret in ("se${user.home}cret", "${x}cret"):
        assert secret not in output, f"a password ({secret}) was printed"


@pytest.mark.only_in("hardening")
def test_a_client_port_bound_to_a_second_address_is_asked_there(ensemble: Ensemble) -> None:
    """Each member's client port is bound to a second address of its host
    (zookeeper_client_port_address; create.yml adds the address), and its member address refuses
    clients. Everything the role and its tools ask asks there: this scenario's converge, its
    idempotence run and test_failover's rolling restart (the restart gate asks every member
    before each restart), zk-status."""
    ensemble.wait_healthy()
    for member in ensemble.members:
        assert member.address != member.peer_address, f"{member.name}: not bound elsewhere"
        with pytest.raises(OSError):
            socket.create_connection((member.peer_address, member.port), timeout=2).close()
        assert "Mode: " in four_letter_word(member.address, member.port, "srvr", 2.0)
    status = subprocess.run([str(REPO / "tools" / "zk-status"), "-i",
                             ensemble.inventory, "--json"],
                            capture_output=True, text=True, timeout=60, check=False)
    report = json.loads(status.stdout)
    assert status.returncode == 0, report["summary"]
    assert {s["name"]: s["address"] for s in report["servers"]} == {
        m.name: m.address for m in ensemble.members}, report["servers"]


def first_start(ensemble: Ensemble, member: Member, unit: str, result: str = "") -> int:
    """When systemd first began (or, with `result`, first ended so) a start job of `unit` on the
    member's host, in microseconds of the host's clock, from the journal of the scenario's
    whole life; 0 when it never did."""
    selector = f"UNIT={unit}.service JOB_TYPE=start" + (f" JOB_RESULT={result}" if result else "")
    out = ensemble.host(member).check_output(f"journalctl --no-pager -o json {selector}")
    stamps = [int(json.loads(line)["__REALTIME_TIMESTAMP"]) for line in out.splitlines() if line]
    return min(stamps, default=0)


@pytest.mark.needs("zookeeper_firewall")
def test_the_firewall_was_up_before_zookeeper_first_started(ensemble: Ensemble) -> None:
    """A new server may be started by the write of its files, before the service phase's
    steps, only where none of them applies: with zookeeper_firewall, the firewall's unit must
    have set its rules before the JVM first listened. (A condition for the early start that
    leaves the firewall out starts ZooKeeper some seconds before the firewall: 7 s on the lab.)"""
    for member in ensemble.members:
        firewall = first_start(ensemble, member, "zookeeper-firewall", "done")
        zookeeper = first_start(ensemble, member, "zookeeper")
        assert firewall and zookeeper, f"{member.name}: no start of the firewall ({firewall}) " \
            f"or of ZooKeeper ({zookeeper}) in the journal"
        assert firewall < zookeeper, (
            f"{member.name}: ZooKeeper first started {(firewall - zookeeper) / 1e6:.2f} s "
            "before the firewall's rules were in place")


@pytest.mark.needs("zookeeper_firewall")
def test_firewall_keeps_quorum_ports_to_members(ensemble: Ensemble) -> None:
    """The controller is in the client networks but is no member: it reaches 2181, and its
    connections to the election port are dropped."""
    ensemble.wait_healthy()
    for member in ensemble.members:
        rules = ensemble.host(member).check_output("iptables -S ZOOKEEPER")
        for other in ensemble.members:
            assert f"-s {other.peer_address}/32" in rules, f"{member.name}: {rules}"
        with pytest.raises(OSError):
            socket.create_connection((member.peer_address, 3888), timeout=2).close()
        with socket.create_connection((member.address, member.port), timeout=2):
            pass


@pytest.mark.needs("zookeeper_firewall")
def test_the_firewall_keeps_ipv6_clients_to_their_networks(ensemble: Ensemble) -> None:
    """The JVM listens on [::] unless clientPortAddress says otherwise, so the ports need
    ip6tables rules too. The controller reaches each member at its IPv6 link-local address over
    the lab's bridge: only a member whose zookeeper_firewall_client_networks has fe80::/64
    (release38's zookeeper01) answers on the client port; the others' ports (3.8's admin port
    too) take no connection. Before ip6tables was managed, every member answered."""
    ensemble.wait_healthy()
    lab = ensemble.hostvars[ensemble.members[0].name]["zk_lab_name"]
    bridge = subprocess.run(
        ["podman", "network", "inspect", "--format", "{{.NetworkInterface}}", f"zk-{lab}"],
        capture_output=True, text=True, check=True).stdout.strip()
    for member in ensemble.members:
        hostvars = ensemble.hostvars[member.name]
        host = ensemble.host(member)
        assert "-A INPUT -j ZOOKEEPER" in host.check_output("ip6tables -S INPUT"), member.name
        found = re.search(r"inet6 (fe80::[0-9a-f:]+)/64",
                          host.check_output("ip -6 -o address show dev eth0 scope link"))
        assert found, f"{member.name}: no IPv6 link-local address on eth0"
        address = f"{found.group(1)}%{bridge}"
        allowed = any(ipaddress.ip_network(str(n), strict=False).version == 6
                      and ipaddress.ip_address(found.group(1)) in ipaddress.ip_network(str(n))
                      for n in hostvars.get("zookeeper_firewall_client_networks", []))
        ports = [member.port] + ([int(hostvars.get("zookeeper_admin_port", 8080))]
                                 if hostvars.get("zookeeper_admin_server") else [])
        answered = {}
        for port in ports:
            try:
                answered[port] = four_letter_word(address, port, "srvr", timeout=2)
            except OSError:
                continue
            assert allowed, (
                f"{member.name}: [{address}]:{port} answered over IPv6 from outside "
                f"zookeeper_firewall_client_networks: {answered[port][:80]!r}")
        if allowed and "zookeeper_client_port_address" not in hostvars:
            assert "Mode: " in answered.get(member.port, ""), (
                f"{member.name}: fe80::/64 is allowed, and its client port did not answer")


@pytest.mark.needs("zookeeper_firewall")
# The rules and their unit are the same on every release line: hardening switches them off and
# on again (release38 keeps the firewall on, with its admin port).
@pytest.mark.only_in("hardening")
def test_switching_the_firewall_off_removes_its_rules_and_unit(ensemble: Ensemble) -> None:
    """zookeeper_firewall: false after true takes the chain, its INPUT rule, the unit and the
    rules file away (the election port answers the controller again); true brings them back."""
    inventory = ensemble.inventory_source()
    rc, output = run_site(inventory, {"zookeeper_firewall": False})
    try:
        assert rc == 0, f"site.yml with the firewall off failed:\n{output[-3000:]}"
        for member in ensemble.members:
            host = ensemble.host(member)
            for tables in ("iptables", "ip6tables"):
                assert host.run(f"{tables} -S ZOOKEEPER").rc != 0, f"{member.name}: chain left"
                assert "ZOOKEEPER" not in host.check_output(f"{tables} -S INPUT"), member.name
            for path in ("/etc/systemd/system/zookeeper-firewall.service",
                         "/etc/zookeeper/firewall.rules", "/etc/zookeeper/firewall6.rules"):
                assert not host.file(path).exists, f"{member.name}: {path} left"
            assert "zookeeper-firewall" not in host.check_output(
                "systemctl list-unit-files --no-legend zookeeper-firewall.service || true")
            with socket.create_connection((member.peer_address, 3888), timeout=2):
                pass
        ensemble.wait_healthy()
        rc, output = run_site(inventory, {"zookeeper_firewall": False})
        assert rc == 0 and re.search(r"changed=[1-9]", output) is None, (
            f"a second run with the firewall off changed something:\n{output[-3000:]}")
    finally:
        rc, output = run_site(inventory)
    assert rc == 0, f"site.yml with the firewall on again failed:\n{output[-3000:]}"
    for member in ensemble.members:
        for tables in ("iptables", "ip6tables"):
            assert "-j ZOOKEEPER" in ensemble.host(member).check_output(f"{tables} -S INPUT")
    ensemble.wait_healthy()


@pytest.mark.needs("zookeeper_quorum_sasl")
def test_a_release_without_the_quorum_sasl_fix_is_warned_about(ensemble: Ensemble) -> None:
    """Quorum SASL on an Apache 3.4.13 release: the run warns, for every member, about
    CVE-2023-44981 (no 3.4 release has the fix) and CVE-2019-0201 (fixed in 3.4.14). The
    scenario's own build is Debian's, which has both fixes (zookeeper_build_fixes): no warning."""
    inventory = ensemble.inventory_source()
    validate_only = ("--check", "--tags", "always")
    rc, output = run_site(inventory, {"zookeeper_build_fixes": []}, options=validate_only)
    assert rc == 0, output[-3000:]
    for member in ensemble.members:
        for cve, why in (("CVE-2023-44981", " (zookeeper_quorum_sasl is on)"),
                         ("CVE-2019-0201", "")):
            assert (f"WARNING: {member.name}: the Apache ZooKeeper 3.4.13 release (tarball "
                    f"method) lacks the fix for {cve}{why}:") in output, output[-3000:]
    rc, output = run_site(inventory, options=validate_only)
    assert rc == 0 and "lacks the fix" not in output, output[-3000:]
