"""Tests of the recorder without a ZooKeeper: what each kazoo failure means for the history,
kazoo itself on a closed session and on one that cannot connect, the loop against an in-memory
znode, the JSON read back by the check, and a bounded stop when no server can be reached."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    ConnectionClosedError,
    ConnectionLoss,
    NodeExistsError,
    NoNodeError,
    OperationTimeoutError,
    SessionExpiredError,
    SessionMovedError,
)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KeeperState
from testkit.linearizable import Op, check, load
from testkit.zk_register import Outcome, Register, attempt, kazoo_client, main, outcome_of


@pytest.mark.parametrize(("exc", "unsent", "outcome"), [
    (BadVersionError(), False, "refused"),
    (NoNodeError(), False, "failed"),
    (ConnectionClosedError(), True, "failed"),
    (SessionExpiredError(), True, "failed"),
    (ConnectionClosedError(), False, "unknown"),
    (SessionExpiredError(), False, "unknown"),  # a queued request failed at reconnection
    (ConnectionLoss(), False, "unknown"),
    (ConnectionLoss(), True, "unknown"),
    (KazooTimeoutError(), False, "unknown"),
    (OperationTimeoutError(), False, "unknown"),
    (SessionMovedError(), False, "unknown"),
    (RuntimeError("anything else"), False, "unknown"),
])
def test_what_each_failure_means(exc: Exception, unsent: bool, outcome: str) -> None:
    assert outcome_of(exc, unsent) == outcome


def unused_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kazoo_refuses_at_once_on_a_closed_session_and_queues_while_connecting() -> None:
    closed = KazooClient(hosts="127.0.0.1:1")  # never started
    with pytest.raises(Outcome) as failure:
        attempt(lambda: closed.get_async("/x"), 1.0)
    assert failure.value.outcome == "failed"
    connecting = kazoo_client(f"127.0.0.1:{unused_port()}", 10.0)
    connecting.start_async()
    try:
        deadline = time.monotonic() + 5
        while connecting.client_state != KeeperState.CONNECTING and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not connecting.connected
        with pytest.raises(Outcome) as failure:  # queued: sent if it connects later
            attempt(lambda: connecting.set_async("/x", b"v", -1), 0.3)
        assert failure.value.outcome == "unknown"
    finally:
        connecting.stop()
        connecting.close()


class Answer:
    """An answer that is already there, like kazoo's AsyncResult."""

    def __init__(self, value: Any = None, exc: Exception | None = None) -> None:
        self.value, self.exc = value, exc

    def ready(self) -> bool:
        return True

    def get(self, timeout: float | None = None) -> Any:
        if self.exc is not None:
            raise self.exc
        return self.value


