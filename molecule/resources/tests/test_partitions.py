"""Network partitions (the `operations` scenario, before its day-2 operations, on the role's
default timing): a member cut off from the other members while its JVM keeps running, under a
client writing 20 times a second.

The cut is made with blackhole routes in the containers, both ways between the member and each
other member; the controller still reaches every member. The time without an acknowledged
write is compared with a floor measured in the same run: a leader's SIGKILL (an election and
the client's reconnect, with nothing to detect). A partition adds its detection,
syncLimit x tickTime, and nothing more may be added on top of both than PARTITION_SLACK, which
covers how much one election and client move differs from another (the floor is one sample). The
detection of the role's default timing must leave at least DETECTION_ROOM of the TARGET for the
election and the client (machine-independent: it checks the defaults, the gap checks the rest).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import Ensemble, Member, connect, podman, zoo_cfg_settings
from kazoo.client import KazooClient
from zk_status import build_report, query_all
from testkit.zk_traffic import Traffic, missing

TARGET = 6.0  # seconds without an acknowledged write the role's defaults aim at
# Seconds a partition may cost beyond detection + the SIGKILL floor. The floor's election and
# client move alone measured 0.41 s and 1.50 s in two runs alone on one machine (the leader's
# cut-off then took 5.44 s and 6.22 s): 1.0 s failed the first at 5.41 s.
PARTITION_SLACK = 1.5
DETECTION_ROOM = 1.0  # seconds of TARGET the detection must leave to the election and client
PARENT = f"/partitions/{uuid.uuid4().hex[:8]}"
FIGURES: dict[str, float] = {}


def route(ensemble: Ensemble, member: Member, op: str, addresses: list[str]) -> None:
    for address in addresses:
        podman("exec", ensemble.container(member), "ip", "route", op, "blackhole",
               f"{address}/32", check=op == "add")


@contextmanager
def cut_off(ensemble: Ensemble, victim: Member) -> Iterator[None]:
    """`victim` and the other members stop reaching each other, both ways; healed on exit."""
    others = [m for m in ensemble.members if m != victim]
    try:
        route(ensemble, victim, "add", [m.peer_address for m in others])
        for other in others:
            route(ensemble, other, "add", [victim.peer_address])
        yield
    finally:
        route(ensemble, victim, "del", [m.peer_address for m in others])
        for other in others:
            route(ensemble, other, "del", [victim.peer_address])


def timing(ensemble: Ensemble) -> tuple[int, int]:
    """tickTime and syncLimit as the role deployed them (zoo.cfg of the first member)."""
    text = ensemble.host(ensemble.members[0]).file("/etc/zookeeper/zoo.cfg").content_string
    cfg = zoo_cfg_settings(text)
    return int(cfg["tickTime"]), int(cfg["syncLimit"])


@pytest.fixture(scope="module")
def traffic(ensemble: Ensemble, measurements: list[str]) -> Iterator[Traffic]:
    ensemble.wait_healthy()
    client = connect(ensemble.members, tries=-1)
    writer = Traffic(client, PARENT, ensemble.servers)
    with writer:
        time.sleep(2)
        yield writer
    client.stop()
    client.close()
    tick, sync = timing(ensemble)
    measurements.append(f"partitions, with tickTime {tick} and syncLimit {sync} (detection "
                        f"{sync * tick / 1000:g} s; target {TARGET:g} s), longest time without an "
                        "acknowledged write:")
    for name, value in FIGURES.items():
        measurements.append(f"partitions: {name}: {value:.2f} s")


def wait_for(condition: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"not within {limit:g} s: {what}"
        time.sleep(0.2)


def writes_again(writer: Traffic, since: float) -> bool:
    """A write acknowledged after `since` (and the moment's in-flight answers): the ensemble
    serves this writer again."""
    return writer.last_acknowledged() > since + 0.5


def test_the_floor_a_leader_sigkill(ensemble: Ensemble, traffic: Traffic) -> None:
    leader = ensemble.leader()
    with traffic.span("leader SIGKILL (floor)") as span:
        ensemble.host(leader).run("systemctl kill --signal=KILL zookeeper")
        wait_for(lambda: writes_again(traffic, span.start), 30, "writes after the SIGKILL")
    ensemble.wait_healthy(timeout=60)
    FIGURES["leader SIGKILL (the floor)"] = traffic.longest_gap(span)


def assert_cut_off_and_back(ensemble: Ensemble, traffic: Traffic, victim: Member,
                            span_name: str, writer: Traffic | None = None) -> tuple[float, Any]:
    """Cut `victim` off: the others serve with a leader among them, the victim does not,
    zk-status says degraded, and `writer` (default: the module's traffic) writes again;
    healed, the victim serves again with every acknowledged znode. Returns the writer's
    longest gap and the span."""
    writer = writer or traffic
    others = [m.name for m in ensemble.members if m != victim]

    def majority_without_victim() -> bool:
        report = build_report(query_all(ensemble.servers(), 1.0), len(ensemble.members))
        modes = {s["name"]: s["mode"] for s in report["servers"]}
        return (report["leader"] in others and report["exit_code"] == 1
                and modes[victim.name] not in {"leader", "follower"})

    with traffic.span(span_name) as span, cut_off(ensemble, victim):
        wait_for(majority_without_victim, 30, f"{victim.name} cut off, the others serving")
        wait_for(lambda: writes_again(writer, span.start), 30, "writes while cut off")
    ensemble.wait_healthy(timeout=60)
    reader = KazooClient(hosts=victim.endpoint, timeout=10.0)
    reader.start(timeout=15)
    try:
        lost = missing(reader, PARENT, dict(traffic.acked))
    finally:
        reader.stop()
        reader.close()
    assert not lost, f"{victim.name} lacks {len(lost)} acknowledged znodes after the heal"
    return writer.longest_gap(span), span


def limit(ensemble: Ensemble) -> float:
    tick, sync = timing(ensemble)
    return sync * tick / 1000 + FIGURES["leader SIGKILL (the floor)"] + PARTITION_SLACK


def test_the_default_timing_detects_a_partition_within_the_target(ensemble: Ensemble) -> None:
    tick, sync = timing(ensemble)
    assert sync * tick / 1000 <= TARGET - DETECTION_ROOM, (
        f"syncLimit {sync} x tickTime {tick} ms: a cut-off leader is given up after "
        f"{sync * tick / 1000:g} s, which leaves less than {DETECTION_ROOM:g} s of the "
        f"{TARGET:g} s target for the election and the clients")


def test_a_cut_off_leader_is_replaced(ensemble: Ensemble, traffic: Traffic) -> None:
    leader = ensemble.leader()
    gap, span = assert_cut_off_and_back(ensemble, traffic, leader,
                                        f"{leader.name} (leader) cut off")
    FIGURES["leader cut off"] = gap
    assert traffic.elections(span) == 1
    assert gap <= limit(ensemble), f"{gap:.2f} s without a write; limit {limit(ensemble):.2f} s"


def test_a_cut_off_follower_costs_no_election_and_its_client_moves_on(
        ensemble: Ensemble, traffic: Traffic) -> None:
    leader = ensemble.leader()
    follower = next(m for m in ensemble.members if m != leader)
    order = [follower] + [m for m in ensemble.members if m != follower]
    client = KazooClient(hosts=",".join(m.endpoint for m in order), randomize_hosts=False,
                         timeout=10.0, connection_retry={"max_tries": -1, "delay": 0.1,
                                                         "max_delay": 0.5})
    client.start(timeout=15)
    pinned = Traffic(client, PARENT + "-pinned", ensemble.servers)
    try:
        with pinned:
            time.sleep(2)
            gap, span = assert_cut_off_and_back(
                ensemble, traffic, follower, f"{follower.name} (follower, with a client) cut off",
                pinned)
    finally:
        client.stop()
        client.close()
    FIGURES["follower cut off, its client's gap"] = gap
    assert traffic.elections(span) == 0, "a follower's partition cost an election"
    assert gap <= limit(ensemble), f"{gap:.2f} s without a write; limit {limit(ensemble):.2f} s"


def snapshots(ensemble: Ensemble, member: Member) -> int:
    return int(ensemble.host(member).check_output(
        "ls /var/lib/zookeeper/version-2 | grep -c '^snapshot\\.' || true"))


def test_a_loaded_ensemble_does_not_flap(ensemble: Ensemble, traffic: Traffic) -> None:
    """Hundreds of 1 KiB writes a second for 20 s on the same timing, the followers writing
    snapshots meanwhile (the scenario sets snapCount 2000): no election, every server serving
    throughout."""
    follower = next(m for m in ensemble.members if m != ensemble.leader())
    before = snapshots(ensemble, follower)
    loaders = [connect(ensemble.members) for _unused in range(3)]
    payload = b"x" * 1024
    with traffic.span("load") as span:
        deadline = time.monotonic() + 20
        count = 0
        while time.monotonic() < deadline:
            futures = [c.create_async(f"{PARENT}-load-", payload, sequence=True, makepath=True)
                       for c in loaders for _unused in range(10)]
            for future in futures:
                future.get(timeout=10)
            count += len(futures)
    for client in loaders:
        client.stop()
        client.close()
    rate = count / (span.end - span.start)
    assert rate > 200, f"only {rate:.0f} writes/s"
    written = snapshots(ensemble, follower) - before
    assert written >= 2, f"{follower.name} wrote {written} snapshots under the load"
    assert traffic.elections(span) == 0, "the loaded ensemble elected"
    serving = [s.serving for s in traffic.samples if span.start <= s.at <= span.end]
    # A server stopped serving when two looks in a row (0.1 s apart, each waiting 0.5 s for
    # `srvr`) miss it; one look alone can time out on a server busy writing a snapshot.
    full = len(ensemble.members)
    stopped = [i for i in range(1, len(serving)) if max(serving[i - 1], serving[i]) < full]
    assert serving and not stopped, f"a server stopped serving: {serving}"
    FIGURES[f"under {rate:.0f} writes/s of 1 KiB (no election), the 20/s writer"] = (
        traffic.longest_gap(span))
