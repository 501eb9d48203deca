"""Unit tests of zookeeper_value_problems: what a type cannot check in the role's variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plugins import ROLE
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_values import (
    MANAGED_KEYS,
    RELEASE_LINES,
    zookeeper_of_family,
    zookeeper_switch_problems,
    zookeeper_value_problems,
)


def defaults(**changes: Any) -> dict[str, Any]:
    """The role's defaults as a play resolves them, with `changes`."""
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    values.update(zookeeper_tarball_url="https://archive.apache.org/dist/zookeeper/"
                  "zookeeper-3.4.14/zookeeper-3.4.14.tar.gz",
                  zookeeper_java_binary="/usr/bin/java", zookeeper_ensemble_name="zookeeper")
    values.update(changes)
    return values


def test_the_defaults_have_no_problem() -> None:
    assert zookeeper_value_problems(defaults(), "zookeeper01") == []


# Each switch that needs another value or a release line, and the start of its message.
SWITCHES = {
    "quorum SASL without its password": (
        {"zookeeper_quorum_sasl": True},
        "zk1: zookeeper_quorum_sasl is on but zookeeper_quorum_sasl_password is empty"),
    "client SASL without users": (
        {"zookeeper_sasl_client_auth": "true"},
        "zk1: zookeeper_sasl_client_auth is on but zookeeper_sasl_client_users is empty"),
    "reconfig on 3.4": (
        {"zookeeper_reconfig": True, "zookeeper_super_password": "s"},
        "zk1: zookeeper_reconfig is on but zookeeper_version=3.4.14 is a 3.4 release"),
    "TLS on 3.4": (
        {"zookeeper_tls_quorum": True},
        "zk1: zookeeper_tls_client or zookeeper_tls_quorum is on but zookeeper_version=3.4.14 "
        "is a 3.4 release, which has no TLS"),
    "no client port": (
        {"zookeeper_tls_client_plain": "false"},
        "zk1: zookeeper_tls_client_plain is off but zookeeper_tls_client is off too"),
    "reconfig without the super password": (
        {"zookeeper_reconfig": True, "zookeeper_version": "3.8.4"},
        "zk1: zookeeper_reconfig is on but zookeeper_super_password is empty"),
}


def test_the_defaults_switch_nothing_that_needs_more() -> None:
    assert zookeeper_switch_problems(defaults(), "zk1") == []
    assert zookeeper_switch_problems(defaults(
        zookeeper_version="3.8.4", zookeeper_reconfig=True, zookeeper_super_password="s",
        zookeeper_tls_client=True, zookeeper_tls_client_plain=False), "zk1") == []


@pytest.mark.parametrize("case", SWITCHES)
def test_a_switch_that_needs_more_is_refused(case: str) -> None:
    changes, message = SWITCHES[case]
    problems = zookeeper_switch_problems(defaults(**changes), "zk1")
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_the_known_release_lines_are_the_roles() -> None:
    role_vars = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert sorted(role_vars["__zookeeper_releases"]) == sorted(RELEASE_LINES)


@pytest.mark.parametrize("version", ["3.4.13", "3.4.14", "3.8.0", "3.8.4"])
def test_a_release_of_each_known_line_is_accepted(version: str) -> None:
    assert zookeeper_value_problems(defaults(zookeeper_version=version), "zookeeper01") == []


PLAIN = "http://mirror.example/z.tar.gz"


@pytest.mark.parametrize("changes", [
    {"zookeeper_tarball_url": PLAIN, "zookeeper_checksum": "a" * 128},
    {"zookeeper_tarball_url": PLAIN, "zookeeper_allow_plain_http": True},
    {"zookeeper_tarball_url": PLAIN, "zookeeper_install_method": "local"},
    {"zookeeper_tarball_url": "file:///srv/mirror/z.tar.gz"},
    {"zookeeper_release_keys": str(ROLE / "files" / "zookeeper-release-keys.asc")},
    {"zookeeper_release_keys": "/nonexistent/KEYS", "zookeeper_signature_check": False},
], ids=["checksum pinned", "allowed", "not downloaded", "file", "keys", "no signature check"])
def test_a_download_the_user_vouches_for_is_accepted(changes: dict[str, Any]) -> None:
    assert zookeeper_value_problems(defaults(**changes), "zookeeper01") == []


