"""Every playbook as an unprivileged user (the `upgrade` scenario's zk_lab_login): Ansible logs
in as `zkadmin` with a password over paramiko and becomes root with sudo, which asks that
password; root cannot log in at all. Molecule's converge and idempotence ran site.yml that way
and test_upgrade.py upgrade.yml; here status, rolling-restart, backup and restore do, after the
upgrade (before it, they would leave every member a snapshot, and the upgrade's path for a
member without one would go untested).

What proves it: the hosts' sshd accepted only zkadmin's password (never a key, never root), sudo
refuses zkadmin without the password, and each playbook did its work (a restart of every
server, an archive on the controller, the backup's znodes back after the restore).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import Ensemble, podman, run_site
from kazoo.client import KazooClient
from test_restore import assert_restored, write_and_back_up


def login(ensemble: Ensemble) -> dict[str, str]:
    return dict(ensemble.hostvars[ensemble.members[0].name]["zk_lab_login"])


def as_user(ensemble: Ensemble, name: str, user: str, *argv: str
            ) -> subprocess.CompletedProcess:
    """A command in the member's container as `user` (podman exec: no login involved)."""
    return podman("exec", "--user", user, ensemble.container(ensemble.member(name)), *argv,
                  check=False)


def sshd_logins(ensemble: Ensemble, name: str) -> list[str]:
    """The logins sshd accepted on the member since it booted."""
    out = ensemble.host(ensemble.member(name)).check_output(
        "journalctl --no-pager -o cat _COMM=sshd")
    return [line for line in out.splitlines() if line.startswith("Accepted ")]


def start_times(ensemble: Ensemble) -> dict[str, str]:
    """Each member's server start time (systemd's), which a restart changes."""
    return {m.name: ensemble.host(m).check_output(
        "systemctl show -p ExecMainStartTimestampMonotonic --value zookeeper").strip()
        for m in ensemble.members}


def test_the_hosts_take_only_the_sudo_users_password(ensemble: Ensemble) -> None:
    user = login(ensemble)["user"]
    connection = {ensemble.connection_vars(m.name).get("ansible_connection")
                  for m in ensemble.members}
    assert connection == {"paramiko"}, f"the inventory connects with {connection}"
    for member in ensemble.members:
        assert not ensemble.host(member).file("/root/.ssh/authorized_keys").exists, (
            f"{member.name}: root still has an authorized key")
        sudo = as_user(ensemble, member.name, user, "sudo", "-n", "true")
        assert sudo.returncode != 0 and b"password is required" in sudo.stderr, (
            f"{member.name}: sudo lets {user} in without the password: {sudo.stderr!r}")
        accepted = sshd_logins(ensemble, member.name)
        # Molecule's converge and idempotence: site.yml twice, over paramiko (one session per
        # task and host).
        assert accepted, f"{member.name}: sshd accepted no login"
        others = [line for line in accepted
                  if not line.startswith(f"Accepted password for {user} ")]
        assert not others, f"{member.name}: logins other than {user}'s password: {others[:5]}"


def test_status_and_rolling_restart_as_the_sudo_user(ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    rc, output = run_site(ensemble.inventory_source(), playbook="status.yml")
    assert rc == 0, f"status.yml failed:\n{output[-3000:]}"
    assert f"{ensemble.leader().name}" in output and "leader" in output, output[-3000:]
    before = start_times(ensemble)
    rc, output = run_site(ensemble.inventory_source(), playbook="rolling_restart.yml")
    assert rc == 0, f"rolling_restart.yml failed:\n{output[-3000:]}"
    after = start_times(ensemble)
    same = sorted(name for name in before if before[name] == after[name])
    assert not same, f"rolling_restart.yml did not restart {same}"
    ensemble.wait_healthy()


def test_backup_and_restore_as_the_sudo_user(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path) -> None:
    archive, later = write_and_back_up(ensemble, client_factory, acknowledged, tmp_path, "sudo")
    # Written on the controller by the user who ran ansible-playbook, readable by it only.
    assert archive.stat().st_uid == os.getuid() and archive.stat().st_mode & 0o077 == 0, (
        f"{archive}: uid {archive.stat().st_uid}, mode {archive.stat().st_mode:o}")
    rc, output = run_site(ensemble.inventory_source(),
                          {"zookeeper_restore_archive": str(archive)}, playbook="restore.yml")
    assert rc == 0, f"restore.yml failed:\n{output[-3000:]}"
    assert_restored(ensemble, client_factory, acknowledged, later)
