"""Callback plugin: load the filter, test, lookup, action and connection plugins once, in
ansible-playbook's main process, before the first task, with Jinja's compiled code and the
modules' payloads of earlier runs (see DOCUMENTATION)."""

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
  - It also keeps, for the run, what each filter or test name resolves to. A worker's templates
    look up each filter and test they apply by name, in every Jinja environment they make;
    Ansible keeps its own builtin ones, but a collection's it finds anew each time (it lists the
    collection's filter files), and for a name of Jinja's own (C(sort), C(eq)) it first searches
    every builtin filter or test file. This collection's names, and the names of Jinja's own
    that its roles apply, are looked up once, here; others once in each worker that asks.
  - It makes the action, module, connection, shell, become and lookup plugin loaders keep what
    each name resolves to for the run (plugins/plugin_utils/resolved_once.py), and when each task
    starts it finds the action plugin and module of that task, so that the task's workers find
    them already known. Each worker looked these names up again, about 3 ms of CPU a worker, some
    160 look-ups in a three-host run with nothing to do. A plugin directory added while the
    play runs (a role included then) makes that loader look every name up again.
  - It imports the code behind the collection's filters and action plugins
    (plugins/plugin_utils/) that a run with nothing to do applies, which every worker would
    otherwise compile from source (Ansible's collection loader keeps no bytecode).
  - It makes each task of this collection's roles render a variable once for the task when the
    task's keywords and arguments are rendered (plugins/plugin_utils/rendered_once.py); Ansible
    renders a variable again each time a template names it, and the role's variables name the
    same shared ones many times over. The values are the ones Ansible renders; a task's
    variables do not change while it is rendered. Other roles' tasks are left as they are.
  - It also keeps, in O(cache_dir), two things every run would otherwise make again on the
    controller. The first is Jinja's compiled code (C(jinja-code)). Each worker compiles every
    template and expression it renders (the roles' variables, conditions, module arguments,
    template files), about a third of its CPU in a run with nothing to do, and the worker of
    every host compiles the same text again. The main process reads the cache before the first
    task, so a worker compiles only what no earlier run compiled, and writes that to the cache
    (plugins/plugin_utils/jinja_code_cache.py).
  - The second is the AnsiballZ payloads (C(ansiballz)) of ansible-core's modules and of this
    collection's. Ansible builds each once per run while the other workers wait for it (about
    0.3 s of CPU for zookeeper_probe). They are copied into the run's own payload cache when it
    starts, and the ones it built are kept when it ends (plugins/plugin_utils/ansiballz_cache.py).
  - When each play starts, it moves every object ansible-playbook holds by then (the playbook,
    the inventory, the plugins and caches above) out of the garbage collector's reach
    (C(gc.freeze())). A worker inherits them by fork; when its own collector ran it walked all of
    them and wrote to each one's header, so the kernel copied those pages into the worker. About
    4% of the controller's CPU of a run with nothing to do, measured on the lab.
  - It prints nothing and changes no result. When a plugin cannot be loaded this way (another
    ansible-core release), the workers load it as they would without this callback; a template
    the cache cannot key (per-template autoescaping, Ansible's template debugging) is compiled
    as without it.
options:
  cache_dir:
    description:
      - The directory of both caches, made (mode 0700) when missing. What it holds is code that
        ansible-playbook runs, so a directory that another user owns, or that a group or others
        may write to, is not used (with a warning).
      - A compiled template's name is a digest of everything its code depends on (the source
        text, the Jinja environment's settings, the Jinja, ansible-core and Python releases); the
        payloads are kept under a digest of the ansible-core release and its modules' files, this
        collection's modules and module_utils, and the Python. Runs of different releases share
        the directory without mixing. A compiled template no run has used for a week goes when
        the next run starts (a use marks it, at most once a day); past 20,000 of them, or 4
        payload keys, the oldest go.
      - An empty value switches both caches off (the plugins are still loaded).
    type: str
    default: ~/.ansible/zkops
    env:
      - name: ZKOPS_CACHE_DIR
    ini:
      - section: callback_zkops_preload
        key: cache_dir
requirements:
  - enabled in callbacks_enabled (C(callbacks_enabled = zkops.zookeeper34.preload) in
    ansible.cfg, or C(ANSIBLE_CALLBACKS_ENABLED))
"""

import gc
import importlib
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import (
    ansiballz_cache,
    jinja_code_cache,
    rendered_once,
    resolved_once,
)

COLLECTION = "zkops.zookeeper34"
# The lookups the roles' templates use.
LOOKUPS = ("zkops.zookeeper34.template", "ansible.builtin.template", "ansible.builtin.vars",
           "ansible.builtin.file", "ansible.builtin.fileglob", "ansible.builtin.first_found")
# The action plugins a run with nothing to do goes through (`normal` runs every module), and the
# connection the roles use.
ACTIONS = ("ansible.builtin.normal", "ansible.builtin.set_fact", "ansible.builtin.assert",
           "ansible.builtin.debug", "ansible.builtin.include_vars",
           "ansible.builtin.validate_argument_spec", "zkops.zookeeper34.zookeeper_validate",
           "zkops.zookeeper34.java_check", "zkops.zookeeper34.zookeeper_decide",
           "zkops.zookeeper34.zookeeper_membership")
CONNECTIONS = ("ansible.builtin.ssh",)
# The filters and tests of Jinja's own that the roles apply (tests/unit/plugins/test_preload.py
# checks the roles against these). Ansible looks such a name up in every builtin filter or test
# file before it falls back to Jinja's, about 0.5 ms a name and worker; all of Jinja's, 93
# names, would take the main process some 40 ms before the first task.
JINJA_FILTERS = ("default", "dictsort", "first", "int", "join", "length", "list", "lower", "map",
                 "max", "reject", "rejectattr", "replace", "select", "selectattr", "sort",
                 "string", "trim", "unique")
JINJA_TESTS = ("defined", "eq", "equalto", "in", "none", "true")
# The code behind the role's filters and action plugins (plugins/plugin_utils/) that every host's
# workers apply in a run with nothing to do: a worker imports it on first use and compiles it
# from source (Ansible's collection loader keeps no bytecode), 3-9 ms of CPU a module and worker.
# (zookeeper_membership, 24 ms to compile, serves one worker a run: the plan, run once.)
PLUGIN_UTILS = ("zookeeper_ensemble", "zookeeper_values", "zookeeper_tls")

display = Display()


def collection_filters() -> list[str]:
    """Every filter of this collection by its full name (plugins/filter/*.py)."""
    from ansible_collections.zkops.zookeeper34.plugins.filter import java, zookeeper

    return [f"{COLLECTION}.{name}" for module in (zookeeper, java)
            for name in module.FilterModule().filters()]


def remember_lookups(loader: Any) -> None:
    """Keep what `loader` (filters' or tests') finds for a name, in this process and the workers
    it forks.

    A worker's templates look up each filter and test they apply by name, and each Jinja
    environment (a worker makes several) looks it up again. Ansible keeps its own builtin ones
    by name, but a collection's (zkops.zookeeper34.zookeeper_pending) it finds anew each time:
    it lists the collection's filter files and loads each, about 0.7 ms a name; and a name of
    Jinja's own (`sort`, `length`) it looks for in every builtin filter or test file before
    Jinja's is used. Some 280 such look-ups in a three-host run with nothing to do. Within a run
    the answer for a name does not change; a look-up that fails is made again each time, as
    without this.
    """
    if getattr(loader, "_zkops_remembers", False):
        return
    find = loader.get_with_context
    found: dict[str, Any] = {}

    def get_with_context(name: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(name, str):
            return find(name, *args, **kwargs)
        known = found.get(name)
        if known is None:
            known = found[name] = find(name)
        return known

    loader.get_with_context = get_with_context
    loader._zkops_remembers = True


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
    for loader, jinjas in ((filter_loader, JINJA_FILTERS), (test_loader, JINJA_TESTS)):
        remember_lookups(loader)
        for name in jinjas:
            try:
                loader.get(name)
            except Exception:  # an optimisation only: the workers look it up as without this
                pass
    for name in collection_filters():
        try:
            if filter_loader.get(name) is None:
                missed.append(name)
        except Exception:
            missed.append(name)
    try:  # the role's tasks render each variable once per task, not once per use
        if not rendered_once.render_tasks_once(COLLECTION):
            missed.append("variables rendered once")
    except Exception:
        missed.append("variables rendered once")
    for name in PLUGIN_UTILS:
        try:
            importlib.import_module(f"ansible_collections.{COLLECTION}.plugins.plugin_utils.{name}")
        except Exception:
            missed.append(name)
    try:  # what each plugin name resolves to, found once for the run (the look-ups below too)
        resolved_once.remember_all()
    except Exception:
        missed.append("plugin names resolved once")
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
        self._cache = self._payload_key = None
        directory = self.get_option("cache_dir")
        if directory:
            self._cache = Path(directory).expanduser()
            self._use(lambda: jinja_code_cache.private_directory(self._cache))
        if self._cache is not None:
            self._use(jinja_code_cache.install)
            read = self._use(lambda: jinja_code_cache.load(self._cache / "jinja-code"))
            # the payloads' key, from the files as they are when the run starts
            self._payload_key = self._use(ansiballz_cache.key) or None
            copied = 0
            if self._cache is not None and self._payload_key:
                copied = self._use(lambda: ansiballz_cache.restore(self._cache / "ansiballz",
                                                                   self._payload_key))
            display.vvv(f"preload: {read} compiled templates and {copied} module payloads "
                        f"read from {self._cache}")
        missed = preload()
        if missed:
            display.vvv(f"preload: not loaded ahead of the workers: {', '.join(missed)}")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        # Before the play's workers fork: what is alive now stays alive for the play (the
        # playbook, inventory, plugins), so no worker's collector needs to walk it.
        gc.collect()
        gc.freeze()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self.v2_playbook_on_handler_task_start(task)

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        # Before the task's workers fork: the plugins each of them will look up, found here once.
        try:
            resolved_once.resolve_for_task(task.action, task.collections)
        except Exception:  # an optimisation only: each worker looks them up as without this
            pass

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if getattr(self, "_cache", None) is not None and getattr(self, "_payload_key", None):
            added = self._use(lambda: ansiballz_cache.keep(self._cache / "ansiballz",
                                                           self._payload_key))
            display.vvv(f"preload: {added} module payloads kept in {self._cache}")

    def _use(self, step: Any) -> Any:
        """Run a cache step; a cache that cannot be used leaves the run as it would be without."""
        try:
            return step()
        except jinja_code_cache.UnsafeCacheError as exc:
            display.warning(f"zkops.zookeeper34.preload: not using the cache: {exc}")
            self._cache = None
        except Exception as exc:  # an optimisation only: the workers do as they would without
            display.vvv(f"preload: cache step skipped: {exc}")
        return 0
