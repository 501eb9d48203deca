"""zookeeper_server's action=started, run as Ansible runs it (a Python process given its
arguments as JSON), against a stand-in `systemctl` first on PATH that keeps the unit's state in
files and logs each call, and a server on loopback answering `srvr`: it reloads, starts, then
enables or disables only what differs, waits only for a server it started (or, with
wait_active, for one already running too), and check mode changes nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from plugins import run_module, systemctl_stand_in


def run(tmp_path: Path, bin_dir: Path, port: int, check: bool = False,
        **args: Any) -> tuple[dict, list[str], set[str]]:
    """The module's result, the systemctl calls it made, and the unit's state after."""
    calls = bin_dir / "state" / "calls"
    calls.unlink(missing_ok=True)
    result = run_module("zookeeper_server", tmp_path,
                        {"action": "started", "port": port, "members": 3, "timeout": 3, **args},
                        check=check, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    made = calls.read_text().splitlines() if calls.exists() else []
    state = {p.name for p in (bin_dir / "state").iterdir()} - {"calls"}
    return result, made, state


def changes(calls: list[str]) -> list[str]:
    return [call for call in calls if not call.startswith("show ")]


def test_a_stopped_server_is_enabled_started_and_waited_for(
        tmp_path: Path, follower: int) -> None:
    bin_dir = systemctl_stand_in(tmp_path, "reload")
    result, calls, state = run(tmp_path, bin_dir, follower, enabled=True)
    assert not result.get("failed"), result
    assert result["changed"] and result["restarted"] and result["mode"] == "follower", result
    # The start before the enable, whose reload of systemd need not delay the JVM; one show.
    assert changes(calls) == ["daemon-reload", "start zookeeper", "enable zookeeper"], calls
    assert len(calls) == 4, calls
    assert state == {"active", "enabled"}
    # Then nothing differs: nothing is called but systemctl show, and nothing changes.
    again, calls, state = run(tmp_path, bin_dir, follower, enabled=True)
    assert not again["changed"] and not again["restarted"], again
    assert changes(calls) == [] and state == {"active", "enabled"}


def test_a_running_server_is_only_disabled_and_not_waited_for(tmp_path: Path) -> None:
    """zookeeper_service_enabled=false on a running server: disabled, not restarted, and not
    waited for (it does not answer here: a restart the caller applies next may be due)."""
    bin_dir = systemctl_stand_in(tmp_path, "active", "enabled")
    result, calls, state = run(tmp_path, bin_dir, 1, enabled=False)
    assert not result.get("failed"), result
    assert result["changed"] and not result["restarted"] and result["waited"] == 0.0, result
    assert changes(calls) == ["disable zookeeper"], calls
    assert state == {"active"}


def test_with_wait_active_a_running_server_is_waited_for(tmp_path: Path, follower: int) -> None:
    """site.yml's short path: the write of the files started the server a moment before; the
    step starts nothing, enables nothing that is enabled, and waits until it serves."""
    bin_dir = systemctl_stand_in(tmp_path, "active", "enabled")
    result, calls, state = run(tmp_path, bin_dir, follower, enabled=True, wait_active=True)
    assert not result.get("failed"), result
    assert not result["changed"] and not result["restarted"], result
    assert result["mode"] == "follower" and result["version"] == "3.4.13", result
    assert changes(calls) == [] and state == {"active", "enabled"}, calls


def test_with_wait_active_a_running_server_that_does_not_serve_fails_the_task(
        tmp_path: Path) -> None:
    """... and one that does not serve in time fails it, as a server this step started would."""
    bin_dir = systemctl_stand_in(tmp_path, "active")
    result, calls, state = run(tmp_path, bin_dir, 1, enabled=True, wait_active=True, timeout=0.5)
    assert result.get("failed") and "did not serve as follower or leader" in result["msg"], result
    assert changes(calls) == ["enable zookeeper"], calls  # the enable the write did not do
    assert state == {"active", "enabled"}


def test_a_server_that_does_not_serve_after_its_start_fails_the_task(tmp_path: Path) -> None:
    bin_dir = systemctl_stand_in(tmp_path)
    result, calls, _state = run(tmp_path, bin_dir, 1, timeout=0.5)
    assert result.get("failed") and "did not serve as follower or leader" in result["msg"], result
    assert changes(calls) == ["start zookeeper"], calls  # enabled not given: left as it is


def test_a_start_that_systemd_refuses_fails_the_task_with_the_units_journal(
        tmp_path: Path) -> None:
    """The start of a unit whose start fails (an ExecStartPre that fails, say): the task fails
    at once, with systemctl's message and the unit's journal, which says why."""
    bin_dir = systemctl_stand_in(tmp_path, "broken")
    result, calls, _state = run(tmp_path, bin_dir, 1, log_lines=7, wait_active=True)
    assert result.get("failed") and result["waited"] == 0.0, result
    assert result["msg"].startswith("systemctl start zookeeper failed: Job for zookeeper.service"
                                    " failed.\nThe journal of zookeeper:\n"), result["msg"]
    assert "journalctl --unit zookeeper --lines 7" in result["msg"], result["msg"]
    assert "Control process exited, code=exited, status=1/FAILURE" in result["msg"]
    assert changes(calls) == ["start zookeeper"], calls


def test_check_mode_says_what_would_change_and_changes_nothing(
        tmp_path: Path, follower: int) -> None:
    bin_dir = systemctl_stand_in(tmp_path, "reload")
    result, calls, state = run(tmp_path, bin_dir, follower, check=True, enabled=True)
    assert result["changed"] and result["restarted"], result
    assert result["msg"].startswith(f"check mode: 127.0.0.1:{follower} would start and enable")
    assert changes(calls) == [] and state == {"reload"}
