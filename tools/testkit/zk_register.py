"""Clients reading, writing and compare-and-setting one znode, each through one server, with
every operation recorded for the linearizability check (tools/testkit/linearizable.py).

Each client has its own kazoo session whose connection string is one server's `host:port`
only, so that its reads are served there; it loops, `rate` times a second, over a random
operation: a read (`sync` then `get`), a blind write (`set`, version -1, of a value no other
operation writes: run-client-n) or a CAS (`set` expecting the version this client last saw).
Every operation is recorded with its interval on the monotonic clock (seconds since the
recorder started) and its outcome:

- `ok`, with the version read or made (and the value read);
- `refused`: the server answered BadVersion;
- `failed`: surely not applied. The request was never sent (the client was not connected, or
  kazoo refused it on the spot for a closed or expired session: the answer was there when the
  call returned), or the server answered that it was not applied (NoNode, NoAuth...);
- `unknown`: anything else, a timeout or a lost connection after sending above all: kazoo
  keeps a request queued while it reconnects, and sends it later, so even a request that timed
  out unsent may take effect after it was given up.

Each request waits `timeout` seconds at most, so a partitioned server never holds a thread;
the session reconnects by itself (connection retries for ever, small delays) and requests are
never retried (each operation is tried once). Clients stop when the `with` block ends, after
`duration` seconds or after `max_ops` operations, whichever comes first. It only ever connects
to the servers it is given, and a server that cannot be reached at the start only makes its
client record failed operations while it keeps trying to connect.

No unit test talks to a ZooKeeper (`make unit` has none); by hand, against one:

    PYTHONPATH=tools .venv/bin/python -m testkit.zk_register \\
        --servers 10.213.11.11:2181,10.213.11.12:2181 --duration 30 --out results/register.json
    .venv/bin/python tools/testkit/linearizable.py results/register.json

or from Python, with a fault in the middle:

    with Register(servers=["10.213.11.11:2181", "10.213.11.12:2181"], duration=60) as reg:
        ...  # stop a server, partition one, restart the leader
    reg.to_json(Path("results/register.json"))
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    BadArgumentsError,
    BadVersionError,
    InvalidACLError,
    NoAuthError,
    NodeExistsError,
    NoNodeError,
    NotReadOnlyCallError,
    SessionExpiredError,
)
from testkit.linearizable import Op

# Answers from the server that say the request was not applied.
NOT_APPLIED = (NoNodeError, NoAuthError, BadArgumentsError, InvalidACLError, NotReadOnlyCallError)
# What kazoo's client sets on a request it does not queue, for a closed session
# (ConnectionClosedError is a SessionExpiredError), an expired one or a failed login. The same
# exceptions also come later for requests that were queued or sent: only an answer already
# there when the call returned means "not sent".
REFUSED_UNSENT = (SessionExpiredError, AuthFailedError)
WEIGHTS = {"read": 2, "write": 1, "cas": 1}
JOIN_GRACE = 5.0  # seconds __exit__ waits for the clients, beyond one operation (two requests)
KAZOO_LOG = logging.getLogger("zk_register.kazoo")
KAZOO_LOG.setLevel(logging.ERROR)  # connection failures are what the history records


def outcome_of(exc: BaseException, unsent: bool = False) -> str:
    """The outcome of a request that raised `exc`; `unsent`: its answer was there when the
    `*_async` call returned (kazoo refused to queue it)."""
    if isinstance(exc, BadVersionError):
        return "refused"
    if isinstance(exc, NOT_APPLIED) or (unsent and isinstance(exc, REFUSED_UNSENT)):
        return "failed"
    return "unknown"


class Outcome(Exception):
    """A request that did not succeed, and what that means for the history."""

    def __init__(self, outcome: str, cause: BaseException) -> None:
        super().__init__(f"{outcome}: {cause!r}")
        self.outcome = outcome


def attempt(start: Callable[[], Any], timeout: float) -> Any:
    """Start one asynchronous request and wait `timeout` seconds at most for its answer; raise
    Outcome when there is none."""
    result = start()
    unsent = result.ready()
    try:
        return result.get(timeout=timeout)
    except Exception as exc:  # every failure is recorded, none stops the client
        raise Outcome(outcome_of(exc, unsent), exc) from exc


def kazoo_client(hosts: str, session_timeout: float) -> KazooClient:
    """A session that reconnects for ever (quickly) and tries each request once."""
    return KazooClient(hosts=hosts, timeout=session_timeout, logger=KAZOO_LOG,
                       connection_retry={"max_tries": -1, "delay": 0.1, "backoff": 1.5,
                                         "max_delay": 0.5},
                       command_retry=None)


@dataclass
class _Client:
    name: str
    server: str
    zk: Any
    rng: random.Random
    seen: int | None = None  # the version this client last read or made
    writes: int = 0
    ops: int = 0


@dataclass
class Register:
    """Clients on one znode, recording a history; use as a context manager."""

    servers: Sequence[str]
    path: str = "/linearizable"
    duration: float = 30.0
    clients: int = 0  # 0: one per server; client i uses servers[i % len(servers)]
    rate: float = 20.0  # operations a second, per client
    max_ops: int = 10_000  # per client
    timeout: float = 2.0  # per request
    initial_value: str = ""  # for the znode, when it has to be created
    seed: int | None = None
    session_timeout: float = 10.0
    setup_timeout: float = 5.0
    connect: Callable[[str, float], Any] = kazoo_client
    initial_version: int = field(default=0, init=False)
    initialized: bool = field(default=False, init=False)  # a server answered at the start
    stuck: list[str] = field(default_factory=list, init=False)  # still running after __exit__

    def __post_init__(self) -> None:
        if not self.servers or self.rate <= 0:
            raise ValueError("no server to connect to, or no operations to make")
        self.run = secrets.token_hex(3)
        self.started = time.monotonic()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ops: list[Op] = []
        rng = random.Random(self.seed)
        count = self.clients or len(self.servers)
        self._clients = [_Client(f"c{i + 1}", self.servers[i % len(self.servers)], None,
                                 random.Random(rng.random())) for i in range(count)]
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Register:
        self._setup()
        self.started = time.monotonic()
        for client in self._clients:
            client.zk = self.connect(client.server, self.session_timeout)
            client.zk.start_async()
            thread = threading.Thread(target=self._loop, args=(client,), daemon=True,
                                      name=f"zk_register-{client.name}")
            self._threads.append(thread)
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        deadline = time.monotonic() + 2 * self.timeout + JOIN_GRACE
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.stuck = [t.name for t in self._threads if t.is_alive()]

    def wait(self) -> None:
        """Until every client has stopped by itself (duration or max_ops; then its session is
        closed, which may take kazoo's connect timeout on a server that drops packets)."""
        for thread in self._threads:
            thread.join()

    def _setup(self) -> None:
        """Create the znode if missing, and remember its value and version as the initial
        state, through any server that answers within setup_timeout; when none does, the
        clients send nothing (without the initial state, no history can be checked) and record
        every operation as failed."""
        zk = self.connect(",".join(self.servers), self.session_timeout)
        try:
            zk.start(timeout=self.setup_timeout)
            try:
                attempt(lambda: zk.create_async(self.path, self.initial_value.encode(),
                                                makepath=True), self.timeout)
            except Outcome as outcome:
                if not isinstance(outcome.__cause__, NodeExistsError):
                    raise
            attempt(lambda: zk.sync_async(self.path), self.timeout)
            data, stat = attempt(lambda: zk.get_async(self.path), self.timeout)
            self.initial_value = data.decode(errors="backslashreplace")
            self.initial_version, self.initialized = stat.version, True
        except Exception:  # no server answered: recorded, not raised (see the docstring)
            self.initialized = False
        finally:
            try:
                zk.stop()
                zk.close()
            except Exception:  # a session that never started has nothing to close
                pass

    def _loop(self, client: _Client) -> None:
        deadline = self.started + self.duration
        period = 1.0 / self.rate
        try:
            while (not self._done.is_set() and time.monotonic() < deadline
                   and client.ops < self.max_ops):
                began = time.monotonic()
                self._operate(client)
                self._done.wait(max(0.0, period - (time.monotonic() - began)))
        finally:
            try:
                client.zk.stop()
                client.zk.close()
            except Exception:  # stopping is best effort; the history is what matters
                pass

    def _now(self) -> float:
        return round(time.monotonic() - self.started, 6)

    def _operate(self, client: _Client) -> None:
        """One operation, recorded."""
        kinds = list(WEIGHTS)
        kind = client.rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        if kind == "cas" and client.seen is None:
            kind = "read"
        value = expected = None
        if kind != "read":
            value = f"{self.run}-{client.name}-{client.writes}"
            client.writes += 1
        if kind == "cas":
            expected = client.seen
        client.ops += 1
        zk, start = client.zk, self._now()
        outcome, version, seen_value = "ok", None, None
        try:
            if not (zk.connected and self.initialized):  # kazoo would queue it until it
                raise Outcome("failed", ConnectionError("not connected"))  # connects: unsent
            if kind == "read":
                attempt(lambda: zk.sync_async(self.path), self.timeout)
                data, stat = attempt(lambda: zk.get_async(self.path), self.timeout)
                seen_value = data.decode(errors="backslashreplace")
            else:
                new = -1 if expected is None else expected
                stat = attempt(lambda: zk.set_async(self.path, value.encode(), new),
                               self.timeout)
            version = client.seen = stat.version
        except Outcome as failure:
            outcome = failure.outcome
        op = Op(next(self._ids), client.name, kind, start, self._now(), outcome,
                seen_value if kind == "read" else value, version, expected, client.server)
        with self._lock:
            self._ops.append(op)

    # ------------------------------------------------------------------ reading

    def history(self) -> list[Op]:
        """Every operation so far, by start."""
        with self._lock:
            return sorted(self._ops, key=lambda op: (op.start, op.id))

    def counts(self) -> dict[str, dict[str, int]]:
        """Outcomes per kind, and in all."""
        history = self.history()
        counts = {kind: dict(Counter(op.outcome for op in history if op.kind == kind))
                  for kind in WEIGHTS}
        counts["all"] = dict(Counter(op.outcome for op in history))
        return counts

    def to_json(self, path: Path) -> None:
        """The history as tools/testkit/linearizable.py reads it (`load`)."""
        data = {
            "path": self.path,
            "initial_value": self.initial_value,
            "initial_version": self.initial_version,
            "initialized": self.initialized,
            "duration": self.duration,
            "rate": self.rate,
            "timeout": self.timeout,
            "clients": {client.name: client.server for client in self._clients},
            "counts": self.counts(),
            "ops": [{k: v for k, v in asdict(op).items() if v is not None and k != "server"}
                    for op in self.history()],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", required=True, help="host:port,host:port,...")
    parser.add_argument("--path", default="/linearizable")
    parser.add_argument("--clients", type=int, default=0, help="default: one per server")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="per client, per second")
    parser.add_argument("--timeout", type=float, default=2.0, help="per request")
    parser.add_argument("--setup-timeout", type=float, default=5.0, help="to reach any server")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--out", type=Path, required=True, help="the history (JSON)")
    args = parser.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    with Register(servers=servers, path=args.path, clients=args.clients, seed=args.seed,
                  duration=args.duration, rate=args.rate, timeout=args.timeout,
                  setup_timeout=args.setup_timeout) as register:
        register.wait()
    register.to_json(args.out)
    print(json.dumps({"initialized": register.initialized,
                      "initial_version": register.initial_version,
                      "counts": register.counts(), "stuck": register.stuck}, indent=1))
    if not register.initialized:
        print("no server answered at the start: nothing was sent", file=sys.stderr)
    return 0 if register.initialized else 1


if __name__ == "__main__":
    sys.exit(main())
