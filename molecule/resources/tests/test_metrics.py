"""Metrics for Prometheus (zookeeper_metrics): every member's node_exporter serves the series
the collector writes, with sane values; a stopped server shows zookeeper_up 0 and none of its
old figures within one collection, and its figures come back with it.

Only the scenario's own containers are asked (node_exporter's port on each member)."""

from __future__ import annotations

import time
import urllib.request

import pytest
from conftest import Ensemble, Member

from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_metrics import (
    read_exposition,
)

# Debian's prometheus-node-exporter listens there (the role does not change it).
EXPORTER_PORT = 9100
# Series of a server that does not answer: nothing else may stay behind.
WHEN_DOWN = {"zookeeper_up", "zookeeper_scrape_timestamp_seconds",
             "zookeeper_scrape_duration_seconds"}

pytestmark = pytest.mark.needs("zookeeper_metrics")


def interval(ensemble: Ensemble) -> int:
    return int(next(iter(ensemble.hostvars.values())).get("zookeeper_metrics_interval", 15))


def metrics(member: Member) -> dict[str, float]:
    """The member's zookeeper_* series (name, or name:mode for the state) and node_exporter's
    verdict on the file, each checked for its ensemble and server id labels."""
    with urllib.request.urlopen(f"http://{member.peer_address}:{EXPORTER_PORT}/metrics",
                                timeout=10) as response:
        samples = read_exposition(response.read().decode())
    found = {}
    for (name, labels), value in samples.items():
        label = dict(labels)
        if name.startswith("zookeeper_"):
            assert label.get("server_id") == str(member.zookeeper_id), (name, label)
            assert label.get("ensemble"), (name, label)
            found[name + (f":{label['mode']}" if "mode" in label else "")] = value
        elif name == "node_textfile_scrape_error" or (
                name == "node_textfile_mtime_seconds" and label.get("file") == "zookeeper.prom"):
            found[name] = value
    return found


def collected_after(member: Member, moment: float, timeout: float) -> dict[str, float]:
    """The member's series once the collector ran after `moment` (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = metrics(member)
        if found.get("zookeeper_scrape_timestamp_seconds", 0) > moment:
            return found
        assert time.monotonic() < deadline, (
            f"{member.name}: no collection after {moment:.0f} within {timeout:g} s: {found}")
        time.sleep(1)


def test_every_member_exports_its_series(ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    period = interval(ensemble)
    # One collection on every member after this moment: within one period, all of them.
    start = time.time()
    pages = {m.name: collected_after(m, start, period + 10) for m in ensemble.members}
    for name, found in pages.items():
        assert found.get("node_textfile_scrape_error") == 0, f"{name}: node_exporter: {found}"
        assert "node_textfile_mtime_seconds" in found, f"{name}: no zookeeper.prom read"
        assert found["zookeeper_up"] == 1, f"{name}: {found}"
        assert found["zookeeper_znode_count"] > 0, f"{name}: {found}"
        assert found["zookeeper_max_file_descriptors"] >= found[
            "zookeeper_open_file_descriptors"] > 0, f"{name}: {found}"
        assert found["zookeeper_alive_connections"] >= 0
        assert found["zookeeper_packets_received_total"] > 0
        assert 0 <= found["zookeeper_min_latency_seconds"] <= found[
            "zookeeper_max_latency_seconds"], f"{name}: {found}"
        for series in ("zookeeper_outstanding_requests", "zookeeper_watch_count",
                       "zookeeper_ephemerals_count", "zookeeper_approximate_data_size_bytes",
                       "zookeeper_avg_latency_seconds", "zookeeper_packets_sent_total"):
            assert found[series] >= 0, f"{name}: {series} {found.get(series)}"
        assert start < found["zookeeper_scrape_timestamp_seconds"] <= time.time() + 1
        states = {key.split(":", 1)[1]: value for key, value in found.items()
                  if key.startswith("zookeeper_server_state:")}
        assert sum(states.values()) == 1 and states.keys() >= {"leader", "follower"}, states
    modes = {name: next(key.split(":", 1)[1] for key, value in found.items()
                        if key.startswith("zookeeper_server_state:") and value == 1)
             for name, found in pages.items()}
    assert sorted(modes.values()) == ["follower"] * (len(modes) - 1) + ["leader"], modes
    assert modes == ensemble.modes(), "the metrics and srvr disagree on the modes"
    leader = next(name for name, mode in modes.items() if mode == "leader")
    members = len(ensemble.members)
    assert pages[leader]["zookeeper_synced_followers"] == members - 1, pages[leader]
    assert pages[leader]["zookeeper_followers"] == members - 1, pages[leader]
    for name, found in pages.items():
        if name != leader:
            assert "zookeeper_synced_followers" not in found, f"{name} is no leader: {found}"


def test_a_stopped_server_leaves_no_stale_figures(ensemble: Ensemble,
                                                  measurements: list[str]) -> None:
    ensemble.wait_healthy()
    period = interval(ensemble)
    leader = ensemble.leader()
    stopped = next(m for m in ensemble.members if m != leader)
    host = ensemble.host(stopped)
    before = time.time()
    try:
        assert host.run("systemctl stop zookeeper").rc == 0
        stopped_at = time.time()
        found = collected_after(stopped, stopped_at, period + 10)
        gone_after = time.time() - stopped_at
        assert found["zookeeper_up"] == 0, found
        stale = {key for key in found if key.startswith("zookeeper_")} - WHEN_DOWN
        assert not stale, f"{stopped.name}: figures of a stopped server stay: {sorted(stale)}"
        assert found.get("node_textfile_scrape_error") == 0, found
        # The leader counts one synced follower less: what a "follower not synced" alert reads.
        synced = collected_after(leader, stopped_at, period + 10)["zookeeper_synced_followers"]
        assert synced == len(ensemble.members) - 2, f"{leader.name}: {synced} synced"
        measurements.append(f"metrics: {stopped.name} stopped, zookeeper_up 0 and its figures "
                            f"gone after {gone_after:.1f} s (collector every {period} s)")
    finally:
        host.run("systemctl start zookeeper")
        ensemble.wait_healthy(90)
    back = collected_after(stopped, time.time(), period + 10)
    assert back["zookeeper_up"] == 1 and back["zookeeper_znode_count"] > 0, back
    assert back["zookeeper_scrape_timestamp_seconds"] > before
