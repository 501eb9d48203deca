"""Tests of the zookeeper_files module, run as Ansible runs it (a Python process given its
arguments as JSON) on files of a temporary directory: what it writes, removes and re-points,
what check mode and diff mode report, and what it refuses."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from plugins import run_module, systemctl_stand_in

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path: Path, check: bool = False, diff: bool = False, etc: Path | None = None,
        env: dict[str, str] | None = None, **args: Any) -> dict:
    """The module's JSON result for `args`; with `etc`, run with that copy of /etc mounted
    over /etc in a mount namespace of its own (the accounts it makes stay in the copy)."""
    prefix = [] if etc is None else [
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        f'mount --bind "{etc}" /etc && exec "$@"', "sh"]
    return run_module("zookeeper_files", tmp_path, args, check=check, diff=diff, prefix=prefix,
                      env=env)


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.lstat().st_mode):04o}"


def layout(root: Path) -> dict[str, Any]:
    """A member's directories, files, link and leftover under `root`."""
    return {
        "directories": [{"path": str(root / "data"), "owner": USER, "group": GROUP,
                         "mode": "0750"},
                        {"path": str(root / "conf" / "deep"), "owner": USER, "group": GROUP,
                         "mode": "0755"}],
        "files": [{"path": str(root / "zoo.cfg"), "content": "tickTime=2000\n",
                   "owner": USER, "group": GROUP, "mode": "0640"},
                  {"path": str(root / "myid"), "content": "1\n", "mode": "0644"}],
        "links": [{"path": str(root / "zookeeper"), "target": str(root / "zookeeper-3.4.13")}],
        "absent": [str(root / "logback.xml")],
    }


def test_a_fresh_layout_is_written_then_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    (root / "logback.xml").write_text("<configuration/>\n")
    first = run(tmp_path, **layout(root))
    assert first["changed"] is True, first
    assert first["changed_paths"] == [str(root / p) for p in (
        "data", "conf/deep", "zoo.cfg", "myid", "zookeeper", "logback.xml")]
    assert (root / "zoo.cfg").read_text() == "tickTime=2000\n"
    assert mode(root / "zoo.cfg") == "0640" and mode(root / "myid") == "0644"
    assert mode(root / "data") == "0750" and (root / "conf" / "deep").is_dir()
    assert os.readlink(root / "zookeeper") == str(root / "zookeeper-3.4.13")
    assert not (root / "logback.xml").exists()
    assert not list(root.glob(".zookeeper_files.*")), "a temporary file was left behind"
    again = run(tmp_path, **layout(root))
    assert again == {"changed": False, "changed_paths": [], "release": None, "started": False,
                     "enabled": None, "invocation": again["invocation"]}


