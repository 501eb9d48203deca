"""Callback plugin: load the filter, test, lookup, action and connection plugins once, in
ansible-playbook's main process, before the first task, with Jinja's compiled code of earlier
runs (see DOCUMENTATION)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load the plugins every task needs once, before the workers fork
description:
  - Ansible runs each task of each host in a worker process forked from ansible-playbook's main
    process. A worker loads the filter and test plugins the first time one of its templates
    names one (every builtin filter file at once, about 0.1 s of CPU), and the main process
    never does; so every task of every host that applies a filter pays that load again.
  - This callback loads them in the main process when the playbook starts (Ansible's builtin
    filters and tests, the filters of the zkops.zookeeper34 collection, the lookups its roles
    use), with the action plugins of a run that has nothing to do and the ssh connection. Every
    worker forked after that inherits them; a run with nothing to do takes about a third less
    of the controller's CPU.
  - It also reads a cache of Jinja's compiled code (O(code_cache)) into the main process. Each
    worker compiles every template and expression it renders (the roles' variables, conditions,
    module arguments, template files), about a third of its CPU in a run with nothing to do, and
    the worker of every host compiles the same text again. With the cache, a worker compiles
    only what no run before it compiled, and writes that to the cache for the runs after it
    (plugins/plugin_utils/jinja_code_cache.py). A run with nothing to do then takes about a
    fifth less of the controller's CPU.
  - It prints nothing and changes no result. When a plugin cannot be loaded this way (another
    ansible-core release), the workers load it as they would without this callback; a template
    the cache cannot key (per-template autoescaping, Ansible's template debugging) is compiled
    as without it.
options:
  code_cache:
    description:
      - The directory of the compiled-code cache, made (mode 0700) when missing. Its entries are
        code that ansible-playbook runs, so a directory that another user owns, or that a group
        or others may write to, is not used.
      - An entry's name is a digest of everything its code depends on (the source text, the Jinja
        environment's settings, the Jinja, ansible-core and Python releases), so runs of
        different releases share the directory without mixing. When it holds more than 20,000
        entries, it is emptied and filled again.
      - An empty value switches the cache off (the plugins are still loaded).
    type: str
    default: ~/.ansible/zkops/jinja-code
    env:
      - name: ZKOPS_JINJA_CODE_CACHE
    ini:
      - section: callback_zkops_preload
        key: code_cache
requirements:
  - enabled in callbacks_enabled (C(callbacks_enabled = zkops.zookeeper34.preload) in
    ansible.cfg, or C(ANSIBLE_CALLBACKS_ENABLED))
"""

from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import jinja_code_cache

# A filter of each of the collection's filter files (loading one loads its file).
COLLECTION_FILTERS = ("zkops.zookeeper34.zookeeper_pending", "zkops.zookeeper34.java_major_version")
# The lookups the roles' templates use.
LOOKUPS = ("zkops.zookeeper34.template", "ansible.builtin.template", "ansible.builtin.vars",
           "ansible.builtin.file", "ansible.builtin.fileglob", "ansible.builtin.first_found")
# The action plugins a run with nothing to do goes through (`normal` runs every module), and the
# connection the roles use.
ACTIONS = ("ansible.builtin.normal", "ansible.builtin.set_fact", "ansible.builtin.assert",
           "ansible.builtin.debug", "ansible.builtin.include_vars",
           "ansible.builtin.validate_argument_spec", "zkops.zookeeper34.zookeeper_validate")
CONNECTIONS = ("ansible.builtin.ssh",)

display = Display()


def preload() -> list[str]:
    """Load the plugins in this process; the names that could not be loaded."""
    from ansible.plugins.loader import (
        action_loader,
        connection_loader,
        filter_loader,
        lookup_loader,
        test_loader,
    )

    missed = []
    for loader in (filter_loader, test_loader):
        try:
            for _plugin in loader.all():  # every builtin filter (test) file
                pass
        except Exception:  # an optimisation only: the workers load it anyway
            missed.append(f"{loader.type} plugins")
    for name in COLLECTION_FILTERS:
        try:
            if filter_loader.get(name) is None:
                missed.append(name)
        except Exception:
            missed.append(name)
    for loader, names in ((lookup_loader, LOOKUPS), (action_loader, ACTIONS),
                          (connection_loader, CONNECTIONS)):
        for name in names:
            try:  # the plugin's Python module, without an instance
                if loader.get(name, class_only=True) is None:
                    missed.append(name)
            except Exception:
                missed.append(name)
    return missed


class CallbackModule(CallbackBase):
    """zkops.zookeeper34.preload"""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "zkops.zookeeper34.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: Any) -> None:
        directory = self.get_option("code_cache")
        if directory:
            path = Path(directory).expanduser()
            try:
                jinja_code_cache.install()
                read = jinja_code_cache.load(path)
                display.vvv(f"preload: {read} compiled templates read from {path}")
            except jinja_code_cache.UnsafeCacheError as exc:
                display.warning(f"zkops.zookeeper34.preload: not using the cache: {exc}")
            except Exception as exc:  # an optimisation only: the workers compile as before
                display.vvv(f"preload: no compiled-code cache at {path}: {exc}")
        missed = preload()
        if missed:
            display.vvv(f"preload: not loaded ahead of the workers: {', '.join(missed)}")
