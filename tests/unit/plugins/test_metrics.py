"""The metrics collector (plugins/module_utils/zookeeper_metrics.py, zookeeper_metrics): mntr and
srvr to the text format, the file written atomically, a server that is gone leaving no figure
behind, the collector against fake servers on loopback (and under a real Python 3.6 when there is
one), and its systemd units as ansible-playbook renders them."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import fake_zk as fake_zk_module
import pytest
from plugins import MODULE_UTILS, MODULES, REPO
from ansible_collections.zkops.zookeeper34.plugins.module_utils import zookeeper_metrics as zm

COLLECTOR = MODULE_UTILS / "zookeeper_metrics.py"

LEADER_MNTR = (
    "zk_version\t3.4.13-6--1, built on Sat, 28 Oct 2023 23:16:44 +0200\n"
    "zk_avg_latency\t1\nzk_max_latency\t12\nzk_min_latency\t0\n"
    "zk_packets_received\t120\nzk_packets_sent\t119\nzk_num_alive_connections\t3\n"
    "zk_outstanding_requests\t0\nzk_server_state\tleader\nzk_znode_count\t42\n"
    "zk_watch_count\t7\nzk_ephemerals_count\t2\nzk_approximate_data_size\t1234\n"
    "zk_open_file_descriptor_count\t23\nzk_max_file_descriptor_count\t16384\n"
    "zk_fsync_threshold_exceed_count\t0\n"
    "zk_followers\t2\nzk_synced_followers\t2\nzk_pending_syncs\t0\n"
    "zk_last_proposal_size\t-1\nzk_max_proposal_size\t-1\nzk_min_proposal_size\t-1\n")
FOLLOWER_MNTR = "\n".join(line for line in LEADER_MNTR.splitlines()
                          if not re.match(r"zk_(followers|synced|pending|server_state)", line)
                          ) + "\nzk_server_state\tfollower\n"
SRVR = ("Zookeeper version: 3.4.13-6--1, built on Sat, 28 Oct 2023 23:16:44 +0200\n"
        "Latency min/avg/max: 0/1/12\nReceived: 120\nSent: 119\nConnections: 3\n"
        "Outstanding: 0\nZxid: 0x100000002\nMode: {mode}\nNode count: 42\n")
NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
LABELS = {"ensemble": "zookeeper", "server_id": "3"}
KEY = (("ensemble", "zookeeper"), ("server_id", "3"))


def key(**extra: str) -> tuple[tuple[str, str], ...]:
    """The label pairs read_exposition gives a series of server 3 with `extra` labels."""
    return tuple(sorted({**dict(KEY), **extra}.items()))


# What a serving leader shows, every series labelled with the ensemble and the server id.
LEADER_VALUES = {
    "zookeeper_up": 1, "zookeeper_min_latency_seconds": 0, "zookeeper_avg_latency_seconds": 0.001,
    "zookeeper_max_latency_seconds": 0.012, "zookeeper_outstanding_requests": 0,
    "zookeeper_znode_count": 42, "zookeeper_watch_count": 7, "zookeeper_ephemerals_count": 2,
    "zookeeper_approximate_data_size_bytes": 1234, "zookeeper_open_file_descriptors": 23,
    "zookeeper_max_file_descriptors": 16384, "zookeeper_alive_connections": 3,
    "zookeeper_packets_received_total": 120, "zookeeper_packets_sent_total": 119,
    "zookeeper_fsync_threshold_exceeded_total": 0, "zookeeper_followers": 2,
    "zookeeper_synced_followers": 2, "zookeeper_pending_syncs": 0,
    "zookeeper_scrape_timestamp_seconds": 1700000000.5,
}


def page(mode: str | None, mntr: str = "", at: float = 1700000000.5) -> str:
    return zm.exposition([(LABELS, zm.server_samples(mode, zm.parse_mntr(mntr), at))])


def check_format(text: str) -> None:
    """The text format node_exporter's textfile collector reads: each family's HELP and TYPE
    once, before its samples, which are contiguous; a sample is name{labels} value."""
    families: list[str] = []
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split()[2]
            assert current not in families, f"{current} twice"
            families.append(current)
        elif line.startswith("# TYPE "):
            assert line.split()[2] == current and line.split()[3] in ("gauge", "counter"), line
        else:
            assert re.fullmatch(r'[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+', line), (
                line)
            assert line.split("{")[0].split(" ")[0] == current, f"{line} outside {current}"
    assert text.endswith("\n")


def test_a_leader_gives_every_series_labelled() -> None:
    text = page("leader", LEADER_MNTR)
    check_format(text)
    samples = zm.read_exposition(text)
    assert {name: value for (name, labels), value in samples.items()
            if labels == KEY} == LEADER_VALUES
    assert samples[("zookeeper_version_info", key(version="3.4.13-6--1"))] == 1
    states = {dict(labels)["mode"]: value for (name, labels), value in samples.items()
              if name == "zookeeper_server_state"}
    assert states == {"leader": 1, "follower": 0, "observer": 0, "standalone": 0,
                      "not_serving": 0}
    assert all(dict(labels)["ensemble"] == "zookeeper" and dict(labels)["server_id"] == "3"
               for _unused, labels in samples)
    assert "# TYPE zookeeper_packets_received_total counter" in text
    assert "# TYPE zookeeper_synced_followers gauge" in text


def test_a_follower_has_no_leader_series() -> None:
    samples = zm.read_exposition(page("follower", FOLLOWER_MNTR))
    names = {name for name, _unused in samples}
    assert not names & {"zookeeper_followers", "zookeeper_synced_followers",
                        "zookeeper_pending_syncs"}
    assert samples[("zookeeper_server_state", key(mode="follower"))] == 1
    assert samples[("zookeeper_up", KEY)] == 1


def test_a_server_that_does_not_answer_leaves_only_up_0_and_the_time() -> None:
    text = page(None, LEADER_MNTR, at=1700000100.25)
    check_format(text)
    assert zm.read_exposition(text) == {
        ("zookeeper_up", KEY): 0, ("zookeeper_scrape_timestamp_seconds", KEY): 1700000100.25}


def test_a_server_without_quorum_says_not_serving_and_no_figure() -> None:
    samples = zm.read_exposition(page("not_serving", LEADER_MNTR))
    assert samples[("zookeeper_up", KEY)] == 0
    assert samples[("zookeeper_server_state", key(mode="not_serving"))] == 1
    assert samples[("zookeeper_server_state", key(mode="leader"))] == 0
    assert {name for name, _unused in samples} == {"zookeeper_up", "zookeeper_server_state",
                                                   "zookeeper_scrape_timestamp_seconds"}


def test_an_unknown_mode_gets_a_series_of_its_own() -> None:
    samples = zm.read_exposition(page("read-only", "zk_znode_count\t4\n"))
    assert samples[("zookeeper_server_state", key(mode="read-only"))] == 1
    assert samples[("zookeeper_up", KEY)] == 1 and samples[("zookeeper_znode_count", KEY)] == 4


def test_parsing_mntr_and_srvr() -> None:
    values = zm.parse_mntr(LEADER_MNTR)
    assert values["zk_synced_followers"] == 2 and values["zk_server_state"] == "leader"
    assert values["zk_version"].startswith("3.4.13-6--1, built on")
    assert zm.parse_mntr("mntr is not executed because it is not in the whitelist.\n") == {}
    assert zm.parse_mntr(NOT_SERVING) == {}
    assert zm.parse_mode(SRVR.format(mode="follower")) == "follower"
    assert zm.parse_mode(NOT_SERVING) == "not_serving"
    assert zm.parse_mode("srvr is not executed because it is not in the whitelist.\n") is None


def test_label_values_are_escaped_and_read_back() -> None:
    labels = {"ensemble": 'a "b" \\ c\nd', "server_id": "1"}
    text = zm.exposition([(labels, zm.server_samples(None, {}, 1.0))])
    assert 'ensemble="a \\"b\\" \\\\ c\\nd"' in text
    check_format(text)
    assert zm.read_exposition(text)[("zookeeper_up", tuple(sorted(labels.items())))] == 0


def test_several_servers_share_each_family_once() -> None:
    text = zm.exposition([
        ({"ensemble": "zk", "server_id": str(i)},
         zm.server_samples(mode, zm.parse_mntr(mntr), 1.0))
        for i, (mode, mntr) in enumerate(
            [("follower", FOLLOWER_MNTR), ("leader", LEADER_MNTR), (None, "")], start=1)])
    check_format(text)
    ups = {dict(labels)["server_id"]: value for (name, labels), value
           in zm.read_exposition(text).items() if name == "zookeeper_up"}
    assert ups == {"1": 1, "2": 1, "3": 0}


# --------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------


def test_the_file_is_replaced_in_one_rename_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "zookeeper.prom"
    target.write_text("old\n")
    inode = target.stat().st_ino
    zm.write_atomically(str(target), "new\n")
    assert target.read_text() == "new\n" and target.stat().st_ino != inode
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zookeeper.prom"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    target = tmp_path / "zookeeper.prom"
    target.write_text("old\n")

    def fail(*_unused: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(zm.os, "replace", fail)
    with pytest.raises(OSError):
        zm.write_atomically(str(target), "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zookeeper.prom"]


# --------------------------------------------------------------------------
# Against fake servers
# --------------------------------------------------------------------------


@pytest.fixture
def fake_zk() -> Iterator[Callable[[dict[str, str]], int]]:
    """Factory: start a fake 4lw server with canned replies, return its port."""
    yield from fake_zk_module.fake_servers()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port that is bound but not listening: connect is refused."""
    yield from fake_zk_module.closed_port()


