"""Client behaviour through the ensemble, with kazoo (the seeds' own tests, automated)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from conftest import Ensemble
from zk_status import four_letter_word
from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout
from kazoo.protocol.states import EventType

WAIT = 10.0  # seconds any single event may take


@pytest.fixture
def base(ensemble: Ensemble, client_factory: Callable[..., KazooClient]) -> str:
    path = f"/verify/{uuid.uuid4().hex[:8]}"
    client_factory(ensemble.members).ensure_path(path)
    return path


def test_one_leader_and_the_rest_followers(ensemble: Ensemble) -> None:
    report = ensemble.wait_healthy()
    modes = sorted(s["mode"] for s in report["servers"])
    want = sorted(["leader"] + ["follower"] * (len(ensemble.members) - 1))
    assert modes == want, f"modes: {ensemble.describe(report)}"


def test_write_through_one_read_through_another(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient], base: str,
        acknowledged: dict[str, bytes]) -> None:
    first, second = ensemble.members[0], ensemble.members[-1]
    writer, reader = client_factory([first]), client_factory([second])
    path = f"{base}/replicated"
    writer.create(path, b"written via " + first.name.encode())
    acknowledged[path] = b"written via " + first.name.encode()
    reader.sync(path)
    value, _unused = reader.get(path)
    assert value == acknowledged[path], f"read {value!r} through {second.name}"


def test_ephemeral_node_vanishes_with_its_session_and_the_watch_fires(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient], base: str) -> None:
    owner = client_factory([ensemble.members[0]])
    watcher = client_factory([ensemble.members[1]])
    path = f"{base}/ephemeral"
    owner.create(path, b"alive", ephemeral=True)
    watcher.sync(path)
    deleted = threading.Event()
    events = []

    def on_change(event) -> None:
        events.append(event)
        if event.type == EventType.DELETED:
            deleted.set()

    assert watcher.exists(path, watch=on_change) is not None, "ephemeral node not visible"
    owner.stop()
    owner.close()
    assert deleted.wait(WAIT), f"no DELETED watch event within {WAIT} s (events: {events})"
    assert watcher.exists(path) is None


def test_sequential_children_in_creation_order(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient], base: str) -> None:
    clients = [client_factory([m]) for m in ensemble.members]
    created = []
    for i in range(9):
        client = clients[i % len(clients)]
        created.append(client.create(f"{base}/queue/item-", str(i).encode(),
                                     sequence=True, makepath=True))
    reader = clients[-1]
    reader.sync(f"{base}/queue")
    children = sorted(reader.get_children(f"{base}/queue"))
    assert [f"{base}/queue/{c}" for c in children] == created
    assert [reader.get(p)[0] for p in created] == [str(i).encode() for i in range(9)]


def test_lock_blocks_a_contender_on_another_server_until_released(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient], base: str) -> None:
    holder = client_factory([ensemble.members[0]])
    contender = client_factory([ensemble.members[1]])
    held = holder.Lock(f"{base}/lock", "holder")
    wanted = contender.Lock(f"{base}/lock", "contender")
    assert held.acquire(timeout=WAIT)
    with pytest.raises(LockTimeout):
        wanted.acquire(timeout=1.5)
    assert wanted.contenders() == ["holder"]
    got = threading.Event()
    thread = threading.Thread(target=lambda: wanted.acquire(timeout=WAIT) and got.set())
    thread.start()
    assert not got.wait(0.5), "the contender got the lock while it was held"
    held.release()
    thread.join(WAIT + 1)
    assert got.is_set(), "the contender did not get the lock after it was released"
    wanted.release()


def test_children_watch_fires_on_a_new_child(
        ensemble: Ensemble, client_factory: Callable[..., KazooClient], base: str) -> None:
    watcher = client_factory([ensemble.members[-1]])
    writer = client_factory([ensemble.members[0]])
    path = f"{base}/members"
    watcher.ensure_path(path)
    seen: list[list[str]] = []
    fired = threading.Event()

    @watcher.ChildrenWatch(path)
    def on_children(children: list[str]) -> None:
        seen.append(sorted(children))
        if "worker-1" in children:
            fired.set()

    writer.create(f"{path}/worker-1", b"")
    assert fired.wait(WAIT), f"children watch did not report worker-1 (saw {seen})"
    assert seen[0] == [] and seen[-1] == ["worker-1"]


def test_four_letter_words_outside_the_whitelist_are_refused(ensemble: Ensemble) -> None:
    member = ensemble.members[0]
    allowed = ensemble.hostvars[member.name].get("zookeeper_4lw_whitelist",
                                                 ["srvr", "mntr", "ruok"])
    assert "Mode: " in four_letter_word(member.address, member.port, "srvr", 2.0)
    refused = [w for w in ("stat", "dump", "envi", "cons", "wchc", "conf") if w not in allowed]
    assert refused
    for word in refused:
        answer = four_letter_word(member.address, member.port, word, 2.0)
        assert f"{word} is not executed because it is not in the whitelist" in answer, (
            f"{member.name} answered {word!r} outside its whitelist: {answer[:200]!r}")
