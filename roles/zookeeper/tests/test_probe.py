"""Unit tests of zookeeper_probe's pending-restart check: a configuration file written after
the running server started (systemd's start time, to the microsecond) means a restart is due."""

from __future__ import annotations

import time
from pathlib import Path

from role_modules import role_module

probe = role_module("zookeeper_probe")


def test_a_monotonic_timestamp_of_now_is_now_on_the_wall_clock() -> None:
    assert abs(probe.wall_clock(time.monotonic_ns() // 1000) - time.time()) < 0.05
    assert probe.wall_clock(0) is None


def test_stale_only_when_a_file_changed_after_the_server_started(tmp_path: Path) -> None:
    config = tmp_path / "zoo.cfg"
    config.write_text("tickTime=2000\n")
    written = config.stat().st_mtime
    files = [str(config), str(tmp_path / "jaas.conf")]  # a file that does not exist is skipped
    assert not probe.stale({"main_pid": 42, "started": written + 0.001}, files)
    assert probe.stale({"main_pid": 42, "started": written - 0.2}, files)
    assert not probe.stale({"main_pid": 0, "started": None}, files)