def test_only_what_differs_changes(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    run(tmp_path, **layout(root))
    os.chmod(root / "myid", 0o600)
    changed = layout(root)
    changed["files"][0]["content"] = "tickTime=2500\n"
    changed["links"][0]["target"] = str(root / "apache-zookeeper-3.8.0-bin")
    result = run(tmp_path, **changed)
    assert result["changed_paths"] == [str(root / "zoo.cfg"), str(root / "myid"),
                                       str(root / "zookeeper")]
    assert (root / "zoo.cfg").read_text() == "tickTime=2500\n"
    assert mode(root / "myid") == "0644"
    assert os.readlink(root / "zookeeper").endswith("apache-zookeeper-3.8.0-bin")


def test_check_mode_reports_and_diffs_without_writing(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    run(tmp_path, **layout(root))
    changed = layout(root)
    changed["files"][0]["content"] = "tickTime=2500\n"
    (root / "logback.xml").write_text("x\n")
    result = run(tmp_path, check=True, diff=True, **changed)
    assert result["changed"] is True
    assert result["changed_paths"] == [str(root / "zoo.cfg"), str(root / "logback.xml")]
    assert (root / "zoo.cfg").read_text() == "tickTime=2000\n", "check mode wrote the file"
    assert (root / "logback.xml").exists(), "check mode removed a file"
    assert result["diff"][0] == {"before_header": str(root / "zoo.cfg"),
                                 "after_header": str(root / "zoo.cfg"),
                                 "before": "tickTime=2000\n", "after": "tickTime=2500\n"}
    assert result["diff"][1]["after"] == {"path": str(root / "logback.xml"), "state": "absent"}


def test_secret_files_are_written_with_the_others_and_never_shown(tmp_path: Path) -> None:
    """The JAAS logins go in the same call as the other files (secret_files): written, owned and
    compared as a file of `files` is, after them, but with no diff, and their content kept out of
    the result (a no_log value), while the other files' diffs still show."""
    root = tmp_path / "host"
    root.mkdir()
    login = 'Server { password="se${user.home}cret-login"; };\n'
    jaas = {"path": str(root / "jaas.conf"), "content": login, "owner": USER, "group": GROUP,
            "mode": "0440"}
    first = run(tmp_path, diff=True, **layout(root), secret_files=[jaas])
    assert first["changed_paths"] == [str(root / p) for p in (
        "data", "conf/deep", "zoo.cfg", "myid", "jaas.conf", "zookeeper")]
    assert (root / "jaas.conf").read_text() == login and mode(root / "jaas.conf") == "0440"
    shown = json.dumps(first)
    assert "cret-login" not in shown, f"a secret file's content was returned: {shown}"
    assert [d.get("after_header") for d in first["diff"] if "after_header" in d] == [
        str(root / "zoo.cfg"), str(root / "myid")], first["diff"]
    # Compared on the host: the same content changes nothing, a new one is written, unshown.
    assert run(tmp_path, diff=True, secret_files=[jaas])["changed"] is False
    changed = run(tmp_path, diff=True, secret_files=[dict(jaas, content="Server {};\n")])
    assert changed["changed_paths"] == [str(root / "jaas.conf")]
    assert "diff" not in changed and "cret-login" not in json.dumps(changed)
    assert (root / "jaas.conf").read_text() == "Server {};\n"


def test_check_mode_on_a_new_host_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    wanted = layout(root)
    wanted["files"] = []  # their directories would not exist either
    result = run(tmp_path, check=True, **wanted)
    assert result["changed_paths"] == [str(root / "data"), str(root / "conf" / "deep"),
                                       str(root / "zookeeper")]
    assert sorted(os.listdir(root)) == []


@pytest.mark.parametrize("kind", ["links", "directories"])
def test_a_path_of_the_wrong_kind_is_refused_not_replaced(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "host"
    root.mkdir()
    wanted = {"links": [{"path": str(root / "zookeeper"), "target": "/opt/zookeeper-3.4.13"}],
              "directories": [{"path": str(root / "zookeeper")}]}
    (root / "zookeeper").write_text("not a link nor a directory\n")
    result = run(tmp_path, **{kind: wanted[kind]})
    assert result.get("failed") is True
    assert f"{root / 'zookeeper'} exists and is not a" in result["msg"]
    assert "move it away, then run again" in result["msg"]
    assert (root / "zookeeper").read_text() == "not a link nor a directory\n"


# --- the account: real groupadd, useradd and usermod on a copy of /etc (root only: they
# need it, and so does the mount namespace that keeps the machine's own accounts untouched).
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="groupadd/useradd and unshare need root")
ACCOUNT = {"user": "zkfilestest", "group": "zkfilestest", "home": "/var/lib/zkfilestest",
           "shell": "/usr/sbin/nologin", "comment": "Apache ZooKeeper"}


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    copy = tmp_path / "etc"
    subprocess.run(["cp", "-a", "/etc", str(copy)], check=True, timeout=120)
    assert "zkfilestest" not in (copy / "passwd").read_text()
    return copy


def passwd_line(etc: Path) -> str:
    return next((line for line in (etc / "passwd").read_text().splitlines()
                 if line.startswith("zkfilestest:")), "")


@needs_root
def test_the_account_is_made_first_then_left_alone(tmp_path: Path, etc: Path) -> None:
    data = tmp_path / "data"
    wanted = {"account": ACCOUNT, "directories": [
        {"path": str(data), "owner": "zkfilestest", "group": "zkfilestest", "mode": "0750"}]}
    first = run(tmp_path, etc=etc, **wanted)
    assert first["changed_paths"] == ["group:zkfilestest", "user:zkfilestest", str(data)], first
    fields = passwd_line(etc).split(":")
    assert fields[4:] == ["Apache ZooKeeper", "/var/lib/zkfilestest", "/usr/sbin/nologin"]
    assert int(fields[2]) < 1000, f"not a system user: {fields}"
    group_line = next(line for line in (etc / "group").read_text().splitlines()
                      if line.startswith("zkfilestest:"))
    assert fields[3] == group_line.split(":")[2], "the user is not in its group"
    # The directory was given to the user made in the same call.
    assert data.stat().st_uid == int(fields[2]) and data.stat().st_gid == int(fields[3])
    assert "zkfilestest" not in Path("/etc/passwd").read_text(), "the machine's /etc changed"
    again = run(tmp_path, etc=etc, **wanted)
    assert again["changed"] is False and again["changed_paths"] == [], again


@needs_root
def test_a_user_that_differs_is_changed_and_check_mode_only_reports(
        tmp_path: Path, etc: Path) -> None:
    run(tmp_path, etc=etc, account=ACCOUNT)
    text = (etc / "passwd").read_text()
    (etc / "passwd").write_text(text.replace("/var/lib/zkfilestest:/usr/sbin/nologin",
                                             "/home/zkfilestest:/bin/sh"))
    checked = run(tmp_path, etc=etc, check=True, diff=True, account=ACCOUNT)
    assert checked["changed_paths"] == ["user:zkfilestest"], checked
    assert checked["diff"][0]["before"]["shell"] == "/bin/sh"
    assert passwd_line(etc).endswith(":/home/zkfilestest:/bin/sh"), "check mode changed the user"
    fixed = run(tmp_path, etc=etc, account=ACCOUNT)
    assert fixed["changed_paths"] == ["user:zkfilestest"], fixed
    assert passwd_line(etc).endswith(":/var/lib/zkfilestest:/usr/sbin/nologin")


@needs_root
def test_check_mode_makes_no_account(tmp_path: Path, etc: Path) -> None:
    result = run(tmp_path, etc=etc, check=True, account=ACCOUNT)
    assert result["changed_paths"] == ["group:zkfilestest", "user:zkfilestest"], result
    assert passwd_line(etc) == "" and "zkfilestest" not in (etc / "group").read_text()


# --- links the service account can plant (issue #25 point 1): the data directory is its own,
# so `ln -sfn /etc/shadow /var/lib/zookeeper/myid` must not make root print, chmod or chown
# what the link points to.
def test_a_link_in_place_of_a_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    run(tmp_path, **layout(root))
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    os.chmod(secret, 0o600)
    (root / "myid").unlink()
    (root / "myid").symlink_to(secret)
    if os.geteuid() == 0:  # planted by the service account, not root
        os.lchown(root / "myid", 65534, 65534)
    for check in (False, True):
        result = run(tmp_path, check=check, diff=True, **layout(root))
        assert result.get("failed") is True, result
        assert f"{root / 'myid'} is a symbolic link" in result["msg"], result["msg"]
        assert "remove it, then run again" in result["msg"]
        assert "secret-hash" not in json.dumps(result), "the link's target was read out"
    assert mode(secret) == "0600" and secret.read_text().startswith("root:$6$secret-hash")
    assert (root / "myid").is_symlink(), "the link was replaced instead of refused"


@pytest.mark.skipif(os.geteuid() != 0, reason="a root-owned link needs root")
def test_a_link_root_made_is_replaced_never_followed(tmp_path: Path) -> None:
    """Debian's zookeeper package links /var/lib/zookeeper/myid into /etc/zookeeper/conf: the
    module puts its file in the link's place and leaves the target alone."""
    root = tmp_path / "host"
    root.mkdir()
    target = tmp_path / "conf-myid"
    target.write_text("7\n")
    os.chmod(target, 0o600)
    (root / "myid").symlink_to(target)
    result = run(tmp_path, files=[{"path": str(root / "myid"), "content": "1\n",
                                   "mode": "0644"}])
    assert result["changed_paths"] == [str(root / "myid")], result
    assert not (root / "myid").is_symlink() and (root / "myid").read_text() == "1\n"
    assert mode(root / "myid") == "0644"
    assert target.read_text() == "7\n" and mode(target) == "0600"


def test_only_a_regular_file_is_read(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    os.mkfifo(root / "myid")  # a FIFO would block a plain open
    result = run(tmp_path, files=[{"path": str(root / "myid"), "content": "1\n",
                                   "mode": "0644"}])
    assert result.get("failed") is True and "is not a regular file" in result["msg"], result


def test_a_link_in_place_of_a_directory_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir(mode=0o755)
    (root / "data").symlink_to(elsewhere)
    result = run(tmp_path, directories=[{"path": str(root / "data"), "mode": "0750"}])
    assert result.get("failed") is True, result
    assert f"{root / 'data'} is a symbolic link" in result["msg"], result["msg"]
    assert mode(elsewhere) == "0755", "the mode went to the link's target"


def test_a_file_gets_its_mode_through_its_descriptor(tmp_path: Path) -> None:
    """Same content, other mode: fixed on the file itself (the one opened without following
    a link), and a new file is written with its mode before it takes the name."""
    root = tmp_path / "host"
    root.mkdir()
    wanted = {"files": [{"path": str(root / "myid"), "content": "1\n", "mode": "0640"}]}
    assert run(tmp_path, **wanted)["changed_paths"] == [str(root / "myid")]
    assert mode(root / "myid") == "0640"
    os.chmod(root / "myid", 0o666)
    assert run(tmp_path, check=True, **wanted)["changed_paths"] == [str(root / "myid")]
    assert mode(root / "myid") == "0666", "check mode changed the mode"
    assert run(tmp_path, **wanted)["changed_paths"] == [str(root / "myid")]
    assert mode(root / "myid") == "0640"
    assert run(tmp_path, **wanted)["changed"] is False


def start_run(tmp_path: Path, root: Path, *flags: str, check: bool = False,
              **args: Any) -> tuple[dict, list[str], set[str]]:
    """The layout written with start=zookeeper (and `args`) against a stand-in systemctl whose
    unit has `flags`: the result, the systemctl calls, and the unit's state after."""
    bin_dir = systemctl_stand_in(tmp_path, *flags)
    result = run(tmp_path, check=check, start="zookeeper", **layout(root), **args,
                 env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "WATCH": str(root / "zoo.cfg")})
    calls = bin_dir / "state" / "calls"
    made = [call.split(" --property")[0] for call in calls.read_text().splitlines()]
    return result, made, {p.name for p in (bin_dir / "state").iterdir()} - {"calls"}


def test_a_new_server_is_started_once_every_file_is_written(tmp_path: Path) -> None:
    """The zookeeper role names its unit in `start` on a new server, so that the JVM boots
    while the run goes on: systemd reloads first (the unit file is new to it), then starts it,
    after the last write (zoo.cfg is there when `systemctl start` runs)."""
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "reload")
    assert not result.get("failed"), result
    assert result["changed"] and result["started"], result
    assert calls == ["show zookeeper", "daemon-reload", "start zookeeper",
                     f"start: {root / 'zoo.cfg'} exists"], calls
    assert state == {"active"}, "the unit was enabled, though `enabled` was not given"
    assert result["enabled"] is False, result


def test_a_new_server_is_enabled_after_its_start(tmp_path: Path) -> None:
    """With enabled=true (the zookeeper role's early start) the unit is enabled too, after the
    start (an enable reloads systemd's configuration, which need not delay the JVM): the role's
    start step has nothing left to do on that host."""
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "reload", enabled=True)
    assert not result.get("failed") and not result.get("warnings"), result
    assert result["started"] is True and result["enabled"] is True, result
    assert calls == ["show zookeeper", "daemon-reload", "start zookeeper",
                     f"start: {root / 'zoo.cfg'} exists", "enable zookeeper"], calls
    assert state == {"active", "enabled"}


