"""Restore: one ensemble, whole, from its own backup; a run that stops half-way is finished by
the next run.

restore.yml is an outage by nature (every server stops), so what matters is what a run that
does not finish leaves: the servers stopped, each one's original data kept aside exactly once,
and a next run with the same archive that finishes the restore. Two ways of stopping half-way:
SIGKILL of ansible-playbook's whole process group once every server stopped and had its data
set aside, and a member whose server cannot start on the restored data (its client port is
taken). While a restore is pending, one of another archive is refused.

What it restores: a play over two ensembles, or over part of one (--limit), and an archive of
another ensemble are refused before any host changes. After a restore every member is on the
restored data, even when the members' states differed (one stopped through two elections) and
a server outside the play, with a higher epoch, tries to lead the restored members.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import signal
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    Ensemble,
    Member,
    assert_refused,
    interrupt_playbook,
    run_site,
    site_command,
    site_env,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_restore import (
    zookeeper_backup_contents,
)
from kazoo.client import KazooClient, KazooState

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


def running(ensemble: Ensemble, members: list[Member] | None = None) -> dict[str, bool]:
    """Whether each member's (or each of `members`') zookeeper.service is active."""
    return {m.name: ensemble.host(m).run("systemctl is-active zookeeper").rc == 0
            for m in (ensemble.members if members is None else members)}


def main_pids(ensemble: Ensemble, members: list[Member]) -> dict[str, str]:
    """The server process of each of `members` (0 when stopped), as systemd knows it."""
    return {m.name: ensemble.host(m).run("systemctl show -p MainPID --value zookeeper").stdout
            for m in members}


def half_way(ensemble: Ensemble, before: dict[str, set[str]]) -> bool:
    """Every server stopped and its data set aside (one command per member)."""
    return half_way_on(ensemble, ensemble.members, before)


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


def back_up(ensemble: Ensemble, backups: Path) -> Path:
    """backup.yml's archive of the ensemble, in `backups`."""
    rc, output = run_site(ensemble.inventory_source(), {"zookeeper_backup_dir": str(backups)},
                          playbook="backup.yml")
    assert rc == 0, f"backup.yml failed:\n{output[-3000:]}"
    archives = list(backups.glob("zookeeper-backup-*.tar.gz"))
    assert len(archives) == 1, f"backup.yml wrote {archives}"
    return archives[0]


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
    archive = back_up(ensemble, tmp_path / "backups")
    later = client.create(f"{parent}/after-backup-{uuid.uuid4().hex[:8]}", b"not in the backup")
    client.stop()
    return archive, later


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
    _unused, rc = interrupt_playbook(command, log, lambda: half_way(ensemble, before),
                                     signal.SIGKILL, "restore.yml half-way", 180)
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


# --- one ensemble, whole, from its own backup, and every member on the restored data
MANIFEST = "zookeeper-backup.json"
EPOCH = 1 << 32  # a zxid is (epoch << 32) | counter


def epochs(ensemble: Ensemble, members: list[Member] | None = None) -> dict[str, int | None]:
    """Each member's currentEpoch (ZooKeeper 3.4 keeps it in dataDir's version-2)."""
    found = {}
    for m in ensemble.members if members is None else members:
        text = ensemble.host(m).run(
            f"cat {data_dir(ensemble, m)}/version-2/currentEpoch 2>/dev/null").stdout.strip()
        found[m.name] = int(text) if text.isdigit() else None
    return found


def data_state(ensemble: Ensemble) -> dict[str, str]:
    """What a refused restore must leave as it was on every member besides Ensemble.snapshot:
    the entries of its data directory and of version-2 (with their sizes), the epoch files, the
    unit's drop-ins and the archive copy."""
    state = {}
    for m in ensemble.members:
        data = data_dir(ensemble, m)
        state[m.name] = ensemble.host(m).run(
            f"ls -1A {data}; ls -lA --time-style=+ {data}/version-2 | tail -n +2; "
            f"cat {data}/version-2/*Epoch; "
            "ls -A /etc/systemd/system/zookeeper.service.d /var/tmp/zookeeper-restore.tar.gz "
            "2>&1; true").stdout
    return state


