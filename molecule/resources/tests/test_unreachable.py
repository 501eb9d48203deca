"""A member that does not answer when a change starts (the `default` scenario): its container is
paused (processes frozen, the address up, SSH silent), and `site.yml` with a configuration
change stops before any host changes, naming that host."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import Ensemble, run_site


def podman(*args: str) -> None:
    subprocess.run(["podman", "--runtime", "runc", *args], capture_output=True, timeout=60,
                   check=True)


def test_a_member_that_does_not_answer_stops_the_change_before_any_host_changes(
        ensemble: Ensemble, tmp_path: Path) -> None:
    ensemble.wait_healthy()
    victim = ensemble.members[1]
    others = [m for m in ensemble.members if m != victim]
    container = f"{ensemble.hostvars[victim.name]['zk_lab_name']}-{victim.name}"
    before = ensemble.snapshot(others)
    podman("pause", container)
    try:
        # Fresh SSH control sockets: an earlier run's master connection to the frozen host
        # would otherwise wait for its keepalives to give up.
        rc, output = run_site(ensemble.inventory_source(), {"zookeeper_tick_time": 2500},
                              env={"ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp")})
        assert rc != 0, f"the change went ahead without {victim.name}:\n{output[-3000:]}"
        assert re.search(rf"fatal: \[{victim.name}\]: UNREACHABLE!", output), output[-3000:]
        assert re.search(r"changed=[1-9]", output) is None, f"something changed:\n{output[-3000:]}"
        assert ensemble.snapshot(others) == before, "a member that answers was changed"
    finally:
        podman("unpause", container)
    ensemble.wait_healthy(timeout=90)
