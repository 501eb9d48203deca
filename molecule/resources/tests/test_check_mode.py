"""Check mode (the `default` scenario): `site.yml --check --diff` with a real change prints the
change and changes nothing, on the running ensemble and on a new host joining it: no file, no
package, no account, no restart (the servers' PIDs stay)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import yaml
from conftest import REPO, Ensemble, podman, run_site

CHECK = ("--check", "--diff")


def test_check_mode_prints_a_config_change_and_changes_nothing(ensemble: Ensemble) -> None:
    ensemble.wait_healthy()
    before = ensemble.snapshot()
    rc, output = run_site(ensemble.inventory_source(), {"zookeeper_tick_time": 2500},
                          options=CHECK)
    assert rc == 0, f"check mode failed:\n{output[-3000:]}"
    assert "-tickTime=2000" in output and "+tickTime=2500" in output, (
        f"the zoo.cfg change is not shown:\n{output[-3000:]}")
    assert re.search(r"changed=[1-9]", output), "check mode reported no change to make"
    assert ensemble.snapshot() == before, "check mode changed a file or restarted a server"


def test_check_mode_on_a_new_host_changes_nothing_there_or_anywhere(
        ensemble: Ensemble, tmp_path: Path) -> None:
    """A fourth host, fresh from the lab's image, added to the inventory."""
    ensemble.wait_healthy()
    first = ensemble.hostvars[ensemble.members[0].name]
    lab = [str(REPO / "tools" / "lab"), f"--name={first['zk_lab_name']}",
           f"--subnet={first['zk_lab_subnet']}", f"--hosts={len(ensemble.members) + 1}"]
    up = subprocess.run([*lab, "up", "--json"], capture_output=True, text=True, timeout=300,
                        check=True)
    new = json.loads(up.stdout)["hosts"][-1]
    try:
        hosts = {m.name: {**{k: copy.deepcopy(v) for k, v in ensemble.hostvars[m.name].items()
                             if k.startswith("zookeeper_")}, **ensemble.connection_vars(m.name)}
                 for m in ensemble.members}
        hosts[new["name"]] = {**copy.deepcopy(hosts[ensemble.members[0].name]),
                              "ansible_host": new["address"], "zookeeper_id": new["zookeeper_id"]}
        inventory = tmp_path / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {"zookeeper": {
            "hosts": hosts}}}}))
        before = ensemble.snapshot()
        rc, output = run_site(inventory, options=CHECK)
        assert rc == 0, f"check mode with a new host failed:\n{output[-4000:]}"
        line = f"server.{new['zookeeper_id']}={new['name']}:2888:3888"
        assert f"+{line}" in output, f"the members' zoo.cfg change is not shown:\n{output[-3000:]}"
        assert "/etc/zookeeper/zoo.cfg:" in output and line in output, (
            f"what the new host would get is not shown:\n{output[-3000:]}")
        assert ensemble.snapshot() == before, "check mode changed a member"
        fresh = Ensemble(str(inventory))
        host = fresh.host(fresh.member(new["name"]))
        left = host.run("ls -d /etc/zookeeper /var/lib/zookeeper /opt/zookeeper* "
                        "/var/cache/zookeeper /etc/systemd/system/zookeeper.service; "
                        "getent passwd zookeeper; dpkg -l 'openjdk-*' | grep ^ii; "
                        "grep -c 'zookeeper ensemble' /etc/hosts")
        assert left.stdout.split() == ["0"], f"check mode left this on {new['name']}: {left.stdout}"
    finally:
        podman("rm", "--force", "--time=0", new["container"], check=False)
