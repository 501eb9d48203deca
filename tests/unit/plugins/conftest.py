"""Fixtures shared by the tests of the modules that wait for a ZooKeeper server
(zookeeper_server, zookeeper_files' serve)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest


class Follower(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(4)
        self.request.sendall(b"Zookeeper version: 3.4.13\nMode: follower\nZxid: 0x100000002\n")


@pytest.fixture
def follower() -> Iterator[int]:
    """The port of a server on loopback that answers srvr as a follower."""
    srv = socketserver.TCPServer(("127.0.0.1", 0), Follower)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()
