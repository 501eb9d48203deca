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
# What the role would leave on a new host: none of it may be there after a check or a refusal.
LEFT = ("ls -d /etc/zookeeper /var/lib/zookeeper /opt/zookeeper* /var/cache/zookeeper "
        "/etc/systemd/system/zookeeper.service; getent passwd zookeeper; "
        "dpkg -l 'openjdk-*' | grep ^ii")


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
    """A fourth host, fresh from the lab's image, added to the inventory; then a real run that
    would install a Java newer than that host allows is refused before the install."""
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
        left = host.run(f"{LEFT}; grep -c 'zookeeper ensemble' /etc/hosts")
        assert left.stdout.split() == ["0"], f"check mode left this on {new['name']}: {left.stdout}"
        # A real run that would install a Java newer than the new host allows: refused before
        # the package goes in (the java role's pre-check in site.yml's pre_tasks).
        hosts[new["name"]]["zookeeper_java_max_major"] = 8
        inventory.write_text(yaml.safe_dump({"all": {"children": {"zookeeper": {
            "hosts": hosts}}}}))
        rc, output = run_site(inventory)
        assert rc != 0 and re.search(
            rf"{new['name']}: Java \d+ \(the package openjdk-\S+, which this run would install\) "
            r"is newer than zookeeper_java_max_major=8, so no host was changed", output), (
            f"a Java newer than allowed was not refused before its install:\n{output[-3000:]}")
        assert re.search(r"changed=[1-9]", output) is None, "the refused run changed something"
        left = host.run(f"{LEFT}; grep -c 'zookeeper ensemble' /etc/hosts")
        assert left.stdout.split() == ["0"], (
            f"the refused run left this on {new['name']}: {left.stdout}")
        assert ensemble.snapshot() == before, "the refused run changed a member"
    finally:
        podman("rm", "--force", "--time=0", new["container"], check=False)
