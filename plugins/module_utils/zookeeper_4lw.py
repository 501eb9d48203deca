"""ZooKeeper four-letter words: one small client shared by the zookeeper role's module
(on the hosts) and tools/zk-status (on the controller). Standard library only, so it
runs with whatever Python 3 the hosts have.

A server outside a quorum gives no client session (so kazoo's `command()` cannot ask
it), but it still answers `srvr` on its client port, with "not currently serving
requests": that is why this talks plain TCP.

It runs on the hosts' Python, 3.6 and later (EL 8's platform-python): no
``from __future__ import annotations``, no ``X | None``, no ``str.isascii``;
``make lint`` checks the floor with vermin.
"""

import re
import socket
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

# ssl is imported where TLS is spoken: the import is about 13 ms of CPU at each module run on a
# host (the probe of every run asks its server in plain TCP unless the client port is TLS only).
if TYPE_CHECKING:
    import ssl

MAX_REPLY_BYTES = 1 << 20
NOT_SERVING_TEXT = "not currently serving requests"
WHITELIST_RE = re.compile(r"^(\w+) is not executed because it is not in the whitelist")
SRVR_INT_FIELDS = {
    "Received": "received",
    "Sent": "sent",
    "Connections": "connections",
    "Outstanding": "outstanding",
    "Node count": "node_count",
}


# The TLS every four-letter word of this process speaks (use_tls), None for plain TCP.
_TLS: Optional["ssl.SSLContext"] = None


def tls_context(ca: str, cert: Optional[str] = None, key: Optional[str] = None
                ) -> "ssl.SSLContext":
    """A client context for a TLS client port (secureClientPort): the server's certificate
    must be signed by the CA in ``ca``; ``cert`` (with ``key``, or the key in the same file) is
    the certificate shown to a server that asks for one (ssl.clientAuth). The name in the
    server's certificate is not compared with the address asked (the role asks members at
    127.0.0.1 too): the CA is the trust."""
    import ssl  # only where TLS is spoken (see the top of this file)

    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    if cert:
        context.load_cert_chain(cert, key)
    return context


def use_tls(options: Optional[Dict[str, Any]]) -> None:
    """Speak TLS (options ``ca``, ``cert``, ``key``: files on this host) in every four-letter
    word of this process from now on; None or no ``ca`` speaks plain TCP."""
    global _TLS  # noqa: PLW0603 - one setting per module run, made at its start
    _TLS = (tls_context(options["ca"], options.get("cert"), options.get("key"))
            if options and options.get("ca") else None)


def four_letter_word(host: str, port: int, word: str, timeout: float,
                     tls: Optional["ssl.SSLContext"] = None) -> str:
    """Send a four-letter word to ``host:port`` and return the full reply.

    Connects, sends the four ASCII bytes and reads until the server closes the
    connection.  ``timeout`` bounds the whole exchange (connect + every read),
    not each read.  Raises ``TimeoutError`` when the deadline passes and
    ``OSError`` (e.g. ``ConnectionRefusedError``, ``ssl.SSLError``) for network
    failures. Over TLS with ``tls``, else with the context of ``use_tls``.
    """
    if len(word) != 4 or any(ord(c) > 127 for c in word):
        raise ValueError(f"not a four-letter word: {word!r}")
    deadline = time.monotonic() + timeout
    context = tls or _TLS
    closed: Tuple[type, ...] = ()  # what a TLS server's close after its reply raises
    if context is not None:
        import ssl  # only where TLS is spoken (see the top of this file)

        closed = (ssl.SSLZeroReturnError, ssl.SSLEOFError)
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if context is not None:
            sock = context.wrap_socket(sock)
        sock.sendall(word.encode("ascii"))
        chunks: List[bytes] = []
        received = 0
        while received < MAX_REPLY_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{word} on {host}:{port} timed out")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except closed:
                break  # the server closed the TLS connection after its reply
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", errors="replace")


