"""The Vagrant lab (the `vagrant` scenario): the repository's Vagrantfile, brought up by its
container route for the scenario's own inventory, used the way the seed guides' lab is used:
`vagrant up`, `vagrant status`, `vagrant ssh NAME -c "zkCli.sh ..."`, `tools/zk-status`. Also
`vagrant validate` of the Vagrantfile as a user has it (inventories/vagrant) for each provider.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Ensemble
from labs.lab import PODMAN, RUN_LIMITS

USER_INVENTORY = REPO / "inventories" / "vagrant" / "hosts.yml"
ZKCLI = "/opt/zookeeper/bin/zkCli.sh"
PROVIDERS = ["virtualbox", "libvirt", "docker"]


def vagrant(*args: str, env: dict[str, str] | None = None, timeout: float = 300
            ) -> subprocess.CompletedProcess:
    """A `vagrant` command run from the repository root, as a user runs it."""
    return subprocess.run(["vagrant", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **(env or {})})


def vagrant_ssh(name: str, command: str) -> str:
    proc = vagrant("ssh", name, "-c", command, timeout=120)
    assert proc.returncode == 0, f"vagrant ssh {name} -c {command!r}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def validate(provider: str, tmp_path: Path, inventory: Path = USER_INVENTORY,
             **env: str) -> subprocess.CompletedProcess:
    """`vagrant validate` with `provider` chosen as a fresh checkout would (no machines yet).
    VirtualBox cannot run here: a stand-in VBoxManage that only reports a version lets
    Vagrant check the VirtualBox settings all the same."""
    stand_in = tmp_path / "bin"
    stand_in.mkdir(exist_ok=True)
    (stand_in / "VBoxManage").write_text('#!/bin/sh\n[ "$1" = --version ] && echo 7.0.20r163906\n')
    (stand_in / "VBoxManage").chmod(0o755)
    return vagrant("validate", env={
        "VAGRANT_DEFAULT_PROVIDER": provider, "VAGRANT_DOTFILE_PATH": str(tmp_path / "dotfile"),
        "ZK_VAGRANT_INVENTORY": str(inventory),
        "PATH": f"{stand_in}{os.pathsep}{os.environ['PATH']}", **env}, timeout=120)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_vagrantfile_validates_for_each_provider(provider: str, tmp_path: Path) -> None:
    proc = validate(provider, tmp_path)
    assert proc.returncode == 0 and "validated successfully" in proc.stdout, (
        f"vagrant validate ({provider}): {proc.stdout}{proc.stderr}")


def edited_inventory(tmp_path: Path, host: str, **hostvars: object) -> Path:
    data = yaml.safe_load(USER_INVENTORY.read_text())
    data["all"]["children"]["zookeeper"]["hosts"][host].update(hostvars)
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


BAD_SETTINGS = {
    "memory not a number": ({"ZK_VAGRANT_MEMORY": "1g"}, {},
                            r'ZK_VAGRANT_MEMORY="1g": must be a positive whole number'),
    "no CPUs": ({"ZK_VAGRANT_CPUS": "0"}, {}, r'ZK_VAGRANT_CPUS="0": must be a positive'),
    "a member without an address": ({}, {"ansible_host": None},
                                    r'zookeeper02: ansible_host "" is not an IPv4 address'),
    "an id out of range": ({}, {"zookeeper_id": 256},
                           r"zookeeper02: zookeeper_id 256 must be a whole number from 1 to 255"),
    "a member outside the network": ({}, {"ansible_host": "192.168.57.113"},
                                     r"zookeeper02: ansible_host 192.168.57.113 is outside "
                                     r"192.168.56.0/24"),
}


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=list(BAD_SETTINGS))
def test_bad_settings_are_refused_with_what_to_do(case: str, tmp_path: Path) -> None:
    env, hostvars, message = BAD_SETTINGS[case]
    inventory = edited_inventory(tmp_path, "zookeeper02", **hostvars) if hostvars \
        else USER_INVENTORY
    proc = validate("libvirt", tmp_path, inventory, **env)
    assert proc.returncode != 0, f"{case}: vagrant validate passed"
    assert re.search(message, proc.stdout + proc.stderr), f"{case}: {proc.stdout}{proc.stderr}"


def test_up_provisioned_once_after_every_machine_was_up(ensemble: Ensemble) -> None:
    log = (Path(os.environ["VAGRANT_DOTFILE_PATH"]) / "up.log").read_text()
    lines = re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines()
    booted = [i for i, line in enumerate(lines) if "Machine booted and ready!" in line]
    provisioned = [i for i, line in enumerate(lines) if "Running provisioner: ansible" in line]
    assert len(booted) == len(ensemble.members), f"machines booted: {len(booted)}"
    assert len(provisioned) == 1, f"the Ansible provisioner ran {len(provisioned)} times"
    assert provisioned[0] > max(booted), "the provisioner ran before every machine was up"
    recap = {m.group(1): m.group(2) for m in
             (re.match(r"(\S+)\s+: (ok=.*)", line) for line in lines) if m}
    assert sorted(recap) == sorted(m.name for m in ensemble.members), f"PLAY RECAP: {recap}"
    for name, counts in recap.items():
        assert "unreachable=0" in counts and "failed=0" in counts, f"{name}: {counts}"


def test_machines_run_with_their_names_at_the_inventory_addresses(ensemble: Ensemble) -> None:
    proc = vagrant("status", "--machine-readable")
    states = {f[1]: f[3] for f in (line.split(",") for line in proc.stdout.splitlines())
              if len(f) > 3 and f[2] == "state"}
    assert states == {m.name: "running" for m in ensemble.members}, proc.stdout + proc.stderr
    for member in ensemble.members:
        out = vagrant_ssh(member.name, "hostname; ip -4 -o addr show")
        assert out.split()[0] == member.name
        assert f"inet {member.peer_address}/24" in out, f"{member.name}: {out}"


def test_the_readme_zkcli_command_inside_zookeeper02(ensemble: Ensemble) -> None:
    """Before any other test writes: the root holds only /zookeeper."""
    out = vagrant_ssh("zookeeper02", f"{ZKCLI} -server zookeeper01:2181 ls /")
    # The listing is the one line in brackets: zkCli.sh's event thread prints the session's
    # "WATCHER:: ... SyncConnected" block before or after it, whichever comes first.
    assert [line for line in out.splitlines() if line.startswith("[")] == ["[zookeeper]"], out


def test_a_znode_created_in_one_machine_is_read_in_another(ensemble: Ensemble) -> None:
    first, last = ensemble.members[0], ensemble.members[-1]
    path, value = f"/vagrant-{uuid.uuid4().hex[:8]}", f"created-in-{first.name}"
    vagrant_ssh(first.name, f"{ZKCLI} -server {first.name}:2181 create {path} {value}")
    for _unused in range(10):  # bounded: a follower applies the write a moment after the leader
        out = vagrant_ssh(last.name, f"{ZKCLI} -server {last.name}:2181 get {path}")
        if value in out:
            break
        time.sleep(0.5)
    assert value in out, f"{path} read in {last.name}: {out}"


def test_zk_status_with_the_inventory_says_healthy(ensemble: Ensemble) -> None:
    proc = subprocess.run([str(REPO / "tools" / "zk-status"), "-i", ensemble.inventory],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"healthy: {len(ensemble.members)}/{len(ensemble.members)} serving" in proc.stdout


def test_the_container_route_trusts_the_lab_key_alone_and_root_alone_reaches_the_api(
        ensemble: Ensemble) -> None:
    """Any local user who reached a new machine's forwarded SSH port could log in with Vagrant's
    public insecure key (baked into the image until Vagrant replaced it), sudo to root and,
    the container being privileged, own this host; any user in the socket's group could drive
    the rootful Podman API. Now the image takes no key, every machine takes only the lab's own
    (mounted read-only), and the API's socket is root's alone."""
    image = re.search(r'^IMAGE = "([^"]+)"$', (REPO / "Vagrantfile").read_text(), re.M).group(1)
    baked = subprocess.run([*PODMAN, "run", "--rm", "--network=none", *RUN_LIMITS,
                            "--entrypoint=cat", image, "/home/vagrant/.ssh/authorized_keys"],
                           capture_output=True, text=True, timeout=120, check=True).stdout
    assert baked == "", f"{image} takes a key: {baked}"
    lab = ensemble.hostvars[ensemble.members[0].name]["zk_lab_name"]
    public = (REPO / ".lab" / lab / "ssh" / "id_ed25519.pub").read_text()
    for member in ensemble.members:
        keys = vagrant_ssh(member.name, "cat ~/.ssh/authorized_keys")
        assert keys.strip() == public.strip(), f"{member.name} takes other keys: {keys}"
    api = Path("/run/zk-lab")
    for path, mode in ((api, 0o700), (api / "podman.sock", 0o600)):
        info = path.stat()
        assert (info.st_uid, info.st_mode & 0o777) == (0, mode), (
            f"{path}: uid {info.st_uid}, mode {info.st_mode & 0o777:o}, not root's {mode:o}")
