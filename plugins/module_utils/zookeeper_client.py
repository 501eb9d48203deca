"""A small ZooKeeper client for the zookeeper role's modules on the hosts, which have no kazoo:
one session on one server's client port, the ``digest`` authentication, ``sync``, ``getData``
and ``reconfig`` (ZooKeeper 3.5 and later), plus the parsing of the dynamic configuration that
``/zookeeper/config`` holds.

The wire format is ZooKeeper's jute (``zookeeper.jute``): every packet is a frame, a 4-byte
big-endian length and that many bytes; integers are big-endian (``int`` 4 bytes, ``long`` 8,
``boolean`` 1); a ``buffer`` or ``ustring`` is an ``int`` length and the bytes (UTF-8 for a
string), -1 for null. A session starts with a ConnectRequest answered by a ConnectResponse
(both without a header); then each request is a RequestHeader (xid, type) and its record, each
reply a ReplyHeader (xid, zxid, err) and, when err is 0, its record. Authentication is an
AuthPacket with the xid -4 and the type 100.

It runs on the hosts' Python, 3.6 and later (EL 8's platform-python): standard library only,
no ``from __future__ import annotations``; ``make lint`` checks the floor with vermin.
"""

import base64
import hashlib
import re
import socket
import struct
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

# --------------------------------------------------------------------------
# Protocol constants (org.apache.zookeeper.ZooDefs.OpCode, KeeperException.Code)
# --------------------------------------------------------------------------

OP_GET_DATA = 4
OP_SYNC = 9
OP_PING = 11
OP_RECONFIG = 16
OP_AUTH = 100
OP_CLOSE_SESSION = -11

XID_WATCH_EVENT = -1
XID_PING = -2
XID_AUTH = -4

CONFIG_NODE = "/zookeeper/config"

OK = 0
SYSTEM_ERROR = -1
CONNECTION_LOSS = -4
UNIMPLEMENTED = -6
OPERATION_TIMEOUT = -7
BAD_ARGUMENTS = -8
NEW_CONFIG_NO_QUORUM = -13
RECONFIG_IN_PROGRESS = -14
NO_NODE = -101
NO_AUTH = -102
BAD_VERSION = -103
AUTH_FAILED = -115
SESSION_MOVED = -118
NOT_READ_ONLY = -119
RECONFIG_DISABLED = -123

ERROR_NAMES = {
    SYSTEM_ERROR: "SystemError",
    -2: "RuntimeInconsistency",
    -3: "DataInconsistency",
    CONNECTION_LOSS: "ConnectionLoss",
    -5: "MarshallingError",
    UNIMPLEMENTED: "Unimplemented",
    OPERATION_TIMEOUT: "OperationTimeout",
    BAD_ARGUMENTS: "BadArguments",
    -12: "UnknownSession",
    NEW_CONFIG_NO_QUORUM: "NewConfigNoQuorum",
    RECONFIG_IN_PROGRESS: "ReconfigInProgress",
    -100: "APIError",
    NO_NODE: "NoNode",
    NO_AUTH: "NoAuth",
    BAD_VERSION: "BadVersion",
    -108: "NoChildrenForEphemerals",
    -110: "NodeExists",
    -111: "NotEmpty",
    -112: "SessionExpired",
    -113: "InvalidCallback",
    -114: "InvalidACL",
    AUTH_FAILED: "AuthFailed",
    SESSION_MOVED: "SessionMoved",
    NOT_READ_ONLY: "NotReadOnly",
    -120: "EphemeralOnLocalSession",
    -121: "NoWatcher",
    -122: "RequestTimeout",
    RECONFIG_DISABLED: "ReconfigDisabled",
    -124: "SessionClosedRequireSasl",
    -125: "QuotaExceeded",
    -127: "Throttled",
}

# A frame longer than this is not a reply of ours (the server's own jute.maxbuffer is 1 MiB).
MAX_FRAME = 4 << 20
STAT_FIELDS = (("czxid", "q"), ("mzxid", "q"), ("ctime", "q"), ("mtime", "q"),
               ("version", "i"), ("cversion", "i"), ("aversion", "i"),
               ("ephemeral_owner", "q"), ("data_length", "i"), ("num_children", "i"),
               ("pzxid", "q"))