def test_the_example_inventory_has_no_problem() -> None:
    example = Path(__file__).resolve().parents[3] / "inventories/example/group_vars/zookeeper.yml"
    assert zookeeper_value_problems(defaults(**yaml.safe_load(example.read_text())), "zk1") == []


BAD = {
    "heap with a unit the JVM does not take": (
        {"zookeeper_heap_size": "512mb"},
        "zookeeper01: zookeeper_heap_size='512mb' is not a JVM heap size (the JVM would refuse "
        "to start); use a number with k, m or g, such as 512m or 2g"),
    "heap of bytes": ({"zookeeper_heap_size": "1 g"}, "zookeeper_heap_size='1 g' is not a JVM"),
    "heap too small": ({"zookeeper_heap_size": "16m"},
                       "zookeeper_heap_size=16m is below 32m, too small for a ZooKeeper server"),
    "relative data directory": (
        {"zookeeper_data_dir": "var/lib/zookeeper"},
        "zookeeper01: zookeeper_data_dir='var/lib/zookeeper' is not an absolute path; give the "
        "full path, starting with /"),
    "root as the log directory": ({"zookeeper_log_dir": "/"},
                                  "zookeeper_log_dir='/' would hand the root directory"),
    "relative transaction log directory": ({"zookeeper_data_log_dir": "txlog"},
                                           "zookeeper_data_log_dir='txlog' is not an absolute"),
    "a path with a space": ({"zookeeper_conf_dir": "/etc/zoo keeper"},
                            "zookeeper_conf_dir='/etc/zoo keeper' contains white space"),
    "relative java": ({"zookeeper_java_binary": "java"},
                      "zookeeper_java_binary='java' is not an absolute path"),
    "a managed key in config_extra": (
        {"zookeeper_config_extra": {"tickTime": 3000}},
        "zookeeper01: zookeeper_config_extra sets tickTime, which the role writes from "
        "zookeeper_tick_time; remove it there and set zookeeper_tick_time instead"),
    "a server line in config_extra": (
        {"zookeeper_config_extra": {"server.4": "zk4:2888:3888"}},
        "zookeeper_config_extra sets server.4, but the server lines come from the inventory"),
    "a SASL key while client SASL is on": (
        {"zookeeper_config_extra": {"authProvider.1": "x"}, "zookeeper_sasl_client_auth": True},
        "sets authProvider.1, which the role writes from zookeeper_sasl_client_auth"),
    "a key ZooKeeper 3.4 ignores": (
        {"zookeeper_config_extra": {"requireClientAuthScheme": "sasl"}},
        "sets requireClientAuthScheme, but ZooKeeper 3.4 ignores it: a client that does not "
        "authenticate still connects"),
    "a SASL user name a JAAS file cannot carry": (
        {"zookeeper_sasl_client_users": {"ad min": "secret"}},
        "zookeeper_sasl_client_users has the user name 'ad min', which a JAAS file cannot"),
    "a quorum user name a JAAS file cannot carry": (
        {"zookeeper_quorum_sasl": True, "zookeeper_quorum_sasl_password": "s",
         "zookeeper_quorum_sasl_user": 'zk"1'},
        "zookeeper_quorum_sasl_user has the user name 'zk\"1'"),
    "a SASL password that is not a string": (
        {"zookeeper_sasl_client_users": {"admin": {"password": "PW-NOT-SHOWN"}}},
        "zookeeper_sasl_client_users: the password of admin is not a string (value not shown)"),
    "an empty SASL password": (
        {"zookeeper_sasl_client_users": {"admin": ""}},
        "the password of admin is empty (value not shown)"),
    "a quorum SASL key while quorum SASL is on": (
        {"zookeeper_config_extra": {"quorum.auth.enableSasl": "false"},
         "zookeeper_quorum_sasl": True},
        "sets quorum.auth.enableSasl, which the role writes from zookeeper_quorum_sasl"),
    "a key with a space": ({"zookeeper_config_extra": {"max cnxns": 5}},
                           "zookeeper_config_extra key 'max cnxns' is not a zoo.cfg key"),
    "a value on two lines": ({"zookeeper_config_extra": {"globalOutstandingLimit": "1\n2"}},
                             "is not one line of text"),
    "a JVM option without a dash": ({"zookeeper_jvm_opts": ["Xss512k"]},
                                    "zookeeper_jvm_opts item 'Xss512k' is not one JVM option"),
    "the heap in the JVM options": (
        {"zookeeper_jvm_opts": ["-Xmx2g"]},
        "zookeeper_jvm_opts item '-Xmx2g' sets the heap, which the role sets from "
        "zookeeper_heap_size"),
    "an unknown four-letter word": ({"zookeeper_4lw_whitelist": ["srvr", "mntr", "ruok", "xyzw"]},
                                    "zookeeper_4lw_whitelist has xyzw, not four-letter words"),
    "a whitelist without what the role asks": (
        {"zookeeper_4lw_whitelist": ["stat"]},
        "lacks srvr, mntr, ruok, which the role's health checks and tools/zk-status ask"),
    "a client address that is a name": (
        {"zookeeper_client_port_address": "zk1.example.org"},
        "zookeeper_client_port_address='zk1.example.org' is not an IP address"),
    "a firewall network that is not CIDR": (
        {"zookeeper_firewall_client_networks": ["10.0.0.0/33"]},
        "zookeeper_firewall_client_networks item '10.0.0.0/33' is not a network"),
    "fewer snapshots than ZooKeeper keeps": (
        {"zookeeper_autopurge_snap_retain_count": 1},
        "zookeeper_autopurge_snap_retain_count=1 is below 3 (ZooKeeper silently raises a lower "
        "count to 3); raise it to 3 or more"),
    "a negative purge interval": ({"zookeeper_autopurge_purge_interval": -1},
                                  "zookeeper_autopurge_purge_interval=-1 is below 0"),
    "a negative connection limit": ({"zookeeper_max_client_cnxns": -1},
                                    "zookeeper_max_client_cnxns=-1 is below 0"),
    "too few file descriptors": ({"zookeeper_limit_nofile": 256},
                                 "zookeeper_limit_nofile=256 is below 1024"),
    "a start timeout of nothing": ({"zookeeper_start_timeout": 0},
                                   "zookeeper_start_timeout=0 is below 5"),
    "a version of a release line the role does not know": (
        {"zookeeper_version": "3.5.9"},
        "zookeeper_version='3.5.9' is not a release of a line this role deploys (3.4.N, 3.8.N)"),
    "a version that is not a release number": (
        {"zookeeper_version": "latest"},
        "zookeeper_version='latest' is not a release of a line this role deploys"),
    "the upgrade's own key in zookeeper_config_extra": (
        {"zookeeper_config_extra": {"snapshot.trust.empty": "true"}},
        "zookeeper_config_extra sets snapshot.trust.empty, but playbooks/upgrade.yml sets it"),
    "the admin server's port in zookeeper_config_extra": (
        {"zookeeper_config_extra": {"admin.serverPort": 9090}},
        "zookeeper_config_extra sets admin.serverPort, which the role writes from "
        "zookeeper_admin_port"),
    "a mirror that is not a URL": ({"zookeeper_mirror": "archive.apache.org/dist/zookeeper"},
                                   "zookeeper_mirror='archive.apache.org/dist/zookeeper' is not"),
    "a plain http mirror without a pinned checksum": (
        {"zookeeper_tarball_url": "http://mirror.example/zookeeper-3.4.14.tar.gz"},
        "zookeeper01: zookeeper_tarball_url='http://mirror.example/zookeeper-3.4.14.tar.gz' is "
        "plain http, and with zookeeper_checksum empty its sha512 would come unprotected from "
        "the same place as the tarball; use an https:// mirror, pin the release's sha512 in "
        "zookeeper_checksum, or set zookeeper_allow_plain_http: true (the signature is still "
        "checked)"),
    "an ftp mirror without a pinned checksum": (
        {"zookeeper_tarball_url": "ftp://mirror.example/zookeeper-3.4.14.tar.gz"},
        "is plain ftp, and with zookeeper_checksum empty"),
    "release keys that are not a file": (
        {"zookeeper_release_keys": "/nonexistent/KEYS"},
        "zookeeper01: zookeeper_release_keys='/nonexistent/KEYS' is not a file on the "
        "controller; give the absolute path of an armored KEYS file on the controller"),
    "release keys at a relative path": ({"zookeeper_release_keys": "KEYS"},
                                        "zookeeper_release_keys='KEYS' is not an absolute path"),
    "release keys holding no key": (
        {"zookeeper_release_keys": str(ROLE / "defaults" / "main.yml")},
        "holds no armored public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)"),
    "a checksum that is not sha512": ({"zookeeper_checksum": "abc123"},
                                      "zookeeper_checksum is not a sha512 (128 hexadecimal"),
    "a fixed CVE that is not a CVE id": ({"zookeeper_build_fixes": ["2023-44981"]},
                                         "zookeeper_build_fixes item '2023-44981' is not a CVE"),
    "a user name with a capital": ({"zookeeper_user": "ZooKeeper"},
                                   "zookeeper_user='ZooKeeper' is not a valid user or group"),
    "a log size log4j does not read": ({"zookeeper_log_max_file_size": "10M"},
                                       "zookeeper_log_max_file_size='10M' is not a log4j size"),
    # Values that would write zoo.cfg keys or lines of their own (metrics off: the name
    # reaches zoo.cfg whatever the metrics say).
    "an ensemble name on two lines": (
        {"zookeeper_ensemble_name": "kafka\nsnapshot.trust.empty=true"},
        "zookeeper01: zookeeper_ensemble_name='kafka\\nsnapshot.trust.empty=true' is not one "
        "line of printable text, which zoo.cfg, the metrics' label and the backups carry it as"),
    "an admin address on two lines": (
        {"zookeeper_admin_address": "0.0.0.0\nsnapshot.trust.empty=true"},
        "zookeeper01: zookeeper_admin_address='0.0.0.0\\nsnapshot.trust.empty=true' is neither "
        "an IP address nor a host name"),
    "an admin address with a space": ({"zookeeper_admin_address": "127.0.0.1 x"},
                                      "zookeeper_admin_address='127.0.0.1 x' is neither"),
    "a path systemd would expand": (
        {"zookeeper_log_dir": "/var/log/zk-%i"},
        "zookeeper01: zookeeper_log_dir='/var/log/zk-%i' contains %, $ or \\, which systemd"),
    "a path with a variable": ({"zookeeper_data_dir": "/srv/$HOME"},
                               "zookeeper_data_dir='/srv/$HOME' contains %, $ or \\"),
}


