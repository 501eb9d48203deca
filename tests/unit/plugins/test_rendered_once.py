"""plugin_utils/rendered_once.py: within one action's run, and within the post-validation of one
task of the collection's roles, each variable is rendered once however many others name it; the
values are the ones Ansible renders, and a variable nobody names is never rendered.

Each count comes from a variable whose template appends a line to a file (the pipe lookup) when
it is rendered: `b` and `c` both name it, so rendering each anew renders it twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from plugins import (
    COLLECTIONS,
    NOWHERE,
    PLUGIN_UTILS,
    in_fresh_python,
    inventory_play,
    isolated_env,
    reported,
)


def counted(count_file: Path) -> dict[str, str]:
    """Variables `a` (counted in `count_file` at each render) and `b`, `c`, which both name it."""
    return {"a": "{{ lookup('ansible.builtin.pipe', 'echo rendered >> " + str(count_file)
                 + "; echo ok') }}",
            "b": "{{ a }}", "c": "{{ a }}"}


def renders(count_file: Path) -> int:
    return len(count_file.read_text().splitlines()) if count_file.exists() else 0


DECIDE = """
- name: Decide from variables that name the same one
  hosts: all
  gather_facts: false
  tasks:
    - name: Check, then decide
      zkops.zookeeper34.zookeeper_decide:
        problems: problems
        phases: {install: install, config: config}
      register: decision
    - name: Report
      ansible.builtin.debug:
        msg: "RESULT {{ decision.todo | to_json }}"
"""


def test_the_decision_renders_a_variable_named_many_times_once(tmp_path: Path) -> None:
    count = tmp_path / "count"
    rc, output = inventory_play(tmp_path, DECIDE, {"hosts": {"zk1": {
        **NOWHERE, **counted(count),
        "problems": "{{ [b, c] | reject('eq', 'ok') | list }}",
        "install": "{{ b == 'ok' }}", "config": "{{ c != 'ok' }}"}}})
    assert rc == 0, output
    assert reported(output) == {"install": True, "config": False}
    # Rendered anew at each use: twice for the problems, once for each phase.
    assert renders(count) == 1


def test_a_variable_the_decision_does_not_name_is_never_rendered(tmp_path: Path) -> None:
    rc, output = inventory_play(tmp_path, DECIDE, {"hosts": {"zk1": {
        **NOWHERE, "broken": "{{ no_such_variable.anywhere }}", "problems": [],
        "install": "{{ true }}", "config": "{{ false }}"}}})
    assert rc == 0, output
    assert reported(output) == {"install": True, "config": False}


# In a fresh interpreter (Ansible's plugin loader set up for the lookups): what
# variables_once gives an action plugin whose task has `a`, `b`, `c` (counted in argv[2]), `n`
# (names `b` and `c`), `plain` and `broken` (fails when rendered); with the lazy containers, or
# without them (argv[3] == "without").
ONCE = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import rendered_once as module
if sys.argv[3] == "without":
    module._AnsibleLazyTemplateDict = None
count = sys.argv[2]
variables = {
    "a": "{{ lookup('ansible.builtin.pipe', 'echo rendered >> " + count + "; echo ok') }}",
    "b": "{{ a }}", "c": "{{ a }}", "n": "{{ [b, c] | length + 1 }}",
    "broken": "{{ no_such_variable.anywhere }}"}
trusted = {name: trust_as_template(value) for name, value in variables.items()}
trusted["plain"] = [1, {"x": 2}]
once = module.variables_once(Templar(loader=DataLoader(), variables=trusted), trusted)
values = [once["b"], once["c"], once["n"], once["plain"]]
# (What a lookup is given: the lazy mapping, or without it Ansible's own dictionary.)
copied = module.top_level(once if sys.argv[3] == "with" else trusted)
print(json.dumps({
    "values": values, "renders": len(open(count).read().splitlines()),
    "copied": type(copied) is dict and copied["broken"] == variables["broken"]
              and copied["b"] == ("ok" if sys.argv[3] == "with" else variables["b"]),
    "hooked": module.render_tasks_once("zkops.zookeeper34")}))
"""


def test_the_variables_render_as_ansible_renders_them_each_once(tmp_path: Path) -> None:
    """And the template lookup's copy of them is their top level, what is rendered already as
    rendered: copying the lazy mapping itself would render every variable (`broken` fails)."""
    found = in_fresh_python(ONCE, str(tmp_path / "count"), "with")
    assert found["values"] == ["ok", "ok", 3, [1, {"x": 2}]]
    assert found["renders"] == 1
    assert found["copied"] and found["hooked"]


def test_without_lazy_containers_each_use_renders_again(tmp_path: Path) -> None:
    """Another ansible-core (no lazy containers): the variables render at each use, as
    Ansible's own, and no task is hooked."""
    found = in_fresh_python(ONCE, str(tmp_path / "count"), "without")
    assert found["values"] == ["ok", "ok", 3, [1, {"x": 2}]]
    assert found["renders"] == 4  # b, c, then b and c again for n
    assert found["copied"] and not found["hooked"]