class ZooKeeperError(Exception):
    """The server answered a request with a non-zero error code (``code``, ``name``)."""

    def __init__(self, code: int, operation: str, detail: str = "") -> None:
        self.code = code
        self.name = ERROR_NAMES.get(code, f"error {code}")
        self.operation = operation
        message = f"{operation}: {self.name} ({code})"
        super().__init__(f"{message}: {detail}" if detail else message)


class ConnectionLost(Exception):
    """No session, or no longer one: the connection was refused, timed out, or closed by the
    server (a server that does not serve, outside a quorum, closes a new connection before it
    answers the ConnectRequest)."""


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------


def pack_int(value: int) -> bytes:
    return struct.pack(">i", value)


def pack_long(value: int) -> bytes:
    return struct.pack(">q", value)


def pack_bool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def pack_buffer(value: Optional[bytes]) -> bytes:
    """A jute ``buffer``: its length and bytes, or the length -1 for null."""
    if value is None:
        return pack_int(-1)
    return pack_int(len(value)) + value


def pack_string(value: Optional[str]) -> bytes:
    """A jute ``ustring``: its UTF-8 bytes as a buffer, -1 for null."""
    return pack_buffer(None if value is None else value.encode("utf-8"))


def frame(payload: bytes) -> bytes:
    """A packet on the wire: the payload's 4-byte big-endian length, then the payload."""
    return pack_int(len(payload)) + payload


def connect_request(session_timeout_ms: int, last_zxid: int = 0, session_id: int = 0,
                    password: bytes = b"\x00" * 16, read_only: bool = False) -> bytes:
    """ConnectRequest (protocol version 0) and the readOnly flag clients since 3.4 append;
    framed. A new session has the id 0 and a password of 16 zero bytes."""
    return frame(pack_int(0) + pack_long(last_zxid) + pack_int(session_timeout_ms)
                 + pack_long(session_id) + pack_buffer(password) + pack_bool(read_only))


def request(xid: int, op: int, body: bytes = b"") -> bytes:
    """A framed request: RequestHeader (xid, type) and the request's record."""
    return frame(pack_int(xid) + pack_int(op) + body)


def auth_request(scheme: str, credential: bytes) -> bytes:
    """AuthPacket (type 0, scheme, auth) with the xid -4 and the type auth (100)."""
    return request(XID_AUTH, OP_AUTH, pack_int(0) + pack_string(scheme) + pack_buffer(credential))


def get_data_request(xid: int, path: str, watch: bool = False) -> bytes:
    return request(xid, OP_GET_DATA, pack_string(path) + pack_bool(watch))


def sync_request(xid: int, path: str) -> bytes:
    return request(xid, OP_SYNC, pack_string(path))


def reconfig_record(joining: Optional[Iterable[str]] = None,
                    leaving: Optional[Iterable[Any]] = None,
                    new_members: Optional[Iterable[str]] = None, from_config: int = -1) -> bytes:
    """ReconfigRequest: joiningServers, leavingServers and newMembers as comma-separated
    strings (null when not given), curConfigId (-1: whatever the current configuration)."""

    def joined(items: Optional[Iterable[Any]]) -> Optional[str]:
        return None if items is None else ",".join(str(item) for item in items)

    return (pack_string(joined(joining)) + pack_string(joined(leaving))
            + pack_string(joined(new_members)) + pack_long(from_config))


def reconfig_request(xid: int, joining: Optional[Iterable[str]] = None,
                     leaving: Optional[Iterable[Any]] = None,
                     new_members: Optional[Iterable[str]] = None,
                     from_config: int = -1) -> bytes:
    """A framed reconfig (type 16)."""
    return request(xid, OP_RECONFIG, reconfig_record(joining, leaving, new_members, from_config))


def ping_request() -> bytes:
    return request(XID_PING, OP_PING)


def close_request(xid: int) -> bytes:
    return request(xid, OP_CLOSE_SESSION)


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------