@pytest.mark.parametrize("address", ["", "0.0.0.0", "::1", "10.0.0.5", "zk-admin.example.com",
                                     "localhost"])
def test_an_admin_address_or_host_name_is_accepted(address: str) -> None:
    assert zookeeper_value_problems(defaults(zookeeper_admin_address=address), "h") == []


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_each_bad_value_is_named_with_what_to_do(case: str) -> None:
    changes, message = BAD[case]
    problems = zookeeper_value_problems(defaults(**changes), "zookeeper01")
    assert len(problems) == 1 and message in problems[0], problems


def test_a_refused_password_is_never_shown() -> None:
    problems = zookeeper_value_problems(defaults(
        zookeeper_sasl_client_users={"ad min": ["PW-NOT-SHOWN"]}), "h")
    assert len(problems) == 2 and not any("PW-NOT-SHOWN" in p for p in problems), problems


def test_every_secret_is_no_log_in_the_argument_specs() -> None:
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    secrets = {name for name in options if "password" in name or name.endswith("_users")}
    assert secrets == {"zookeeper_quorum_sasl_password", "zookeeper_sasl_client_users",
                       "zookeeper_super_password"}
    assert {name for name in secrets if options[name].get("no_log")} == secrets


def test_every_problem_is_listed_at_once() -> None:
    problems = zookeeper_value_problems(defaults(
        zookeeper_heap_size="2 GB", zookeeper_data_dir="data", zookeeper_limit_nofile=10), "h")
    assert [p.split("=", maxsplit=1)[0] for p in problems] == [
        "h: zookeeper_heap_size", "h: zookeeper_data_dir", "h: zookeeper_limit_nofile"]


