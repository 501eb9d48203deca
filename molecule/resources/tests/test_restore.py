"""Restore: a restore.yml run that stops half-way is finished by the next run.

restore.yml is an outage by nature (every server stops), so what matters is what a run that
does not finish leaves: the servers stopped, each one's original data kept aside exactly once,
and a next run with the same archive that finishes the restore. Two ways of stopping half-way:
SIGKILL of ansible-playbook's whole process group once every server stopped and had its data
set aside, and a member whose server cannot start on the restored data (its client port is
taken). While a restore is pending, one of another archive is refused.
"""

from __future__ import annotations

import gzip
import re
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from conftest import Ensemble, Member, interrupt_playbook, run_site, site_command
from kazoo.client import KazooClient

RUN = f"/restore/{uuid.uuid4().hex[:8]}"  # this run's znodes, apart from earlier runs'
BURST = 50  # znodes acknowledged before each backup
SET_ASIDE = "version-2.before-restore-"


def data_dir(ensemble: Ensemble, member: Member) -> str:
    return str(ensemble.hostvars[member.name].get("zookeeper_data_dir", "/var/lib/zookeeper"))


def set_aside(ensemble: Ensemble) -> dict[str, set[str]]:
    """Each member's set-aside copies of its data (version-2.before-restore-*)."""
    return {m.name: set(ensemble.host(m).run(
        f"ls -1d {data_dir(ensemble, m)}/{SET_ASIDE}* 2>/dev/null || true").stdout.split())
        for m in ensemble.members}


def running(ensemble: Ensemble) -> dict[str, bool]:
    """Whether each member's zookeeper.service is active."""
    return {m.name: ensemble.host(m).run("systemctl is-active zookeeper").rc == 0
            for m in ensemble.members}


def main_pids(ensemble: Ensemble, members: list[Member]) -> dict[str, str]:
    """The server process of each of `members` (0 when stopped), as systemd knows it."""
    return {m.name: ensemble.host(m).run("systemctl show -p MainPID --value zookeeper").stdout
            for m in members}


def half_way(ensemble: Ensemble, before: dict[str, set[str]]) -> bool:
    """Every server stopped and its data set aside (one command per member)."""
    for m in ensemble.members:
        out = ensemble.host(m).run(
            f"systemctl is-active zookeeper; ls -1d {data_dir(ensemble, m)}/{SET_ASIDE}* "
            "2>/dev/null; true").stdout.split()
        if not out or out[0] == "active" or not set(out[1:]) - before[m.name]:
            return False
    return True


def new_copies(ensemble: Ensemble, before: dict[str, set[str]]) -> dict[str, list[str]]:
    """The set-aside copies made since `before`."""
    return {name: sorted(paths - before[name]) for name, paths in set_aside(ensemble).items()}


def holds(ensemble: Ensemble, member: Member, path: str, text: str) -> bool:
    """Whether a file under `path` on the member contains `text` (a znode path is stored as
    is in snapshots and transaction logs)."""
    return ensemble.host(member).run(f"grep -rqF -- '{text}' '{path}'").rc == 0


def leftovers(ensemble: Ensemble) -> dict[str, str]:
    """What a finished restore must not leave: its marker, staging, drop-in or archive copy."""
    found = {}
    for m in ensemble.members:
        data = data_dir(ensemble, m)
        out = ensemble.host(m).run(
            f"ls -d {data}/restore-in-progress.json {data}/restore-staging "
            "/etc/systemd/system/zookeeper.service.d/restore-in-progress.conf "
            "/var/tmp/zookeeper-restore.tar.gz 2>/dev/null || true").stdout.strip()
        if out:
            found[m.name] = out
    return found


def write_and_back_up(ensemble: Ensemble, client_factory: Callable[..., KazooClient],
                      acknowledged: dict[str, bytes], tmp_path: Path, name: str
                      ) -> tuple[Path, str]:
    """Acknowledged znodes, a backup of them, then one more znode that is not in it; returns
    the archive and that znode's path."""
    ensemble.wait_healthy()
    client = client_factory(ensemble.members)
    parent = f"{RUN}/{name}"
    client.ensure_path(parent)
    for i in range(BURST):
        path = client.create(f"{parent}/before-{i:03d}", f"{name}-{i}".encode())
        acknowledged[path] = f"{name}-{i}".encode()
    backups = tmp_path / "backups"
    rc, output = run_site(ensemble.inventory_source(), {"zookeeper_backup_dir": str(backups)},
                          playbook="backup.yml")
    assert rc == 0, f"backup.yml failed:\n{output[-3000:]}"
    archives = list(backups.glob("zookeeper-backup-*.tar.gz"))
    assert len(archives) == 1, f"backup.yml wrote {archives}"
    later = client.create(f"{parent}/after-backup-{uuid.uuid4().hex[:8]}", b"not in the backup")
    client.stop()
    return archives[0], later


