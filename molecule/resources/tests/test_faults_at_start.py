"""Faults when a change starts (the `default` scenario): a member that does not answer (its
container paused: processes frozen, the address up, SSH silent), and a member whose ZooKeeper
is down while its host answers. Either way `site.yml` with a configuration change stops before
any host changes, naming that member."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import Ensemble, assert_refused, podman, run_site


def test_a_member_that_does_not_answer_stops_the_change_before_any_host_changes(
        ensemble: Ensemble, tmp_path: Path) -> None:
    ensemble.wait_healthy()
    victim = ensemble.members[1]
    others = [m for m in ensemble.members if m != victim]
    container = ensemble.container(victim)
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


def test_a_member_whose_zookeeper_is_down_stops_the_change_before_any_restart(
        ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    leader = ensemble.leader()
    victim = next(m for m in reversed(ensemble.members) if m != leader)
    serving = ", ".join(m.name for m in ensemble.members if m != victim)
    ensemble.host(victim).run("systemctl stop zookeeper")
    try:
        before = ensemble.snapshot()
        rc, output = run_site(ensemble.inventory_source(), {"zookeeper_tick_time": 2500})
        assert_refused(ensemble, "a member down", before, rc, output,
                       rf"{victim.name}: ZooKeeper is deployed there but does not serve, while "
                       rf"{serving} do\. A run now could restart a serving member with one down "
                       rf"already and lose the quorum, so no host was changed\..*--limit "
                       rf"{victim.name}")
    finally:
        # The repair the message names: the member alone.
        rc, output = run_site(ensemble.inventory_source(), limit=victim.name)
    assert rc == 0, f"repairing {victim.name} alone failed:\n{output[-3000:]}"
    ensemble.wait_healthy()
