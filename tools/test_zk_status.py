"""Unit and end-to-end tests for tools/zk_status.py.

The end-to-end tests start tiny fake four-letter-word servers on 127.0.0.1
(ephemeral ports) that answer canned ``srvr``/``mntr`` texts; nothing else is
ever contacted.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zk_status
import fake_zk as fake_zk_module
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import use_tls

LEADER_SRVR = """\
Zookeeper version: 3.4.13-2d71af4dbe22557fda74f9a9b4309b15a7487f03, built on 06/29/2018 04:05 GMT
Latency min/avg/max: 0/0/5
Received: 12
Sent: 11
Connections: 1
Outstanding: 0
Zxid: 0x100000002
Mode: leader
Node count: 4
Proposal sizes last/min/max: 32/32/90
"""

FOLLOWER_SRVR = """\
Zookeeper version: 3.4.13-2d71af4dbe22557fda74f9a9b4309b15a7487f03, built on 06/29/2018 04:05 GMT
Latency min/avg/max: 1/2/7
Received: 40
Sent: 39
Connections: 3
Outstanding: 1
Zxid: 0x100000002
Mode: follower
Node count: 4
"""

STANDALONE_SRVR = """\
Zookeeper version: 3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT
Latency min/avg/max: 0/0/0
Received: 2
Sent: 1
Connections: 1
Outstanding: 0
Zxid: 0x2a
Mode: standalone
Node count: 5
"""

NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"

LEADER_MNTR = (
    "zk_version\t3.4.13-2d71af4dbe22557fda74f9a9b4309b15a7487f03, built on 06/29/2018 04:05 GMT\n"
    "zk_avg_latency\t0\n"
    "zk_max_latency\t5\n"
    "zk_server_state\tleader\n"
    "zk_znode_count\t4\n"
    "zk_approximate_data_size\t27\n"
    "zk_followers\t2\n"
    "zk_synced_followers\t2\n"
    "zk_pending_syncs\t0\n"
)

MNTR_REFUSED = "mntr is not executed because it is not in the whitelist.\n"
SRVR_REFUSED = "srvr is not executed because it is not in the whitelist.\n"
STAT_REFUSED = "stat is not executed because it is not in the whitelist.\n"

# First lines of srvr as real servers print them.
VERSION_DEBIAN_34 = "3.4.13-6--1, built on Tue, 06 Dec 2022 19:46:55 +0000"
VERSION_APACHE_34 = "3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT"
VERSION_DEBIAN_38 = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"
VERSION_APACHE_38 = "3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC"


def srvr_38(mode: str, version: str = VERSION_DEBIAN_38) -> str:
    """srvr of a 3.8 server (average latency with decimals; a leader adds proposal sizes)."""
    text = (f"Zookeeper version: {version}\n"
            "Latency min/avg/max: 0/0.4167/3\n"
            "Received: 27\n"
            "Sent: 26\n"
            "Connections: 1\n"
            "Outstanding: 0\n"
            "Zxid: 0x200000003\n"
            f"Mode: {mode}\n"
            "Node count: 5\n")
    return text + ("Proposal sizes last/min/max: 48/48/92\n" if mode == "leader" else "")


def srvr_34_debian(mode: str) -> str:
    """srvr of Debian's 3.4.13."""
    return FOLLOWER_SRVR.replace(FOLLOWER_SRVR.splitlines()[0],
                                 f"Zookeeper version: {VERSION_DEBIAN_34}").replace(
        "Mode: follower", f"Mode: {mode}")


def whitelisted_38(mode: str) -> dict[str, str]:
    """A 3.8 server whose 4lw whitelist holds only srvr (3.5+'s default)."""
    return {"srvr": srvr_38(mode), "mntr": MNTR_REFUSED, "stat": STAT_REFUSED}


# --------------------------------------------------------------------------
# Fake servers (tools/fake_zk.py)
# --------------------------------------------------------------------------