def missing(client: KazooClient, znodes: dict[str, bytes]) -> list[str]:
    """The znodes of `znodes` the client does not read with their value."""
    lost = []
    for path, value in znodes.items():
        client.sync(path)
        if client.exists(path) is None or client.get(path)[0] != value:
            lost.append(path)
    return sorted(lost)


def assert_restored(ensemble: Ensemble, client_factory: Callable[..., KazooClient],
                    acknowledged: dict[str, bytes], later: str) -> None:
    """Healthy; every acknowledged znode back, the backup's own through every member; `later`
    gone everywhere; nothing of the restore left behind."""
    ensemble.wait_healthy(timeout=90)
    lost = missing(client_factory(ensemble.members), acknowledged)
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged znodes lost: {lost[:10]}"
    parent = later.rsplit("/", 1)[0]
    backed_up = {path: value for path, value in acknowledged.items()
                 if path.startswith(parent + "/")}
    for member in ensemble.members:
        reader = client_factory([member])
        lost = missing(reader, backed_up)
        assert not lost, f"{len(lost)} znodes of the backup missing on {member.name}: {lost[:10]}"
        assert reader.exists(later) is None, (
            f"{later}, written after the backup, survived the restore ({member.name})")
    assert not leftovers(ensemble), f"the restore left behind: {leftovers(ensemble)}"


def assert_original_kept_once(ensemble: Ensemble, before: dict[str, set[str]], later: str,
                              expected: dict[str, list[str]] | None = None) -> None:
    """Each member has exactly one set-aside copy for this restore (the one in `expected`, if
    given), and it is the original: it holds `later`, written after the backup."""
    copies = new_copies(ensemble, before)
    wrong = {name: paths for name, paths in copies.items() if len(paths) != 1}
    assert not wrong, f"not exactly one set-aside copy of the data for this restore: {wrong}"
    if expected is not None:
        assert copies == expected, f"the set-aside copies moved: {expected} -> {copies}"
    for member in ensemble.members:
        assert holds(ensemble, member, copies[member.name][0], later.rsplit("/", 1)[1]), (
            f"{member.name}: {copies[member.name][0]} is not the original data "
            f"(it lacks {later}, written before the restore)")


def test_a_restore_killed_half_way_is_finished_by_the_next_run(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path, measurements: list[str]) -> None:
    archive, later = write_and_back_up(ensemble, client_factory, acknowledged, tmp_path, "killed")
    before = set_aside(ensemble)
    started = time.monotonic()
    log = tmp_path / "restore-killed.log"
    # Every server stopped and its data set aside: the restore is half-way.
    command = site_command(ensemble.inventory_source(),
                           {"zookeeper_restore_archive": str(archive)}, playbook="restore.yml")
    _, rc = interrupt_playbook(command, log, lambda: half_way(ensemble, before), signal.SIGKILL,
                               "restore.yml half-way", 180)
    killed = time.monotonic() - started
    assert rc == -signal.SIGKILL, f"restore.yml was not killed: {rc}"
    time.sleep(3)  # whatever the killed run had started on the hosts ends
    # What the killed run left: no server serves, each one's data is kept aside once.
    report = ensemble.status()
    assert report["serving"] == 0, f"servers up after the killed restore: {ensemble.describe()}"
    assert not any(running(ensemble).values()), f"servers running: {running(ensemble)}"
    assert_original_kept_once(ensemble, before, later)
    kept = new_copies(ensemble, before)

    started = time.monotonic()
    rc, output = run_site(ensemble.inventory_source(),
                          {"zookeeper_restore_archive": str(archive)}, playbook="restore.yml")
    assert rc == 0, f"restore.yml with the same archive did not finish the restore:\n" \
                    f"{output[-3000:]}"
    finished = time.monotonic() - started
    assert_restored(ensemble, client_factory, acknowledged, later)
    assert_original_kept_once(ensemble, before, later, kept)
    measurements.append(f"restore killed half-way after {killed:.1f} s (every server stopped, "
                        f"data set aside), finished by the next run in {finished:.1f} s")