def test_collect_asks_srvr_then_mntr(fake_zk: Callable, refused_port: int) -> None:
    port = fake_zk({"srvr": SRVR.format(mode="leader"), "mntr": LEADER_MNTR})
    mode, mntr = zm.collect("127.0.0.1", port, 2.0)
    assert mode == "leader" and mntr["zk_synced_followers"] == 2
    assert zm.collect("127.0.0.1", fake_zk({"srvr": NOT_SERVING, "mntr": NOT_SERVING}), 2.0) == (
        "not_serving", {})
    assert zm.collect("127.0.0.1", refused_port, 1.0) == (None, {})
    # srvr refused by the whitelist: the mode comes from mntr.
    refused = fake_zk({"srvr": "srvr is not executed because it is not in the whitelist.\n",
                       "mntr": FOLLOWER_MNTR})
    assert zm.collect("127.0.0.1", refused, 2.0)[0] == "follower"


def test_the_collector_reads_a_tls_port_with_the_members_certificate(tmp_path: Path) -> None:
    """zookeeper_tls_client_plain off: the unit gives --tls-ca and --tls-cert (the member's
    server.pem, certificate and key in one file); without them the TLS port gives nothing."""
    ca = tmp_path / "ca"
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "directory": str(ca), "hosts": [{"name": "zookeeper01", "address": "127.0.0.1"}],
        "_ansible_tmpdir": str(tmp_path), "_ansible_remote_tmp": str(tmp_path)}}))
    module = MODULES / "zookeeper_tls_ca.py"
    subprocess.run([sys.executable, str(module), str(args)], capture_output=True, check=True,
                   timeout=60)
    server_pem = tmp_path / "server.pem"
    server_pem.write_text((ca / "zookeeper01.pem").read_text()
                          + (ca / "zookeeper01.key").read_text())
    context = fake_zk_module.tls_server_context(str(ca / "ca.pem"), str(ca / "zookeeper01.pem"),
                                                str(ca / "zookeeper01.key"))
    server = fake_zk_module.FakeZk.start({"srvr": SRVR.format(mode="leader"),
                                          "mntr": LEADER_MNTR}, context)
    try:
        tls = zm.tls_context(str(ca / "ca.pem"), str(server_pem))
        assert zm.collect("127.0.0.1", server.port, 2.0, tls)[0] == "leader"
        assert zm.collect("127.0.0.1", server.port, 1.0) == (None, {})
        target = tmp_path / "zookeeper.prom"
        assert zm.main(["--port", str(server.port), "--tls-ca", str(ca / "ca.pem"),
                        "--tls-cert", str(server_pem), "--ensemble", "zookeeper",
                        "--server-id", "3", "--output", str(target)]) == 0
        assert zm.read_exposition(target.read_text())[("zookeeper_up", KEY)] == 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_goes_away_takes_its_figures_with_it(fake_zk: Callable, tmp_path: Path
                                                           ) -> None:
    """The collector as the timer runs it: a file full of figures, then, once the server is
    gone, zookeeper_up 0 and nothing else of it."""
    target = tmp_path / "zookeeper.prom"
    server = fake_zk_module.FakeZk.start({"srvr": SRVR.format(mode="follower"),
                                          "mntr": FOLLOWER_MNTR})
    port = server.port
    args = ["--port", str(port), "--ensemble", "zookeeper", "--server-id", "3",
            "--output", str(target)]
    assert zm.main(args) == 0
    before = zm.read_exposition(target.read_text())
    assert before[("zookeeper_up", KEY)] == 1 and before[("zookeeper_znode_count", KEY)] == 42
    server.shutdown()
    server.server_close()
    assert zm.main(args) == 0
    after = zm.read_exposition(target.read_text())
    assert {name for name, _unused in after} == {
        "zookeeper_up", "zookeeper_scrape_timestamp_seconds", "zookeeper_scrape_duration_seconds"}
    assert after[("zookeeper_up", KEY)] == 0
    assert after[("zookeeper_scrape_timestamp_seconds", KEY)] >= before[
        ("zookeeper_scrape_timestamp_seconds", KEY)]


