"""Unit tests of zookeeper_probe (and of module_utils/zookeeper_systemd, which it uses): the
pending-restart check (a configuration file written after the running server started, by
systemd's start time to the microsecond, means a restart is due), and the member lists it reads.
"""

from __future__ import annotations

import grp
import os
import pwd
import time
from pathlib import Path

import pytest
from plugins import module_util, module

probe = module("zookeeper_probe")
systemd = module_util("zookeeper_systemd")


def test_a_monotonic_timestamp_of_now_is_now_on_the_wall_clock() -> None:
    assert abs(systemd.wall_clock(time.monotonic_ns() // 1000) - time.time()) < 0.05
    assert systemd.wall_clock(0) is None


def test_every_unit_is_read_in_one_systemctl_call(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`systemctl show a b` prints a's properties, a blank line, then b's; each unit gets its
    own. A systemctl that prints fewer blocks than units asked is asked for each alone."""
    calls = tmp_path / "calls"
    fake = tmp_path / "systemctl"
    fake.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
up='MainPID=42 ExecMainStartTimestampMonotonic=0 ActiveState=active UnitFileState=enabled
NeedDaemonReload=yes'
down='MainPID=0 ExecMainStartTimestampMonotonic=0 ActiveState=inactive UnitFileState='
for unit in "$@"; do
  case $unit in
    show|--*) continue ;;
    zookeeper) printf '%s\\n' $up ;;
    broken) exit 1 ;;
    *) printf '%s\\n' $down ;;
  esac
  printf '\\n'
done
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    found = systemd.units(["zookeeper", "zookeeper-firewall"])
    assert found["zookeeper"] == {"enabled": True, "active": True, "main_pid": 42,
                                  "started": None, "need_reload": True}
    assert found["zookeeper-firewall"] == {"enabled": False, "active": False, "main_pid": 0,
                                           "started": None, "need_reload": False}
    assert len(calls.read_text().splitlines()) == 1
    assert systemd.unit("zookeeper")["main_pid"] == 42
    calls.unlink()
    found = systemd.units(["zookeeper", "broken"])
    assert found["zookeeper"]["active"] and not found["broken"]["active"]
    assert len(calls.read_text().splitlines()) == 3  # both at once, then each alone


def test_stale_only_when_a_file_changed_after_the_server_started(tmp_path: Path) -> None:
    config = tmp_path / "zoo.cfg"
    config.write_text("tickTime=2000\n")
    written = config.stat().st_mtime
    files = [str(config), str(tmp_path / "jaas.conf")]  # a file that does not exist is skipped
    assert not systemd.stale({"main_pid": 42, "started": written + 0.001}, files)
    assert systemd.stale({"main_pid": 42, "started": written - 0.2}, files)
    assert not systemd.stale({"main_pid": 0, "started": None}, files)


def test_the_member_lists_on_disk_and_of_the_running_server(tmp_path: Path) -> None:
    conf, data = tmp_path / "etc", tmp_path / "data"
    (data / "version-2").mkdir(parents=True)
    conf.mkdir()
    (conf / "zoo.cfg").write_text("tickTime=2000\nserver.2=b:2888:3888\nserver.1=a:2888:3888\n")
    run = tmp_path / "run.cfg"
    run.write_text("server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n")
    (data / "version-2" / "currentEpoch").write_text("7")
    active = {"active": True, "main_pid": 42, "started": 0.0}
    found = probe.ensemble(active, False, str(conf / "zoo.cfg"), str(run), str(data))
    assert [m["id"] for m in found["config"]] == [1, 2]
    assert [m["id"] for m in found["running"]] == [1, 2, 3] and found["running_from"] == "runtime"
    assert found["epoch"] == 7 and found["data"] is False
    (data / "version-2" / "log.100000001").write_text("")
    assert probe.ensemble(active, False, None, None, str(data))["data"] is True
    # Without the unit's copy: zoo.cfg, unless it changed after the start (then unknown).
    gone = str(tmp_path / "none")
    assert [m["id"] for m in probe.ensemble(active, False, str(conf / "zoo.cfg"), gone,
                                            None)["running"]] == [1, 2]
    assert probe.ensemble(active, True, str(conf / "zoo.cfg"), gone, None)["running"] is None
    stopped = {"active": False, "main_pid": 0, "started": None}
    assert probe.ensemble(stopped, False, str(conf / "zoo.cfg"), str(run), None)["running"] is None


def test_a_link_the_service_account_planted_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("server.9=evil:1:2\n")
    run = tmp_path / "run.cfg"
    run.symlink_to(secret)
    found = probe.ensemble({"active": True, "main_pid": 1, "started": 0.0}, False, None,
                           str(run), None)
    assert found["running"] is None and str(run) in found["links"]


def test_a_server_with_dynamic_reconfiguration_keeps_its_own_list(tmp_path: Path) -> None:
    dyn = tmp_path / "config"
    dyn.mkdir()
    (dyn / "zoo.cfg.dynamic.100000000").write_text(
        "server.1=a:2888:3888:participant\nserver.4=d:2888:3888:participant;0.0.0.0:2181")
    (dyn / "zoo.cfg").write_text(
        f"reconfigEnabled=true\ndynamicConfigFile={dyn}/zoo.cfg.dynamic.100000000\n")
    active = {"active": True, "main_pid": 1, "started": 0.0}
    found = probe.ensemble(active, False, None, None, None, str(dyn))
    assert [m["id"] for m in found["running"]] == [1, 4]
    assert found["running_from"] == "dynamic" and found["reconfig"] is True
    # A dynamic file named outside that directory is not read.
    (dyn / "zoo.cfg").write_text(f"reconfigEnabled=true\ndynamicConfigFile={tmp_path}/x\n")
    (tmp_path / "x").write_text("server.9=evil:1:2\n")
    assert probe.ensemble(active, False, None, None, None, str(dyn))["running"] == []


def test_read_and_paths_never_follow_a_link(tmp_path: Path) -> None:
    """A link the service account put in the data directory in place of myid: its target is
    neither read (content) nor checksummed (paths); the link itself is described."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000\n")
    myid = tmp_path / "myid"
    myid.symlink_to(secret)
    info = myid.lstat()
    assert probe.describe(str(myid)) == {
        "exists": True, "type": "link", "target": str(secret), "mode": "0777",
        "owner": probe._name(pwd.getpwuid, info.st_uid),
        "group": probe._name(grp.getgrgid, info.st_gid)}
    with pytest.raises(OSError):
        probe.read_no_follow(str(myid))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert probe.describe(str(fifo))["type"] == "other"


def test_a_secret_file_is_described_without_its_checksum(tmp_path: Path) -> None:
    """jaas.conf (and zoo.cfg with the super user's digest): an unsalted SHA-1 of the file, at
    -v and in every AWX/ARA event, lets anyone guess the password offline."""
    jaas = tmp_path / "jaas.conf"
    jaas.write_text('Server { org.apache.zookeeper.server.auth.DigestLoginModule required '
                    'user_admin="se${user.home}cret"; };\n')
    jaas.chmod(0o440)
    seen = probe.describe(str(jaas), checksum=False)
    assert seen["type"] == "file" and seen["mode"] == "0440", seen
    assert "checksum" not in seen and "cret" not in repr(seen), seen
    assert len(probe.describe(str(jaas))["checksum"]) == 40  # any other file keeps its checksum
