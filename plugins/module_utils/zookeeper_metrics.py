#!/usr/bin/python3
"""Write a ZooKeeper 3.4 server's figures for node_exporter's textfile collector.

ZooKeeper 3.4 has no metrics endpoint. This asks the local server ``srvr`` (its mode) and
``mntr`` (its figures) on the client port and writes them in Prometheus' text format to
``--output`` (a ``*.prom`` file in the textfile collector's directory), atomically: a
temporary file in the same directory, then a rename, so node_exporter never reads half a file.

Every series carries the labels ``ensemble`` and ``server_id``. ``zookeeper_up`` is 1 while the
server serves (leader, follower, standalone), 0 otherwise; a server that does not answer leaves
nothing but ``zookeeper_up 0`` and the collection time in the file, so that no figure of a
server that is gone stays behind (Prometheus sees those series vanish). A server that answers but
does not serve (no quorum) also shows ``zookeeper_server_state{mode="not_serving"} 1``.

The zookeeper role installs this file as /usr/local/sbin/zookeeper-metrics and runs it from the
systemd timer zookeeper-metrics.timer (``zookeeper_metrics``): a host script, kept among the
collection's module_utils so that ``tools/zk-status --prometheus`` renders the same series on the
controller with ``exposition`` and ``server_samples``, imported by its collection name.

It runs on the hosts' Python, 3.6 and later (EL 8's platform-python), standard library only:
no ``from __future__ import annotations``, no ``X | None``, no subprocess ``capture_output``;
``make lint`` checks the floor with vermin.
"""

import argparse
import os
import socket
import ssl
import sys
import tempfile
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

Number = Union[int, float]
# One sample: metric name, its own labels (beyond the server's), value.
Sample = Tuple[str, Dict[str, str], Number]

NOT_SERVING_TEXT = "not currently serving requests"
NOT_SERVING = "not_serving"
# The modes ZooKeeper 3.4 reports (srvr "Mode:", mntr zk_server_state); each gets a series,
# 1 for the server's current mode and 0 for the others.
MODES = ("leader", "follower", "observer", "standalone", NOT_SERVING)
SERVING = ("leader", "follower", "observer", "standalone", "read-only")

# Every family this writes, in output order: name -> (type, help).
FAMILIES = {
    "zookeeper_up": ("gauge", "1 when the server serves clients (leader, follower or "
                              "standalone), 0 when it does not answer or does not serve."),
    "zookeeper_server_state": ("gauge", "1 for the server's current mode, 0 for the others "
                                        "(not_serving: it answers but has no quorum)."),
    "zookeeper_version_info": ("gauge", "The server's ZooKeeper version, in the label."),
    "zookeeper_min_latency_seconds": ("gauge", "Minimum request latency since the counters "
                                               "were reset (mntr zk_min_latency)."),
    "zookeeper_avg_latency_seconds": ("gauge", "Average request latency (mntr zk_avg_latency)."),
    "zookeeper_max_latency_seconds": ("gauge", "Maximum request latency (mntr zk_max_latency)."),
    "zookeeper_outstanding_requests": ("gauge", "Requests queued, not yet processed."),
    "zookeeper_znode_count": ("gauge", "Znodes in the data tree."),
    "zookeeper_watch_count": ("gauge", "Watches set on this server."),
    "zookeeper_ephemerals_count": ("gauge", "Ephemeral znodes."),
    "zookeeper_approximate_data_size_bytes": ("gauge", "Approximate size of the data tree "
                                                       "(znode paths and data)."),
    "zookeeper_open_file_descriptors": ("gauge", "File descriptors the server has open."),
    "zookeeper_max_file_descriptors": ("gauge", "File descriptors the server may open "
                                                "(LimitNOFILE)."),
    "zookeeper_alive_connections": ("gauge", "Client connections (mntr "
                                             "zk_num_alive_connections)."),
    "zookeeper_packets_received_total": ("counter", "Packets received since the server "
                                                    "started."),
    "zookeeper_packets_sent_total": ("counter", "Packets sent since the server started."),
    "zookeeper_fsync_threshold_exceeded_total": ("counter", "Transaction log fsyncs slower than "
                                                            "fsync.warningthresholdms."),
    "zookeeper_followers": ("gauge", "Followers connected to this leader (leader only)."),
    "zookeeper_synced_followers": ("gauge", "Followers in sync with this leader (leader only)."),
    "zookeeper_pending_syncs": ("gauge", "Followers waiting to sync with this leader "
                                         "(leader only)."),
    "zookeeper_scrape_timestamp_seconds": ("gauge", "When these figures were collected (Unix "
                                                    "time): a collector that stopped shows here."),
    "zookeeper_scrape_duration_seconds": ("gauge", "How long asking the server took."),
}
# mntr keys and the families they fill, with the divisor to their unit (latency: ms -> s).
MNTR = (
    ("zk_min_latency", "zookeeper_min_latency_seconds", 1000),
    ("zk_avg_latency", "zookeeper_avg_latency_seconds", 1000),
    ("zk_max_latency", "zookeeper_max_latency_seconds", 1000),
    ("zk_outstanding_requests", "zookeeper_outstanding_requests", 1),
    ("zk_znode_count", "zookeeper_znode_count", 1),
    ("zk_watch_count", "zookeeper_watch_count", 1),
    ("zk_ephemerals_count", "zookeeper_ephemerals_count", 1),
    ("zk_approximate_data_size", "zookeeper_approximate_data_size_bytes", 1),
    ("zk_open_file_descriptor_count", "zookeeper_open_file_descriptors", 1),
    ("zk_max_file_descriptor_count", "zookeeper_max_file_descriptors", 1),
    ("zk_num_alive_connections", "zookeeper_alive_connections", 1),
    ("zk_packets_received", "zookeeper_packets_received_total", 1),
    ("zk_packets_sent", "zookeeper_packets_sent_total", 1),
    ("zk_fsync_threshold_exceed_count", "zookeeper_fsync_threshold_exceeded_total", 1),
    ("zk_followers", "zookeeper_followers", 1),
    ("zk_synced_followers", "zookeeper_synced_followers", 1),
    ("zk_pending_syncs", "zookeeper_pending_syncs", 1),
)
MAX_REPLY_BYTES = 1 << 20