def test_enabled_false_leaves_a_disabled_unit_as_it_is(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, enabled=False)
    assert result["started"] is True and result["enabled"] is False, result
    assert calls == ["show zookeeper", "start zookeeper", f"start: {root / 'zoo.cfg'} exists"]
    assert state == {"active"}


def test_an_enable_that_fails_is_a_warning_and_says_the_unit_is_not_enabled(
        tmp_path: Path) -> None:
    """The role's start step then runs on the host (its enable fails with systemd's message
    and the run stops there)."""
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "enable-fails", enabled=True)
    assert not result.get("failed"), result
    assert result["started"] is True and result["enabled"] is False, result
    warnings = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert warnings == ["every file was written and zookeeper started, but systemctl enable "
                        "zookeeper failed: Failed to enable unit: zookeeper.service"], result
    assert calls[-1] == "enable zookeeper" and state == {"active", "enable-fails"}


def test_an_active_unit_is_neither_started_nor_enabled(tmp_path: Path) -> None:
    """Only a unit this call starts is enabled here: an active one is the start step's."""
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "active", enabled=True)
    assert result["started"] is False and result["enabled"] is False, result
    assert calls == ["show zookeeper"] and state == {"active"}


def test_an_active_unit_is_not_started_again(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "active")
    assert result["changed"] and result["started"] is False, result  # the files changed
    assert calls == ["show zookeeper"] and state == {"active"}


