"""Several ensembles in one inventory (the `ensembles` scenario): two of three, each its own
group (zookeeper_ensemble_group), name and ids 1-3, deployed by the one converge run.

Each ensemble must have its own quorum, only its own members in zoo.cfg, and its own data; zk-status
judges each on its own; a change to one ensemble (site.yml --limit its group) restarts only
its members, and the others keep serving untouched.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import REPO, Ensemble, connect, run_site

GROUPS = ("zk_a", "zk_b")


def ensembles(ensemble: Ensemble) -> dict[str, Ensemble]:
    """One Ensemble per group, from the members' zookeeper_ensemble_group."""
    by_group: dict[str, dict] = {}
    for name, hostvars in ensemble.hostvars.items():
        by_group.setdefault(hostvars["zookeeper_ensemble_group"], {})[name] = hostvars
    return {group: Ensemble(ensemble.inventory, hostvars) for group, hostvars in by_group.items()}


@pytest.fixture(scope="module")
def groups(ensemble: Ensemble) -> dict[str, Ensemble]:
    found = ensembles(ensemble)
    assert sorted(found) == list(GROUPS), sorted(found)
    return found


def pids(group: Ensemble) -> dict[str, str]:
    return {m.name: group.host(m).check_output("systemctl show -p MainPID --value zookeeper")
            for m in group.members}


def test_each_ensemble_has_its_own_quorum_and_members(groups: dict[str, Ensemble]) -> None:
    for name, group in groups.items():
        report = group.wait_healthy()
        assert report["serving"] == 3 and report["leader"], f"{name}: {group.describe(report)}"
        want = sorted(f"server.{m.zookeeper_id}={m.name}:2888:3888" for m in group.members)
        assert sorted(m.zookeeper_id for m in group.members) == [1, 2, 3]
        for member in group.members:
            cfg = group.host(member).file("/etc/zookeeper/zoo.cfg").content_string
            servers = sorted(line for line in cfg.splitlines() if line.startswith("server."))
            assert servers == want, f"{name} {member.name}: {servers}"


def test_each_ensemble_keeps_its_own_data(groups: dict[str, Ensemble]) -> None:
    path = f"/ensembles/{uuid.uuid4().hex[:8]}"
    writer = connect(groups["zk_a"].members)
    try:
        writer.create(path, b"only in zk_a", makepath=True)
    finally:
        writer.stop()
        writer.close()
    for name, group in groups.items():
        reader = connect(group.members)
        try:
            assert (reader.exists(path) is not None) == (name == "zk_a"), name
        finally:
            reader.stop()
            reader.close()


def test_zk_status_judges_each_ensemble(ensemble: Ensemble) -> None:
    status = subprocess.run([str(REPO / "tools" / "zk-status"), "-i",
                             ensemble.inventory, "--json"],
                            capture_output=True, text=True, timeout=60, check=False)
    report = json.loads(status.stdout)
    assert status.returncode == 0, status.stdout
    assert sorted(r["ensemble"] for r in report["ensembles"]) == ["hbase", "kafka"]
    assert all(r["status"] == "healthy" and r["serving"] == 3 for r in report["ensembles"])


def test_a_change_to_one_ensemble_leaves_the_others_alone(
        ensemble: Ensemble, groups: dict[str, Ensemble]) -> None:
    before = {name: pids(group) for name, group in groups.items()}
    inventory = ensemble.inventory_source()
    rc, output = run_site(inventory, {"zookeeper_tick_time": 2500}, limit="zk_b")
    try:
        assert rc == 0, f"site.yml --limit zk_b failed:\n{output[-3000:]}"
        after = {name: pids(group) for name, group in groups.items()}
        assert after["zk_a"] == before["zk_a"], (before["zk_a"], after["zk_a"])
        assert all(after["zk_b"][n] != before["zk_b"][n] for n in after["zk_b"]), after
        for name, group in groups.items():
            group.wait_healthy()
            tick = "2500" if name == "zk_b" else "2000"
            for member in group.members:
                cfg = group.host(member).file("/etc/zookeeper/zoo.cfg").content_string
                assert f"tickTime={tick}\n" in cfg, f"{member.name}: {cfg}"
    finally:
        rc, output = run_site(inventory)
    assert rc == 0, f"site.yml back to the inventory failed:\n{output[-3000:]}"
    rc, output = run_site(inventory)
    assert rc == 0 and re.search(r"changed=[1-9]", output) is None, output[-3000:]


# Run on each member while backup.yml runs: every 10 ms, the mode of each archive under
# /var/tmp and of the directory it is in, until /run/zk-backup-watch.stop appears (at most
# 300 s), then all it saw in /run/zk-backup-watch.json.
BACKUP_WATCH = """
import glob, json, os, stat, time
seen = {}
end = time.monotonic() + 300
while time.monotonic() < end and not os.path.exists("/run/zk-backup-watch.stop"):
    for path in glob.glob("/var/tmp/**/*.tar.gz", recursive=True):
        try:
            modes = [oct(stat.S_IMODE(os.lstat(p).st_mode)) for p in (path, os.path.dirname(path))]
        except OSError:
            continue
        seen.setdefault(path, [])
        if modes not in seen[path]:
            seen[path].append(modes)
    time.sleep(0.01)
with open("/run/zk-backup-watch.json", "w") as out:
    json.dump(seen, out)
"""


def test_a_backup_takes_one_archive_per_ensemble_readable_by_root_only(
        ensemble: Ensemble, tmp_path: Path) -> None:
    """One archive per ensemble, 0600 in a 0700 directory on the controller and, while it is
    made and fetched, on the member it comes from."""
    hosts = [ensemble.host(m) for m in ensemble.members]
    for host in hosts:
        host.check_output("rm -f /run/zk-backup-watch.stop /run/zk-backup-watch.json; "
                          "systemd-run --unit=zk-backup-watch --collect python3 -c %s",
                          BACKUP_WATCH)
    backups = tmp_path / "backups"  # made by backup.yml
    try:
        rc, output = run_site(ensemble.inventory_source(), {"zookeeper_backup_dir": str(backups)},
                              playbook="backup.yml")
    finally:
        for host in hosts:
            host.run("touch /run/zk-backup-watch.stop")
    assert rc == 0, f"backup.yml failed:\n{output[-3000:]}"
    archives = sorted(p.name.split("-backup-")[0] for p in backups.glob("*-backup-*.tar.gz"))
    assert archives == ["hbase", "kafka"], sorted(p.name for p in backups.iterdir())
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in [backups, *backups.iterdir()]}
    assert modes == {"backups": "0o700", **{p.name: "0o600" for p in backups.iterdir()}}, modes

    seen: dict[str, list[list[str]]] = {}
    for member, host in zip(ensemble.members, hosts):
        host.check_output("for i in $(seq 50); do test -e /run/zk-backup-watch.json && break; "
                          "sleep 0.1; done")
        seen |= {f"{member.name}:{path}": found for path, found in json.loads(
            host.check_output("cat /run/zk-backup-watch.json")).items()}
    assert len(seen) == 2, f"the archives were not seen on the members while made: {seen}"
    assert all(found == [["0o600", "0o700"]] for found in seen.values()), (
        f"an archive on a member readable beyond root (file, directory): {seen}")
    left = [host.run("ls -d /var/tmp/zookeeper-backup.* /var/tmp/*.tar.gz 2>/dev/null").stdout
            for host in hosts]
    assert not any(left), f"backup.yml left on the members: {left}"
