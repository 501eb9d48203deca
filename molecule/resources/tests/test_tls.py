"""TLS on the 3.8 line (the `reconfig38` scenario, after test_reconfig.py): quorum TLS and a
TLS client port switched on for the running ensemble by site.yml, which makes Apache's three
rolling passes (portUnification, then sslQuorum, then portUnification off) under client traffic
(membership_lab.watched: nothing acknowledged lost, the history linearizable, one leader at
most); then a client without a certificate of the lab CA is refused on the TLS port and one with
it works, and every member's election port, which heard a plain peer before, refuses one. Last,
the plain client port is turned off: the rolling restart's gate asks over TLS, zk-status and the
metrics collector read the ensemble over TLS, the plain port refuses."""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import time
from collections.abc import Iterator

import pytest
from conftest import REPO, Ensemble, podman, run_site
from kazoo.client import KazooClient
from membership_lab import Membership, finish, lab, watched, write_inventory

# The lab CA the role keeps on the controller for this scenario (zookeeper_tls_lab_ca).
LAB_CA = REPO / ".lab" / "tls" / "mol-reconfig38"
TLS_PORT = 2281
ELECTION_PORT = 3888
# The TLS settings of the inventory once switched.
TLS_ON = {"zookeeper_tls_quorum": True, "zookeeper_tls_client": True,
          "zookeeper_tls_lab_ca": str(LAB_CA)}


@pytest.fixture(scope="module")
def m(ensemble: Ensemble, tmp_path_factory: pytest.TempPathFactory,
      measurements: list[str]) -> Iterator[Membership]:
    with lab(ensemble, tmp_path_factory.mktemp("tls"), measurements, 3) as found:
        found.members = found.everyone[:3]
        yield found


def plain_peer_heard(address: str, seconds: float = 4.0) -> bool:
    """Whether the election port at `address` keeps a plain peer's connection: a peer with an
    id above every member's announces itself in the clear (protocol version -65536, its id,
    its address) and the server keeps the connection open for it. A server that speaks TLS
    only closes it (or sends a TLS alert and closes) instead."""
    me = b"10.0.0.1:3888"
    with socket.create_connection((address, ELECTION_PORT), timeout=seconds) as sock:
        sock.sendall(struct.pack(">qqi", -65536, 1000, len(me)) + me)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                data = sock.recv(4096)
                if not data or data[:1] == b"\x15":  # closed, or a TLS alert record
                    return False
        except (TimeoutError, socket.timeout):
            return True
        except ConnectionResetError:
            return False
    return True


def tls_client(address: str, certificate: bool) -> KazooClient:
    """A started kazoo client on the TLS port, trusting the lab CA, with the lab CA's client
    certificate or without one."""
    keys = ({"certfile": str(LAB_CA / "client.pem"), "keyfile": str(LAB_CA / "client.key")}
            if certificate else {})
    client = KazooClient(hosts=f"{address}:{TLS_PORT}", timeout=6.0, use_ssl=True,
                         ca=str(LAB_CA / "ca.pem"), verify_certs=True, **keys)
    try:
        client.start(timeout=8)
    except Exception:
        client.stop()
        client.close()
        raise
    return client


def running_config(m: Membership, name: str) -> str:
    """The static zoo.cfg the running server started with (dynamic reconfiguration keeps its
    copy beside the dynamic file)."""
    return m.run(name, "cat /var/lib/zookeeper/config/zoo.cfg")


def test_a_plain_peer_is_heard_before_quorum_tls(m: Membership) -> None:
    assert all(plain_peer_heard(m.hostvars[n]["ansible_host"]) for n in m.members)


def test_a_quorum_tls_switch_on_part_of_the_ensemble_is_refused(m: Membership) -> None:
    """--limit one member: its passes would leave it two stages ahead of the others."""
    alone = m.members[0]
    before = running_config(m, alone)
    rc, output = run_site(write_inventory(m.workdir, m.hostvars, m.members, [], TLS_ON),
                          limit=alone)
    assert rc != 0, output[-3000:]
    others = ", ".join(m.members[1:])
    assert (f"switches quorum TLS on {alone}, but {others} are not in this run (--limit)"
            in output), output[-3000:]
    assert "Write zoo.cfg at quorum TLS stage" not in output, output[-3000:]
    assert running_config(m, alone) == before