class Reader:
    """Reads jute values from a payload, in order."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def _take(self, size: int) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise ValueError(f"truncated record: {size} bytes wanted at {self.offset} "
                             f"of {len(self.data)}")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def read_int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def read_long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def read_bool(self) -> bool:
        return self._take(1) != b"\x00"

    def read_buffer(self) -> Optional[bytes]:
        size = self.read_int()
        return None if size == -1 else self._take(size)

    def read_string(self) -> Optional[str]:
        value = self.read_buffer()
        return None if value is None else value.decode("utf-8")

    def remaining(self) -> int:
        return len(self.data) - self.offset


def parse_connect_response(payload: bytes) -> Dict[str, Any]:
    """ConnectResponse: protocol_version, timeout (the negotiated session timeout, ms),
    session_id, password, and read_only when the server sent the flag."""
    reader = Reader(payload)
    result = {"protocol_version": reader.read_int(), "timeout": reader.read_int(),
              "session_id": reader.read_long(), "password": reader.read_buffer(),
              "read_only": None}
    if reader.remaining() >= 1:
        result["read_only"] = reader.read_bool()
    return result


def parse_reply_header(payload: bytes) -> Tuple[int, int, int, Reader]:
    """ReplyHeader: xid, zxid, err, and a reader at the reply's record."""
    reader = Reader(payload)
    xid, zxid, err = reader.read_int(), reader.read_long(), reader.read_int()
    return xid, zxid, err, reader


def parse_stat(reader: Reader) -> Dict[str, int]:
    """A Stat record (czxid, mzxid, ctime, mtime, version, cversion, aversion,
    ephemeral_owner, data_length, num_children, pzxid)."""
    return {name: reader.read_long() if kind == "q" else reader.read_int()
            for name, kind in STAT_FIELDS}


def parse_get_data_response(reader: Reader) -> Tuple[Optional[bytes], Dict[str, int]]:
    """GetDataResponse (also the reply to reconfig): the data and its Stat."""
    data = reader.read_buffer()
    return data, parse_stat(reader)


# --------------------------------------------------------------------------
# The dynamic configuration
# --------------------------------------------------------------------------

SERVER_KEY = re.compile(r"^(?:server\.)?(\d+)$")
ROLES = ("participant", "observer")


def parse_server_spec(spec: str) -> Dict[str, Any]:
    """The parts of a server's dynamic configuration,
    ``host:quorum_port:election_port[:role][;[client_host:]client_port]``: host,
    quorum_port, election_port, role (participant when not given), client_host (0.0.0.0 when
    the client port is given alone, None without a client port), client_port (None without).
    Hosts are kept as written (a name, an address, ``[v6]`` or 3.6's ``a|b`` lists)."""
    server, sep, client = spec.strip().partition(";")
    match = re.match(r"^(.*):(\d+):(\d+)(?::(participant|observer))?$", server.strip())
    if not match:
        raise ValueError(f"not a server spec host:quorum_port:election_port[:role]"
                         f"[;[client_host:]client_port]: {spec!r}")
    parts = {"host": match.group(1), "quorum_port": int(match.group(2)),
             "election_port": int(match.group(3)), "role": match.group(4) or "participant",
             "client_host": None, "client_port": None}
    client = client.strip()
    if sep and client:
        client_host, colon, client_port = client.rpartition(":")
        if not client_port.isdigit():
            raise ValueError(f"not a client port in {spec!r}: {client!r}")
        parts["client_host"] = client_host if colon else "0.0.0.0"
        parts["client_port"] = int(client_port)
    return parts


def format_server_spec(parts: Dict[str, Any]) -> str:
    """The spec of ``parts`` as ZooKeeper writes it
    (``host:quorum:election:role;client_host:client_port``)."""
    text = f"{parts['host']}:{parts['quorum_port']}:{parts['election_port']}:{parts['role']}"
    if parts.get("client_port") is not None:
        text += f";{parts.get('client_host') or '0.0.0.0'}:{parts['client_port']}"
    return text