# A role of a collection of its own (test.once), whose task names `a` twice through `b` and `c`.
ROLE_TASKS = """
- name: Name the variable twice
  ansible.builtin.debug:
    msg: "{{ b }} {{ c }}"
"""
PLAY = """
- name: A role's task whose arguments name `a` twice
  hosts: localhost
  gather_facts: false
  roles:
    - test.once.r
"""
# ansible-playbook with the hook installed first for `sys.argv[1]` (rendered_once.py read by
# its path: the collection's package is Ansible's to import).
RUN = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rendered_once", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert module.render_tasks_once(sys.argv[2])
from ansible.cli.playbook import main
sys.argv = ["ansible-playbook", *sys.argv[3:]]
main()
"""


@pytest.mark.parametrize(("collection", "expected"), [("test.once", 1), ("zkops.zookeeper34", 2)])
def test_a_role_task_of_the_collection_renders_each_variable_once(
        tmp_path: Path, collection: str, expected: int) -> None:
    """Only the tasks of the roles of the collection given: another collection's, here, are
    post-validated as Ansible does it (`a` rendered for `b` and again for `c`)."""
    count = tmp_path / "count"
    role = tmp_path / "collections" / "ansible_collections" / "test" / "once" / "roles" / "r"
    (role / "tasks").mkdir(parents=True)
    (role / "vars").mkdir()
    (role / "tasks" / "main.yml").write_text(ROLE_TASKS)
    (role / "vars" / "main.yml").write_text(
        "".join(f"{name}: \"{value}\"\n" for name, value in counted(count).items()))
    (role.parents[1] / "galaxy.yml").write_text("namespace: test\nname: once\nversion: 1.0.0\n")
    (tmp_path / "play.yml").write_text(PLAY)
    env = isolated_env(tmp_path, f"{tmp_path / 'collections'}:{COLLECTIONS}")
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(PLUGIN_UTILS / "rendered_once.py"), collection,
         "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '"msg": "ok ok"' in proc.stdout
    assert renders(count) == expected


# In a fresh interpreter: Ansible's own hostvars of an inventory of two hosts, where `a`
# (counted in argv[2] at each render) and `b` (names it) are variables of both; read several
# times over, plainly or through hostvars_once (argv[3]); and how many times each host's
# variables were gathered (VariableManager.get_vars).
HOSTVARS = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import trust_as_template
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.rendered_once import hostvars_once
loader = DataLoader()
inventory = InventoryManager(loader=loader, sources=["zk1,zk2"])
manager = VariableManager(loader=loader, inventory=inventory)
for host in ("zk1", "zk2"):
    manager.set_host_variable(host, "a", trust_as_template(
        "{{ lookup('ansible.builtin.pipe', 'echo rendered >> " + sys.argv[2] + "; echo ok') }}"))
    manager.set_host_variable(host, "b", trust_as_template("{{ a }}-b"))
gathered = []
original = manager.get_vars
def get_vars(*args, **kwargs):
    gathered.append(kwargs.get("host").name)
    return original(*args, **kwargs)
manager.get_vars = get_vars
hostvars = HostVars(inventory=inventory, variable_manager=manager, loader=loader)
view = hostvars_once(hostvars) if sys.argv[3] == "once" else hostvars
values = [view[host][name] for _ in range(3) for host in ("zk1", "zk2") for name in ("a", "b")]
print(json.dumps({
    "values": sorted(set(values)), "renders": len(open(sys.argv[2]).read().splitlines()),
    "gathered": {host: gathered.count(host) for host in ("zk1", "zk2")},
    "has": ["zk1" in view, "zk3" in view, "b" in view["zk1"], "c" in view["zk1"]],
    "get": view["zk1"].get("c", "none"), "same": hostvars_once(view) is view
    if sys.argv[3] == "once" else True}))
"""


def test_other_hosts_variables_are_gathered_and_rendered_once(tmp_path: Path) -> None:
    """What the plans and checks run once for the play read of every host: each host's
    variables gathered once, each variable rendered once, the values Ansible renders."""
    plain = in_fresh_python(HOSTVARS, str(tmp_path / "plain"), "plain")
    once = in_fresh_python(HOSTVARS, str(tmp_path / "once"), "once")
    assert plain["values"] == once["values"] == ["ok", "ok-b"]
    # Ansible's own: every read gathers the host's variables and renders `a` again, and `b`
    # renders it once more inside; read once, `a` is rendered on each host for itself and
    # within `b`, each of them once.
    assert plain["renders"] == 12 and plain["gathered"] == {"zk1": 6, "zk2": 6}, plain
    assert once["renders"] == 4 and once["gathered"] == {"zk1": 1, "zk2": 1}, once
    assert once["has"] == plain["has"] == [True, False, True, False]
    assert once["get"] == plain["get"] == "none"
    assert once["same"]