def test_a_failed_restore_says_what_it_left_and_refuses_another_archive(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path) -> None:
    archive, later = write_and_back_up(ensemble, client_factory, acknowledged, tmp_path, "failed")
    before = set_aside(ensemble)
    # A real fault on one member: once its server stopped, another process takes its client
    # port, so the restored server cannot start there.
    blocked = ensemble.members[-1]
    port = blocked.port
    host = ensemble.host(blocked)
    host.check_output(
        "systemctl stop zk-restore-test-port 2>/dev/null; "
        "systemd-run --unit=zk-restore-test-port --collect python3 -c "
        f"'import socket, time\n"
        f"s = socket.socket()\n"
        f"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"for _ in range(6000):\n"
        f"    try:\n"
        f"        s.bind((\"0.0.0.0\", {port})); break\n"
        f"    except OSError:\n"
        f"        time.sleep(0.05)\n"
        f"s.listen(1)\n"
        f"time.sleep(600)'")
    try:
        rc, output = run_site(ensemble.inventory_source(),
                              {"zookeeper_restore_archive": str(archive),
                               "zookeeper_start_timeout": 10}, playbook="restore.yml")
        assert rc != 0, f"restore.yml succeeded with {blocked.name}'s port taken:\n{output[-3000:]}"
        assert_original_kept_once(ensemble, before, later)
        # The failure says which servers are down, where the original data is and that the
        # same command finishes the restore.
        copies = new_copies(ensemble, before)
        said = re.search(rf"{blocked.name}: restore\.yml failed .*?ZooKeeper (is stopped on every "
                         rf"member|does not serve on [^.]*{blocked.name}).*?kept at "
                         rf"{re.escape(copies[blocked.name][0])}"
                         rf"[^.]*\. Run ansible-playbook playbooks/restore\.yml -e "
                         rf"zookeeper_restore_archive={re.escape(str(archive))} again", output)
        assert said, f"the failure does not say what it left and what to do:\n{output[-4000:]}"
        assert ensemble.modes()[blocked.name] not in {"leader", "follower"}, (
            f"{blocked.name} serves with its port taken: {ensemble.describe()}")
        others = [m for m in ensemble.members if m != blocked]  # the blocked one restarts
        pids = main_pids(ensemble, others)

        # Another archive while this restore is pending: refused, naming the pending one.
        other = tmp_path / "other.tar.gz"
        other.write_bytes(gzip.compress(gzip.decompress(archive.read_bytes()), compresslevel=1))
        rc, output = run_site(ensemble.inventory_source(),
                              {"zookeeper_restore_archive": str(other)}, playbook="restore.yml")
        assert rc != 0, f"restore.yml of another archive was not refused:\n{output[-3000:]}"
        for member in ensemble.members:
            assert re.search(rf"{member.name}: the restore of {re.escape(str(archive))} \(sha256 "
                             rf"[0-9a-f]{{64}}, started \w+\) is not finished", output), (
                f"{member.name}: the refusal does not name the pending restore:\n"
                f"{output[-3000:]}")
        assert f"zookeeper_restore_archive={archive}; then restore {other}" in output, (
            f"the refusal does not say what to do:\n{output[-3000:]}")
        assert re.search(r"changed=[1-9]", output) is None, "the refused run changed something"
        assert main_pids(ensemble, others) == pids, "the refused run started or stopped a server"

        # site.yml while the restore is pending: refused before any host changes.
        rc, output = run_site(ensemble.inventory_source())
        assert rc != 0 and re.search(
            rf"{blocked.name}: a restore is in progress \(\S+, of {re.escape(str(archive))}\), "
            r"so no host was changed and no server started", output), (
            f"site.yml during a pending restore was not refused:\n{output[-3000:]}")
        assert re.search(r"changed=[1-9]", output) is None, "site.yml changed something"
        assert main_pids(ensemble, others) == pids, "site.yml started or stopped a server"
    finally:
        host.run("systemctl stop zk-restore-test-port")

    rc, output = run_site(ensemble.inventory_source(),
                          {"zookeeper_restore_archive": str(archive)}, playbook="restore.yml")
    assert rc == 0, f"restore.yml with the same archive did not finish the restore:\n" \
                    f"{output[-3000:]}"
    assert_restored(ensemble, client_factory, acknowledged, later)
    assert_original_kept_once(ensemble, before, later, copies)

