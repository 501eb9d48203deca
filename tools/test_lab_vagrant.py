"""The Vagrant lab's container-route helpers (tools/lab_vagrant.py); the route itself runs end
to end in the Molecule `vagrant` scenario."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from pathlib import Path

import lab_vagrant
import pytest
import yaml
from lab import Lab, LabError

VAGRANTFILE = Path(__file__).resolve().parent.parent / "Vagrantfile"


def vagrantfile_constant(name: str) -> str:
    match = re.search(rf'^{name} = "([^"]+)"$', VAGRANTFILE.read_text(), re.MULTILINE)
    assert match, f"{name} not found in the Vagrantfile"
    return match.group(1)


def test_the_vagrantfile_boots_the_image_prepare_builds() -> None:
    assert vagrantfile_constant("IMAGE") == lab_vagrant.VAGRANT_IMAGE


def test_the_vagrantfile_talks_to_the_api_socket_the_lab_starts() -> None:
    assert vagrantfile_constant("DOCKER_SOCKET") == str(lab_vagrant.API_SOCKET)


def test_mirror_vars_point_the_zookeeper_group_at_the_lab_mirror(tmp_path: Path) -> None:
    lab = Lab("vagrant", ipaddress.IPv4Network("192.168.56.0/24"), prefix="vagrant-")
    path = tmp_path / lab_vagrant.MIRROR_VARS_FILE
    lab_vagrant.write_mirror_vars(lab, path)
    data = yaml.safe_load(path.read_text())
    assert data == {"zookeeper": {"vars": {
        "zookeeper_version": "3.4.13", "zookeeper_mirror": "http://192.168.56.250:8080",
        "zookeeper_build_fixes": ["CVE-2017-5637", "CVE-2019-0201", "CVE-2023-44981",
                                  "CVE-2024-23944"]}}}
    lab_vagrant.remove_mirror_vars(tmp_path)
    assert not path.exists()


def test_vagrant_keys_are_read_from_the_install(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "vagrant-2.4.1" / "keys"
    keys.mkdir(parents=True)
    (keys / "vagrant.pub.rsa").write_text("ssh-rsa AAAA vagrant insecure public key")
    (keys / "vagrant.pub.ed25519").write_text("ssh-ed25519 AAAA vagrant insecure public key\n")
    monkeypatch.setattr(lab_vagrant, "VAGRANT_KEY_GLOBS", (str(tmp_path / "*/keys/vagrant.pub*"),))
    assert lab_vagrant.vagrant_public_keys().splitlines() == [
        b"ssh-ed25519 AAAA vagrant insecure public key",
        b"ssh-rsa AAAA vagrant insecure public key"]


def test_no_vagrant_install_says_what_to_do(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_vagrant, "VAGRANT_KEY_GLOBS", (str(tmp_path / "*/vagrant.pub*"),))
    with pytest.raises(LabError, match="apt-get install vagrant"):
        lab_vagrant.vagrant_public_keys()


def test_api_answers_only_an_http_server_on_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    assert not lab_vagrant.api_answers(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        assert lab_vagrant.api_answers(path)
    finally:
        thread.join(5)
        server.close()


def test_the_api_service_finds_iptables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    assert "/usr/sbin" in lab_vagrant.service_path().split(":")
