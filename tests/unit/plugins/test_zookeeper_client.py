"""Unit tests of plugins/module_utils/zookeeper_client.py, the collection's standard-library
ZooKeeper client, without a ZooKeeper: its jute frames byte for byte against frames captured
from ZooKeeper 3.8.0 on loopback (docs/research-reconfig-3.8.md), the parsing of the replies
captured there, the dynamic configuration's parsing, and the client against a fake server on
loopback."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from pathlib import Path

import pytest
from plugins import MODULE_UTILS, module_util

zc = module_util("zookeeper_client")

# Captured on ZooKeeper 3.8.0 (servers 1-3 on 127.0.0.1:22181-22183, super password
# lab-super-secret). Requests as sent, replies without their 4-byte length.
CONNECT_REQUEST = ("0000002d00000000000000000000000000007530000000000000000000000010"
                   "0000000000000000000000000000000000")
CONNECT_REPLY = ("000000000000753001000047065c000100000010f9a6e08f1b24f05629bd76e2"
                 "909108fc00")
GET_CONFIG_REQUEST = "0000001e0000000100000004000000112f7a6f6f6b65657065722f636f6e66696700"
CONFIG_3 = ("server.1=127.0.0.1:22881:23881:participant;127.0.0.1:22181\n"
            "server.2=127.0.0.1:22882:23882:participant;127.0.0.1:22182\n"
            "server.3=127.0.0.1:22883:23883:participant;127.0.0.1:22183\n"
            "version=100000000")
GET_CONFIG_REPLY = ("00000001000000010000000700000000000000c2" + CONFIG_3.encode().hex()
                    + "000000000000000000000001000000000000000000000000000001a233bfb364"
                      "ffffffff00000000ffffffff0000000000000000000000c2000000000000000000"
                      "000000")
AUTH_REQUEST = ("00000030fffffffc0000006400000000000000066469676573740000001673757065"
                "723a6c61622d73757065722d736563726574")
AUTH_REPLY = "fffffffc000000000000000000000000"
SPEC_5 = "server.5=127.0.0.1:22885:23885:participant;127.0.0.1:22185"
RECONFIG_ADD_5_REQUEST = ("0000005600000001000000100000003a" + SPEC_5.encode().hex()
                          + "ffffffffffffffffffffffffffffffff")
RECONFIG_NO_AUTH_REPLY = "0000000100000002000001c9ffffff9a"
CONFIG_125 = ("server.1=127.0.0.1:22881:23881:participant;127.0.0.1:22181\n"
              "server.2=127.0.0.1:22882:23882:participant;127.0.0.1:22182\n"
              "server.5=127.0.0.1:22885:23885:participant;127.0.0.1:22185\n"
              "version=2000001cc")
RECONFIG_REPLY = ("0000000100000002000001cc00000000000000c2" + CONFIG_125.encode().hex()
                  + "000000000000000000000002000001cc0000000000000000000001a233c3d2b4"
                    "ffffffff00000000ffffffff0000000000000000000000c2000000000000000000"
                    "000000")
CLOSE_REQUEST = "0000000800000003fffffff5"
CLOSE_REPLY = "00000003000000010000000800000000"


# --------------------------------------------------------------------------
# Frames, byte for byte
# --------------------------------------------------------------------------


def test_the_connect_request_is_the_one_zookeeper_answered() -> None:
    assert zc.connect_request(30000).hex() == CONNECT_REQUEST


def test_a_digest_auth_packet_has_the_xid_minus_4_and_the_type_100() -> None:
    frame = zc.auth_request("digest", b"super:lab-super-secret")
    assert frame.hex() == AUTH_REQUEST
    assert struct.unpack(">iii", frame[:12]) == (len(frame) - 4, -4, 100)


def test_get_data_of_the_config_node() -> None:
    assert zc.get_data_request(1, "/zookeeper/config").hex() == GET_CONFIG_REQUEST


def test_reconfig_add_with_null_leaving_and_members_and_no_version() -> None:
    assert zc.reconfig_request(1, joining=[SPEC_5]).hex() == RECONFIG_ADD_5_REQUEST


def test_reconfig_remove_from_a_config_version() -> None:
    # length 29 | xid 7 | type 16 | joining null | leaving "3" | newMembers null | 0x10000009c
    expected = "".join(["0000001d", "00000007", "00000010", "ffffffff", "00000001", "33",
                        "ffffffff", "000000010000009c"])
    assert zc.reconfig_request(7, leaving=[3], from_config=0x10000009C).hex() == expected


def test_several_servers_are_joined_by_commas() -> None:
    record = zc.reconfig_record(leaving=["4", "5"])
    assert record == (b"\xff\xff\xff\xff" + b"\x00\x00\x00\x034,5" + b"\xff\xff\xff\xff"
                      + b"\xff" * 8)


def test_sync_ping_and_close() -> None:
    assert zc.sync_request(2, "/zookeeper/config").hex() == (
        "0000001d0000000200000009000000112f7a6f6f6b65657065722f636f6e666967")
    assert zc.ping_request().hex() == "00000008fffffffe0000000b"
    assert zc.close_request(3).hex() == CLOSE_REQUEST


def test_null_and_empty_buffers_and_strings() -> None:
    assert zc.pack_buffer(None) == b"\xff\xff\xff\xff"
    assert zc.pack_string(None) == b"\xff\xff\xff\xff"
    assert zc.pack_buffer(b"") == b"\x00\x00\x00\x00"
    assert zc.pack_string("é") == b"\x00\x00\x00\x02\xc3\xa9"
    assert zc.pack_bool(True) + zc.pack_bool(False) == b"\x01\x00"
    assert zc.pack_long(-1) == b"\xff" * 8


# --------------------------------------------------------------------------
# Replies captured from ZooKeeper 3.8.0
# --------------------------------------------------------------------------


def test_the_connect_response() -> None:
    answer = zc.parse_connect_response(bytes.fromhex(CONNECT_REPLY))
    assert answer["protocol_version"] == 0
    assert answer["timeout"] == 30000
    assert answer["session_id"] == 0x01000047065C0001
    assert len(answer["password"]) == 16
    assert answer["read_only"] is False


def test_the_get_data_reply_of_the_config_node() -> None:
    xid, zxid, err, reader = zc.parse_reply_header(bytes.fromhex(GET_CONFIG_REPLY))
    assert (xid, zxid, err) == (1, 0x100000007, 0)
    data, stat = zc.parse_get_data_response(reader)
    assert data.decode() == CONFIG_3
    assert stat["mzxid"] == 0x100000000
    assert stat["version"] == -1  # reconfig sets it to -1: the version is the text's
    assert stat["data_length"] == len(CONFIG_3) == 194
    assert reader.remaining() == 0


def test_the_reply_to_a_reconfig_is_the_new_config() -> None:
    xid, zxid, err, reader = zc.parse_reply_header(bytes.fromhex(RECONFIG_REPLY))
    assert (xid, err) == (1, 0)
    data, stat = zc.parse_get_data_response(reader)
    config = zc.parse_config(data.decode())
    assert sorted(config["members"]) == [1, 2, 5]
    assert config["version"] == stat["mzxid"] == zxid == 0x2000001CC


def test_error_replies_have_no_record() -> None:
    assert zc.parse_reply_header(bytes.fromhex(RECONFIG_NO_AUTH_REPLY))[:3] == (
        1, 0x2000001C9, zc.NO_AUTH)
    assert zc.parse_reply_header(bytes.fromhex(AUTH_REPLY))[:3] == (-4, 0, 0)
    assert zc.parse_reply_header(bytes.fromhex(CLOSE_REPLY))[:3] == (3, 0x100000008, 0)


def test_a_truncated_record_is_refused() -> None:
    reader = zc.Reader(bytes.fromhex("0000000a4142"))
    with pytest.raises(ValueError, match="truncated"):
        reader.read_buffer()


def test_an_error_names_its_code() -> None:
    err = zc.ZooKeeperError(-13, "reconfig")
    assert (err.code, err.name) == (-13, "NewConfigNoQuorum")
    assert str(err) == "reconfig: NewConfigNoQuorum (-13)"
    assert zc.ZooKeeperError(-999, "x").name == "error -999"


# --------------------------------------------------------------------------
# The dynamic configuration
# --------------------------------------------------------------------------


def test_parse_config() -> None:
    config = zc.parse_config(CONFIG_3 + "\n# comment\n\ngroup.1=1:2:3\n")
    assert config["members"] == {
        1: "127.0.0.1:22881:23881:participant;127.0.0.1:22181",
        2: "127.0.0.1:22882:23882:participant;127.0.0.1:22182",
        3: "127.0.0.1:22883:23883:participant;127.0.0.1:22183"}
    assert (config["version"], config["version_hex"]) == (0x100000000, "100000000")
    assert config["other"] == {"group.1": "1:2:3"}
    assert zc.parse_config("server.1=a:1:2;3\n")["version"] is None


def test_server_lines_take_both_forms() -> None:
    assert zc.parse_server_line("server.12 = h:1:2;3") == (12, "h:1:2;3")
    assert zc.parse_server_line("4=h:1:2;3") == (4, "h:1:2;3")
    for bad in ("server.x=h:1:2", "h:1:2;3", "srv.1=h:1:2"):
        with pytest.raises(ValueError):
            zc.parse_server_line(bad)


def test_server_specs_with_zookeepers_defaults() -> None:
    assert zc.parse_server_spec("10.0.0.4:2888:3888;2181") == {
        "host": "10.0.0.4", "quorum_port": 2888, "election_port": 3888, "role": "participant",
        "client_host": "0.0.0.0", "client_port": 2181}
    assert zc.parse_server_spec("zk4:2888:3888:observer")["client_port"] is None
    v6 = zc.parse_server_spec("[::1]:2888:3888:participant;[::1]:2181")
    assert (v6["host"], v6["client_host"], v6["client_port"]) == ("[::1]", "[::1]", 2181)
    assert zc.format_server_spec(zc.parse_server_spec("h:1:2;3")) == "h:1:2:participant;0.0.0.0:3"
    for bad in ("h:1", "h:1:2:voter;3", "h:1:2;port"):
        with pytest.raises(ValueError):
            zc.parse_server_spec(bad)


def test_same_server_fills_in_the_defaults() -> None:
    assert zc.same_server("h:1:2;3", "h:1:2:participant;0.0.0.0:3")
    assert not zc.same_server("h:1:2;3", "h:1:2:observer;3")
    assert not zc.same_server("h:1:2;3", "h:1:2;127.0.0.1:3")
    assert not zc.same_server("h:1:2;3", "h:1:5;3")


def test_super_digest_is_the_one_the_lab_servers_accepted() -> None:
    assert zc.super_digest("super", "lab-super-secret") == "super:2+vVuCXKy7xyuBp3H5IdLivmf0o="


# --------------------------------------------------------------------------
# The client against a fake server
# --------------------------------------------------------------------------


def reply(xid: int, zxid: int, err: int, record: bytes = b"") -> bytes:
    return zc.frame(struct.pack(">iqi", xid, zxid, err) + record)


class FakeZooKeeper:
    """Just enough of a ZooKeeper 3.5+ server on loopback for the client: sessions, digest
    authentication (``super_credential`` makes the super user), sync, getData of
    /zookeeper/config, incremental reconfig (``errors``: codes answered first, one per
    reconfig), ping and closeSession. ``serve=False``: closes each connection before the
    ConnectResponse, as a server without a quorum does. ``received``: (op, record) of every
    request after the ConnectRequest."""

    def __init__(self, members: dict[int, str], version: int, errors: tuple = (),
                 serve: bool = True, super_credential: bytes = b"super:secret",
                 watch_event_first: bool = False) -> None:
        self.members = dict(members)
        self.version = version
        self.zxid = version + 5
        self.errors = list(errors)
        self.serve = serve
        self.super_credential = super_credential
        self.watch_event_first = watch_event_first
        self.received: list[tuple[int, bytes]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake.session(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def text(self) -> str:
        lines = [f"server.{sid}={spec}" for sid, spec in sorted(self.members.items())]
        return "\n".join([*lines, f"version={self.version:x}"])

    def config_record(self) -> bytes:
        data = self.text().encode()
        stat = struct.pack(">qqqqiiiqiiq", 0, self.version, 0, 0, -1, 0, -1, 0, len(data), 0, 0)
        return zc.pack_buffer(data) + stat

    @staticmethod
    def read_frame(sock: socket.socket) -> bytes | None:
        head = sock.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return None
        size = struct.unpack(">i", head)[0]
        return sock.recv(size, socket.MSG_WAITALL)

    def session(self, sock: socket.socket) -> None:
        if self.read_frame(sock) is None or not self.serve:
            return
        sock.sendall(zc.frame(struct.pack(">iiq", 0, 30000, 0x42) + zc.pack_buffer(b"\0" * 16)
                              + b"\0"))
        is_super = False
        while True:
            payload = self.read_frame(sock)
            if payload is None:
                return
            xid, op = struct.unpack(">ii", payload[:8])
            record = zc.Reader(payload, 8)
            with self.lock:
                self.received.append((op, payload[8:]))
                if self.watch_event_first:
                    self.watch_event_first = False
                    sock.sendall(reply(-1, -1, 0, struct.pack(">ii", 3, 3)
                                       + zc.pack_string("/zookeeper/config")))
                if op == zc.OP_AUTH:
                    record.read_int()
                    scheme, credential = record.read_string(), record.read_buffer()
                    if scheme != "digest":
                        sock.sendall(reply(xid, 0, zc.AUTH_FAILED))
                        return
                    is_super = credential == self.super_credential
                    sock.sendall(reply(xid, 0, 0))
                elif op == zc.OP_SYNC:
                    sock.sendall(reply(xid, self.zxid, 0, zc.pack_string(record.read_string())))
                elif op == zc.OP_GET_DATA:
                    sock.sendall(reply(xid, self.zxid, 0, self.config_record()))
                elif op == zc.OP_RECONFIG:
                    self.reconfig(sock, xid, record, is_super)
                elif op == zc.OP_PING:
                    sock.sendall(reply(xid, self.zxid, 0))
                elif op == zc.OP_CLOSE_SESSION:
                    sock.sendall(reply(xid, self.zxid, 0))
                    return
                else:
                    sock.sendall(reply(xid, self.zxid, zc.UNIMPLEMENTED))

    def reconfig(self, sock: socket.socket, xid: int, record, is_super: bool) -> None:
        joining, leaving = record.read_string(), record.read_string()
        record.read_string()
        from_config = record.read_long()
        self.zxid += 1
        if self.errors:
            sock.sendall(reply(xid, self.zxid, self.errors.pop(0)))
            return
        if not is_super:
            sock.sendall(reply(xid, self.zxid, zc.NO_AUTH))
            return
        if from_config not in (-1, self.version):
            sock.sendall(reply(xid, self.zxid, zc.BAD_VERSION))
            return
        for sid in (leaving or "").split(","):
            if sid:
                self.members.pop(int(sid), None)
        for line in (joining or "").split(","):
            if line:
                sid, spec = zc.parse_server_line(line)
                self.members[sid] = zc.format_server_spec(zc.parse_server_spec(spec))
        self.version = self.zxid
        sock.sendall(reply(xid, self.zxid, 0, self.config_record()))


MEMBERS = {1: "127.0.0.1:22881:23881:participant;127.0.0.1:22181",
           2: "127.0.0.1:22882:23882:participant;127.0.0.1:22182",
           3: "127.0.0.1:22883:23883:participant;127.0.0.1:22183"}


@pytest.fixture
def fake():
    server = FakeZooKeeper(MEMBERS, 0x100000000)
    yield server
    server.close()


def test_the_client_reads_the_config_after_a_sync(fake: FakeZooKeeper) -> None:
    with zc.ZooKeeperClient("127.0.0.1", fake.port, timeout=5) as client:
        assert client.session_id == 0x42 and client.negotiated_timeout == 30000
        text, stat = client.get_config()
    assert zc.parse_config(text)["members"] == MEMBERS
    assert stat["mzxid"] == 0x100000000
    assert [op for op, _record in fake.received] == [zc.OP_SYNC, zc.OP_GET_DATA,
                                                     zc.OP_CLOSE_SESSION]


def test_the_client_reconfigures_as_super(fake: FakeZooKeeper) -> None:
    spec4 = "server.4=127.0.0.1:22884:23884;22184"
    with zc.ZooKeeperClient("127.0.0.1", fake.port, timeout=5) as client:
        client.add_auth("digest", b"super:secret")
        text, stat = client.reconfig(joining=[spec4], from_config=0x100000000)
    config = zc.parse_config(text)
    assert config["members"][4] == "127.0.0.1:22884:23884:participant;0.0.0.0:22184"
    assert config["version"] == stat["mzxid"] > 0x100000000
    auth = next(record for op, record in fake.received if op == zc.OP_AUTH)
    assert auth == bytes.fromhex("00000000000000066469676573740000000c") + b"super:secret"


def test_a_wrong_password_is_refused_at_the_reconfig_not_at_the_auth(fake) -> None:
    with zc.ZooKeeperClient("127.0.0.1", fake.port, timeout=5) as client:
        client.add_auth("digest", b"super:wrong")
        with pytest.raises(zc.ZooKeeperError) as caught:
            client.reconfig(leaving=[3])
    assert caught.value.code == zc.NO_AUTH and caught.value.name == "NoAuth"
    assert sorted(fake.members) == [1, 2, 3]


def test_an_unknown_scheme_fails_the_auth_and_ends_the_session(fake) -> None:
    client = zc.ZooKeeperClient("127.0.0.1", fake.port, timeout=5).connect()
    with pytest.raises(zc.ZooKeeperError) as caught:
        client.add_auth("nosuch", b"x")
    assert caught.value.code == zc.AUTH_FAILED
    assert client.sock is None


def test_watch_events_and_pings_between_replies_are_skipped() -> None:
    server = FakeZooKeeper(MEMBERS, 0x100000000, watch_event_first=True)
    try:
        with zc.ZooKeeperClient("127.0.0.1", server.port, timeout=5) as client:
            client.ping()
            assert zc.parse_config(client.get_config()[0])["members"] == MEMBERS
    finally:
        server.close()


def test_a_server_that_does_not_serve_gives_no_session() -> None:
    server = FakeZooKeeper(MEMBERS, 1, serve=False)
    try:
        with pytest.raises(zc.ConnectionLost, match="does not serve"):
            zc.ZooKeeperClient("127.0.0.1", server.port, timeout=5).connect()
    finally:
        server.close()


def test_a_refused_connection_is_a_lost_one() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(zc.ConnectionLost, match="cannot connect"):
        zc.ZooKeeperClient("127.0.0.1", port, timeout=2).connect()


def test_the_client_runs_from_the_checkout() -> None:
    assert Path(zc.__file__).resolve() == MODULE_UTILS / "zookeeper_client.py"