def test_quorum_and_client_tls_switched_on_in_rolling_passes_under_traffic(
        m: Membership) -> None:
    with watched(m, "quorum and client TLS on, three rolling passes") as watch:
        m.settings = dict(TLS_ON)
        output = finish(m)
    figures = watch.traffic.summary(watch.span)
    for stage in (1, 2):
        assert f"Write zoo.cfg at quorum TLS stage {stage}" in output, output[-3000:]
    for name in m.members:
        config = running_config(m, name)
        assert re.search(r"^sslQuorum=true$", config, re.M), f"{name}: {config}"
        assert "portUnification" not in config and f"secureClientPort={TLS_PORT}" in config
    # One server down at a time: outside an election, at least two of three serve.
    assert figures["fewest_serving"] == len(m.members) - 1, figures
    rc, again = m.site()
    assert rc == 0 and re.search(r"changed=[1-9]", again) is None, again[-3000:]


def test_the_tls_port_takes_a_client_of_the_ca_only(m: Membership) -> None:
    address = m.hostvars[m.members[0]]["ansible_host"]
    client = tls_client(address, certificate=True)
    try:
        path = client.create("/tls-check-", b"over TLS", sequence=True, ephemeral=True)
        assert client.get(path)[0] == b"over TLS"
    finally:
        client.stop()
        client.close()
    with pytest.raises(Exception):  # noqa: B017 - kazoo times out or the handshake fails
        tls_client(address, certificate=False).stop()
    plain = KazooClient(hosts=f"{address}:{TLS_PORT}", timeout=4.0)
    with pytest.raises(Exception):  # noqa: B017
        plain.start(timeout=6)
    plain.stop()
    plain.close()


def test_every_election_port_refuses_a_plain_peer(m: Membership) -> None:
    heard = {n: plain_peer_heard(m.hostvars[n]["ansible_host"]) for n in m.members}
    assert not any(heard.values()), heard


def zk_status(m: Membership, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "tools" / "zk-status"), "-i",
                           str(m.inventory()), "--json", *options], capture_output=True,
                          text=True, timeout=60, check=False)


def test_with_the_plain_port_off_the_checks_and_tools_speak_tls(m: Membership) -> None:
    m.settings = {**TLS_ON, "zookeeper_tls_client_plain": False}
    rc, output = m.site()
    assert rc == 0, output[-3000:]
    for name in m.members:
        config = running_config(m, name)
        assert not re.search(r"^clientPort=", config, re.M), f"{name}: {config}"
        address = m.hostvars[name]["ansible_host"]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, 2181), timeout=5).close()
    # Each member restarted without its plain port, behind a gate that asked the others over TLS.
    tls = ["--tls-ca", str(LAB_CA / "ca.pem"), "--tls-cert", str(LAB_CA / "client.pem"),
           "--tls-key", str(LAB_CA / "client.key")]
    status = zk_status(m, *tls)
    report = json.loads(status.stdout)
    assert status.returncode == 0 and report["status"] == "healthy", status.stdout
    assert {s["port"] for s in report["servers"]} == {TLS_PORT}, report
    refused = zk_status(m)
    assert refused.returncode == 3 and "--tls-ca" in refused.stderr, refused.stderr
    # The metrics collector, as its unit runs it, on the member's own certificate.
    name = m.members[0]
    podman("cp", str(REPO / "plugins/module_utils/zookeeper_metrics.py"),
           f"{m.container(name)}:/tmp/zookeeper_metrics.py")
    page = m.run(name, "python3 /tmp/zookeeper_metrics.py --port 2281 --tls-ca "
                 "/etc/zookeeper/tls/ca.pem --tls-cert /etc/zookeeper/tls/server.pem "
                 "--ensemble lab --server-id 1")
    assert re.search(r"^zookeeper_up\{[^}]*\} 1$", page, re.M), page
    rc, again = m.site()
    assert rc == 0 and re.search(r"changed=[1-9]", again) is None, again[-3000:]