def test_good_values_pass() -> None:
    assert zookeeper_value_problems(defaults(
        zookeeper_heap_size="2g", zookeeper_data_log_dir="/srv/zk-txlog",
        zookeeper_config_extra={"globalOutstandingLimit": 1000, "quorum.auth.enableSasl": "x"},
        zookeeper_jvm_opts=["-XX:+UseG1GC"], zookeeper_4lw_whitelist=["*"],
        zookeeper_log_max_file_size="100mb", zookeeper_install_method="package",
        zookeeper_version="3.4.13-6"), "h") == []


def test_the_managed_keys_are_the_ones_the_template_writes() -> None:
    template = (ROLE / "templates" / "zoo.cfg.j2").read_text()
    written = {line.split("=")[0] for line in template.splitlines()
               if "={{ zookeeper_" in line}
    assert written == set(MANAGED_KEYS)


# --- zookeeper_metrics (tasks/metrics.yml)


def test_metrics_on_with_the_defaults_has_no_problem() -> None:
    assert zookeeper_value_problems(defaults(zookeeper_metrics=True), "zookeeper01") == []


def test_metrics_need_mntr_in_the_whitelist() -> None:
    problems = zookeeper_value_problems(defaults(
        zookeeper_metrics=True, zookeeper_4lw_whitelist=["srvr", "ruok"]), "zookeeper01")
    assert problems == [
        "zookeeper01: zookeeper_4lw_whitelist=['srvr', 'ruok'] lacks mntr, which the role's "
        "health checks, tools/zk-status and the metrics collector (zookeeper_metrics is on) "
        "ask; add them"]
    # Off (an extra var `-e zookeeper_metrics=false` is the text "false"): the role's own need.
    for off in (False, "false"):
        problems = zookeeper_value_problems(defaults(
            zookeeper_metrics=off, zookeeper_4lw_whitelist=["srvr", "ruok"]), "zookeeper01")
        assert len(problems) == 1 and "metrics" not in problems[0], problems
    assert zookeeper_value_problems(defaults(
        zookeeper_metrics="true", zookeeper_4lw_whitelist=["*"]), "zookeeper01") == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"zookeeper_metrics_textfile_dir": "var/lib/node-exporter"},
     "zookeeper01: zookeeper_metrics_textfile_dir='var/lib/node-exporter' is not an absolute "
     "path"),
    ({"zookeeper_metrics_textfile_dir": "/"},
     "zookeeper_metrics_textfile_dir='/' would hand the root directory to the role"),
    ({"zookeeper_metrics_interval": 1},
     "zookeeper01: zookeeper_metrics_interval=1 is below 5 (a collection may take seconds when "
     "the server does not answer); raise it to 5 or more"),
    ({"zookeeper_ensemble_name": "prod\nzk"},
     "zookeeper_ensemble_name='prod\\nzk' is not one line of printable text"),
], ids=["relative textfile dir", "root textfile dir", "interval too short",
        "ensemble name on two lines"])
def test_bad_metrics_values_are_named(changes: dict, message: str) -> None:
    problems = zookeeper_value_problems(defaults(zookeeper_metrics=True, **changes), "zookeeper01")
    assert len(problems) == 1 and message in problems[0], problems


def test_the_firewall_takes_each_ip_familys_networks_and_addresses() -> None:
    values = ["10.0.0.0/8", "fd00::/8", "192.0.2.7", "::1", "not-a-network", "0.0.0.0/0", "::/0"]
    assert zookeeper_of_family(values, 4) == ["10.0.0.0/8", "192.0.2.7", "0.0.0.0/0"]
    assert zookeeper_of_family(values, 6) == ["fd00::/8", "::1", "::/0"]
    assert zookeeper_value_problems(defaults(
        zookeeper_firewall_client_networks=["10.0.0.0/8", "fd00::/8", "::/0"]), "zookeeper01") == []