@pytest.fixture
def fake_zk() -> Iterator[Callable[[dict[str, str]], int]]:
    """Factory: start a fake 4lw server with canned replies, return its port."""
    yield from fake_zk_module.fake_servers()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port that is bound but not listening: connect is refused."""
    yield from fake_zk_module.closed_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def dribble_port() -> Iterator[int]:
    """A server that keeps sending one byte every 50 ms and never closes."""
    stop = threading.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _unused = listener.accept()
            except OSError:
                continue
            with conn:
                while not stop.is_set():
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def leader_replies(mntr: str = LEADER_MNTR) -> dict[str, str]:
    return {"srvr": LEADER_SRVR, "mntr": mntr}


def follower_replies() -> dict[str, str]:
    return {"srvr": FOLLOWER_SRVR, "mntr": "zk_server_state\tfollower\n"}


def servers_arg(*ports: int) -> str:
    return ",".join(f"127.0.0.1:{port}" for port in ports)


# --------------------------------------------------------------------------
# parse_srvr / parse_mntr
# --------------------------------------------------------------------------


def test_parse_srvr_leader() -> None:
    info = zk_status.parse_srvr(LEADER_SRVR)
    assert info["mode"] == "leader"
    assert info["zxid"] == "0x100000002"
    assert info["connections"] == 1
    assert info["outstanding"] == 0
    assert (info["latency_min"], info["latency_avg"], info["latency_max"]) == (0, 0, 5)
    assert info["received"] == 12 and info["sent"] == 11 and info["node_count"] == 4
    assert info["version"].startswith("3.4.13-")
    assert info["error"] is None


def test_parse_srvr_follower_without_proposal_line() -> None:
    info = zk_status.parse_srvr(FOLLOWER_SRVR)
    assert info["mode"] == "follower"
    assert info["connections"] == 3
    assert info["outstanding"] == 1
    assert (info["latency_min"], info["latency_avg"], info["latency_max"]) == (1, 2, 7)
    assert info["error"] is None


def test_parse_srvr_standalone() -> None:
    info = zk_status.parse_srvr(STANDALONE_SRVR)
    assert info["mode"] == "standalone"
    assert info["zxid"] == "0x2a"
    assert info["error"] is None


def test_parse_srvr_not_serving() -> None:
    info = zk_status.parse_srvr(NOT_SERVING)
    assert info["error"] == "not serving"
    assert info["mode"] is None
    assert info["zxid"] is None


def test_parse_srvr_whitelist_refusal() -> None:
    info = zk_status.parse_srvr(SRVR_REFUSED)
    assert info["error"] == "srvr not allowed"
    assert info["mode"] is None


@pytest.mark.parametrize("text", ["", "garbage\x00\x01", "HTTP/1.1 400 Bad Request\r\n\r\n",
                                  "Latency min/avg/max: x/y\nConnections: many\n"])
def test_parse_srvr_garbage(text: str) -> None:
    info = zk_status.parse_srvr(text)
    assert info["mode"] is None
    assert info["error"] == "unexpected reply"
    assert info["connections"] is None
    assert info["latency_min"] is None


def test_parse_srvr_38() -> None:
    info = zk_status.parse_srvr(srvr_38("leader", VERSION_APACHE_38))
    assert (info["mode"], info["zxid"], info["error"]) == ("leader", "0x200000003", None)
    assert (info["latency_min"], info["latency_avg"], info["latency_max"]) == (0, 0.4167, 3)
    assert info["version"] == VERSION_APACHE_38


@pytest.mark.parametrize(("text", "release"), [
    (VERSION_DEBIAN_34, "3.4.13"),
    (VERSION_APACHE_34, "3.4.14"),
    (VERSION_DEBIAN_38, "3.8.0"),
    (VERSION_APACHE_38, "3.8.4"),
    ("3.8.4, built on 2024-02-12 22:16 UTC", "3.8.4"),  # no '-' before the ','
    ("3.8.4", "3.8.4"),
    ("", None),
    (None, None),
])
def test_short_version(text: str | None, release: str | None) -> None:
    assert zk_status.short_version(text) == release


def test_parse_mntr() -> None:
    metrics = zk_status.parse_mntr(LEADER_MNTR)
    assert metrics["zk_server_state"] == "leader"
    assert metrics["zk_synced_followers"] == 2
    assert metrics["zk_followers"] == 2
    assert metrics["zk_approximate_data_size"] == 27
    assert metrics["zk_version"].startswith("3.4.13-")


def test_parse_mntr_refused_or_garbage_is_empty() -> None:
    assert zk_status.parse_mntr(MNTR_REFUSED) == {}
    assert zk_status.parse_mntr("") == {}


# --------------------------------------------------------------------------
# assess / summarize
# --------------------------------------------------------------------------


def make_results(*modes: str) -> list[dict]:
    results = []
    for i, mode in enumerate(modes, start=1):
        result = zk_status.empty_result(f"zookeeper0{i}", f"10.0.0.{i}", 2181)
        result["mode"] = mode
        if mode == "down":
            result["error"] = "connection refused"
        results.append(result)
    return results


@pytest.mark.parametrize(
    ("modes", "expected", "status", "code"),
    [
        (("leader", "follower", "follower"), 3, "healthy", 0),
        (("follower", "leader", "down"), 3, "degraded", 1),
        (("leader", "down", "down"), 3, "no-quorum", 2),
        (("follower", "down", "down"), 3, "no-quorum", 2),
        (("follower", "follower", "follower"), 3, "no-quorum", 2),
        (("leader", "leader", "follower"), 3, "no-quorum", 2),
        (("down", "down", "down"), 3, "no-quorum", 2),
        (("standalone",), 1, "healthy", 0),
        (("down",), 1, "no-quorum", 2),
        (("follower",), 1, "no-quorum", 2),
        (("leader", "follower", "standalone"), 3, "degraded", 1),
        (("leader", "follower", "follower", "follower", "follower"), 5, "healthy", 0),
        (("leader", "follower", "follower", "down", "down"), 5, "degraded", 1),
        (("leader", "follower", "down", "down", "down"), 5, "no-quorum", 2),
        (("follower", "follower", "follower", "follower", "follower"), 5, "no-quorum", 2),
        (("leader", "follower", "leader", "follower", "follower"), 5, "no-quorum", 2),
        (("leader", "follower", "follower", "observer"), 4, "healthy", 0),
        (("leader", "follower"), 3, "degraded", 1),
    ],
)
def test_assess(modes: tuple[str, ...], expected: int, status: str, code: int) -> None:
    assert zk_status.assess(make_results(*modes), expected) == (status, code)


def test_summary_healthy() -> None:
    results = make_results("follower", "leader", "follower")
    assert zk_status.summarize(results, 3) == "healthy: 3/3 serving, leader zookeeper02"


def test_summary_degraded() -> None:
    results = make_results("leader", "follower", "down")
    assert zk_status.summarize(results, 3) == (
        "degraded: 2/3 serving, leader zookeeper01; down: zookeeper03 (connection refused)"
    )


def test_summary_no_quorum() -> None:
    results = make_results("follower", "down", "down")
    summary = zk_status.summarize(results, 3)
    assert summary.startswith("no quorum: 1/3 serving")
    assert "zookeeper02 (connection refused)" in summary


def test_summary_names_no_leader_and_two_leaders() -> None:
    assert "no leader" in zk_status.summarize(make_results("follower", "follower", "follower"), 3)
    two = zk_status.summarize(make_results("leader", "leader", "follower"), 3)
    assert two == "no quorum: 3/3 serving, 2 leaders (zookeeper01, zookeeper02)"


def with_versions(results: list[dict], *releases: str | None) -> list[dict]:
    for result, release in zip(results, releases, strict=True):
        result["version"] = release
    return results


def test_summary_one_version() -> None:
    results = with_versions(make_results("follower", "leader", "down"), "3.4.13", "3.4.13", None)
    assert zk_status.summarize(results, 3) == (
        "degraded: 2/3 serving, leader zookeeper02; down: zookeeper03 (connection refused); "
        "version 3.4.13")
    assert zk_status.versions(results) == {"3.4.13": ["zookeeper01", "zookeeper02"]}


def test_summary_mixed_versions_stay_healthy() -> None:
    # A rolling upgrade: newest first in the inventory, 3.10 sorts after 3.8 (not as text).
    results = with_versions(make_results("follower", "leader", "follower", "follower"),
                            "3.10.0", "3.4.13", "3.8.0", "3.8.0")
    assert zk_status.assess(results, 4) == ("healthy", 0)
    assert zk_status.summarize(results, 4) == (
        "healthy: 4/4 serving, leader zookeeper02; versions: 3.4.13 (zookeeper02), "
        "3.8.0 (zookeeper03, zookeeper04), 3.10.0 (zookeeper01)")
    assert list(zk_status.versions(results)) == ["3.4.13", "3.8.0", "3.10.0"]


def test_summary_standalone() -> None:
    assert zk_status.summarize(make_results("standalone"), 1) == "healthy: 1/1 serving, standalone"


# --------------------------------------------------------------------------
# --servers parsing
# --------------------------------------------------------------------------


def test_parse_servers() -> None:
    servers = zk_status.parse_servers("zk1:2181, zk2:2182,zk3,[::1]:2183")
    assert servers == [
        zk_status.Server("zk1", "zk1", 2181),
        zk_status.Server("zk2", "zk2", 2182),
        zk_status.Server("zk3", "zk3", 2181),
        zk_status.Server("::1", "::1", 2183),
    ]


def test_parse_servers_same_host_gets_port_in_name() -> None:
    servers = zk_status.parse_servers("127.0.0.1:2181,127.0.0.1:2182,zk9:2181")
    assert [s.name for s in servers] == ["127.0.0.1:2181", "127.0.0.1:2182", "zk9"]


@pytest.mark.parametrize("spec", ["", ",", "zk1:", "zk1:abc", "zk1:0", "zk1:70000",
                                  ":2181", "a:b:c", "[::1", "[::1]x", "zk 1:2181"])
def test_parse_servers_rejects(spec: str) -> None:
    with pytest.raises(zk_status.UsageError):
        zk_status.parse_servers(spec)


# --------------------------------------------------------------------------
# four_letter_word / query_server against fake servers
# --------------------------------------------------------------------------


def test_four_letter_word_reads_until_close(fake_zk) -> None:
    port = fake_zk(leader_replies())
    assert zk_status.four_letter_word("127.0.0.1", port, "srvr", 2.0) == LEADER_SRVR
    assert zk_status.four_letter_word("127.0.0.1", port, "mntr", 2.0) == LEADER_MNTR


def test_four_letter_word_refused(refused_port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        zk_status.four_letter_word("127.0.0.1", refused_port, "srvr", 1.0)


def test_srvr_at_reads_a_server_and_names_an_unreachable_one(
        fake_zk, refused_port: int) -> None:
    from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import srvr_at

    assert srvr_at(f"127.0.0.1:{fake_zk(leader_replies())}")["mode"] == "leader"
    down = srvr_at(f"127.0.0.1:{refused_port}", 1.0)
    assert down["mode"] is None and down["error"].startswith("ConnectionRefusedError")


def test_four_letter_word_timeout_is_bounded(silent_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        zk_status.four_letter_word("127.0.0.1", silent_port, "srvr", 0.3)
    assert 0.25 <= time.monotonic() - start < 1.5


def test_four_letter_word_deadline_covers_slow_trickle(dribble_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        zk_status.four_letter_word("127.0.0.1", dribble_port, "srvr", 0.4)
    assert time.monotonic() - start < 1.5


def test_four_letter_word_rejects_bad_word() -> None:
    with pytest.raises(ValueError):
        zk_status.four_letter_word("127.0.0.1", 1, "status", 1.0)


def test_query_server_leader_with_mntr(fake_zk) -> None:
    port = fake_zk(leader_replies())
    result = zk_status.query_server("zk1", "127.0.0.1", port, 2.0)
    assert result["mode"] == "leader"
    assert result["zxid"] == "0x100000002"
    assert result["synced_followers"] == 2 and result["followers"] == 2
    assert result["error"] is None
    assert set(result) == set(zk_status.RESULT_KEYS)


def test_query_server_leader_mntr_not_whitelisted(fake_zk) -> None:
    port = fake_zk(leader_replies(mntr=MNTR_REFUSED))
    result = zk_status.query_server("zk1", "127.0.0.1", port, 2.0)
    assert result["mode"] == "leader"
    assert result["synced_followers"] is None
    assert result["error"] is None


def test_query_server_not_serving(fake_zk) -> None:
    port = fake_zk({"srvr": NOT_SERVING})
    result = zk_status.query_server("zk1", "127.0.0.1", port, 2.0)
    assert (result["mode"], result["error"]) == ("down", "not serving")


def test_query_server_down_reasons(refused_port: int, silent_port: int) -> None:
    refused = zk_status.query_server("a", "127.0.0.1", refused_port, 0.5)
    silent = zk_status.query_server("b", "127.0.0.1", silent_port, 0.3)
    assert (refused["mode"], refused["error"]) == ("down", "connection refused")
    assert (silent["mode"], silent["error"]) == ("down", "timeout")


# --------------------------------------------------------------------------
# main() end to end
# --------------------------------------------------------------------------


def test_main_healthy_table(fake_zk, capsys) -> None:
    ports = [fake_zk(follower_replies()), fake_zk(leader_replies()), fake_zk(follower_replies())]
    assert zk_status.main(["--servers", servers_arg(*ports)]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split()[:4] == ["HOST", "ADDRESS", "MODE", "VERSION"]
    leader_row = next(line for line in lines if " leader " in line)
    assert f"127.0.0.1:{ports[1]}" in leader_row
    assert "0x100000002" in leader_row and "0/0/5" in leader_row and "2/2" in leader_row
    assert sum(" follower " in line for line in lines) == 2
    assert lines[-1] == f"healthy: 3/3 serving, leader 127.0.0.1:{ports[1]}; version 3.4.13"


def test_main_degraded(fake_zk, refused_port: int, capsys) -> None:
    ports = [fake_zk(leader_replies()), fake_zk(follower_replies()), refused_port]
    assert zk_status.main(["--servers", servers_arg(*ports), "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert "down (connection refused)" in out
    assert out.strip().splitlines()[-1] == (
        f"degraded: 2/3 serving, leader 127.0.0.1:{ports[0]}; "
        f"down: 127.0.0.1:{refused_port} (connection refused); version 3.4.13"
    )


def test_main_no_quorum_is_bounded_by_one_timeout(
    fake_zk, refused_port: int, silent_port: int, capsys
) -> None:
    ports = [fake_zk({"srvr": NOT_SERVING}), refused_port, silent_port]
    start = time.monotonic()
    code = zk_status.main(["--servers", servers_arg(*ports), "--timeout", "0.5"])
    elapsed = time.monotonic() - start
    assert code == 2
    assert elapsed < 1.4
    out = capsys.readouterr().out
    assert "down (not serving)" in out and "down (timeout)" in out
    assert out.strip().splitlines()[-1].startswith("no quorum: 0/3 serving")


def test_main_silent_servers_are_queried_concurrently(silent_port: int, capsys) -> None:
    spec = ",".join(f"127.0.0.1:{silent_port}" for _unused in range(4))
    start = time.monotonic()
    assert zk_status.main(["--servers", spec, "--timeout", "0.5"]) == 2
    assert time.monotonic() - start < 1.5  # sequential would take >= 2 s
    assert capsys.readouterr().out.count("down (timeout)") == 4


def test_main_json(fake_zk, refused_port: int, capsys) -> None:
    ports = [fake_zk(leader_replies(mntr=MNTR_REFUSED)), fake_zk(follower_replies()),
             refused_port]
    assert zk_status.main(["--servers", servers_arg(*ports), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "degraded"
    assert doc["exit_code"] == 1
    assert doc["serving"] == 2 and doc["expected"] == 3
    assert doc["leader"] == f"127.0.0.1:{ports[0]}"
    leader, follower, down = doc["servers"]
    assert set(zk_status.RESULT_KEYS) <= set(leader)
    assert leader["mode"] == "leader" and leader["synced_followers"] is None
    assert leader["zxid"] == "0x100000002" and leader["latency_max"] == 5
    assert follower["mode"] == "follower" and follower["connections"] == 3
    assert follower["error"] is None
    assert down["mode"] == "down" and down["error"] == "connection refused"
    assert down["address"] == "127.0.0.1" and down["port"] == refused_port


def test_main_json_standalone(fake_zk, capsys) -> None:
    port = fake_zk({"srvr": STANDALONE_SRVR})
    assert zk_status.main(["--servers", f"127.0.0.1:{port}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["status"], doc["serving"], doc["expected"]) == ("healthy", 1, 1)
    assert doc["servers"][0]["name"] == "127.0.0.1"
    assert doc["servers"][0]["mode"] == "standalone"


def test_main_mixed_versions_table(fake_zk, capsys) -> None:
    # Halfway through a rolling upgrade: one 3.4.13 (Debian) member left, two on 3.8.0.
    ports = [fake_zk({"srvr": srvr_34_debian("follower")}),
             fake_zk({"srvr": srvr_38("leader"), "mntr": LEADER_MNTR}),
             fake_zk(whitelisted_38("follower"))]
    names = [f"127.0.0.1:{port}" for port in ports]
    assert zk_status.main(["--servers", servers_arg(*ports)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    version_at = lines[0].index("VERSION")
    assert [line[version_at:].split()[0] for line in lines[1:4]] == ["3.4.13", "3.8.0", "3.8.0"]
    assert lines[-1] == (f"healthy: 3/3 serving, leader {names[1]}; "
                         f"versions: 3.4.13 ({names[0]}), 3.8.0 ({names[1]}, {names[2]})")


def test_main_json_versions(fake_zk, refused_port: int, capsys) -> None:
    ports = [fake_zk({"srvr": srvr_38("leader", VERSION_APACHE_38), "mntr": LEADER_MNTR}),
             fake_zk({"srvr": STANDALONE_SRVR.replace("standalone", "follower")}),
             fake_zk({"srvr": NOT_SERVING}), refused_port]
    names = [f"127.0.0.1:{port}" for port in ports]
    # Two of four serve: no quorum; the versions are those of the members that answered.
    assert zk_status.main(["--servers", servers_arg(*ports), "--json", "-t", "1"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert [s["version"] for s in doc["servers"]] == ["3.8.4", "3.4.14", None, None]
    assert doc["versions"] == {"3.4.14": [names[1]], "3.8.4": [names[0]]}
    assert doc["summary"].endswith(f"; versions: 3.4.14 ({names[1]}), 3.8.4 ({names[0]})")


def test_main_json_one_version_and_none(fake_zk, refused_port: int, capsys) -> None:
    ports = [fake_zk(leader_replies()), fake_zk(follower_replies())]
    assert zk_status.main(["--servers", servers_arg(*ports), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["versions"] == {"3.4.13": [f"127.0.0.1:{port}" for port in ports]}
    assert doc["summary"].endswith("; version 3.4.13")
    # Nobody answers: no version anywhere, and the summary says nothing of versions.
    assert zk_status.main(["--servers", servers_arg(refused_port), "--json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["servers"][0]["version"] is None and doc["versions"] == {}
    assert "version" not in doc["summary"]


def test_main_38_whitelist_refuses_mntr_and_stat(fake_zk, capsys) -> None:
    # 3.8 answers only srvr unless whitelisted: every member still serves (from srvr), the
    # leader's synced count is unknown.
    ports = [fake_zk(whitelisted_38("leader")), fake_zk(whitelisted_38("follower")),
             fake_zk(whitelisted_38("follower"))]
    assert zk_status.main(["--servers", servers_arg(*ports)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    leader_row = next(line for line in lines if " leader " in line)
    assert leader_row.split()[3:] == ["3.8.0", "0x200000003", "1", "0", "0/0.4167/3", "?"]
    assert lines[-1].startswith("healthy: 3/3 serving") and lines[-1].endswith("version 3.8.0")
    assert zk_status.main(["--servers", servers_arg(*ports), "--json"]) == 0
    leader = json.loads(capsys.readouterr().out)["servers"][0]
    assert (leader["mode"], leader["version"], leader["error"]) == ("leader", "3.8.0", None)
    assert leader["synced_followers"] is None and leader["followers"] is None


def test_main_two_leaders(fake_zk, capsys) -> None:
    ports = [fake_zk(leader_replies()), fake_zk(leader_replies()), fake_zk(follower_replies())]
    assert zk_status.main(["--servers", servers_arg(*ports)]) == 2
    assert "2 leaders" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--servers", "zk1:nope"],
        ["--servers", ""],
        ["--servers", "zk1:2181", "--timeout", "0"],
        ["--servers", "zk1:2181", "--inventory", "hosts.yml"],
        ["--servers", "zk1:2181", "--bogus"],
    ],
)
def test_main_usage_errors(argv: list[str], capsys) -> None:
    assert zk_status.main(argv) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "zk-status: error:" in captured.err


def test_main_help(capsys) -> None:
    assert zk_status.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--inventory" in out and "--servers" in out and "exit codes" in out


# --------------------------------------------------------------------------
# Inventory
# --------------------------------------------------------------------------

needs_ansible = pytest.mark.skipif(
    zk_status.find_ansible_inventory() is None, reason="ansible-inventory not installed"
)

INVENTORY = """\
all:
  children:
    zookeeper:
      hosts:
        zookeeper01:
          ansible_host: 10.0.0.11
        zookeeper02:
          ansible_host: 10.0.0.12
          zookeeper_client_port: 2182
      children:
        zookeeper_extra:
          hosts:
            zookeeper03:
            # SSH through a forwarded port; the members' own address is zookeeper_address.
            zookeeper04:
              ansible_host: 127.0.0.1
              zookeeper_address: 10.0.0.14
            # The client port bound to one address.
            zookeeper05:
              ansible_host: 10.0.0.15
              zookeeper_client_port_address: 10.0.1.15
    empty_group: {}
    web:
      hosts:
        web01:
