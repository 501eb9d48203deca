"""ZooKeeper 3.8's admin server, where a scenario turns it on (zookeeper_admin_server): it
answers on the chosen port on every member, whatever the install method, and the firewall
lets the client networks reach it while 8080 (ZooKeeper's default) stays closed."""

from __future__ import annotations

import json
import ipaddress
import socket
import urllib.request

import pytest
from conftest import Ensemble


@pytest.mark.needs("zookeeper_admin_server")
def test_every_member_answers_on_the_chosen_port(ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    for member in ensemble.members:
        port = int(ensemble.hostvars[member.name]["zookeeper_admin_port"])
        url = f"http://{member.address}:{port}/commands/srvr"
        with urllib.request.urlopen(url, timeout=10) as reply:
            answer = json.load(reply)
        assert answer["error"] is None, f"{member.name}: {answer}"
        assert answer["server_stats"]["server_state"] in {"leader", "follower"}, answer
        with pytest.raises(OSError):
            socket.create_connection((member.address, 8080), timeout=2).close()


@pytest.mark.needs("zookeeper_admin_server")
@pytest.mark.needs("zookeeper_firewall")
def test_the_firewall_knows_the_admin_port(ensemble: Ensemble) -> None:
    for member in ensemble.members:
        port = int(ensemble.hostvars[member.name]["zookeeper_admin_port"])
        host = ensemble.host(member)
        rules = {4: host.check_output("iptables -S ZOOKEEPER"),
                 6: host.check_output("ip6tables -S ZOOKEEPER")}
        networks = ensemble.hostvars[member.name]["zookeeper_firewall_client_networks"]
        for network in networks:
            family = ipaddress.ip_network(network).version
            assert f"-s {network} -p tcp -m tcp --dport {port} -j ACCEPT" in rules[family], rules
        for family in rules:
            assert f",{port} -j DROP" in rules[family], rules
