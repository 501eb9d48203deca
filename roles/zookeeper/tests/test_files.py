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
import sys
from pathlib import Path
from typing import Any

import pytest
from role_modules import LIBRARY

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path: Path, check: bool = False, diff: bool = False, **args: Any) -> dict:
    """The module's JSON result for `args`."""
    args.update(_ansible_check_mode=check, _ansible_diff=diff,
                _ansible_tmpdir=str(tmp_path), _ansible_remote_tmp=str(tmp_path))
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, str(LIBRARY / "zookeeper_files.py"), str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    return json.loads(proc.stdout)


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
    assert again == {"changed": False, "changed_paths": [], "invocation": again["invocation"]}


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