def refused_word(text: str) -> Optional[str]:
    """Return the word a whitelist refused (``"mntr is not executed ..."``)."""
    match = WHITELIST_RE.match(text.strip())
    return match.group(1) if match else None


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def _number(value: str) -> Union[int, float, str]:
    """Convert ``value`` to int or float when it looks numeric."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _parse_latency(value: str) -> Tuple[Any, Any, Any]:
    """Parse ``min/avg/max`` into three numbers (None when malformed)."""
    parts = value.split("/")
    if len(parts) != 3:
        return None, None, None
    numbers = tuple(_number(part.strip()) for part in parts)
    if any(isinstance(n, str) for n in numbers):
        return None, None, None
    return numbers[0], numbers[1], numbers[2]


def parse_srvr(text: str) -> Dict[str, Any]:
    """Parse the reply to ``srvr``.

    Always returns the keys ``version``, ``mode`` (lower case), ``zxid`` (hex
    string as printed), ``connections``, ``outstanding``, ``received``,
    ``sent``, ``node_count``, ``latency_min``, ``latency_avg``,
    ``latency_max`` and ``error``.  Missing values are None.  ``error`` is
    None for a normal reply, ``"not serving"`` when the server is not serving
    requests, ``"srvr not allowed"`` when a whitelist refused the word and
    ``"unexpected reply"`` when no ``Mode:`` line was found.
    """
    result: Dict[str, Any] = {
        "version": None,
        "mode": None,
        "zxid": None,
        "connections": None,
        "outstanding": None,
        "received": None,
        "sent": None,
        "node_count": None,
        "latency_min": None,
        "latency_avg": None,
        "latency_max": None,
        "error": None,
    }
    if NOT_SERVING_TEXT in text:
        result["error"] = "not serving"
        return result
    refused = refused_word(text)
    if refused:
        result["error"] = f"{refused} not allowed"
        return result
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Zookeeper version":
            result["version"] = value
        elif key == "Mode":
            result["mode"] = value.lower()
        elif key == "Zxid":
            result["zxid"] = value
        elif key == "Latency min/avg/max":
            lat = _parse_latency(value)
            result["latency_min"], result["latency_avg"], result["latency_max"] = lat
        elif key in SRVR_INT_FIELDS:
            number = _number(value)
            result[SRVR_INT_FIELDS[key]] = number if isinstance(number, int) else None
    if not result["mode"]:
        result["error"] = "unexpected reply"
    return result


def parse_mntr(text: str) -> Dict[str, Union[int, float, str]]:
    """Parse the tab-separated ``key<TAB>value`` reply to ``mntr``.

    Numeric values become int/float, the rest stay strings.  Lines without a
    tab (for instance a whitelist refusal) are ignored, so a refused ``mntr``
    yields an empty dict.
    """
    metrics: Dict[str, Union[int, float, str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep and key.strip():
            metrics[key.strip()] = _number(value.strip())
    # 3.6+ leaders say zk_learners where 3.4 said zk_followers (no observers here: the same).
    if "zk_learners" in metrics and "zk_followers" not in metrics:
        metrics["zk_followers"] = metrics["zk_learners"]
    return metrics


def short_version(text: Any) -> Optional[str]:
    """The release of a ``srvr`` version line: ``3.8.0`` of ``3.8.0-${mvngit.commit.id}, built
    on ...``, the text before the first ``-`` of the part before ``,``; None when empty."""
    if not isinstance(text, str):
        return None
    release = text.split(",", 1)[0].split("-", 1)[0].strip()
    return release or None


def srvr_at(endpoint: str, timeout: float = 2.0) -> Dict[str, Any]:
    """``parse_srvr`` of the server at ``host:port``; a server that cannot be reached gives
    ``mode`` None and the reason in ``error``."""
    host, _sep, port = endpoint.rpartition(":")
    try:
        return parse_srvr(four_letter_word(host, int(port), "srvr", timeout))
    except OSError as err:
        return {"mode": None, "error": f"{type(err).__name__}: {err}"}