class MemoryZK:
    """One in-memory znode behind the calls Register makes; `lose` makes every `lose`-th set
    applied with its answer lost. Only for testing the recorder's bookkeeping."""

    def __init__(self, store: dict[str, list[Any]], lock: threading.Lock, lose: int = 0):
        self.store, self.lock, self.lose, self.sets = store, lock, lose, 0
        self.connected = True

    def start(self, timeout: float) -> None: ...
    def start_async(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...

    def create_async(self, path: str, value: bytes, makepath: bool = False) -> Answer:
        with self.lock:
            if path in self.store:
                return Answer(exc=NodeExistsError())
            self.store[path] = [value, 0]
            return Answer(path)

    def sync_async(self, path: str) -> Answer:
        return Answer(path)

    def get_async(self, path: str) -> Answer:
        with self.lock:
            data, version = self.store[path]
            return Answer((data, SimpleNamespace(version=version)))

    def set_async(self, path: str, value: bytes, version: int) -> Answer:
        with self.lock:
            if version not in (-1, self.store[path][1]):
                return Answer(exc=BadVersionError())
            self.store[path] = [value, self.store[path][1] + 1]
            self.sets += 1
            if self.lose and self.sets % self.lose == 0:
                return Answer(exc=ConnectionLoss())
            return Answer(SimpleNamespace(version=self.store[path][1]))


def test_the_loop_records_what_the_znode_answered(tmp_path: Path) -> None:
    store: dict[str, list[Any]] = {"/lin": [b"before", 7]}
    lock = threading.Lock()
    with Register(servers=["a:1", "b:2"], path="/lin", clients=3, duration=0.5, rate=200,
                  seed=3, connect=lambda hosts, _unused: MemoryZK(store, lock, lose=5)) as register:
        register.wait()
    history = register.history()
    assert (register.initial_value, register.initial_version) == ("before", 7)
    assert {op.server for op in history} == {"a:1", "b:2"}
    assert {op.client for op in history if op.server == "a:1"} == {"c1", "c3"}
    counts = register.counts()
    assert counts["cas"]["refused"] > 0 and counts["write"]["ok"] > 0
    assert counts["all"]["unknown"] > 0 and counts["read"]["ok"] > 10
    values = [op.value for op in history if op.kind != "read"]
    assert len(values) == len(set(values)) and values[0].startswith(register.run)
    for client in ("c1", "c2", "c3"):  # a CAS expects the version its client saw last
        seen = None
        for op in (o for o in history if o.client == client):
            if op.kind == "cas":
                assert seen is not None and op.expected == seen
            seen = op.version if op.outcome == "ok" else seen
    assert check(history, "before", 7) == []
    register.to_json(tmp_path / "h.json")
    assert load(tmp_path / "h.json") == (history, "before", 7)


def test_a_client_that_is_not_connected_sends_nothing() -> None:
    store: dict[str, list[Any]] = {"/lin": [b"", 0]}

    def connect(hosts: str, _unused: float) -> MemoryZK:
        zk = MemoryZK(store, threading.Lock())
        zk.connected = hosts != "down:1"
        return zk

    with Register(servers=["up:1", "down:1"], path="/lin", duration=0.3, rate=100,
                  connect=connect) as register:
        register.wait()
    down = [op for op in register.history() if op.server == "down:1"]
    # Failed at once, not after the 2 s request timeout (0.1 s leaves room for a busy machine).
    assert down and all(op.outcome == "failed" and op.end - op.start < 0.1 for op in down)
    assert all(op.outcome == "ok" for op in register.history() if op.server == "up:1")


def test_no_server_reachable_stops_in_time_and_the_history_checks(tmp_path: Path) -> None:
    servers = [f"127.0.0.1:{unused_port()}", f"127.0.0.1:{unused_port()}"]
    began = time.monotonic()
    with Register(servers=servers, clients=3, duration=2.0, rate=20, timeout=0.5,
                  setup_timeout=1.0) as register:
        register.wait()
    assert time.monotonic() - began < 1.0 + 2.0 + 4.0
    assert not register.initialized and not register.stuck
    history = register.history()
    assert len(history) > 30 and {op.outcome for op in history} <= {"failed", "unknown"}
    assert {op.client: op.server for op in history} == {
        "c1": servers[0], "c2": servers[1], "c3": servers[0]}
    assert check(history, register.initial_value, register.initial_version) == []
    register.to_json(tmp_path / "h.json")
    ops, initial, version = load(tmp_path / "h.json")
    assert ops == history and (initial, version) == ("", 0)


def test_exit_ends_the_clients_before_their_duration() -> None:
    servers = [f"127.0.0.1:{unused_port()}"]
    began = time.monotonic()
    with Register(servers=servers, duration=60.0, timeout=0.5, setup_timeout=0.5) as register:
        time.sleep(0.5)
    assert time.monotonic() - began < 5.0 and not register.stuck
    assert all(isinstance(op, Op) for op in register.history())


def test_no_servers() -> None:
    with pytest.raises(ValueError, match="no server"):
        Register(servers=[])
    with pytest.raises(ValueError, match="no operations"):
        Register(servers=["a:1"], rate=0)


def test_main_writes_the_history_and_says_when_nothing_was_sent(tmp_path: Path) -> None:
    out = tmp_path / "run" / "h.json"
    assert main(["--servers", f"127.0.0.1:{unused_port()}", "--duration", "0.5",
                 "--timeout", "0.5", "--setup-timeout", "0.5", "--out", str(out)]) == 1
    ops, initial, version = load(out)
    assert ops and {op.outcome for op in ops} == {"failed"} and (initial, version) == ("", 0)