"""


@pytest.mark.parametrize(("hostvars", "member", "client"), [
    ({"ansible_host": "10.0.0.11"}, "10.0.0.11", "10.0.0.11"),
    ({"ansible_host": "10.0.0.11", "zookeeper_address": "10.1.0.11"}, "10.1.0.11", "10.1.0.11"),
    ({"ansible_host": "10.0.0.11", "zookeeper_client_port_address": "10.2.0.11"}, "10.0.0.11",
     "10.2.0.11"),
    ({"ansible_host": "10.0.0.11", "zookeeper_client_port_address": "0.0.0.0"}, "10.0.0.11",
     "10.0.0.11"),
    ({}, "zk1", "zk1"),
])
def test_member_and_client_addresses(hostvars, member, client) -> None:
    """The member address (server.N) and where the client port answers differ only when the
    port is bound to one address."""
    assert zk_status.member_address("zk1", hostvars) == member
    assert zk_status.client_address("zk1", hostvars) == client


@needs_ansible
def test_servers_from_inventory(tmp_path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    servers = zk_status.servers_from_inventory(str(path), "zookeeper")
    assert sorted(servers) == [
        zk_status.Server("zookeeper01", "10.0.0.11", 2181),
        zk_status.Server("zookeeper02", "10.0.0.12", 2182),
        zk_status.Server("zookeeper03", "zookeeper03", 2181),
        zk_status.Server("zookeeper04", "10.0.0.14", 2181),
        zk_status.Server("zookeeper05", "10.0.1.15", 2181),
    ]
    assert zk_status.servers_from_inventory(str(path), "web") == [
        zk_status.Server("web01", "web01", 2181)
    ]


@needs_ansible
@pytest.mark.parametrize(("group", "message"), [("nosuch", "not found"),
                                                ("empty_group", "no hosts")])
def test_servers_from_inventory_bad_group(tmp_path, group: str, message: str) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    with pytest.raises(zk_status.UsageError, match=message):
        zk_status.servers_from_inventory(str(path), group)


@needs_ansible
def test_main_inventory_errors_exit_3(tmp_path, capsys) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    assert zk_status.main(["--inventory", str(path), "--group", "nosuch"]) == 3
    assert "'nosuch' not found" in capsys.readouterr().err
    assert zk_status.main(["--inventory", str(tmp_path / "missing.yml")]) == 3
    assert "ansible-inventory failed" in capsys.readouterr().err


@needs_ansible
def test_main_inventory_end_to_end(tmp_path, fake_zk, refused_port: int, capsys) -> None:
    leader, follower = fake_zk(leader_replies()), fake_zk(follower_replies())
    path = tmp_path / "hosts.yml"
    path.write_text(
        "zookeeper:\n"
        "  hosts:\n"
        f"    zk-a: {{ansible_host: 127.0.0.1, zookeeper_client_port: {leader}}}\n"
        # Only its zookeeper_address answers (nothing listens on 127.0.0.2).
        f"    zk-b: {{ansible_host: 127.0.0.2, zookeeper_address: 127.0.0.1,"
        f" zookeeper_client_port: {follower}}}\n"
        f"    zk-c: {{ansible_host: 127.0.0.1, zookeeper_client_port: {refused_port}}}\n"
    )
    assert zk_status.main(["-i", str(path), "--json", "--timeout", "1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in doc["servers"]] == ["zk-a", "zk-b", "zk-c"]
    assert doc["leader"] == "zk-a"
    assert doc["summary"] == ("degraded: 2/3 serving, leader zk-a; down: zk-c (connection refused);"
                              " version 3.4.13")


# --------------------------------------------------------------------------
# --prometheus: the series of the role's metrics collector (zookeeper_metrics)
# --------------------------------------------------------------------------


def series(text: str) -> dict[tuple[str, str], float]:
    """(metric, server label) -> value of a --prometheus page, every series checked to carry
    the ensemble label."""
    samples = zk_status.zookeeper_metrics.read_exposition(text)
    assert all(dict(labels)["ensemble"] == "zookeeper" for _unused, labels in samples)
    return {(name, dict(labels)["server"] + (f":{dict(labels)['mode']}"
                                             if "mode" in dict(labels) else "")): value
            for (name, labels), value in samples.items()}


def test_main_prometheus(fake_zk, refused_port: int, capsys) -> None:
    full_mntr = LEADER_MNTR + "zk_num_alive_connections\t3\nzk_packets_received\t9\n"
    leader = fake_zk(leader_replies(full_mntr))
    follower = fake_zk({"srvr": FOLLOWER_SRVR, "mntr": "zk_server_state\tfollower\n"
                                                       "zk_znode_count\t4\n"})
    lost = fake_zk({"srvr": NOT_SERVING, "mntr": NOT_SERVING})
    ports = [leader, follower, lost, refused_port]
    # Two of four serve: no quorum (exit 2), as without --prometheus.
    assert zk_status.main(["--servers", servers_arg(*ports), "--prometheus", "-t", "1"]) == 2
    out = capsys.readouterr().out
    names = [f"127.0.0.1:{port}" for port in ports]
    values = series(out)
    assert [values[("zookeeper_up", name)] for name in names] == [1, 1, 0, 0]
    assert values[("zookeeper_server_state", f"{names[0]}:leader")] == 1
    assert values[("zookeeper_server_state", f"{names[1]}:follower")] == 1
    assert values[("zookeeper_server_state", f"{names[2]}:not_serving")] == 1
    assert values[("zookeeper_synced_followers", names[0])] == 2
    assert values[("zookeeper_max_latency_seconds", names[0])] == 0.005
    assert values[("zookeeper_packets_received_total", names[0])] == 9
    assert values[("zookeeper_znode_count", names[1])] == 4
    # The server that did not answer: zookeeper_up 0 and the time, no figure, no state.
    assert {metric for metric, server in values if server.startswith(names[3])} == {
        "zookeeper_up", "zookeeper_scrape_timestamp_seconds"}
    assert out.count("# TYPE zookeeper_up gauge") == 1
    # --prometheus and --json are one or the other.
    assert zk_status.main(["--servers", servers_arg(leader), "--prometheus", "--json"]) == 3


@needs_ansible
def test_main_prometheus_labels_from_the_inventory(tmp_path, fake_zk, capsys) -> None:
    leader, follower = fake_zk(leader_replies()), fake_zk(follower_replies())
    path = tmp_path / "hosts.yml"
    path.write_text(
        "zookeeper:\n"
        "  hosts:\n"
        f"    zk-a: {{ansible_host: 127.0.0.1, zookeeper_client_port: {leader},"
        " zookeeper_id: 7}\n"
        f"    zk-b: {{ansible_host: 127.0.0.1, zookeeper_client_port: {follower},"
        " zookeeper_id: 9}\n")
    assert zk_status.main(["-i", str(path), "--prometheus"]) == 0
    samples = zk_status.zookeeper_metrics.read_exposition(capsys.readouterr().out)
    ups = {labels: value for (name, labels), value in samples.items() if name == "zookeeper_up"}
    assert ups == {(("ensemble", "zookeeper"), ("server", "zk-a"), ("server_id", "7")): 1,
                   (("ensemble", "zookeeper"), ("server", "zk-b"), ("server_id", "9")): 1}
    path.write_text(path.read_text() + "  vars: {zookeeper_ensemble_name: prod-zk}\n")
    assert zk_status.main(["-i", str(path), "--prometheus"]) == 0
    assert 'zookeeper_up{ensemble="prod-zk",server_id="7",server="zk-a"} 1' in (
        capsys.readouterr().out)


def test_main_prometheus_version_info(fake_zk, capsys) -> None:
    # zookeeper_version_info as the collector labels it (mntr's zk_version before ", built"),
    # from srvr's first line (the same text) when a 3.8 whitelist refuses mntr.
    ports = [fake_zk(leader_replies()), fake_zk(whitelisted_38("follower")),
             fake_zk({"srvr": NOT_SERVING})]
    assert zk_status.main(["--servers", servers_arg(*ports), "--prometheus"]) == 1
    out = capsys.readouterr().out
    samples = zk_status.zookeeper_metrics.read_exposition(out)
    info = {dict(labels)["server"]: dict(labels)["version"]
            for (name, labels), value in samples.items()
            if name == "zookeeper_version_info" and value == 1}
    assert info == {f"127.0.0.1:{ports[0]}": "3.4.13-2d71af4dbe22557fda74f9a9b4309b15a7487f03",
                    f"127.0.0.1:{ports[1]}": "3.8.0-${mvngit.commit.id}"}
    values = series(out)
    assert values[("zookeeper_up", f"127.0.0.1:{ports[1]}")] == 1
    # Nothing from the refused mntr: only up, state, version and the time for that member.
    assert {metric for metric, server in values if server.startswith(f"127.0.0.1:{ports[1]}")} == {
        "zookeeper_up", "zookeeper_server_state", "zookeeper_version_info",
        "zookeeper_scrape_timestamp_seconds"}


@needs_ansible
@pytest.mark.parametrize("named", [True, False], ids=["named", "group-only"])
def test_main_judges_each_ensemble_of_an_inventory_on_its_own(
        tmp_path, fake_zk, capsys, named: bool) -> None:
    # Two ensembles in one inventory (each its own group; named, or only the group set, which
    # the role then takes as the name): a healthy one and one with a member down. Judged
    # together they would look like one ensemble with two leaders.
    a = [fake_zk(leader_replies()), fake_zk(follower_replies()), fake_zk(follower_replies())]
    b = [fake_zk(leader_replies()), fake_zk(follower_replies())]
    path = tmp_path / "hosts.yml"
    lines = ["zookeeper:", "  children:"]
    for group, name, ports in (("zk_a", "kafka", a), ("zk_b", "hbase", b)):
        lines += [f"    {group}:", "      hosts:"]
        lines += [f"        {group}-{i}: {{ansible_host: 127.0.0.1, zookeeper_client_port: {port},"
                  f" zookeeper_id: {i}}}" for i, port in enumerate(ports, start=1)]
        lines += [f"        {group}-down: {{ansible_host: 127.0.0.1, zookeeper_id: 9,"
                  f" zookeeper_client_port: 1}}"] if group == "zk_b" else []
        lines += [f"      vars: {{zookeeper_ensemble_name: {name}}}" if named else
                  f"      vars: {{zookeeper_ensemble_group: {group}}}"]
    path.write_text("\n".join(lines) + "\n")
    kafka, hbase = ("kafka", "hbase") if named else ("zk_a", "zk_b")
    assert zk_status.main(["-i", str(path), "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert f"ensemble {kafka}:" in out and f"ensemble {hbase}:" in out
    assert "healthy: 3/3 serving" in out and "degraded: 2/3 serving" in out
    assert zk_status.main(["-i", str(path), "--json", "--timeout", "1"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["exit_code"] == 1
    assert [(r["ensemble"], r["status"]) for r in report["ensembles"]] == [
        (kafka, "healthy"), (hbase, "degraded")]


def test_parse_mntr_of_a_38_leader_counts_its_learners_as_followers() -> None:
    # 3.6+ replaced zk_followers by zk_learners (followers and observers; no observers here).
    metrics = zk_status.parse_mntr("zk_server_state\tleader\nzk_learners\t2\n"
                                   "zk_synced_followers\t2\n")
    assert metrics["zk_followers"] == 2
    assert zk_status.parse_mntr("zk_followers\t4\nzk_learners\t5\n")["zk_followers"] == 4


# --------------------------------------------------------------------------
# TLS (zookeeper_tls_client, --tls-ca)
# --------------------------------------------------------------------------

TLS_CA_MODULE = (Path(__file__).resolve().parent.parent / "plugins" / "modules"
                 / "zookeeper_tls_ca.py")


@pytest.fixture(scope="module")
def lab_ca(tmp_path_factory) -> Path:
    """A lab CA (the role's module), a server certificate for 127.0.0.1 and a client's."""
    work = tmp_path_factory.mktemp("ca")
    args = work / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "directory": str(work / "ca"), "clients": ["client"],
        "hosts": [{"name": "localhost", "address": "127.0.0.1"}],
        "_ansible_tmpdir": str(work), "_ansible_remote_tmp": str(work)}}))
    proc = subprocess.run([sys.executable, str(TLS_CA_MODULE), str(args)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert json.loads(proc.stdout)["changed"], proc.stdout + proc.stderr
    return work / "ca"


@pytest.fixture
def tls_zk(lab_ca: Path) -> Iterator[int]:
    """A fake server speaking TLS that requires a client certificate of the lab CA."""
    context = fake_zk_module.tls_server_context(
        str(lab_ca / "ca.pem"), str(lab_ca / "localhost.pem"), str(lab_ca / "localhost.key"))
    server = fake_zk_module.FakeZk.start({"srvr": STANDALONE_SRVR}, context)
    yield server.port
    server.shutdown()
    server.server_close()
    use_tls(None)  # main() set TLS for the process


def test_main_over_tls_with_a_client_certificate(tls_zk: int, lab_ca: Path, capsys) -> None:
    tls = ["--tls-ca", str(lab_ca / "ca.pem"), "--tls-cert", str(lab_ca / "client.pem"),
           "--tls-key", str(lab_ca / "client.key")]
    assert zk_status.main(["--servers", f"127.0.0.1:{tls_zk}", "--json", *tls]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["servers"][0]["mode"] == "standalone", doc


@pytest.mark.parametrize("options", [[], ["--tls-ca", "CA"]])
def test_over_tls_a_client_without_a_certificate_finds_the_server_down(
        tls_zk: int, lab_ca: Path, capsys, options: list[str]) -> None:
    options = [str(lab_ca / "ca.pem") if o == "CA" else o for o in options]
    assert zk_status.main(["--servers", f"127.0.0.1:{tls_zk}", "--json", "-t", "1",
                           *options]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["servers"][0]["mode"] == "down", doc


def test_tls_files_that_cannot_be_read_are_a_usage_error(tmp_path, capsys) -> None:
    assert zk_status.main(["--servers", "127.0.0.1:2281", "--tls-ca",
                           str(tmp_path / "nothing.pem")]) == zk_status.EXIT_USAGE
    assert "cannot use the TLS files" in capsys.readouterr().err
    assert zk_status.main(["--servers", "127.0.0.1:2281", "--tls-cert",
                           str(tmp_path / "c.pem")]) == zk_status.EXIT_USAGE


TLS_INVENTORY = """
zookeeper:
  hosts:
    zookeeper01: {ansible_host: 10.0.0.11, zookeeper_tls_client: true}
    zookeeper02: {ansible_host: 10.0.0.12, zookeeper_tls_client: true,
                  zookeeper_tls_client_port: 2282, zookeeper_tls_client_plain: false}
"""


@needs_ansible
def test_servers_from_inventory_over_tls(tmp_path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(TLS_INVENTORY)
    assert sorted(zk_status.servers_from_inventory(str(path), "zookeeper", tls=True)) == [
        zk_status.Server("zookeeper01", "10.0.0.11", 2281),
        zk_status.Server("zookeeper02", "10.0.0.12", 2282),
    ]
    with pytest.raises(zk_status.UsageError, match="zookeeper02 has no plain client port"):
        zk_status.servers_from_inventory(str(path), "zookeeper")
