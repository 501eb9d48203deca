"""A server that cannot start (the `default` scenario): the play fails on that host with the
JVM's own words from the unit's journal, not only the server's log, and the next run without
the fault brings it back."""

from __future__ import annotations

from conftest import Ensemble, run_site


def test_a_server_the_jvm_refuses_fails_the_play_with_the_jvm_error(ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    leader = ensemble.leader()
    victim = next(m for m in reversed(ensemble.members) if m != leader)
    inventory = ensemble.inventory_source()
    rc, output = run_site(inventory, {"zookeeper_jvm_opts": ["-XX:+ZkLabNoSuchOption"],
                                      "zookeeper_start_timeout": 10}, limit=victim.name)
    try:
        assert rc != 0, f"a server with a JVM option the JVM refuses converged:\n{output[-3000:]}"
        assert f"fatal: [{victim.name}]" in output
        assert "did not serve as follower or leader within 10 s" in output, output[-3000:]
        assert "Unrecognized VM option 'ZkLabNoSuchOption'" in output, (
            f"the failure does not show the JVM's error (the unit's journal):\n{output[-4000:]}")
        assert "Last lines of /var/log/zookeeper/zookeeper.log" in output
    finally:
        rc, output = run_site(inventory, limit=victim.name)
    assert rc == 0, f"converging {victim.name} back without the option failed:\n{output[-3000:]}"
    ensemble.wait_healthy()