def test_the_collector_runs_on_python_36(fake_zk: Callable, tmp_path: Path) -> None:
    """The script itself, as the hosts' oldest Python runs it (skipped without a 3.6)."""
    from test_py36 import python36

    interpreter = python36()
    if interpreter is None:
        pytest.skip("no Python 3.6 here (set ZK_PYTHON36)")
    port = fake_zk({"srvr": SRVR.format(mode="leader"), "mntr": LEADER_MNTR})
    target = tmp_path / "zookeeper.prom"
    proc = subprocess.run([interpreter, str(COLLECTOR),
                           "--port", str(port), "--ensemble", "zookeeper", "--server-id", "3",
                           "--output", str(target)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    samples = zm.read_exposition(target.read_text())
    assert samples[("zookeeper_synced_followers", KEY)] == 2


# --------------------------------------------------------------------------
# The units, rendered by ansible-playbook
# --------------------------------------------------------------------------

PLAY = """
- name: Render the metrics units
  hosts: zookeeper
  connection: local
  gather_facts: false
  vars_files:
    - "{{ roles_dir }}/zookeeper/defaults/main.yml"
    - "{{ roles_dir }}/zookeeper/vars/main.yml"
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{{ roles_dir }}/zookeeper/templates/zookeeper-metrics.{{ item }}.j2"
        dest: "{{ out }}/{{ inventory_hostname }}.{{ item }}"
        mode: "0644"
      loop: [service, timer]
      vars:
        __zookeeper_metrics_python: /usr/bin/python3
"""


@pytest.mark.slow
def test_the_units_carry_the_labels_and_the_period(tmp_path: Path) -> None:
    hosts = {"zookeeper01": {"ansible_host": "10.0.0.11", "zookeeper_id": 1},
             "zookeeper02": {"ansible_host": "10.0.0.12", "zookeeper_id": 2}}
    inventory = {"all": {"children": {"zookeeper": {"hosts": hosts}},
                         "vars": {"ansible_python_interpreter": sys.executable}}}
    # Extra vars: above the role's defaults, which the play loads as vars_files.
    settings = {"out": str(tmp_path), "roles_dir": str(REPO / "roles"),
                "zookeeper_metrics": True, "zookeeper_metrics_interval": 30,
                "zookeeper_ensemble_name": 'prod "a" 100%$x'}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.json"), str(tmp_path / "play.yml"),
         "-e", json.dumps(settings)],
        capture_output=True, text=True, env=env, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    one = (tmp_path / "zookeeper01.service").read_text()
    two = (tmp_path / "zookeeper02.service").read_text()
    command = one.split("ExecStart=", 1)[1].split("\n#", 1)[0].replace("\\\n", " ")
    assert command.split() == [
        "/usr/bin/python3", "/usr/local/sbin/zookeeper-metrics", "--host", "127.0.0.1",
        "--port", "2181", "--ensemble", '"prod', '\\"a\\"', '100%%$$x"', "--server-id", "1",
        "--output", "/var/lib/prometheus/node-exporter/zookeeper.prom"]
    assert "--server-id 2 " in two
    assert "ReadWritePaths=/var/lib/prometheus/node-exporter\n" in one
    assert "ProtectSystem=strict\n" in one
    timer = (tmp_path / "zookeeper01.timer").read_text()
    assert "OnUnitActiveSec=30s\n" in timer and "AccuracySec=1s\n" in timer
    assert "WantedBy=timers.target" in timer


def test_a_38_leaders_learners_are_its_followers() -> None:
    values = zm.parse_mntr("zk_server_state\tleader\nzk_learners\t2\n"
                           "zk_synced_followers\t2\n")
    assert values["zk_followers"] == 2
