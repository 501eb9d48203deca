"""Unit tests of the zookeeper role's filters: membership, /etc/hosts, checksums."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_ensemble import (
    zookeeper_super_digest,
    HOSTS_BEGIN,
    HOSTS_END,
    zookeeper_differs,
    zookeeper_down,
    zookeeper_ensembles_problems,
    zookeeper_etc_hosts,
    zookeeper_existing,
    zookeeper_jaas_string,
    zookeeper_members,
    zookeeper_not_files,
    zookeeper_pending,
    zookeeper_problems,
    zookeeper_sha512,
)

HOSTVARS = {
    "zookeeper01": {"zookeeper_id": 1, "ansible_host": "10.0.0.11"},
    "zookeeper02": {"zookeeper_id": "2", "ansible_host": "10.0.0.12"},
    "zookeeper03": {"zookeeper_id": 3, "ansible_host": "10.0.0.13",
                    "zookeeper_address": "192.168.56.114"},
}
MEMBERS = zookeeper_members(["zookeeper03", "zookeeper01", "zookeeper02"], HOSTVARS)
DEBIAN_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "127.0.1.1\tzookeeper01.example.org zookeeper01\n"
    "\n"
    "# The following lines are desirable for IPv6 capable hosts\n"
    "::1     localhost ip6-localhost ip6-loopback\n"
    "10.9.9.9  backup  # the backup host\n"
)


def test_members_sorted_by_id_with_addresses() -> None:
    assert MEMBERS == [
        {"id": 1, "name": "zookeeper01", "address": "10.0.0.11"},
        {"id": 2, "name": "zookeeper02", "address": "10.0.0.12"},
        {"id": 3, "name": "zookeeper03", "address": "192.168.56.114"},
    ]


def test_member_without_ansible_host_needs_an_ip_name() -> None:
    assert zookeeper_members(["10.1.1.1"], {"10.1.1.1": {"zookeeper_id": 7}})[0]["address"] == (
        "10.1.1.1")


@pytest.mark.parametrize(
    ("hostvars", "message"),
    [
        ({"a": {"ansible_host": "10.0.0.1"}}, r"a: zookeeper_id is missing"),
        ({"a": {"zookeeper_id": "one", "ansible_host": "10.0.0.1"}},
         r"a: zookeeper_id='one' is not an integer"),
        ({"a": {"zookeeper_id": 0, "ansible_host": "10.0.0.1"}},
         r"a: zookeeper_id=0 is outside 1-255"),
        ({"a": {"zookeeper_id": 256, "ansible_host": "10.0.0.1"}}, r"zookeeper_id=256 is outside"),
        ({"a": {"zookeeper_id": True, "ansible_host": "10.0.0.1"}}, r"a: zookeeper_id is True"),
        ({"a": {"zookeeper_id": 1, "ansible_host": "10.0.0.1"},
          "b": {"zookeeper_id": 1, "ansible_host": "10.0.0.2"}},
         r"b: zookeeper_id=1 is already used by a"),
        ({"a": {"zookeeper_id": 1, "ansible_host": "zk-a.example.org"}},
         r"a: address 'zk-a.example.org' is not an IP address"),
        ({}, r"the ensemble group has no hosts"),
    ],
)
def test_member_errors_name_host_and_variable(hostvars: dict, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        zookeeper_members(list(hostvars), hostvars)


def test_etc_hosts_takes_member_names_off_loopback_and_keeps_the_rest() -> None:
    result = zookeeper_etc_hosts(DEBIAN_HOSTS, MEMBERS)
    lines = result.splitlines()
    assert "127.0.0.1\tlocalhost" in lines
    # The member's name leaves the 127.0.1.1 line; the other name on it stays.
    assert "127.0.1.1\tzookeeper01.example.org" in lines
    assert not [line for line in lines if line.startswith("127.") and "zookeeper01" in line.split()]
    assert "10.9.9.9  backup  # the backup host" in lines
    assert "::1     localhost ip6-localhost ip6-loopback" in lines
    block = lines[lines.index(HOSTS_BEGIN):lines.index(HOSTS_END) + 1]
    assert block[1:-1] == ["10.0.0.11\tzookeeper01", "10.0.0.12\tzookeeper02",
                           "192.168.56.114\tzookeeper03"]


def test_etc_hosts_drops_a_loopback_line_left_without_names() -> None:
    result = zookeeper_etc_hosts("127.0.0.1 localhost\n127.0.1.1 zookeeper02\n", MEMBERS)
    assert "127.0.1.1" not in result


def test_etc_hosts_is_idempotent_and_replaces_its_block() -> None:
    once = zookeeper_etc_hosts(DEBIAN_HOSTS, MEMBERS)
    assert zookeeper_etc_hosts(once, MEMBERS) == once
    moved = [dict(m, address="10.0.0.99") if m["id"] == 2 else m for m in MEMBERS]
    changed = zookeeper_etc_hosts(once, moved)
    assert changed.count(HOSTS_BEGIN) == 1
    assert "10.0.0.99\tzookeeper02" in changed
    assert "10.0.0.12\tzookeeper02" not in changed
    # Only the block changed.
    assert changed.replace("10.0.0.99", "10.0.0.12") == once


def test_etc_hosts_from_nothing() -> None:
    assert zookeeper_etc_hosts("", MEMBERS).startswith(HOSTS_BEGIN)


def test_sha512_sha512sum_format() -> None:
    digest = hashlib.sha512(b"zk").hexdigest()
    assert zookeeper_sha512(f"{digest}  zookeeper-3.4.14.tar.gz\n") == digest


def test_sha512_gpg_print_md_format() -> None:
    digest = hashlib.sha512(b"zk").hexdigest().upper()
    groups = [digest[i:i + 8] for i in range(0, 128, 8)]
    text = ("zookeeper-3.4.14.tar.gz: " + " ".join(groups[:6]) + "\n"
            + " " * 25 + " ".join(groups[6:12]) + "\n" + " " * 25 + " ".join(groups[12:]) + "\n")
    assert zookeeper_sha512(text) == digest.lower()


@pytest.mark.parametrize("text", ["", "<html>404 Not Found</html>", "abc123  file.tar.gz"])
def test_sha512_garbage(text: str) -> None:
    with pytest.raises(AnsibleFilterError, match="set zookeeper_checksum"):
        zookeeper_sha512(text)


def settings(**overrides: object) -> dict:
    """hostvars of a three-member ensemble with every setting resolved, plus overrides
    given as host__variable=value."""
    hostvars = {}
    for i in (1, 2, 3):
        hostvars[f"zk{i}"] = {"__zookeeper_validated": {"settings": {
            "zookeeper_id": i, "address": f"10.0.0.{i}", "zookeeper_client_port": 2181,
            "zookeeper_quorum_port": 2888, "zookeeper_election_port": 3888,
            "zookeeper_tick_time": 2000, "zookeeper_init_limit": 10, "zookeeper_sync_limit": 5,
            "zookeeper_max_session_timeout": 40000, "zookeeper_ensemble_name": "zookeeper"}}}
    for key, value in overrides.items():
        host, var = key.split("__", 1)
        hostvars[host]["__zookeeper_validated"]["settings"][var] = value
    return hostvars


def problems(**overrides: object) -> dict[str, list[str]]:
    hostvars = settings(**overrides)
    return zookeeper_problems(list(hostvars), hostvars)


def test_problems_none_for_a_good_ensemble() -> None:
    assert problems() == {"errors": [], "warnings": []}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"zk2__zookeeper_id": None}, "zk2: zookeeper_id is missing"),
        ({"zk2__zookeeper_id": 1}, "zk2: zookeeper_id=1 is already used by zk1"),
        ({"zk3__zookeeper_id": "3a"}, "zk3: zookeeper_id='3a' is not an integer"),
        ({"zk3__zookeeper_id": 300}, "zk3: zookeeper_id=300 is outside 1-255"),
        ({"zk1__address": "zk1.example.org"}, "zk1: no IP address (ansible_host/zookeeper_address"),
        ({"zk2__address": "10.0.0.1"},
         "zk2: 10.0.0.1:2181 (zookeeper_client_port) is also used by zk1"),
        ({"zk1__zookeeper_client_port": 0}, "zk1: zookeeper_client_port=0 is not a port (1-65535)"),
        ({"zk1__zookeeper_quorum_port": 70000}, "zk1: zookeeper_quorum_port=70000 is not a port"),
        ({"zk1__zookeeper_election_port": 2888},
         "zk1: zookeeper_quorum_port and zookeeper_election_port are both 2888"),
        ({"zk2__zookeeper_tick_time": -1}, "zk2: zookeeper_tick_time=-1 is not a positive integer"),
        ({"zk2__zookeeper_init_limit": "ten"}, "zk2: zookeeper_init_limit='ten' is not a positive"),
        ({"zk2__zookeeper_sync_limit": 0}, "zk2: zookeeper_sync_limit=0 is not a positive integer"),
        ({"zk3__zookeeper_max_session_timeout": 3999},
         "zk3: zookeeper_max_session_timeout=3999 is below 2 x zookeeper_tick_time (4000)"),
        ({"zk3__zookeeper_ensemble_name": "kafka-b"},
         "the group holds more than one ensemble by zookeeper_ensemble_name "
         "(kafka-b: zk3; zookeeper: zk1, zk2)"),
    ],
)
def test_problems_each_named(overrides: dict, message: str) -> None:
    found = problems(**overrides)
    assert any(error.startswith(message) for error in found["errors"]), found


def test_problems_lists_them_all_at_once() -> None:
    found = problems(zk1__zookeeper_id=None, zk2__zookeeper_client_port=0,
                     zk3__zookeeper_tick_time=0)
    assert len(found["errors"]) == 3, found


def three_ensembles() -> tuple[dict, dict[str, list[str]]]:
    """hostvars and groups of three ensembles of three (ids 1-3 in each, names a, b, c)."""
    hostvars, groups = {}, {}
    for e, name in enumerate("abc"):
        group = f"zk_{name}"
        groups[group] = []
        for i in (1, 2, 3):
            host = f"{name}{i}"
            groups[group].append(host)
            hostvars[host] = {"__zookeeper_validated": {"settings": {
                **settings()[f"zk{i}"]["__zookeeper_validated"]["settings"],
                "address": f"10.0.{e}.{i}",
                "zookeeper_ensemble_name": name, "zookeeper_ensemble_group": group}}}
    return hostvars, groups


def test_several_ensembles_are_each_checked_and_may_reuse_ids() -> None:
    hostvars, groups = three_ensembles()
    assert zookeeper_ensembles_problems(list(hostvars), hostvars, groups) == {
        "errors": [], "warnings": []}
    hostvars["b2"]["__zookeeper_validated"]["settings"]["zookeeper_id"] = 1
    found = zookeeper_ensembles_problems(list(hostvars), hostvars, groups)
    assert found["errors"] == ["b2: zookeeper_id=1 is already used by b1; every member needs "
                               "its own id"]


def test_ensembles_share_neither_a_host_nor_a_name() -> None:
    hostvars, groups = three_ensembles()
    groups["zk_c"].append("a1")
    hostvars["b1"]["__zookeeper_validated"]["settings"]["zookeeper_ensemble_name"] = "a"
    for host in ("b2", "b3"):
        hostvars[host]["__zookeeper_validated"]["settings"]["zookeeper_ensemble_name"] = "a"
    found = zookeeper_ensembles_problems(list(hostvars), hostvars, groups)
    assert ("a1 is a member of two ensembles, groups zk_a and zk_c; a host serves one "
            "ensemble: take it out of one group") in found["errors"]
    assert any(e.startswith("ensemble groups zk_a and zk_b are both named 'a'")
               for e in found["errors"]), found


def test_a_host_outside_its_ensemble_group_is_refused() -> None:
    hostvars, groups = three_ensembles()
    groups["zk_b"].remove("b3")
    found = zookeeper_ensembles_problems(list(hostvars), hostvars, groups)
    assert found["errors"] == ["b3 is not in the inventory group 'zk_b' "
                               "(zookeeper_ensemble_group); run the role on the members of "
                               "that group."]


def test_problems_warn_about_an_even_member_count() -> None:
    hostvars = settings()
    hostvars["zk4"] = {"zookeeper_id": 4, "ansible_host": "10.0.0.4"}  # outside the play
    found = zookeeper_problems(list(hostvars), hostvars)
    assert found["errors"] == []
    assert found["warnings"] == [
        "the ensemble has 4 members, an even number: it tolerates no more failures (1) than "
        "3 members would; use an odd number"]


# --------------------------------------------------------------------------- zookeeper_differs

PROBED = {"exists": True, "type": "file", "owner": "root", "group": "zookeeper", "mode": "0640",
          "checksum": "abc"}


@pytest.mark.parametrize(("found", "want", "differs"), [
    (PROBED, {"checksum": "abc", "owner": "root", "group": "zookeeper", "mode": "0640"}, False),
    (PROBED, {"checksum": "abc", "mode": "640", "src": "ignored.j2"}, False),
    (PROBED, {"checksum": "abd"}, True),
    (PROBED, {"mode": "0644"}, True),
    (PROBED, {"owner": "zookeeper"}, True),
    (PROBED, {"type": "directory"}, True),
    ({"exists": False}, {}, True),
    (None, {"mode": "0640"}, True),
    ({"exists": True, "type": "link", "target": "/opt/zookeeper-3.4.13"},
     {"target": "/opt/zookeeper-3.4.13"}, False),
    ({"exists": True, "type": "link", "target": "/opt/zookeeper-3.4.13"},
     {"target": "/opt/zookeeper-3.4.14"}, True),
])
def test_differs_compares_only_what_a_task_would_set(found, want, differs) -> None:
    assert zookeeper_differs(found, want) is differs


def test_pending_keeps_what_zookeeper_files_would_change() -> None:
    content = "tickTime=2000\n"
    found = {
        "/etc/zookeeper/zoo.cfg": {**PROBED,
                                   "checksum": hashlib.sha1(content.encode()).hexdigest()},
        "/var/lib/zookeeper": {"exists": True, "type": "directory", "owner": "zookeeper",
                               "group": "zookeeper", "mode": "0750"},
        "/opt/zookeeper": {"exists": True, "type": "link", "target": "/opt/zookeeper-3.4.13"},
    }
    same = [{"path": "/etc/zookeeper/zoo.cfg", "content": content, "owner": "root",
             "group": "zookeeper", "mode": "0640", "unsafe_writes": False},
            {"path": "/var/lib/zookeeper", "owner": "zookeeper", "group": "zookeeper",
             "mode": "0750"},
            {"path": "/opt/zookeeper", "target": "/opt/zookeeper-3.4.13"}]
    assert zookeeper_pending(same, found) == []
    other = [{**same[0], "content": "tickTime=2500\n"}, {**same[1], "mode": "0755"},
             {**same[2], "target": "/opt/apache-zookeeper-3.8.0-bin"},
             {"path": "/var/lib/zookeeper/myid", "content": "1\n"}]
    assert zookeeper_pending(other, found) == other
    assert zookeeper_pending([{"path": "", "mode": "0750"}], found) == []
    # a file where a directory is wanted, and a directory where a file is
    assert zookeeper_pending([{"path": "/etc/zookeeper/zoo.cfg"}], found) != []
    assert zookeeper_existing(["/opt/zookeeper", "/etc/zookeeper/log4j.properties"],
                              {**found, "/etc/zookeeper/log4j.properties": {"exists": False}}
                              ) == ["/opt/zookeeper"]


def test_down_members_are_the_deployed_ones_that_do_not_serve() -> None:
    unit = "/etc/systemd/system/zookeeper.service"

    def probe(mode: str | None, deployed: bool) -> dict:
        return {"__zookeeper_probe": {"mode": mode, "paths": {unit: {"exists": deployed}}}}

    hostvars = {"zk1": probe("leader", True), "zk2": probe(None, True),
                "zk3": probe("follower", True), "zk4": probe(None, False), "zk5": {}}
    assert zookeeper_down(list(hostvars), hostvars, unit) == {
        "down": ["zk2"], "serving": ["zk1", "zk3"]}


def test_paths_the_role_would_write_through_are_named_links_first() -> None:
    """A link someone but root made (with its target), then what is neither a file nor a link,
    among the files the role writes as root only; a link root made is replaced, not refused."""
    written = ["/etc/zookeeper/zoo.cfg", "/var/lib/zookeeper/myid", "/etc/hosts",
               "/etc/zookeeper/log4j.properties", "/etc/systemd/system/zookeeper.service"]
    found = {
        "/etc/zookeeper/zoo.cfg": {"exists": True, "type": "other"},
        "/var/lib/zookeeper": {"exists": True, "type": "link", "owner": "zookeeper",
                               "target": "/etc"},
        "/var/lib/zookeeper/myid": {"exists": True, "type": "link", "owner": "zookeeper",
                                    "target": "/etc/shadow"},
        "/etc/hosts": {"exists": True, "type": "link", "owner": "root", "target": "/x"},
        "/etc/zookeeper/log4j.properties": {"exists": True, "type": "link", "owner": "nobody"},
        "/etc/systemd/system/zookeeper.service": {"exists": False},
    }
    assert zookeeper_not_files(found, written) == [
        "/var/lib/zookeeper/myid -> /etc/shadow", "/etc/zookeeper/log4j.properties",
        "/etc/zookeeper/zoo.cfg"]
    files = {path: {"exists": True, "type": "file", "owner": "root"} for path in written}
    assert zookeeper_not_files(files, written) == []
    assert zookeeper_not_files({}, written) == []


@pytest.mark.parametrize(("password", "quoted"), [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("C:\\tmp\\n", '"C:\\\\tmp\\\\n"'),
    ("two\nlines\ttab", '"two\\nlines\\ttab"'),
])
def test_jaas_strings_escape_what_ends_or_changes_a_java_string(
        password: str, quoted: str) -> None:
    assert zookeeper_jaas_string(password) == quoted


def test_the_super_digest_is_zookeepers() -> None:
    """base64(sha1("super:<password>")): the value checked against ZooKeeper 3.8's own
    DigestAuthenticationProvider in docs/reconfig-3.8.md."""
    assert zookeeper_super_digest("lab-super-secret") == "2+vVuCXKy7xyuBp3H5IdLivmf0o="
