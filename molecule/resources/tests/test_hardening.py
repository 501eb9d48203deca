"""The optional hardening, where a scenario turns it on: SASL for clients and between members,
and the host firewall."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable

import pytest
from conftest import Ensemble, Member, run_site
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl


def sasl_client(ensemble: Ensemble, members: list[Member]) -> KazooClient:
    user, password = next(iter(
        ensemble.hostvars[ensemble.members[0].name]["zookeeper_sasl_client_users"].items()))
    client = KazooClient(hosts=",".join(m.endpoint for m in members), timeout=10.0,
                         sasl_options={"mechanism": "DIGEST-MD5", "username": user,
                                       "password": password})
    client.start(timeout=15)
    return client


@pytest.mark.needs("zookeeper_sasl_client_auth")
def test_only_an_authenticated_client_reads_an_acl_protected_znode(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient]) -> None:
    user = next(iter(ensemble.hostvars[ensemble.members[0].name]["zookeeper_sasl_client_users"]))
    path = f"/secured/{uuid.uuid4().hex[:8]}"
    writer = sasl_client(ensemble, [ensemble.members[0]])
    reader = sasl_client(ensemble, [ensemble.members[-1]])
    try:
        writer.create(path, b"for admin only", acl=[make_acl("sasl", user, all=True)],
                      makepath=True)
        reader.sync(path)
        assert reader.get(path)[0] == b"for admin only"
        anonymous = client_factory([ensemble.members[1]])
        with pytest.raises(NoAuthError):
            anonymous.get(path)
    finally:
        writer.stop()
        reader.stop()


@pytest.mark.needs("zookeeper_sasl_client_auth")
def test_jaas_file_readable_by_the_service_only(ensemble: Ensemble) -> None:
    for member in ensemble.members:
        out = ensemble.host(member).check_output("stat -c '%U %G %a' /etc/zookeeper/jaas.conf")
        assert out == "root zookeeper 440", f"{member.name}: jaas.conf is {out}"


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
        rc, output = run_site(inventory, limit=victim.name)
    assert rc == 0, f"converging {victim.name} back with the right secret failed:\n{output[-3000:]}"
    ensemble.wait_healthy()


@pytest.mark.needs("zookeeper_firewall")
def test_firewall_keeps_quorum_ports_to_members(ensemble: Ensemble) -> None:
    """The controller is in the client networks but is no member: it reaches 2181, and its
    connections to the election port are dropped."""
    ensemble.wait_healthy()
    for member in ensemble.members:
        rules = ensemble.host(member).check_output("iptables -S ZOOKEEPER")
        for other in ensemble.members:
            assert f"-s {other.address}/32" in rules, f"{member.name}: {rules}"
        with pytest.raises(OSError):
            socket.create_connection((member.address, 3888), timeout=2).close()
        with socket.create_connection((member.address, member.port), timeout=2):
            pass
