"""The preload callback loads, in the process it runs in (ansible-playbook's main one), the
plugins every worker would otherwise load again; a playbook run with it enabled is unchanged."""

from __future__ import annotations

import re
from pathlib import Path

from plugins import REPO, in_fresh_python, local_play

# In a fresh interpreter: which plugin modules are loaded before and after preload().
PROBE = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible_collections.zkops.zookeeper34.plugins.callback import preload
wanted = ("plugins.filter.core", "plugins.test.core", "plugins.filter.zookeeper",
          "plugins.filter.java", "plugins.lookup.template", "plugins.action.set_fact",
          "plugins.action.zookeeper_validate", "plugins.action.java_check",
          "plugins.action.zookeeper_decide", "plugins.action.zookeeper_membership",
          "plugins.connection.ssh", "plugin_utils.zookeeper_values",
          "plugin_utils.zookeeper_ensemble", "plugin_utils.zookeeper_tls")
def loaded():
    # (Ansible names a builtin filter or test file's module <name>_<hash>.)
    return sorted(w for w in wanted if any(w in m for m in sys.modules))
before = loaded()
missed = preload.preload()
print(json.dumps({"before": before, "after": loaded(), "missed": missed}))
"""


def test_preload_loads_every_plugin_family_in_its_own_process() -> None:
    found = in_fresh_python(PROBE)
    assert found["missed"] == []
    assert found["before"] == []
    assert found["after"] == sorted([
        "plugins.filter.core", "plugins.test.core", "plugins.filter.zookeeper",
        "plugins.filter.java", "plugins.lookup.template", "plugins.action.set_fact",
        "plugins.action.zookeeper_validate", "plugins.action.java_check",
        "plugins.action.zookeeper_decide", "plugins.action.zookeeper_membership",
        "plugins.connection.ssh", "plugin_utils.zookeeper_values",
        "plugin_utils.zookeeper_ensemble", "plugin_utils.zookeeper_tls"])


# In a fresh interpreter: which names reach Ansible's own look-up of a filter or test, after
# preload(), when a worker's templates ask for each twice.
REMEMBER = """
import json, sys
from ansible.plugins import loader
loader.init_plugin_loader([sys.argv[1]])
asked = []
own = loader.Jinja2Loader.get_with_context
def counted(self, name, *args, **kwargs):
    asked.append(name)
    return own(self, name, *args, **kwargs)
loader.Jinja2Loader.get_with_context = counted
from ansible_collections.zkops.zookeeper34.plugins.callback import preload
preload.preload()
asked.clear()
found = {}
for name in ["sort", "zkops.zookeeper34.zookeeper_pending", "no_such_filter", "=="] * 2:
    try:
        found[name] = loader.filter_loader.get(name) is not None
    except KeyError:
        found[name] = "refused"
print(json.dumps({"asked": asked, "found": found,
                  "test": loader.test_loader.get("eq") is None and asked[-1:] != ["eq"]}))
"""


def test_what_a_filter_or_test_name_resolves_to_is_looked_up_once_for_the_run() -> None:
    """Jinja's own names and the collection's are looked up before the workers fork; another
    name once, in the worker; a name Ansible refuses each time, as without preload."""
    found = in_fresh_python(REMEMBER)
    assert found["found"] == {"sort": False, "zkops.zookeeper34.zookeeper_pending": True,
                              "no_such_filter": False, "==": "refused"}
    assert found["asked"] == ["no_such_filter", "==", "=="]
    assert found["test"]


def jinja_names_the_roles_apply() -> tuple[set[str], set[str]]:
    """The filters and tests of Jinja's own that the roles and playbooks name (`| name`,
    `map('name')`; `is name`, `select('name')`, `selectattr('key', 'name')`)."""
    from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS

    text = "\n".join(path.read_text() for top in ("roles", "playbooks")
                     for path in sorted((REPO / top).rglob("*")) if path.suffix in (".yml", ".j2"))
    filters = (set(re.findall(r"\|\s*([a-z_][a-z_0-9]*)", text))
               | set(re.findall(r"\bmap\(\s*'([a-z_]+)'", text)))
    tests = (set(re.findall(r"\bis\s+(?:not\s+)?([a-z_][a-z_0-9]*)", text))
             | set(re.findall(r"\b(?:select|reject)\(\s*'([a-z_]+)'", text))
             | set(re.findall(r"\b(?:select|reject)attr\(\s*'[^']*'\s*,\s*'([a-z_]+)'", text)))
    return filters & set(DEFAULT_FILTERS), tests & set(DEFAULT_TESTS)


def test_every_name_of_jinjas_own_the_roles_apply_is_looked_up_before_the_workers_fork() -> None:
    """A name left out only costs each worker that applies it its own look-up; the list is
    checked so that it stays whole as the roles change."""
    from ansible_collections.zkops.zookeeper34.plugins.callback import preload

    filters, tests = jinja_names_the_roles_apply()
    assert {"sort", "length", "map"} <= filters and {"defined", "eq"} <= tests
    assert filters <= set(preload.JINJA_FILTERS), filters - set(preload.JINJA_FILTERS)
    assert tests <= set(preload.JINJA_TESTS), tests - set(preload.JINJA_TESTS)


def test_the_project_config_enables_it() -> None:
    assert "callbacks_enabled = zkops.zookeeper34.preload" in (REPO / "ansible.cfg").read_text()


def test_a_run_with_it_is_the_same_run(tmp_path: Path) -> None:
    play = """
- name: Filters, tests and a lookup in the workers
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply them
      ansible.builtin.debug:
        msg: "{{ ['b', 'a', 'a'] | unique | sort | zkops.zookeeper34.zookeeper_existing({})
               | length }} {{ '3.4.13' is version('3.5', '<') }}
               {{ 'openjdk-11-jre-headless' | zkops.zookeeper34.java_package_major }}"
"""
    outputs = [local_play(tmp_path, play).stdout,
               local_play(tmp_path, play,
                          ANSIBLE_CALLBACKS_ENABLED="zkops.zookeeper34.preload").stdout]
    assert '"msg": "0 True 11"' in outputs[0], outputs[0]
    assert outputs[1] == outputs[0]


FREEZE = """
import gc, json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible_collections.zkops.zookeeper34.plugins.callback import preload
held = [[i] for i in range(1000)]  # what ansible-playbook holds when a play starts
before = gc.get_freeze_count()
preload.CallbackModule().v2_playbook_on_play_start(None)
print(json.dumps({"before": before, "after": gc.get_freeze_count(),
                  "held": gc.is_tracked(held[0])}))
"""


def test_a_play_start_puts_what_is_alive_out_of_the_collectors_reach() -> None:
    """Forked workers then never walk (and so copy) the main process's objects."""
    found = in_fresh_python(FREEZE)
    assert found["before"] == 0 and found["after"] >= 1000, found
    assert found["held"]
