"""The collection this repository is, tested as a user gets it: the tarball `ansible-galaxy
collection build` makes of the checkout (the only build step), installed offline with
`ansible-galaxy collection install` into a temporary collections path, and used from a directory
outside the repository with neither its ansible.cfg nor its .collections link.

- the tarball holds the checkout's files unchanged (no rewriting) and none of its dev tooling;
- ansible-doc renders each module by its FQCN from the installed collection, its options those
  of the module's argument_spec, and both roles;
- the collection's roles run their modules and filters (all called by their fully qualified
  names) on the controller;
- `lab` (make collection-test, 4.5 minutes on a loaded 2-core machine): a playbook outside the
  repository deploys a three-host lab (tools/lab, `coll` on 10.213.21.0/24) through the fully
  qualified roles, the second run changes nothing, nor does the collection's own playbook
  (ansible-playbook zkops.zookeeper34.site); zkops.zookeeper34.rolling_restart restarts every
  server, one at a time, and the ensemble serves again. The lab is removed at the end, whatever
  happened. Timings and each run's output: results/collection/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw import srvr_at
from ci.galaxy import Collection, build, read_galaxy

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Java in the hosts' image: the java role still runs (its probe and checks), its install is the
# `default` scenario's subject.
LAB = [str(REPO / "tools" / "lab"), "--name=coll", "--subnet=10.213.21.0/24", "--java"]
MODULES = sorted(p.stem for p in REPO.glob("plugins/modules/*.py"))
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.M)


@dataclass
class Installed:
    collection: Collection
    tarball: Path
    path: Path  # the collections path (ansible_collections/ is below it)
    root: Path  # the installed collection
    home: Path  # a directory outside the repository, with its own ansible.cfg

    def env(self) -> dict[str, str]:
        """The environment of a user of the installed collection: nothing of the repository's
        Ansible settings (the Makefile exports ANSIBLE_CONFIG)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(ANSIBLE_CONFIG=str(self.home / "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=str(self.path), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0")
        return env

    def run(self, *command: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / command[0]), *command[1:]], capture_output=True,
                              text=True, env=self.env(), cwd=self.home, check=False,
                              timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("collection")
    tarball = build(base / "build")
    path = base / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    proc = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball),
                           "-p", str(path)], capture_output=True, text=True, check=False,
                          timeout=300, cwd=base, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collection = read_galaxy()
    root = path / "ansible_collections" / collection.namespace / collection.name
    assert f"{collection.fqcn}:{collection.version} was installed successfully" in proc.stdout
    home = base / "user"
    (home / "no-roles").mkdir(parents=True)
    (home / "ansible.cfg").write_text(
        "[defaults]\n"
        f"collections_path = {path}\n"
        f"roles_path = {home / 'no-roles'}\n"
        "interpreter_python = auto_silent\n"
        "host_key_checking = false\n"
        "forks = 20\n"
        "[ssh_connection]\n"
        "pipelining = true\n")
    assert not str(home).startswith(str(REPO))
    return Installed(collection, tarball, path, root, home)


def load_module(path: Path, name: str) -> ModuleType:
    """A module of the installed collection, imported as Ansible would on a host (its
    module_utils from the collection's package)."""
    import importlib.util

    sys.path.insert(0, str(path))
    try:
        spec = importlib.util.spec_from_file_location(name, path / "ansible_collections" / (
            "zkops/zookeeper34/plugins/modules") / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path))


pytestmark = pytest.mark.slow