def inventory_of(ensemble: Ensemble, path: Path,
                 groups: dict[str, tuple[list[Member], dict[str, Any]]]) -> Path:
    """An inventory of the scenario's own hosts (their connection and ZooKeeper variables),
    each group of `groups` (its members and vars) a child of group zookeeper."""
    children = {}
    for group, (members, group_vars) in groups.items():
        hosts = {m.name: {**{k: v for k, v in ensemble.hostvars[m.name].items()
                             if k.startswith("zookeeper_")}, **ensemble.connection_vars(m.name)}
                 for m in members}
        children[group] = {"hosts": hosts, "vars": group_vars}
    inventory = ({"all": {"children": {"zookeeper": children["zookeeper"]}}}
                 if list(children) == ["zookeeper"] else
                 {"all": {"children": {"zookeeper": {"children": children}}}})
    path.write_text(yaml.safe_dump(inventory, sort_keys=True))
    return path


def manifest_of(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        assert names[0] == MANIFEST, f"{archive}: {MANIFEST} is not first: {names[:3]}"
        return json.load(tar.extractfile(MANIFEST))


def newest_zxid(archive: Path) -> int:
    """The newest transaction in an archive's data, as restore.yml reads it."""
    return int(zookeeper_backup_contents(str(archive))["last_zxid"])


def rewrite_archive(archive: Path, target: Path, manifest: dict[str, Any] | None,
                    epoch: int | None = None) -> Path:
    """A copy of `archive` with another manifest (None: none, as an older backup.yml wrote),
    and, with `epoch`, that number in its currentEpoch and acceptedEpoch."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as copy:
        if manifest is not None:
            data = json.dumps(manifest).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            copy.addfile(info, io.BytesIO(data))
        for member in source.getmembers():
            if member.name == MANIFEST:
                continue
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None and epoch is not None and member.name.endswith(
                    ("/version-2/currentEpoch", "/version-2/acceptedEpoch")):
                data = str(epoch).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def refused_restore(ensemble: Ensemble, name: str, inventory: Path, archive: Path,
                    message: str, limit: str | None = None) -> None:
    """restore.yml refused with `message`, and every member as it was: files, server (PID) and
    data."""
    before, data = ensemble.snapshot(), data_state(ensemble)
    rc, output = run_site(inventory, {"zookeeper_restore_archive": str(archive)}, limit=limit,
                          playbook="restore.yml")
    assert_refused(ensemble, name, before, rc, output, message)
    assert data_state(ensemble) == data, f"{name}: a member's data or drop-ins changed"


def restored_message(member: Member, archive: Path, how: str) -> str:
    """The role's own verdict on a member after a restore: on the restored data."""
    return (rf"{member.name}: restored {re.escape(str(archive))} \(a backup of ensemble "
            rf"zookeeper, as {how} says; its newest transaction 0x[0-9a-f]+\)\. It is on the "
            r"restored data: it serves as (?:leader|follower) at zxid 0x[0-9a-f]+ in epoch "
            r"(\d+), after (\d+), the epoch this restore gave every member, and \S+, a restored "
            r"member, leads\.")


@pytest.fixture(scope="module")
def current_backup(ensemble: Ensemble, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the ensemble, for plays that must be refused before they restore it."""
    ensemble.wait_healthy()
    return back_up(ensemble, tmp_path_factory.mktemp("backups"))


def test_a_restore_across_two_ensembles_is_refused_before_any_host_changes(
        ensemble: Ensemble, current_backup: Path, tmp_path: Path) -> None:
    ensemble.wait_healthy()
    # The first ensemble has the backup's name: the archive is its own, not the second's.
    first, rest = ensemble.members[:1], ensemble.members[1:]
    inventory = inventory_of(ensemble, tmp_path / "hosts.yml", {
        "ens_a": (first, {"zookeeper_ensemble_group": "ens_a",
                          "zookeeper_ensemble_name": "zookeeper"}),
        "ens_b": (rest, {"zookeeper_ensemble_group": "ens_b", "zookeeper_ensemble_name": "beta"})})
    refused_restore(
        ensemble, "two ensembles", inventory, current_backup,
        rf"restore\.yml puts one ensemble's backup into that ensemble, and this play covers 2 "
        rf"ensembles \(group ens_a: {first[0].name}; group ens_b: "
        rf"{', '.join(m.name for m in rest)}; zookeeper_ensemble_group\), so no host was "
        r"changed\. Restore one ensemble at a time, each from its own archive: --limit <its "
        r"group> -e zookeeper_restore_archive=<a backup of that ensemble>, for example --limit "
        r"ens_a\.")


def test_a_restore_of_part_of_an_ensemble_is_refused_before_any_host_changes(
        ensemble: Ensemble, current_backup: Path) -> None:
    ensemble.wait_healthy()
    *kept, left_out = ensemble.members
    refused_restore(
        ensemble, "--limit leaving a member out", ensemble.inventory_source(), current_backup,
        rf"restore\.yml restores every member of an ensemble at once, and this play leaves out "
        rf"{left_out.name} of group zookeeper \(zookeeper_ensemble_group; it runs on "
        rf"{', '.join(m.name for m in kept)}\), so no host was changed: a member that keeps its "
        r"own data would be elected with its newer zxid and overwrite the restored data of the "
        r"others\. Run restore\.yml on the whole group: --limit zookeeper, or no --limit\. A "
        r"member whose host is gone for good must not come back with its old data: first "
        r"replace it by a new, empty host with the same inventory name and zookeeper_id",
        limit=",".join(m.name for m in kept))


def test_an_archive_goes_only_into_its_own_ensemble_and_older_archives_still_restore(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path) -> None:
    ensemble.wait_healthy()
    archive = back_up(ensemble, tmp_path / "backups")
    # The manifest: which ensemble, its members, the member copied, its zxid and mode then.
    manifest = manifest_of(archive)
    stamp = archive.name.split("-backup-")[1].removesuffix(".tar.gz")
    assert manifest["ensemble"] == {"name": "zookeeper", "group": "zookeeper"}, manifest
    assert manifest["time"] == stamp, manifest
    assert [m["name"] for m in manifest["members"]] == [m.name for m in ensemble.members]
    assert manifest["source"]["host"] in {m.name for m in ensemble.members}, manifest
    assert manifest["source"]["mode"] in {"follower", "leader"}, manifest
    assert re.fullmatch(r"0x[0-9a-f]+", manifest["source"]["zxid"]), manifest
    assert manifest["data_dirs"] == [data_dir(ensemble, ensemble.members[0])], manifest
    assert newest_zxid(archive) >= int(manifest["source"]["zxid"], 16)

    other = {**manifest, "ensemble": {"name": "other", "group": "zk_other"}}
    inventory = ensemble.inventory_source()
    refused_restore(
        ensemble, "another ensemble's archive", inventory,
        rewrite_archive(archive, tmp_path / "a" / f"other-backup-{stamp}.tar.gz", other),
        rf"other-backup-{stamp}\.tar\.gz is a backup of ensemble other \(group zk_other\), as "
        rf"its zookeeper-backup\.json, taken {stamp} from {manifest['source']['host']} at zxid "
        rf"{manifest['source']['zxid']} says, not of ensemble zookeeper \(group zookeeper\), "
        r"which this play restores, so no host was changed\. Restore zookeeper from one of its "
        r"own archives \(zookeeper-backup-<time>\.tar\.gz\), or restore this one into other: "
        r"--limit zk_other\.")
    # An archive of an older backup.yml has no manifest: its file name says which ensemble.
    refused_restore(
        ensemble, "an older archive of another ensemble", inventory,
        rewrite_archive(archive, tmp_path / "b" / f"other-backup-{stamp}.tar.gz", None),
        rf"other-backup-{stamp}\.tar\.gz is a backup of ensemble other, as its file name \(it "
        r"has no zookeeper-backup\.json: an archive of an older backup\.yml\) says, not of "
        r"ensemble zookeeper \(group zookeeper\), which this play restores, so no host was "
        r"changed\.")
    refused_restore(
        ensemble, "an older archive whose name says nothing", inventory,
        rewrite_archive(archive, tmp_path / "c" / "copy.tar.gz", None),
        r"copy\.tar\.gz has no zookeeper-backup\.json \(an archive of an older backup\.yml\) "
        r"and its file name is not <ensemble name>-backup-<YYYYmmddTHHMMSSZ>\.tar\.gz, so "
        r"nothing says which ensemble it is from; no host was changed\. If it is a backup of "
        r"ensemble zookeeper \(group zookeeper\), give it the name backup\.yml gave it, "
        r"zookeeper-backup-<its UTC time>\.tar\.gz, and run again\.")

    # An older archive named after this ensemble is restored, even one taken across an
    # election: its epoch files (read first) below the epoch of its newest transaction (logged
    # after the election), on which ZooKeeper 3.4 refuses to start ("The current epoch, N, is
    # older than the last zxid").
    data_epoch = newest_zxid(archive) // EPOCH
    older = rewrite_archive(archive, tmp_path / "d" / archive.name, None, epoch=data_epoch - 1)
    client = client_factory(ensemble.members)
    later = client.create(f"{RUN}/origin/after-backup-{uuid.uuid4().hex[:8]}", b"not in it",
                          makepath=True)
    rc, output = run_site(inventory, {"zookeeper_restore_archive": str(older)},
                          playbook="restore.yml")
    assert rc == 0, f"restore.yml of an older archive failed:\n{output[-3000:]}"
    assert_restored(ensemble, client_factory, acknowledged, later)
    for member in ensemble.members:
        assert re.search(restored_message(
            member, older, r"its file name \(it has no zookeeper-backup\.json: an archive of an "
            r"older backup\.yml\)"), output), f"{member.name}: no verdict:\n{output[-3000:]}"


def serving(ensemble: Ensemble, members: list[Member]) -> dict[str, str]:
    modes = ensemble.modes()
    return {m.name: modes[m.name] for m in members}


def wait_led(ensemble: Ensemble, members: list[Member], timeout: float = 60.0) -> Member:
    """Wait until `members` serve, one of them leading; returns the leader."""
    deadline = time.monotonic() + timeout
    while True:
        modes = serving(ensemble, members)
        if sorted(modes.values()) == sorted(["leader"] + ["follower"] * (len(members) - 1)):
            return ensemble.member(next(n for n, mode in modes.items() if mode == "leader"))
        assert time.monotonic() < deadline, f"{[m.name for m in members]} not led: {modes}"
        time.sleep(0.25)


def test_a_restore_puts_every_member_on_the_restored_data_above_every_earlier_epoch(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path, measurements: list[str]) -> None:
    archive, later = write_and_back_up(ensemble, client_factory, acknowledged, tmp_path, "whole")
    # The members' states differ: one stays stopped while the others go through two elections
    # (each a new epoch) and take writes, so two are newer than the third and than the backup.
    behind = next(m for m in ensemble.members if m != ensemble.leader())
    ahead = [m for m in ensemble.members if m != behind]
    ensemble.host(behind).check_output("systemctl stop zookeeper")
    for _unused in range(2):
        ensemble.host(wait_led(ensemble, ahead)).check_output("systemctl restart zookeeper")
    wait_led(ensemble, ahead)
    writer = client_factory(ahead, tries=-1)
    newer = [writer.create(f"{RUN}/whole/newer-{i}", b"after two elections") for i in range(5)]
    # A client that has seen the newest zxid before the restore.
    watcher = client_factory(ensemble.members, tries=-1)
    watcher.sync("/")
    watcher.exists(newer[-1])
    seen = watcher.last_zxid
    had = epochs(ensemble)
    assert seen // EPOCH == max(e for e in had.values() if e), (hex(seen), had)
    states: list[str] = []
    watcher.add_listener(states.append)

    started = time.monotonic()
    rc, output = run_site(ensemble.inventory_source(),
                          {"zookeeper_restore_archive": str(archive)}, playbook="restore.yml")
    assert rc == 0, f"restore.yml failed:\n{output[-3000:]}"
    restored = time.monotonic() - started
    # Above every epoch any member had: the restored ensemble's zxids follow every zxid its
    # clients saw, and no server of before can lead the restored ones.
    now = epochs(ensemble)
    assert all(e is not None and e > max(x for x in had.values() if x) for e in now.values()), (
        f"epochs before the restore {had}, after {now}")
    # A server refuses a client that has seen a newer zxid than its own: this one connects.
    deadline = time.monotonic() + 60
    while watcher.state != KazooState.CONNECTED and time.monotonic() < deadline:
        time.sleep(0.25)
    assert watcher.state == KazooState.CONNECTED, (
        f"a client that saw zxid {hex(seen)} before the restore gets no session after it "
        f"(states {states}); the servers say: {ensemble.describe()}")
    reconnected = time.monotonic() - started
    # On every member, read through a client of its own after a sync: the backup, and nothing
    # written after it.
    assert_restored(ensemble, client_factory, acknowledged, later)
    for member in ensemble.members:
        reader = client_factory([member])
        kept = []
        for path in newer:
            reader.sync(path)
            if reader.exists(path) is not None:
                kept.append(path)
        assert not kept, f"{member.name} kept znodes written after the backup: {kept}"
    # The role's own check: every member serves in an epoch after the one it gave them all.
    for member in ensemble.members:
        said = re.search(restored_message(member, archive, r"its zookeeper-backup\.json, taken "
                                          r"\S+ from \S+ at zxid 0x[0-9a-f]+"), output)
        assert said, f"{member.name}: no verdict on its data:\n{output[-3000:]}"
        assert int(said[1]) > int(said[2]) > max(x for x in had.values() if x), said[0]
    measurements.append(f"restore with one member stopped through two elections: epochs "
                        f"{had} -> {now}; a client that had seen {hex(seen)} connected again "
                        f"{reconnected:.1f} s after the restore began (restore {restored:.1f} s)")


def half_way_on(ensemble: Ensemble, members: list[Member], before: dict[str, set[str]]) -> bool:
    """`members` stopped and their data set aside."""
    for m in members:
        out = ensemble.host(m).run(
            f"systemctl is-active zookeeper; ls -1d {data_dir(ensemble, m)}/{SET_ASIDE}* "
            "2>/dev/null; true").stdout.split()
        if not out or out[0] == "active" or not set(out[1:]) - before[m.name]:
            return False
    return True


def test_a_restore_led_by_a_server_outside_the_play_is_not_called_done(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path) -> None:
    archive, later = write_and_back_up(ensemble, client_factory, acknowledged, tmp_path, "outside")
    # An inventory that has lost a member that zoo.cfg still lists: the play is its group,
    # whole, while that server, with other data and a far higher epoch, joins the election.
    *inside, outside = ensemble.members
    inventory = inventory_of(ensemble, tmp_path / "hosts.yml", {"zookeeper": (inside, {})})
    high = max(e for e in epochs(ensemble).values() if e) + 1000
    ensemble.host(outside).check_output(
        f"systemctl stop zookeeper && cd {data_dir(ensemble, outside)}/version-2 && "
        f"printf {high} > currentEpoch && printf {high} > acceptedEpoch")
    before = set_aside(ensemble)
    log = tmp_path / "restore-outside.log"
    command = site_command(inventory, {"zookeeper_restore_archive": str(archive)},
                           playbook="restore.yml")
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=site_env())
        try:
            deadline = time.monotonic() + 180
            while not half_way_on(ensemble, inside, before):
                assert proc.poll() is None, f"restore.yml ended first: {log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, "the members were not stopped in 180 s"
                time.sleep(0.1)
            ensemble.host(outside).check_output("systemctl start zookeeper")
            rc = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    output = " ".join(log.read_text().split())
    assert rc != 0, f"restore.yml called a restore led from outside done:\n{output[-3000:]}"
    for member in inside:
        assert re.search(
            rf"{member.name}: the restored ensemble is not on the restored data: no member of the "
            rf"restored ensemble leads \({inside[0].name}=follower, {inside[1].name}=follower\): "
            r"they follow a server outside this play that zoo\.cfg lists .* So every server was "
            r"stopped again, and the data this one served is set aside \(\S+/version-2\.not-"
            r"restored-\w+\); running restore\.yml again with the same archive puts the backup in "
            r"again", output), f"{member.name}: no such failure:\n{output[-4000:]}"
        assert not re.search(rf"{member.name}: restored ", output), "a member said restored"
    assert not any(running(ensemble, inside).values()), "the members still run on that data"
    pending = leftovers(ensemble)
    assert all("restore-in-progress" in pending.get(m.name, "") for m in inside), (
        f"the restore is not pending any more: {pending}")

    # The next run, over the whole ensemble, puts the backup in again and finishes.
    rc, output = run_site(ensemble.inventory_source(),
                          {"zookeeper_restore_archive": str(archive)}, playbook="restore.yml")
    assert rc == 0, f"restore.yml did not finish the restore:\n{output[-3000:]}"
    assert all(e is not None and e > high for e in epochs(ensemble).values()), epochs(ensemble)
    assert_restored(ensemble, client_factory, acknowledged, later)
