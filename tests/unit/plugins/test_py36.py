"""The role's modules and module_utils run on the hosts' Python, 3.6 and later (EL 8's
platform-python). `make lint` proves the floor statically with vermin; this runs them under a
real Python 3.6 when one is installed (ZK_PYTHON36, python3.6 on PATH, or pyenv's 3.6.x): their
functions against fake ZooKeeper servers on loopback, and the subprocess calls that 3.7's
capture_output/text would break. AnsibleModule is a stub: ansible-core's own module code has
its own floor (2.16 is the last to run modules on 3.6)."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import textwrap

import pytest
from plugins import COLLECTIONS, PACKAGE


@functools.cache
def python36() -> str | None:
    """A Python 3.6 that runs (a pyenv shim may name one that does not)."""
    candidates = [os.environ.get("ZK_PYTHON36"),
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.6*/bin/python3.6"))),
                  shutil.which("python3.6")]
    for candidate in filter(None, candidates):
        try:
            proc = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                  capture_output=True, text=True, check=False, timeout=30)
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.strip() == "(3, 6)":
            return candidate
    return None


SCRIPT = textwrap.dedent('''
    import importlib, os, socketserver, sys, tempfile, threading, time, types

    assert sys.version_info[:2] == (3, 6), sys.version
    sys.path.insert(0, sys.argv[1])  # the checkout's .collections/
    plugins = sys.argv[2] + ".plugins."

    basic = types.ModuleType("ansible.module_utils.basic")
    basic.AnsibleModule = object
    for name in ("ansible", "ansible.module_utils"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["ansible.module_utils.basic"] = basic
    distribution = types.ModuleType("ansible.module_utils.facts.system.distribution")
    distribution.DistributionFactCollector = object
    sys.modules[distribution.__name__] = distribution
    zk = importlib.import_module(plugins + "module_utils.zookeeper_4lw")
    systemd = importlib.import_module(plugins + "module_utils.zookeeper_systemd")
    probe = importlib.import_module(plugins + "modules.zookeeper_probe")
    java = importlib.import_module(plugins + "module_utils.java_runtime")
    assert java.pick_package({"Debian": "default-jre-headless"}, {"os_family": "Debian"})
    server = importlib.import_module(plugins + "modules.zookeeper_server")
    serving = importlib.import_module(plugins + "module_utils.zookeeper_serving")

    REPLIES = {}

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            word = self.request.recv(4).decode()
            self.request.sendall(REPLIES[self.server.server_address[1]][word].encode())

    def fake(mode, synced=None):
        srv = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        mntr = "zk_server_state\\t%s\\n" % mode
        if synced is not None:
            mntr += "zk_synced_followers\\t%d\\n" % synced
        REPLIES[srv.server_address[1]] = {
            "srvr": "Zookeeper version: 3.4.14\\nLatency min/avg/max: 0/1/2\\n"
                    "Received: 5\\nMode: %s\\nZxid: 0x100000002\\nNode count: 4\\n" % mode,
            "mntr": mntr}
        return "127.0.0.1:%d" % srv.server_address[1]

    leader, f1, f2 = fake("leader", synced=2), fake("follower"), fake("follower")
    status = zk.srvr_at(f1)
    assert status["mode"] == "follower" and status["zxid"] == "0x100000002", status
    assert status["latency_avg"] == 1 and status["received"] == 5, status
    assert zk.parse_mntr("zk_synced_followers\\t2\\nzk_version\\t3.4.14\\n") == {
        "zk_synced_followers": 2, "zk_version": "3.4.14"}
    try:
        zk.four_letter_word("127.0.0.1", 1, "sr\\u00e9r", 1.0)
    except ValueError:
        pass
    else:
        raise AssertionError("a non-ASCII word was sent")
    assert zk.srvr_at("127.0.0.1:1")["mode"] is None  # refused: the reason, no exception

    ok, said, found, _ = server.healthy([leader, f1, f2], [leader, f1, f2])
    assert ok and found == leader, said
    ok, said, _, _ = server.healthy([leader, f1, "127.0.0.1:1"], [leader, f1, "127.0.0.1:1"])
    assert not ok, said
    gated = {"peers": {leader: 3, f1: 3, f2: 3}, "serving": None, "action": "restart",
             "elect_quorum": None}
    ok, said, _, _ = server.gate(gated, f1)
    assert ok, said
    lone = fake("leader", synced=1)
    ok, said, _, _ = server.gate(dict(gated, peers={lone: 3, f1: 3}), f1)
    assert not ok and "needs 2" in said, said
    assert serving.poll(lambda: (True, 1), 1.0) == (True, 1)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "zoo.cfg")
        with open(path, "w") as handle:
            handle.write("a\\nb\\nc\\n")
        described = probe.describe(path)
        assert described["type"] == "file" and len(described["checksum"]) == 40, described
        assert probe.describe(os.path.join(tmp, "none")) == {"exists": False}
        assert serving.tail(path, 2) == "b\\nc\\n"
        assert systemd.stale({"main_pid": 1, "started": time.time() - 60}, [path])
        assert [m["id"] for m in probe.server_lines(
            "server.2=b:2888:3888;2181\\nserver.1=a:2888:3888\\n")] == [1, 2]
        os.symlink(path, os.path.join(tmp, "link"))
        try:
            probe.read_no_follow(os.path.join(tmp, "link"))
        except OSError:
            pass
        else:
            raise AssertionError("a link was followed")
    assert systemd.wall_clock(0) is None
    # subprocess.run as the modules call it (stdout/stderr pipes, universal_newlines).
    states = probe.units(["zk-py36-test-no-such-unit", "zk-py36-test-no-such-unit-2"])
    assert [state["active"] for state in states.values()] == [False, False], states
    assert systemd.unit("zk-py36-test-no-such-unit")["main_pid"] == 0
    assert isinstance(serving.unit_state("zk-py36-test-no-such-unit"), str)
    assert isinstance(serving.journal("zk-py36-test-no-such-unit", 5), str)
    print("python 3.6 ok")
''')


@pytest.mark.skipif(python36() is None, reason="no Python 3.6 here (set ZK_PYTHON36)")
@pytest.mark.skipif(shutil.which("systemctl") is None, reason="no systemctl to call")
def test_the_modules_run_on_python_36() -> None:
    proc = subprocess.run([str(python36()), "-c", SCRIPT, str(COLLECTIONS), PACKAGE],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "python 3.6 ok"
