"""What a plugin name resolves to is found once for the run, in ansible-playbook's main process
(plugins/plugin_utils/resolved_once.py, through the preload callback): the workers it forks look
nothing up again, and a plugin directory added while the play runs starts it over."""

from __future__ import annotations

from plugins import in_fresh_python

# In a fresh interpreter: how many resolution steps Ansible takes (its own look-up, under the
# remembering) for the look-ups a worker of a module task and of an action plugin's task makes.
STEPS = """
import json, os, sys, tempfile
from ansible.plugins import loader
loader.init_plugin_loader([sys.argv[1]])
steps = []
own = loader.PluginLoader._resolve_plugin_step
def counted(self, name, *args, **kwargs):
    # (a plugin's documentation fragments are found when its options are first loaded, once
    # per process; ansible-playbook's main process has loaded the shell's before any fork)
    if self.type != "doc_fragments":
        steps.append(f"{self.type}:{name}")
    return own(self, name, *args, **kwargs)
loader.PluginLoader._resolve_plugin_step = counted
from ansible_collections.zkops.zookeeper34.plugins.callback import preload
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import resolved_once
preload.preload()
collections = ["zkops.zookeeper34", "ansible.builtin"]
def worker(action):
    # what a task's worker looks up (the task executor, the action plugin, the module's payload)
    loader.module_loader.find_plugin_with_context(action, collection_list=collections)
    loader.action_loader.has_plugin(action, collection_list=collections)
    loader.action_loader.find_plugin_with_context(action, collection_list=collections)
    loader.action_loader.find_plugin_with_context("ansible.legacy.normal")
    loader.module_loader.find_plugin_with_context(action, ".py", collection_list=collections)
    loader.connection_loader.get("ssh", class_only=True)
    loader.shell_loader.get("sh")
    loader.become_loader.get("sudo")
    loader.lookup_loader.get("ansible.builtin.vars")
found = {}
for action in ("zkops.zookeeper34.zookeeper_probe", "zkops.zookeeper34.zookeeper_decide"):
    steps.clear()
    resolved_once.resolve_for_task(action, collections)  # the callback, as the task starts
    found[action] = {"main": len(steps)}
    steps.clear()
    worker(action)
    worker(action)
    found[action]["workers"] = steps[:]
steps.clear()
first = loader.module_loader.find_plugin_with_context("no_such_module_here")
again = loader.module_loader.find_plugin_with_context("no_such_module_here")
found["unknown"] = {"steps": len(steps), "resolved": first.resolved or again.resolved}
# a plugin directory added (a role included while the play runs) starts over
directory = tempfile.mkdtemp()
open(os.path.join(directory, "no_such_module_here.py"), "w").write("#!/usr/bin/python\\n")
loader.module_loader.add_directory(directory)
steps.clear()
found["added"] = {"resolved": loader.module_loader.find_plugin_with_context(
    "no_such_module_here").resolved, "steps": len(steps) > 0}
steps.clear()
loader.action_loader.find_plugin_with_context("zkops.zookeeper34.zookeeper_decide",
                                               collection_list=collections)
found["after_added"] = len(steps)
print(json.dumps(found))
"""


def test_the_workers_of_a_task_look_nothing_up_again() -> None:
    found = in_fresh_python(STEPS)
    for action in ("zkops.zookeeper34.zookeeper_probe", "zkops.zookeeper34.zookeeper_decide"):
        assert found[action]["main"] > 0, found
        assert found[action]["workers"] == [], found


def test_a_name_not_found_stays_not_found_until_a_directory_adds_it() -> None:
    found = in_fresh_python(STEPS)
    assert found["unknown"] == {"steps": 1, "resolved": False}
    assert found["added"] == {"resolved": True, "steps": True}


def test_an_added_directory_makes_every_name_of_that_loader_be_looked_up_again() -> None:
    """Only the loader the directory was added to starts over (each loader keeps its own)."""
    found = in_fresh_python(STEPS)
    assert found["after_added"] == 0