def parse_server_line(line: str) -> Tuple[int, str]:
    """``server.N=spec`` (or ``N=spec``, as reconfig -add also takes) as (N, spec)."""
    key, sep, spec = line.partition("=")
    match = SERVER_KEY.match(key.strip())
    if not sep or not match:
        raise ValueError(f"not a server line server.N=spec: {line!r}")
    return int(match.group(1)), spec.strip()


def parse_config(text: str) -> Dict[str, Any]:
    """The dynamic configuration ``/zookeeper/config`` holds (and a ``zoo.cfg.dynamic.*``
    file): ``members`` (server id to spec, as written), ``version`` (the ``version=`` line,
    hexadecimal, as an int; None without) and ``version_hex``. Other lines (``group.N``,
    ``weight.N``) are kept in ``other``."""
    members: Dict[int, str] = {}
    other: Dict[str, str] = {}
    version_hex: Optional[str] = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key.startswith("server."):
            sid, spec = parse_server_line(line)
            members[sid] = spec
        elif key == "version":
            version_hex = value
        else:
            other[key] = value
    return {"members": members, "version_hex": version_hex,
            "version": int(version_hex, 16) if version_hex else None, "other": other}


def same_server(spec_a: str, spec_b: str) -> bool:
    """Whether two specs describe the same server the same way, with ZooKeeper's defaults
    (role participant, client host 0.0.0.0) filled in."""
    return parse_server_spec(spec_a) == parse_server_spec(spec_b)


def super_digest(user: str, password: str) -> str:
    """``user:base64(sha1(user:password))``, the value of
    ``-Dzookeeper.DigestAuthenticationProvider.superDigest`` that makes ``user:password`` the
    super user of the ``digest`` scheme."""
    digest = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(digest).decode('ascii')}"


# --------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------