def test_check_mode_says_it_would_start_and_starts_nothing(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "reload", check=True, enabled=True)
    assert result["changed"] and result["started"] is True and result["enabled"] is True, result
    assert calls == ["show zookeeper"] and state == {"reload"}
    assert not (root / "zoo.cfg").exists()


def test_a_start_that_fails_is_a_warning_and_the_writes_stay(tmp_path: Path) -> None:
    """The start step after it starts the unit again and reports why it does not run (with
    the unit's journal), so the write itself does not fail."""
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "broken")
    assert not result.get("failed"), result
    assert result["changed"] and result["started"] is False, result
    # (ansible-core 2.19 returns each warning as an event with its message)
    warnings = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    assert warnings == ["every file was written, but systemctl start zookeeper failed: "
                        "Job for zookeeper.service failed."], result
    assert calls[-2:] == ["start zookeeper", f"start: {root / 'zoo.cfg'} exists"], calls
    assert (root / "zoo.cfg").read_text() == "tickTime=2000\n" and state == {"broken"}


def test_without_start_systemd_is_not_asked(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    bin_dir = systemctl_stand_in(tmp_path, "reload")
    result = run(tmp_path, **layout(root), env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result["changed"] and result["started"] is False, result
    assert not (bin_dir / "state" / "calls").exists()


def test_with_serve_the_write_waits_until_the_server_it_started_serves(
        tmp_path: Path, follower: int) -> None:
    """site.yml's short path, where every host of the play runs the write at once: the write
    waits for its server, and the role's wait step has nothing left to do."""
    root = tmp_path / "host"
    root.mkdir()
    result, calls, state = start_run(tmp_path, root, "reload", enabled=True,
                                     serve={"port": follower, "members": 3, "timeout": 5})
    assert not result.get("failed"), result
    assert result["started"] and result["serving"] is True and result["mode"] == "follower"
    assert calls[-1] == "enable zookeeper" and state == {"active", "enabled"}, calls


def test_with_serve_a_server_that_does_not_serve_fails_the_write_and_says_why(
        tmp_path: Path) -> None:
    """... with the last srvr answer, the unit's journal and the log's tail, as the wait step
    would, and what the call wrote."""
    root = tmp_path / "host"
    root.mkdir()
    log = root / "zookeeper.log"
    log.write_text("2026-12-07 18:00:00,000 - ERROR [main:QuorumPeerMain@89] - Invalid config\n")
    result, _calls, state = start_run(
        tmp_path, root, serve={"port": 1, "members": 3, "timeout": 0.5, "log_file": str(log)})
    assert result.get("failed") and result["serving"] is False, result
    assert result["msg"].startswith("ZooKeeper on 127.0.0.1:1 did not serve as follower or "
                                    "leader within 0.5 s; last srvr answer: "), result["msg"]
    assert "zookeeper.service: Control process exited" in result["msg"]  # the journal
    assert "Invalid config" in result["msg"], result["msg"]
    assert str(root / "zoo.cfg") in result["changed_paths"] and result["started"], result
    assert result["waited"] >= 0.5 and state == {"active"}, result


@pytest.mark.parametrize("flags", [("active",), ("broken",)])
def test_with_serve_a_unit_the_call_did_not_start_is_not_waited_for(
        tmp_path: Path, flags: tuple[str, ...]) -> None:
    """An active unit, or one whose start failed (the warning says why): the role's wait step
    starts it or waits for it."""
    root = tmp_path / "host"
    root.mkdir()
    result, _calls, _state = start_run(tmp_path, root, *flags,
                                       serve={"port": 1, "timeout": 30})
    assert not result.get("failed"), result
    assert result["serving"] is False and result["waited"] == 0.0, result


def test_with_serve_check_mode_waits_for_nothing(tmp_path: Path) -> None:
    root = tmp_path / "host"
    root.mkdir()
    result, calls, _state = start_run(tmp_path, root, check=True, serve={"port": 1,
                                                                         "timeout": 30})
    assert result["started"] is True and result["serving"] is False, result
    assert calls == ["show zookeeper"], calls