# --------------------------------------------------------------------------
# Four-letter words
# --------------------------------------------------------------------------


def tls_context(ca: str, cert: str) -> ssl.SSLContext:
    """For a TLS client port: the server's certificate checked against the CA in `ca`, the
    certificate (and key) in `cert` shown when the server asks for one."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False  # asked at 127.0.0.1 or its bound address: the CA is the trust
    context.load_cert_chain(cert)
    return context


def four_letter_word(host: str, port: int, word: str, timeout: float,
                     tls: Optional[ssl.SSLContext] = None) -> str:
    """The server's whole reply to `word` (over TLS with `tls`); `timeout` bounds the exchange.
    Raises OSError."""
    deadline = time.monotonic() + timeout
    chunks = []  # type: List[bytes]
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if tls is not None:
            sock = tls.wrap_socket(sock)
        sock.sendall(word.encode("ascii"))
        received = 0
        while received < MAX_REPLY_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"{word} on {host}:{port} timed out")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", errors="replace")


def _number(text: str) -> Optional[Number]:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None


def parse_mntr(text: str) -> Dict[str, Union[Number, str]]:
    """``key<TAB>value`` lines; numbers as int or float, the rest as text. A refusal or a
    not-serving reply has no such line and gives {}."""
    values = {}  # type: Dict[str, Union[Number, str]]
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep and key.strip():
            number = _number(value.strip())
            values[key.strip()] = value.strip() if number is None else number
    # 3.6+ leaders say zk_learners where 3.4 said zk_followers (no observers here: the same).
    if "zk_learners" in values and "zk_followers" not in values:
        values["zk_followers"] = values["zk_learners"]
    return values


def parse_mode(srvr: str) -> Optional[str]:
    """The mode of a ``srvr`` reply: leader, follower, ..., not_serving; None for a reply
    without one (a refusal, garbage)."""
    if NOT_SERVING_TEXT in srvr:
        return NOT_SERVING
    for line in srvr.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Mode":
            return value.strip().lower()
    return None


def collect(host: str, port: int, timeout: float, tls: Optional[ssl.SSLContext] = None
            ) -> Tuple[Optional[str], Dict]:
    """Ask the server: (mode, mntr values). mode is None when nothing answers; a server that
    does not serve gives (not_serving, {}). srvr gives the mode (mntr's zk_server_state when a
    whitelist refuses srvr); mntr is asked only of a serving server."""
    try:
        mode = parse_mode(four_letter_word(host, port, "srvr", timeout, tls))
    except OSError:
        return None, {}
    if mode == NOT_SERVING:
        return mode, {}
    try:
        mntr = parse_mntr(four_letter_word(host, port, "mntr", timeout, tls))
    except OSError:
        mntr = {}
    if mode is None:
        state = mntr.get("zk_server_state")
        mode = str(state).lower() if state is not None else None
    return mode, mntr


# --------------------------------------------------------------------------
# Series (pure functions: tools/zk-status and the unit tests use them)
# --------------------------------------------------------------------------


def server_samples(mode: Optional[str], mntr: Mapping[str, Union[Number, str]],
                   collected_at: float, duration: Optional[float] = None) -> List[Sample]:
    """The samples of one server: ``mode`` None (it did not answer) gives only zookeeper_up 0
    and the collection time, never an old figure."""
    up = mode in SERVING
    samples = [("zookeeper_up", {}, 1 if up else 0)]  # type: List[Sample]
    if mode is not None:
        modes = MODES if mode in MODES else (*MODES, mode)
        samples += [("zookeeper_server_state", {"mode": m}, 1 if m == mode else 0)
                    for m in modes]
    if up:
        version = str(mntr.get("zk_version") or "").split(",", 1)[0].strip()
        if version:
            samples.append(("zookeeper_version_info", {"version": version}, 1))
        for key, name, divisor in MNTR:
            value = mntr.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                samples.append((name, {}, value / divisor if divisor != 1 else value))
    samples.append(("zookeeper_scrape_timestamp_seconds", {}, round(collected_at, 3)))
    if duration is not None:
        samples.append(("zookeeper_scrape_duration_seconds", {}, round(duration, 6)))
    return samples


def escape(value: str) -> str:
    """A label value as the text format writes it."""
    return str(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    pairs = [f'{k}="{escape(v)}"' for k, v in labels.items() if v not in (None, "")]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _value(value: Number) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def exposition(servers: Sequence[Tuple[Mapping[str, str], Sequence[Sample]]]) -> str:
    """The text format of several servers' samples, each family once (HELP, TYPE, then every
    server's samples), in FAMILIES order; ``servers`` pairs each server's labels (ensemble,
    server_id, ...) with its samples."""
    lines = []  # type: List[str]
    for family, (kind, text) in FAMILIES.items():
        rows = [f"{name}{_labels(dict(labels, **own))} {_value(value)}"
                for labels, samples in servers for name, own, value in samples
                if name == family]
        if rows:
            lines += [f"# HELP {family} {text}", f"# TYPE {family} {kind}"]
            lines += rows
    return "\n".join(lines) + "\n"


def read_exposition(text: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    """The samples of a text-format page (this file's, or node_exporter's /metrics):
    (name, sorted label pairs) -> value. For the tests and tools that read them back."""
    samples = {}  # type: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, _sep, value = line.rpartition(" ")
        name, brace, rest = head.partition("{")
        pairs = []  # type: List[Tuple[str, str]]
        rest = rest[:-1] if brace else ""
        while rest:
            key, _sep, rest = rest.partition('="')
            chars, index = [], 0  # type: List[str], int
            while rest[index] != '"':
                if rest[index] == "\\":
                    index += 1
                    chars.append({"n": "\n"}.get(rest[index], rest[index]))
                else:
                    chars.append(rest[index])
                index += 1
            pairs.append((key, "".join(chars)))
            rest = rest[index + 1:].lstrip(",")
        samples[(name, tuple(sorted(pairs)))] = float(value)
    return samples


# --------------------------------------------------------------------------
# The textfile
# --------------------------------------------------------------------------


def write_atomically(path: str, text: str) -> None:
    """Replace `path` by `text` in one rename, readable by node_exporter (0644). The temporary
    file does not end in .prom, so node_exporter never reads it."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".zookeeper-metrics.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zookeeper-metrics",
        description="Ask the local ZooKeeper 3.4 server srvr and mntr and write its figures "
                    "for node_exporter's textfile collector.")
    parser.add_argument("--host", default="127.0.0.1", help="client address (%(default)s)")
    parser.add_argument("--port", type=int, default=2181, help="client port (%(default)s)")
    parser.add_argument("--tls-ca", help="ask over TLS: the CA certificate (PEM)")
    parser.add_argument("--tls-cert", help="with --tls-ca: the certificate and key shown (PEM)")
    parser.add_argument("--ensemble", required=True, help="the ensemble label")
    parser.add_argument("--server-id", required=True, help="the server_id label (myid)")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds per four-letter word (%(default)s)")
    parser.add_argument("--output", default="-",
                        help="the .prom file to replace; - prints (default)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.monotonic()
    tls = tls_context(args.tls_ca, args.tls_cert) if args.tls_ca else None
    mode, mntr = collect(args.host, args.port, args.timeout, tls)
    samples = server_samples(mode, mntr, time.time(), time.monotonic() - start)
    text = exposition([({"ensemble": args.ensemble, "server_id": args.server_id}, samples)])
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_atomically(args.output, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