class ZooKeeperClient:
    """One session on one server, synchronous: each call sends a request and reads until its
    reply. ``timeout`` bounds the connection and each call; ``session_timeout`` is the session
    timeout asked for (the server keeps it between 2 and 20 ticks by default)."""

    def __init__(self, host: str, port: int, timeout: float = 10.0,
                 session_timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.session_timeout = session_timeout
        self.sock: Optional[socket.socket] = None
        self.session_id: Optional[int] = None
        self.negotiated_timeout: Optional[int] = None
        self.last_zxid = 0
        self.xid = 0
        self.buffered = b""

    # The connection ------------------------------------------------------

    def connect(self) -> "ZooKeeperClient":
        """Open a new session; raises ConnectionLost when the server gives none."""
        self.close()
        where = f"{self.host}:{self.port}"
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as err:
            raise ConnectionLost(f"cannot connect to {where}: {err}") from err
        deadline = time.monotonic() + self.timeout
        self._send(connect_request(int(self.session_timeout * 1000), self.last_zxid))
        try:
            answer = parse_connect_response(self._read_frame(deadline))
        except ConnectionLost as err:
            self.close()
            raise ConnectionLost(f"{where} gave no session ({err}): it does not serve "
                                 "(no quorum, or it is still electing or syncing)") from err
        if answer["timeout"] <= 0:
            self.close()
            raise ConnectionLost(f"{where} refused the session")
        self.session_id = answer["session_id"]
        self.negotiated_timeout = answer["timeout"]
        self.xid = 0
        return self

    def close(self) -> None:
        """End the session (closeSession, unanswered errors ignored) and the connection."""
        if self.sock is None:
            return
        try:
            if self.session_id is not None:
                self.xid += 1
                self.sock.sendall(close_request(self.xid))
                self._read_frame(time.monotonic() + min(self.timeout, 2.0))
        except (ConnectionLost, OSError, ValueError):
            pass
        finally:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self.session_id = None
                self.buffered = b""

    def __enter__(self) -> "ZooKeeperClient":
        return self.connect() if self.sock is None else self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _send(self, data: bytes) -> None:
        if self.sock is None:
            raise ConnectionLost("not connected")
        try:
            self.sock.sendall(data)
        except OSError as err:
            self.close()
            raise ConnectionLost(f"sending to {self.host}:{self.port} failed: {err}") from err

    def _recv_exactly(self, size: int, deadline: float) -> bytes:
        while len(self.buffered) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.sock is None:
                raise ConnectionLost(f"no answer from {self.host}:{self.port} in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout as err:
                raise ConnectionLost(f"no answer from {self.host}:{self.port} in time") from err
            except OSError as err:
                raise ConnectionLost(f"{self.host}:{self.port}: {err}") from err
            if not chunk:
                raise ConnectionLost(f"{self.host}:{self.port} closed the connection")
            self.buffered += chunk
        data, self.buffered = self.buffered[:size], self.buffered[size:]
        return data

    def _read_frame(self, deadline: float) -> bytes:
        size = struct.unpack(">i", self._recv_exactly(4, deadline))[0]
        if size < 0 or size > MAX_FRAME:
            raise ConnectionLost(f"{self.host}:{self.port} sent a frame of {size} bytes")
        return self._recv_exactly(size, deadline)

    def _reply(self, xid: int, operation: str, timeout: Optional[float] = None) -> Reader:
        """Read frames until the reply to ``xid`` (watch events and pings skipped); its
        record's reader, or ZooKeeperError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                payload = self._read_frame(deadline)
            except ConnectionLost:
                self.close()
                raise
            got, zxid, err, reader = parse_reply_header(payload)
            if got in (XID_WATCH_EVENT, XID_PING) and got != xid:
                continue
            if zxid > 0:
                self.last_zxid = zxid
            if got != xid:
                self.close()
                raise ConnectionLost(f"{operation}: reply to xid {got}, not {xid}")
            if err != OK:
                if err == AUTH_FAILED:
                    self.close()  # the server closes the connection after AuthFailed
                raise ZooKeeperError(err, operation)
            return reader

    def _call(self, op: int, body: bytes, operation: str,
              timeout: Optional[float] = None) -> Reader:
        self.xid += 1
        self._send(request(self.xid, op, body))
        return self._reply(self.xid, operation, timeout)

    # Operations -------------------------------------------------------------

    def add_auth(self, scheme: str, credential: bytes) -> None:
        """Authenticate the session (``digest`` takes ``user:password``). With ``digest`` a
        wrong password does not fail here: the session is simply not that user (the requests
        it may not make fail with NoAuth); an unknown scheme fails with AuthFailed."""
        self._send(auth_request(scheme, credential))
        self._reply(XID_AUTH, f"auth {scheme}")

    def ping(self) -> None:
        """Keep the session alive while waiting (any request does)."""
        self._send(ping_request())
        self._reply(XID_PING, "ping")

    def sync(self, path: str = CONFIG_NODE) -> str:
        """Bring the server up to date with the leader before a read."""
        return self._call(OP_SYNC, pack_string(path), f"sync {path}").read_string() or ""

    def get_data(self, path: str) -> Tuple[Optional[bytes], Dict[str, int]]:
        reader = self._call(OP_GET_DATA, pack_string(path) + pack_bool(False), f"getData {path}")
        return parse_get_data_response(reader)

    def get_config(self, sync: bool = True) -> Tuple[str, Dict[str, int]]:
        """The dynamic configuration (the text of ``/zookeeper/config``) and its Stat, after a
        sync unless ``sync`` is false."""
        if sync:
            self.sync(CONFIG_NODE)
        data, stat = self.get_data(CONFIG_NODE)
        return (data or b"").decode("utf-8"), stat

    def reconfig(self, joining: Optional[List[str]] = None, leaving: Optional[List[Any]] = None,
                 new_members: Optional[List[str]] = None, from_config: int = -1,
                 timeout: Optional[float] = None) -> Tuple[str, Dict[str, int]]:
        """Incremental (``joining``/``leaving``) or bulk (``new_members``) reconfiguration,
        only from configuration version ``from_config`` unless -1; the new configuration's
        text and Stat. Needs write access to /zookeeper/config (the super user)."""
        record = reconfig_record(joining, leaving, new_members, from_config)
        reader = self._call(OP_RECONFIG, record, "reconfig", timeout)
        data, stat = parse_get_data_response(reader)
        return (data or b"").decode("utf-8"), stat
