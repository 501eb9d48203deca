"""TLS on the 3.8 line: the lab CA module (zookeeper_tls_ca), the passes of the quorum TLS
switch (filter zookeeper_tls_passes), the stage the probe reads from a running zoo.cfg, and the
checks of the TLS variables."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from plugins import MODULES, ROLE, module

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_tls import (
    zookeeper_tls_checks,
    zookeeper_tls_passes,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_values import (
    zookeeper_value_problems,
)

MODULE = MODULES / "zookeeper_tls_ca.py"
probe = module("zookeeper_probe")


def run(tmp_path: Path, check: bool = False, **args: Any) -> dict:
    """The module's JSON result for `args`."""
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        **args, "_ansible_check_mode": check, "_ansible_tmpdir": str(tmp_path),
        "_ansible_remote_tmp": str(tmp_path)}}))
    proc = subprocess.run([sys.executable, str(MODULE), str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    return json.loads(proc.stdout)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def signed_by(child: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        ca.public_key().verify(child.signature, child.tbs_certificate_bytes,
                               ec.ECDSA(child.signature_hash_algorithm))
    except Exception:
        return False
    return True


HOSTS = [{"id": 1, "name": "zookeeper01", "address": "10.0.0.11"},
         {"id": 2, "name": "zookeeper02", "address": "10.0.0.12"}]


def test_the_lab_ca_issues_each_server_and_a_client_once(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    first = run(tmp_path, directory=str(directory), hosts=HOSTS, clients=["client"])
    assert first["changed"] and sorted(first["issued"]) == ["client", "zookeeper01",
                                                            "zookeeper02"], first
    ca = cert(directory / "ca.pem")
    one = cert(directory / "zookeeper01.pem")
    assert signed_by(one, ca) and signed_by(cert(directory / "client.pem"), ca)
    san = one.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["zookeeper01"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.11")]
    assert (directory / "zookeeper01.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (directory / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (directory / "zookeeper01.key").stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    again = run(tmp_path, directory=str(directory), hosts=HOSTS, clients=["client"])
    assert not again["changed"] and again["issued"] == [], again


def test_a_new_address_or_another_ca_issues_that_certificate_again(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    run(tmp_path, directory=str(directory), hosts=HOSTS)
    before = (directory / "zookeeper02.pem").read_bytes()
    moved = [HOSTS[0], {**HOSTS[1], "address": "10.0.0.22"}]
    result = run(tmp_path, directory=str(directory), hosts=moved)
    assert result["issued"] == ["zookeeper02"], result
    assert (directory / "zookeeper02.pem").read_bytes() != before
    other = tmp_path / "other"
    run(tmp_path, directory=str(other), hosts=HOSTS)
    (directory / "zookeeper01.pem").write_bytes((other / "zookeeper01.pem").read_bytes())
    result = run(tmp_path, directory=str(directory), hosts=moved)
    assert result["issued"] == ["zookeeper01"], result
    assert signed_by(cert(directory / "zookeeper01.pem"), cert(directory / "ca.pem"))


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    result = run(tmp_path, check=True, directory=str(directory), hosts=HOSTS)
    assert result["changed"] and sorted(result["issued"]) == ["zookeeper01", "zookeeper02"]
    assert not directory.exists()


def test_a_name_that_cannot_name_a_file_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path, directory=str(tmp_path / "ca"), hosts=[{"name": "../x"}])
    assert result.get("failed") and "cannot name a file" in result["msg"], result


@pytest.mark.parametrize(("running", "on", "passes"), [
    ({}, True, []),                                   # a new ensemble: zoo.cfg at the end
    ({"a": None, "b": None}, True, []),
    ({"a": 0, "b": 0, "c": 0}, True, [1, 2]),         # plain -> both stages, then TLS only
    ({"a": 1, "b": 0, "c": None}, True, [1, 2]),      # interrupted in the first pass
    ({"a": 1, "b": 2, "c": 2}, True, [2]),
    ({"a": 2, "b": 3, "c": 3}, True, []),
    ({"a": 3, "b": 3, "c": 3}, True, []),
    ({"a": 3, "b": 3, "c": 3}, False, [2, 1]),        # and back
    ({"a": 2, "b": 1, "c": 1}, False, [1]),
    ({"a": 0, "b": 0, "c": 0}, False, []),
])
def test_the_passes_move_the_servers_one_stage_at_a_time(
        running: dict[str, int | None], on: bool, passes: list[int]) -> None:
    assert zookeeper_tls_passes(running, on) == passes
    stages = [s for s in running.values() if s is not None]
    start = min(stages, default=0) if on else max(stages, default=0)
    walk = [start, *passes, 3 if on else 0] if stages else []
    assert all(abs(a - b) <= 1 for a, b in zip(walk, walk[1:], strict=False))


def test_servers_two_stages_apart_are_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="more than one step apart"):
        zookeeper_tls_passes({"a": 0, "b": 2}, True)


@pytest.mark.parametrize(("text", "stage"), [
    ("clientPort=2181\n", 0),
    ("portUnification=true\nsslQuorum=false\n", 1),
    ("sslQuorum=true\nportUnification=true\n", 2),
    ("sslQuorum=true\n", 3),
])
def test_the_probe_reads_the_stage_the_running_server_started_with(
        tmp_path: Path, text: str, stage: int) -> None:
    runtime = tmp_path / "running.cfg"
    runtime.write_text(text + "server.1=zookeeper01:2888:3888\n")
    found = probe.ensemble({"active": True}, False, None, str(runtime), None)
    assert found["quorum_tls"] == stage
    stopped = probe.ensemble({"active": False}, False, None, str(runtime), None)
    assert stopped["quorum_tls"] is None


def values(**changes: Any) -> dict[str, Any]:
    import yaml
    base = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    base.update(zookeeper_tarball_url="https://archive.apache.org/dist/zookeeper/"
                "zookeeper-3.8.0/apache-zookeeper-3.8.0-bin.tar.gz", zookeeper_version="3.8.0",
                zookeeper_java_binary="/usr/bin/java", zookeeper_ensemble_name="zookeeper")
    base.update(changes)
    return base


def test_tls_variables_are_checked_before_any_change(tmp_path: Path) -> None:
    run(tmp_path, directory=str(tmp_path / "ca"), hosts=HOSTS)
    good = {"zookeeper_tls_ca_cert": str(tmp_path / "ca" / "ca.pem"),
            "zookeeper_tls_cert": str(tmp_path / "ca" / "zookeeper01.pem"),
            "zookeeper_tls_key": str(tmp_path / "ca" / "zookeeper01.key")}
    assert zookeeper_value_problems(values(zookeeper_tls_quorum=True, **good), "zk1") == []
    assert zookeeper_value_problems(values(zookeeper_tls_client=True,
                                           zookeeper_tls_lab_ca="/srv/ca"), "zk1") == []
    pkcs1 = tmp_path / "rsa.key"
    pkcs1.write_text("-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n")
    cases = {
        "zk1: zookeeper_tls_ca_cert is empty while TLS is on": {
            **good, "zookeeper_tls_ca_cert": ""},
        "zk1: zookeeper_tls_cert='cert.pem' is not an absolute path": {
            **good, "zookeeper_tls_cert": "cert.pem"},
        f"zk1: zookeeper_tls_key={str(pkcs1)!r} is not an unencrypted PKCS#8 key": {
            **good, "zookeeper_tls_key": str(pkcs1)},
        f"zk1: zookeeper_tls_cert={good['zookeeper_tls_key']!r} holds no PEM certificate": {
            **good, "zookeeper_tls_cert": good["zookeeper_tls_key"]},
        "zk1: zookeeper_tls_client_port and zookeeper_client_port are both 2181": {
            **good, "zookeeper_tls_client_port": 2181},
        "zk1: zookeeper_tls_lab_ca and zookeeper_tls_ca_cert, zookeeper_tls_cert, "
        "zookeeper_tls_key are both set": {**good, "zookeeper_tls_lab_ca": "/srv/ca"},
        "zk1: zookeeper_tls_lab_ca='ca' is not an absolute path": {
            "zookeeper_tls_lab_ca": "ca"},
        "zk1: zookeeper_config_extra sets sslQuorum, which the role writes from "
        "zookeeper_tls_quorum": {**good, "zookeeper_config_extra": {"sslQuorum": "false"}},
    }
    for message, changes in cases.items():
        found = zookeeper_value_problems(
            values(zookeeper_tls_client=True, zookeeper_tls_quorum=True, **changes), "zk1")
        assert any(p.startswith(message) for p in found), (message, found)
    assert zookeeper_value_problems(values(zookeeper_tls_cert="x"), "zk1") == []


PLAIN, BOTH, TLS_ONLY = {"plain": 2181, "tls": None}, {"plain": 2181, "tls": 2281}, {
    "plain": None, "tls": 2281}


@pytest.mark.parametrize(("running", "tls_client", "plain", "over_tls", "error"), [
    ({}, True, False, True, ""),                                   # a new ensemble, TLS only
    ({"a": None}, True, True, True, ""),
    ({"a": PLAIN, "b": PLAIN}, False, True, False, ""),            # no TLS at all
    ({"a": PLAIN, "b": PLAIN}, True, True, False, ""),             # TLS port on: plain checks
    ({"a": BOTH, "b": PLAIN}, True, True, False, ""),              # ... interrupted half-way
    ({"a": BOTH, "b": BOTH}, True, True, True, ""),
    ({"a": BOTH, "b": BOTH}, True, False, True, ""),               # plain port off: TLS checks
    ({"a": TLS_ONLY, "b": BOTH}, True, False, True, ""),           # ... interrupted
    ({"a": TLS_ONLY, "b": TLS_ONLY}, True, True, True, ""),        # plain port back on
    ({"a": PLAIN, "b": PLAIN}, True, False, False, "run without a TLS client port yet"),
    ({"a": TLS_ONLY, "b": BOTH}, False, True, False, "run without a plain client port"),
])
def test_the_checks_ask_on_a_port_every_running_server_has(
        running: dict, tls_client: bool, plain: bool, over_tls: bool, error: str) -> None:
    found = zookeeper_tls_checks(running, tls_client, plain)
    assert found["tls"] is over_tls
    assert (error in found["error"]) if error else found["error"] == "", found
