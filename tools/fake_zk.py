"""A fake ZooKeeper for unit tests: canned four-letter-word replies on a loopback port.

tools/test_zk_status.py and roles/zookeeper/tests/test_metrics.py build their fixtures on it.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator


class _FourLetterHandler(socketserver.BaseRequestHandler):
    """Read a four-letter word, answer the canned reply, close."""

    def handle(self) -> None:
        word = b""
        while len(word) < 4:
            chunk = self.request.recv(4 - len(word))
            if not chunk:
                return
            word += chunk
        reply = self.server.replies.get(word.decode("ascii"), "")  # type: ignore[attr-defined]
        self.request.sendall(reply.encode("utf-8"))


class FakeZk(socketserver.ThreadingTCPServer):
    """A server on 127.0.0.1 answering each word with `replies[word]` ('' if none)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, replies: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _FourLetterHandler)
        self.replies = replies

    @classmethod
    def start(cls, replies: dict[str, str]) -> FakeZk:
        """A running server (stop it with shutdown() and server_close())."""
        server = cls(replies)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server

    @property
    def port(self) -> int:
        return self.server_address[1]


def fake_servers() -> Iterator[Callable[[dict[str, str]], int]]:
    """For a fixture: a factory that starts a FakeZk and returns its port; all are stopped
    when the fixture ends."""
    servers: list[FakeZk] = []

    def start(replies: dict[str, str]) -> int:
        servers.append(FakeZk.start(replies))
        return servers[-1].port

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> Iterator[int]:
    """For a fixture: a 127.0.0.1 port that is bound but not listening (connect is refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()
