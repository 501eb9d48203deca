"""The Vagrant lab's container-route helpers (tools/labs/vagrant.py); the route itself runs end
to end in the Molecule `vagrant` scenario."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
from pathlib import Path

from labs import lab as lab_module
from labs import vagrant as lab_vagrant
import pytest
import yaml
from labs.lab import Lab

VAGRANTFILE = Path(__file__).resolve().parents[2] / "Vagrantfile"


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
                                  "CVE-2024-23944"],
        "zookeeper_release_keys":
            f"{{{{ inventory_dir }}}}/{os.path.relpath(lab_module.mirror_keys(), tmp_path)}",
        "zookeeper_allow_plain_http": True}}}
    lab_vagrant.remove_mirror_vars(tmp_path)
    assert not path.exists()


def test_the_box_image_takes_no_key() -> None:
    """Vagrant's public insecure key in the image let anybody who reached a new machine's SSH
    port log in, sudo to root, and (the container being privileged) own this host, until
    Vagrant replaced it. The image has no key; the Vagrantfile mounts the lab's."""
    assert "authorized_keys" in lab_vagrant.BOX_SCRIPT
    assert "cat >" not in lab_vagrant.BOX_SCRIPT and "/dev/null" in lab_vagrant.BOX_SCRIPT
    vagrantfile = VAGRANTFILE.read_text()
    assert '"#{LAB_KEY}.pub:/home/vagrant/.ssh/authorized_keys:ro"' in vagrantfile
    assert "override.ssh.private_key_path = LAB_KEY" in vagrantfile
    assert "override.ssh.insert_key = false" in vagrantfile


def test_each_lab_has_a_key_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_vagrant, "STATE", tmp_path)
    one = lab_vagrant.lab_key(Lab("vagrant", ipaddress.ip_network("192.168.56.0/24"), 3))
    other = lab_vagrant.lab_key(Lab("mol-vagrant", ipaddress.ip_network("10.213.17.0/24"), 3))
    assert one == tmp_path / "vagrant" / "ssh" / "id_ed25519" and one.exists()
    assert one.read_bytes() != other.read_bytes()
    assert one.stat().st_mode & 0o777 == 0o600 and one.parent.stat().st_mode & 0o777 == 0o700
    assert lab_vagrant.lab_key(Lab("vagrant", ipaddress.ip_network("192.168.56.0/24"), 3)) == one


def test_api_answers_only_an_http_server_on_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "api.sock"
    assert not lab_vagrant.api_answers(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _unused = server.accept()
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


def test_only_root_reaches_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rootful Podman API starts privileged containers: its socket was left to the
    umask (0755 directory, 0660 socket). Now a 0700 directory, umask 077, the socket 0600."""
    api_dir = tmp_path / "zk-lab"
    api_dir.mkdir(mode=0o755)
    api_dir.chmod(0o755)  # as an earlier run left it
    socket_path = api_dir / "podman.sock"
    monkeypatch.setattr(lab_vagrant, "API_DIR", api_dir)
    monkeypatch.setattr(lab_vagrant, "API_SOCKET", socket_path)
    monkeypatch.setattr(lab_vagrant, "require_tools", lambda tools: None)
    started: list[dict] = []

    def popen(argv: list[str], **kwargs: object) -> None:
        started.append(kwargs)
        socket_path.touch(mode=0o666)

    monkeypatch.setattr(lab_vagrant.subprocess, "Popen", popen)
    monkeypatch.setattr(lab_vagrant, "api_answers", lambda path=socket_path: bool(started))
    assert lab_vagrant.ensure_api() == socket_path
    assert started[0]["umask"] == 0o077
    assert api_dir.stat().st_mode & 0o777 == 0o700
    assert socket_path.stat().st_mode & 0o777 == 0o600
