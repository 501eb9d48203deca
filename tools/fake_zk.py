"""A fake ZooKeeper for unit tests: canned four-letter-word replies on a loopback port.

tools/test_zk_status.py and tests/unit/plugins/test_metrics.py build their fixtures on it.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator


class _FourLetterHandler(socketserver.BaseRequestHandler):
    """Read a four-letter word, answer the canned reply, close (after a TLS handshake on a
    TLS server; a failed one closes the connection, as ZooKeeper's TLS port does)."""

    def handle(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                return
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

    def __init__(self, replies: dict[str, str], tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _FourLetterHandler)
        self.replies = replies
        self.tls = tls

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:  # the handshake in the handler's thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    @classmethod
    def start(cls, replies: dict[str, str], tls: ssl.SSLContext | None = None) -> FakeZk:
        """A running server (stop it with shutdown() and server_close()); with `tls`, it
        speaks TLS (a server context: its certificate, and whom it asks for one)."""
        server = cls(replies, tls)
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


def tls_server_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    """A TLS port like ZooKeeper's with ssl.clientAuth=need: its certificate, and a client
    certificate signed by the CA required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def closed_port() -> Iterator[int]:
    """For a fixture: a 127.0.0.1 port that is bound but not listening (connect is refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()
