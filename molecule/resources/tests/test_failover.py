"""Failover: the ensemble elects, restarts and keeps every acknowledged write.

These tests stop and kill servers of the scenario's own containers, in order, each
leaving the ensemble healthy for the next.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, Ensemble, Member, run_site
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError
from testkit.zk_traffic import Traffic, first_acknowledged

BURST = 200  # znodes written and acknowledged before the failures start
RUN = f"/failover/{uuid.uuid4().hex[:8]}"  # this run's znodes, apart from earlier runs'


def zk_status(ensemble: Ensemble) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "tools" / "zk-status"),
                           "-i", ensemble.inventory], capture_output=True, text=True,
                          timeout=60, check=False)


def assert_all_present(client: KazooClient, acknowledged: dict[str, bytes], where: str) -> None:
    missing = {}
    for path, value in acknowledged.items():
        client.sync(path)
        found = client.exists(path)
        if found is None or client.get(path)[0] != value:
            missing[path] = value
    assert not missing, (f"{len(missing)} of {len(acknowledged)} acknowledged znodes lost "
                         f"{where}: {sorted(missing)[:10]}")


def test_writes_before_failures(ensemble: Ensemble, client_factory: Callable[..., KazooClient],
                                acknowledged: dict[str, bytes]) -> None:
    client = client_factory(ensemble.members)
    client.ensure_path(RUN)
    for i in range(BURST):
        path = client.create(f"{RUN}/before-{i:04d}", f"v{i}".encode())
        acknowledged[path] = f"v{i}".encode()
    assert len(client.get_children(RUN)) == BURST


def test_rolling_restart_keeps_the_quorum_and_restarts_the_leader_last(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], measurements: list[str]) -> None:
    ensemble.wait_healthy()
    leader = ensemble.leader()
    client = client_factory(ensemble.members, tries=-1)
    with Traffic(client, f"{RUN}/rolling", ensemble.servers) as traffic, \
            traffic.span("rolling restart") as span:
        rc, output = run_site(ensemble.inventory_source(), playbook="rolling_restart.yml")
    assert rc == 0, f"rolling_restart.yml failed:\n{output[-3000:]}"
    last = output.split("TASK [zkops.zookeeper34.zookeeper : Restart the leader last]")[1].split(
        "TASK [")[0]
    assert f"changed: [{leader.name}]" in last, f"{leader.name} led but was not restarted last"
    for member in ensemble.members:
        assert f"changed: [{member.name}]" in output
    figures = traffic.summary(span)
    assert figures["elections"] <= 1, f"more than one election in the rolling restart: {figures}"
    assert figures["acknowledged"], "no write was acknowledged during the rolling restart"
    for path in traffic.acked:
        acknowledged[path] = b"t"
    measurements.append(
        f"rolling restart of {len(ensemble.members)} servers: {figures['seconds']:.1f} s, "
        f"{figures['acknowledged']} writes acknowledged, {figures['failed']} failed, longest gap "
        f"{figures['longest_gap_s']:.2f} s, leaders "
        f"{' -> '.join(str(n) for n in figures['leaders'])}")
    ensemble.wait_healthy()


def test_leader_sigkill_survivors_elect_and_systemd_brings_it_back(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], measurements: list[str]) -> None:
    ensemble.wait_healthy()
    leader = ensemble.leader()
    survivors = [m for m in ensemble.members if m != leader]
    client = client_factory(survivors, tries=-1)
    client.exists("/")  # connected to a survivor before the kill
    host = ensemble.host(leader)
    killed_at = time.monotonic()
    host.check_output("systemctl kill --signal=SIGKILL --kill-who=main zookeeper")
    found = first_acknowledged(client, f"{RUN}/after-kill-", killed_at + 30 - time.monotonic())
    if found is None:
        pytest.fail("no write acknowledged through the survivors within 30 s of the kill")
    path, acked_at = found
    acknowledged[path] = b"after failover"
    failover = acked_at - killed_at
    report = ensemble.status()
    new_leader = report["leader"]
    assert new_leader in {m.name for m in survivors}, (
        f"after killing {leader.name}: {ensemble.describe(report)}")
    measurements.append(f"failover: SIGKILL of leader {leader.name} to first acknowledged "
                        f"write through the survivors: {failover:.2f} s (new leader {new_leader})")
    report = ensemble.wait_healthy(timeout=60)
    modes = {s["name"]: s["mode"] for s in report["servers"]}
    assert modes[leader.name] == "follower", (
        f"{leader.name} came back as {modes[leader.name]}: {ensemble.describe(report)}")
    restarts = host.check_output("systemctl show -p NRestarts --value zookeeper")
    assert int(restarts) >= 1, f"{leader.name}: systemd did not restart it (NRestarts={restarts})"


def stop(ensemble: Ensemble, members: list[Member]) -> None:
    for member in members:
        ensemble.host(member).check_output("systemctl stop zookeeper")


def start(ensemble: Ensemble, members: list[Member]) -> None:
    for member in members:
        ensemble.host(member).check_output("systemctl start zookeeper")


def test_minority_refuses_writes_and_majority_restores_everything(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes]) -> None:
    ensemble.wait_healthy()
    members = ensemble.members
    majority = len(members) // 2 + 1
    down = members[:len(members) - 1]  # all but the last one
    last = members[-1]
    # A client already in session with the last one, which is left alone without a quorum.
    pinned = client_factory([last])
    refused = f"{RUN}/written-without-a-quorum"
    try:
        stop(ensemble, down[:len(members) - majority])
        status = zk_status(ensemble)
        assert status.returncode == 1, f"zk-status with one member down:\n{status.stdout}"
        stop(ensemble, down[len(members) - majority:])
        status = zk_status(ensemble)
        assert status.returncode == 2, f"zk-status with only {last.name} up:\n{status.stdout}"
        assert "no quorum" in status.stdout
        # Once the last one knows it has no quorum (srvr: not serving), its write is refused:
        # an error or no answer, never an acknowledgement. (A leader that lost its followers
        # still leads for up to a tick; a write it logs then is not acknowledged either, but
        # ZooKeeper may apply it when the quorum is back, as for any request whose client saw
        # a connection loss.) The client is closed then, so that it cannot send the write
        # again once a quorum is back (kazoo keeps an unanswered request and sends it on
        # reconnecting).
        deadline = time.monotonic() + 30
        while ensemble.modes()[last.name] in {"leader", "follower"}:
            assert time.monotonic() < deadline, f"{last.name} still serves alone after 30 s"
            time.sleep(0.2)
        with pytest.raises((KazooException, KazooTimeoutError)):
            pinned.create_async(refused, b"no quorum", makepath=True).get(timeout=10)
        pinned.stop()
        pinned.close()
        lone = KazooClient(hosts=last.endpoint, timeout=4.0,
                           connection_retry={"max_tries": 1, "delay": 0.1})
        try:
            with pytest.raises(KazooTimeoutError):
                lone.start(timeout=5)
        finally:
            lone.stop()
            lone.close()
    finally:
        start(ensemble, down)
    ensemble.wait_healthy(timeout=90)
    assert zk_status(ensemble).returncode == 0
    for member in members:
        reader = client_factory([member])
        assert_all_present(reader, acknowledged,
                           f"reading through {member.name} after quorum came back")
        reader.sync(refused)
        assert reader.exists(refused) is None, (
            f"{refused}, written to {last.name} alone without a quorum, is on {member.name}")


def test_whole_ensemble_restart_keeps_the_data(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes]) -> None:
    stop(ensemble, ensemble.members)
    report = ensemble.status()
    assert report["serving"] == 0, f"servers still up: {ensemble.describe(report)}"
    start(ensemble, ensemble.members)
    ensemble.wait_healthy(timeout=90)
    assert_all_present(client_factory(ensemble.members), acknowledged,
                       "after restarting every server")
    assert len(acknowledged) > BURST


# The archive is the data directory's files, whatever the install method or the SASL settings:
# the restore scenario backs up and restores 3.4 (every acknowledged znode back, and the hard
# cases), release38 3.8 with this test.
@pytest.mark.only_in("release38")
def test_backup_and_restore_bring_back_every_acknowledged_znode(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient],
        acknowledged: dict[str, bytes], tmp_path: Path, measurements: list[str]) -> None:
    ensemble.wait_healthy()
    started = time.monotonic()
    rc, output = run_site(ensemble.inventory_source(), {"zookeeper_backup_dir": str(tmp_path)},
                          playbook="backup.yml")
    assert rc == 0, f"backup.yml failed:\n{output[-3000:]}"
    archives = list(tmp_path.glob("zookeeper-backup-*.tar.gz"))
    assert len(archives) == 1, f"backup.yml wrote {archives}"
    backed_up = time.monotonic() - started
    client = client_factory(ensemble.members)
    later = client.create(f"{RUN}/after-backup", b"not in the backup")
    client.stop()
    started = time.monotonic()
    rc, output = run_site(ensemble.inventory_source(),
                          {"zookeeper_restore_archive": str(archives[0])}, playbook="restore.yml")
    assert rc == 0, f"restore.yml failed:\n{output[-3000:]}"
    ensemble.wait_healthy()
    restored = time.monotonic() - started
    reader = client_factory(ensemble.members)
    assert_all_present(reader, acknowledged, "after restoring the backup")
    assert reader.exists(later) is None, "the znode written after the backup survived the restore"
    measurements.append(f"backup {backed_up:.1f} s ({archives[0].stat().st_size} bytes), "
                        f"restore of {len(ensemble.members)} servers {restored:.1f} s, "
                        f"{len(acknowledged)} acknowledged znodes all back")
