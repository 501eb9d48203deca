"""The Vagrant lab's container route: what Vagrant's `docker` provider needs on this machine.

The Vagrantfile at the repository root creates the machines; on a machine that cannot boot
virtual machines its `docker` provider does, through Podman's Docker-compatible API. This module
provides what that route needs and Vagrant does not make:

- `podman-api`: a Podman API service on a socket of the lab's own (`API_SOCKET`), with the runc
  runtime (crun fails here) and no Podman-managed /etc/hosts (the playbook owns that file, and
  atomic writes to a bind-mounted one fail). It exits after `API_IDLE` seconds without a request;
  the Vagrantfile starts it again whenever a `vagrant` command needs it.
- `prepare`: the image the machines boot (the lab image plus what a Vagrant box has: a `vagrant`
  user with passwordless sudo, but no key: not Vagrant's public insecure one, which anybody could
  log in with until Vagrant replaced it), the lab's own SSH key pair (`lab_key`), which the
  Vagrantfile mounts into the machines and hands to Vagrant, the offline mirror, the lab's network
  and the mirror on it, and an inventory file with the mirror's variables beside the lab's
  inventory.

Only root reaches the API (the rootful Podman API is root on this machine): its socket is made
under umask 077 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from labs.lab import (
    MIRROR_VERSION, MIRROR_PORT, PODMAN, STATE, Lab, LabError, build_base_image,
    build_derived_image, build_mirror, ensure_network, ensure_ssh_key, image_exists, log,
    mirror_vars, require_tools, start_mirror, wait_for_port,
)

# The image the Vagrantfile's docker provider boots (its IMAGE constant names the same). Its
# `vagrant` user has no key: each lab's is mounted in (the tag before, `bullseye-vagrant`, had
# Vagrant's public insecure key).
VAGRANT_IMAGE = "localhost/zk-lab:bullseye-vagrant-nokey"
API_DIR = Path(os.environ.get("ZK_LAB_API_DIR", "/run/zk-lab"))
API_SOCKET = API_DIR / "podman.sock"
API_IDLE = 900
API_CONTAINERS_CONF = '[containers]\nno_hosts = true\n\n[engine]\nruntime = "runc"\n'
MIRROR_VARS_FILE = "lab-mirror.yml"
BOX_SCRIPT = """set -e
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null
useradd --create-home --shell /bin/bash vagrant
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant /dev/null /home/vagrant/.ssh/authorized_keys
printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost ip6-loopback\\n' > /etc/hosts
apt-get clean
"""


def build_vagrant_image(base: Lab) -> None:
    """The lab image as a Vagrant box would be: user `vagrant` with sudo, no key."""
    build_base_image(base)
    if image_exists(VAGRANT_IMAGE):
        return
    log(f"building {VAGRANT_IMAGE} (user vagrant with sudo; no key: each lab mounts its own)")
    build_derived_image(base, VAGRANT_IMAGE, BOX_SCRIPT)


def lab_key(lab: Lab) -> Path:
    """The lab's SSH key pair (root's, 0600), made on first use: the machines take only its
    public half (the Vagrantfile mounts it as the `vagrant` user's authorized_keys), and Vagrant
    (the Vagrantfile's `ssh.private_key_path`) and the inventories log in with it."""
    return ensure_ssh_key(STATE / lab.name / "ssh" / "id_ed25519", f"zookeeper-lab {lab.name}")


def api_answers(path: Path = API_SOCKET) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


def service_path() -> str:
    """The service's PATH: the caller's plus the sbin directories, where netavark finds
    iptables (a `vagrant` run from a user's shell may not have them)."""
    path = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    return os.pathsep.join(path + [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin")
                                   if d not in path])


def ensure_api(timeout: float = 30) -> Path:
    """Start the Podman API service for the docker provider unless it answers already."""
    if api_answers():
        return API_SOCKET
    require_tools(["podman", "runc"])
    # Root's alone: whoever can talk to the rootful API can start a privileged container.
    API_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    API_DIR.chmod(0o700)
    conf = API_DIR / "containers.conf"
    conf.write_text(API_CONTAINERS_CONF)
    API_SOCKET.unlink(missing_ok=True)
    with open(API_DIR / "service.log", "ab") as out:
        subprocess.Popen(
            [*PODMAN, "system", "service", f"--time={API_IDLE}", f"unix://{API_SOCKET}"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, umask=0o077,
            env=dict(os.environ, CONTAINERS_CONF=str(conf), PATH=service_path()))
    deadline = time.monotonic() + timeout
    while not api_answers():
        if time.monotonic() > deadline:
            raise LabError(f"the Podman API did not answer on {API_SOCKET} within {timeout:g} s; "
                           f"see {API_DIR / 'service.log'}")
        time.sleep(0.2)
    API_SOCKET.chmod(0o600)
    log(f"Podman API for Vagrant's docker provider on unix://{API_SOCKET} (root only)")
    return API_SOCKET


def write_mirror_vars(lab: Lab, path: Path) -> None:
    lines = [
        "---",
        f"# Written by `tools/lab prepare` for the lab `{lab.name}` (network {lab.network}, "
        f"{lab.subnet}):",
        f"# ZooKeeper from its offline mirror, a {MIRROR_VERSION} tarball rebuilt from Debian 11's"
        " jars.",
        "# Removed by `tools/lab down` (`make vagrant-lab-down`).",
        "zookeeper:",
        "  vars:",
        *(f"    {key}: {json.dumps(value)}"
          for key, value in mirror_vars(lab, inventory_dir=path.parent).items()),
    ]
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def cmd_prepare(lab: Lab, inventory_dir: Path | None) -> None:
    """Everything the machines need before Vagrant creates them (idempotent, quick when done)."""
    require_tools(["podman", "runc", "gpg"])
    started = time.monotonic()
    ensure_api()
    build_vagrant_image(Lab(lab.name, lab.subnet, lab.hosts, "bullseye", lab.prefix))
    lab_key(lab)
    build_mirror(lab)
    ensure_network(lab)
    start_mirror(lab)
    if not wait_for_port(lab.mirror_address, MIRROR_PORT, timeout=30):
        raise LabError(f"mirror {lab.mirror_container} did not answer on {lab.mirror_url}")
    if inventory_dir is not None:
        write_mirror_vars(lab, inventory_dir / MIRROR_VARS_FILE)
    log(f"prepared in {time.monotonic() - started:.1f} s: image {VAGRANT_IMAGE}, key "
        f"{lab_key(lab)}, network "
        f"{lab.network} ({lab.subnet}), mirror {lab.mirror_url}")


def remove_mirror_vars(inventory_dir: Path | None) -> None:
    if inventory_dir is not None:
        (inventory_dir / MIRROR_VARS_FILE).unlink(missing_ok=True)
