"""Membership changes by dynamic reconfiguration on ZooKeeper 3.8 (the `reconfig38` scenario,
zookeeper_reconfig): growing 3 -> 5 and shrinking back through site.yml restart no server (the
PIDs of the three stay), under a client writing 20 times a second and clients pinned to each
member reading, writing and compare-and-setting one znode (membership_lab.watched: the history
linearizable, nothing acknowledged lost, never two leaders of one epoch at one look)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import Ensemble
from membership_lab import Membership, finish, lab, lost_writes, watched


def pids(m: Membership, names: list[str]) -> dict[str, str]:
    return {n: m.run(n, "systemctl show -p MainPID --value zookeeper").strip() for n in names}


@pytest.fixture(scope="module")
def m(ensemble: Ensemble, tmp_path_factory: pytest.TempPathFactory,
      measurements: list[str]) -> Iterator[Membership]:
    with lab(ensemble, tmp_path_factory.mktemp("reconfig"), measurements, 5) as found:
        yield found


def test_growing_3_to_5_by_reconfig_restarts_no_server(m: Membership) -> None:
    three = list(m.members)
    before = pids(m, three)
    with watched(m, "3 -> 5 by reconfig"):
        m.members = m.everyone[:5]
        output = finish(m)
    assert "by reconfig, no server restarted" in output, output[-3000:]
    assert pids(m, three) == before, "a server of the three restarted"


def test_shrinking_5_to_3_by_reconfig_restarts_no_server(m: Membership) -> None:
    three = m.everyone[:3]
    before = pids(m, three)
    with watched(m, "5 -> 3 by reconfig"):
        m.members, m.retired = three, m.everyone[3:5]
        finish(m)
    assert pids(m, three) == before, "a server of the three restarted"
    for name in m.retired:
        state = m.run(name, "systemctl is-active zookeeper; systemctl is-enabled zookeeper")
        assert state.split() == ["inactive", "disabled"], f"{name}: {state}"


def test_nothing_acknowledged_is_lost_and_a_second_run_changes_nothing(m: Membership) -> None:
    lost = lost_writes(m, m.written)
    assert len(m.written) > 200 and not any(lost.values()), lost
    rc, output = m.site()
    assert rc == 0 and re.search(r"changed=[1-9]", output) is None, output[-3000:]