def test_the_tarball_holds_the_collection_and_nothing_of_the_repository(
        installed: Installed) -> None:
    import tarfile

    with tarfile.open(installed.tarball) as tar:
        names = set(tar.getnames())
    expected = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md",
                "changelogs/changelog.yaml", "changelogs/config.yaml",
                "meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-bindep.txt",
                "meta/ee-requirements.txt",
                "roles/java/tasks/main.yml", "roles/zookeeper/tasks/main.yml",
                "plugins/module_utils/zookeeper_4lw.py", "plugins/filter/zookeeper.py",
                "plugins/plugin_utils/zookeeper_values.py", "plugins/filter/java.py",
                "playbooks/site.yml", "playbooks/rolling_restart.yml", "playbooks/status.yml",
                "playbooks/backup.yml", "playbooks/restore.yml"}
    expected |= {f"plugins/modules/{m}.py" for m in MODULES}
    assert expected <= names, expected - names
    top = {n.split("/")[0] for n in names}
    assert top == {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md",
                   "changelogs", "meta", "roles", "plugins", "playbooks"}
    assert not [n for n in names if re.search(r"(^|/)(tests|__pycache__)(/|$)|\.pyc$", n)]
    manifest = json.loads((installed.root / "MANIFEST.json").read_text())["collection_info"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == (
        "zkops", "zookeeper34", "0.2.0")
    assert manifest["license"] == ["Apache-2.0"] and manifest["dependencies"] == {}


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_each_module_from_the_installed_collection(
        installed: Installed, name: str) -> None:
    fqcn = f"{installed.collection.fqcn}.{name}"
    text = installed.run("ansible-doc", "-t", "module", fqcn)
    assert text.returncode == 0, text.stderr
    assert f"MODULE {fqcn} ({installed.root / 'plugins/modules' / name}.py)" in text.stdout
    assert "[WARNING]" not in text.stderr, text.stderr
    assert f"  {fqcn}:" in text.stdout, "EXAMPLES do not call the module by its FQCN"
    parsed = installed.run("ansible-doc", "-t", "module", "--json", fqcn)
    assert parsed.returncode == 0, parsed.stderr
    options = json.loads(parsed.stdout)[fqcn]["doc"]["options"]
    spec = load_module(installed.path, name).ARGUMENT_SPEC
    assert set(options) == set(spec)
    for key, option in spec.items():
        assert options[key]["type"] == option["type"], key
        assert options[key].get("default") == option.get("default"), key
    listed = installed.run("ansible-doc", "-t", "module", "-l", installed.collection.fqcn)
    assert fqcn in listed.stdout


def test_the_installed_collection_is_the_checkout_unchanged(installed: Installed) -> None:
    """No build step rewrites a file: every file installed is the checkout's, byte for byte."""
    files = json.loads((installed.root / "FILES.json").read_text())["files"]
    names = [f["name"] for f in files if f["ftype"] == "file"]
    assert len(names) > 80 and "plugins/modules/zookeeper_probe.py" in names, names
    changed = [n for n in names if (installed.root / n).read_bytes() != (REPO / n).read_bytes()]
    assert changed == []
    for name in MODULES:
        module = load_module(installed.path, name)
        if hasattr(module, "srvr_at"):
            assert module.srvr_at.__module__ == (
                "ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw")


def test_ansible_doc_renders_both_roles_from_the_installed_collection(
        installed: Installed) -> None:
    for role in ("java", "zookeeper"):
        text = installed.run("ansible-doc", "-t", "role", f"{installed.collection.fqcn}.{role}")
        assert text.returncode == 0, text.stderr
        assert re.search(rf"ROLE: \*?{installed.collection.fqcn}\.{role}\*? \({installed.root}\)",
                         text.stdout), text.stdout[:300]
        assert re.search(r"ENTRY POINT: \*?main\*?", text.stdout), text.stdout[:300]


LOCAL_PLAY = """
- name: Validate through the collection's role, on the controller
  hosts: zookeeper
  connection: local
  gather_facts: true
  gather_subset: ["!all", "!min", distribution]
  tasks:
    - name: Validate as site.yml does (filters, and the module zookeeper_probe)
      ansible.builtin.import_role:
        name: zkops.zookeeper34.zookeeper
        tasks_from: validate.yml
    - name: Render zoo.cfg from the collection's role
      ansible.builtin.template:
        src: "{{ collection_root }}/roles/zookeeper/templates/zoo.cfg.j2"
        dest: "{{ out }}/{{ inventory_hostname }}-zoo.cfg"
        mode: "0644"
    - name: Report the probe
      ansible.builtin.copy:
        content: "{{ __zookeeper_probe | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}-probe.json"
        mode: "0644"
"""


def test_the_collection_roles_run_their_modules_and_filters(
        installed: Installed, tmp_path: Path) -> None:
    """The roles' modules and filters, called by their fully qualified names, resolve inside the
    installed collection; nothing comes from the repository."""
    hosts = {f"zookeeper0{i}": {"ansible_host": f"10.0.0.{10 + i}", "zookeeper_id": i}
             for i in (1, 2, 3)}
    inventory = {"all": {"children": {"zookeeper": {"hosts": hosts}},
                         "vars": {"ansible_python_interpreter": sys.executable}}}
    (tmp_path / "hosts.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(LOCAL_PLAY)
    proc = installed.run("ansible-playbook", "-i", str(tmp_path / "hosts.json"),
                         str(tmp_path / "play.yml"), "-e",
                         f"out={tmp_path} collection_root={installed.root}")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "zkops.zookeeper34.zookeeper : Read the host's ZooKeeper files" in proc.stdout
    for host in hosts:
        config = (tmp_path / f"{host}-zoo.cfg").read_text()
        assert "server.3=zookeeper03:2888:3888" in config
        probe = json.loads((tmp_path / f"{host}-probe.json").read_text())
        assert set(probe) >= {"paths", "user", "service", "stale", "mode"}
        assert "/etc/hosts" in probe["content"]


@pytest.mark.parametrize("playbook", ["site", "rolling_restart", "status", "backup", "restore"])
def test_the_collection_playbooks_resolve_their_roles(installed: Installed, playbook: str,
                                                      tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    zookeeper:\n      hosts:\n"
                                        "        zookeeper01: {zookeeper_id: 1}\n")
    proc = installed.run("ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "--syntax-check",
                         f"{installed.collection.fqcn}.{playbook}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (installed.root / "playbooks" / f"{playbook}.yml").read_text()
    names = role_names(yaml.safe_load(text))
    assert names and all(n.startswith(f"{installed.collection.fqcn}.") for n in names), names


def role_names(node: Any) -> list[str]:
    """Every role a playbook names: a play's roles and import_role/include_role tasks."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += role_names(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "roles":
                found += [r if isinstance(r, str) else r.get("role", r.get("name"))
                          for r in value]
            elif key.rsplit(".", 1)[-1] in ("import_role", "include_role"):
                found.append(value["name"])
            else:
                found += role_names(value)
    return found


# --------------------------------------------------------------------------- the lab

def readme_play() -> str:
    """The play the README's "Use it from your own playbooks" section shows, verbatim."""
    section = (REPO / "README.md").read_text().split("### Use it from your own playbooks", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_readme_shows_a_play_of_the_two_roles_alone() -> None:
    play = readme_play()
    assert "zkops.zookeeper34.java" in play and "zkops.zookeeper34.zookeeper" in play, play
    assert "gather_facts: false" in play and "pre_tasks" not in play, play


def recap(output: str) -> dict[str, dict[str, int]]:
    return {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)),
                         "unreachable": int(m.group(4)), "failed": int(m.group(5))}
            for m in RECAP.finditer(output)}


def modes(lab: dict) -> dict[str, str | None]:
    return {h["name"]: srvr_at(f"{h['address']}:2181")["mode"] for h in lab["hosts"]}


def wait_serving(lab: dict, timeout: float = 60) -> dict[str, str | None]:
    deadline = time.monotonic() + timeout
    while True:
        now = modes(lab)
        if sorted(now.values(), key=str) == ["follower", "follower", "leader"] or (
                time.monotonic() > deadline):
            return now
        time.sleep(1)


@pytest.fixture(scope="module")
def lab() -> dict:
    up = subprocess.run([*LAB, "up", "--json"], capture_output=True, text=True, timeout=1200,
                        check=False)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        yield json.loads(up.stdout)
    finally:
        down = subprocess.run([*LAB, "down"], capture_output=True, text=True, timeout=600,
                              check=False)
        assert down.returncode == 0, down.stderr[-2000:]


def write_lab_inventory(lab: dict, path: Path) -> None:
    hosts = {h["name"]: {"ansible_host": h["address"], "zookeeper_id": h["zookeeper_id"]}
             for h in lab["hosts"]}
    inventory = {"all": {
        "children": {"zookeeper": {"hosts": hosts, "vars": {
            "zookeeper_version": "3.4.13", "zookeeper_mirror": lab["mirror_url"],
            "zookeeper_release_keys": lab["release_keys"], "zookeeper_allow_plain_http": True,
            "zookeeper_build_fixes": ["CVE-2017-5637", "CVE-2019-0201", "CVE-2023-44981",
                                      "CVE-2024-23944"]}}},
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": lab["ssh_key"],
                 "ansible_ssh_common_args": "-o StrictHostKeyChecking=no "
                                            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"}}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))


def runner_job(private: Path, lab: dict, extravars: dict[str, Any]) -> None:
    """ansible-runner's private data directory: project/ with playbooks that import the
    collection's, inventory/ and env/extravars."""
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "env").mkdir()
    for name in ("site", "backup"):
        (private / "project" / f"{name}.yml").write_text(
            f"---\n- name: The collection's {name} playbook\n"
            f"  ansible.builtin.import_playbook: zkops.zookeeper34.{name}\n")
    write_lab_inventory(lab, private / "inventory" / "hosts.yml")
    (private / "env" / "extravars").write_text(yaml.safe_dump(extravars))


def runner_run(installed: Installed, private: Path, playbook: str, ident: str
               ) -> list[dict[str, Any]]:
    """`ansible-runner run` of project/`playbook`; its events, once it exited 0."""
    proc = installed.run("ansible-runner", "run", str(private), "-p", playbook,
                         "--ident", ident, timeout=900)
    artifacts = private / "artifacts" / ident
    assert proc.returncode == 0 and (artifacts / "rc").read_text().strip() == "0", (
        f"ansible-runner {playbook}: rc {proc.returncode}\n{(proc.stdout + proc.stderr)[-4000:]}")
    assert (artifacts / "status").read_text().strip() == "successful"
    events = [json.loads(p.read_text()) for p in sorted(
        (artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-")[0]))]
    assert events, f"ansible-runner {playbook} wrote no events"
    return events


@pytest.mark.lab
@pytest.mark.skipif(os.environ.get("ZK_COLLECTION_LAB") != "1",
                    reason="builds a container lab: make collection-test (ZK_COLLECTION_LAB=1)")
def test_a_playbook_outside_the_repository_deploys_a_lab_through_the_collection(
        installed: Installed, lab: dict) -> None:
    home = installed.home
    write_lab_inventory(lab, home / "hosts.yml")
    # The README's play as it stands (no site.yml, no pre_tasks), then again with facts gathered.
    (home / "deploy.yml").write_text(readme_play())
    (home / "deploy-facts.yml").write_text(
        readme_play().replace("gather_facts: false", "gather_facts: true"))
    timings: dict[str, float] = {}
    results = REPO / "results" / "collection"
    results.mkdir(parents=True, exist_ok=True)

    def playbook(label: str, *args: str) -> tuple[str, dict[str, dict[str, int]]]:
        started = time.monotonic()
        proc = installed.run("ansible-playbook", "-i", "hosts.yml", *args, timeout=1800)
        timings[label] = round(time.monotonic() - started, 1)
        output = proc.stdout + proc.stderr
        (results / f"{len(timings)}-{label.replace(' ', '-')}.log").write_text(output)
        assert proc.returncode == 0, f"{label} failed:\n{output[-6000:]}"
        return output, recap(output)

    output, counts = playbook("converge", "deploy.yml")
    assert set(counts) == {h["name"] for h in lab["hosts"]}
    assert all(c["changed"] > 0 and c["failed"] == 0 for c in counts.values()), counts
    # The work was done by the collection's roles and modules, not the repository's.
    assert "TASK [zkops.zookeeper34.zookeeper : Read the host's ZooKeeper files" in output
    assert "TASK [zkops.zookeeper34.java : " in output
    serving = wait_serving(lab)
    assert sorted(serving.values(), key=str) == ["follower", "follower", "leader"], serving

    _unused, counts = playbook("second run", "deploy.yml")
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts

    _unused, counts = playbook("second run, facts gathered", "deploy-facts.yml")
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts

    _unused, counts = playbook("zkops.zookeeper34.site", "zkops.zookeeper34.site")
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts

    output, _unused = playbook("zkops.zookeeper34.status", "zkops.zookeeper34.status")
    assert "leader" in output and "follower" in output

    # Each server restarted once (followers first, the leader last), by zookeeper_server.
    _unused, counts = playbook("zkops.zookeeper34.rolling_restart",
                               "zkops.zookeeper34.rolling_restart")
    assert all(c["changed"] == 1 and c["failed"] == 0 for c in counts.values()), counts
    serving = wait_serving(lab)
    assert sorted(serving.values(), key=str) == ["follower", "follower", "leader"], serving

    # The engine AWX and Automation Platform run jobs with: a project directory, the inventory
    # and extra variables beside it, events written as JSON. The ensemble is converged: site
    # changes nothing; backup writes to the directory the job names (a job container's
    # playbook_dir is thrown away).
    started = time.monotonic()
    backups = home / "job-backups"
    private = home / "runner"
    runner_job(private, lab, {"zookeeper_backup_dir": str(backups)})
    events = runner_run(installed, private, "site.yml", "site")
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1, [e.get("event") for e in events][-10:]
    assert not stats[0]["event_data"]["changed"] and not stats[0]["event_data"]["failures"], (
        stats[0]["event_data"])
    assert set(stats[0]["event_data"]["ok"]) == {h["name"] for h in lab["hosts"]}
    assert any(e.get("event") == "runner_on_ok"
               and str(e["event_data"].get("role", "")).endswith("zookeeper")
               for e in events), "no task of the collection's zookeeper role reported"
    runner_run(installed, private, "backup.yml", "backup")
    archives = list(backups.glob("zookeeper-backup-*.tar.gz"))
    assert len(archives) == 1, f"backup through ansible-runner wrote {archives}"
    timings["ansible-runner site and backup"] = round(time.monotonic() - started, 1)

    print(f"\ncollection lab timings (s): {json.dumps(timings)}; logs in {results}")
    (results / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
