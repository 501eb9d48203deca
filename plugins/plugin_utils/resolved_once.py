"""What a plugin name resolves to, found once for the run (the preload callback).

Each worker (one per task and host) finds again, by name, the plugins its task needs: the action
plugin and the module (three or four look-ups of the same name), the connection, its shell (twice)
and the become method, every lookup its templates call. A look-up walks the collection's routing
and the plugin directories, 0.1-0.6 ms each, about 3 ms a worker; at 30 hosts some 150 workers
of a run with nothing to do repeat them. Within a run a name resolves the same way until a plugin
directory is added (a role included while the play runs), which starts the remembering over.

`remember` makes the loaders keep what each name resolved to; `resolve_for_task` finds, in
ansible-playbook's main process before a task's workers fork, what they will look up, so that
each worker finds it already known.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

# No filters here (this module serves the preload callback).
FILTERS: dict = {}

# The look-ups a worker makes with Ansible's defaults: the connection, the shell every connection
# loads (twice), the become method, and the action plugin that runs a module.
CONNECTION = "ssh"
SHELL = "sh"
BECOME = "sudo"
NORMAL = "ansible.legacy.normal"


def _key(signature: inspect.Signature, args: tuple, kwargs: dict) -> tuple | None:
    """The call's arguments, defaults applied, as a key; None when they cannot be one."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    key = tuple((name, tuple(value) if isinstance(value, list) else value)
                for name, value in bound.arguments.items())
    try:
        hash(key)
    except TypeError:
        return None
    return key


def remember(loader: Any) -> dict:
    """Make `loader` keep what each look-up found (`find_plugin_with_context`, which its
    `get`, `find_plugin` and `has_plugin` go through) until a plugin directory is added to it;
    what it keeps, by the call's arguments."""
    kept = getattr(loader, "_zkops_resolved", None)
    if kept is not None:
        return kept
    kept = {}
    find: Callable = loader.find_plugin_with_context
    signature = inspect.signature(find)

    def find_plugin_with_context(*args: Any, **kwargs: Any) -> Any:
        key = _key(signature, args, kwargs)
        if key is None:
            return find(*args, **kwargs)
        known = kept.get(key)
        if known is None:
            known = find(*args, **kwargs)
            # A look-up that failed with an error is made again, so that its warning is shown
            # each time, as without this.
            if getattr(known, "resolved", False) or not getattr(known, "raw_error_list", True):
                kept[key] = known
        return known

    add_directory: Callable = loader.add_directory

    def add_directory_anew(*args: Any, **kwargs: Any) -> Any:
        kept.clear()
        return add_directory(*args, **kwargs)

    loader.find_plugin_with_context = find_plugin_with_context
    loader.add_directory = add_directory_anew
    loader._zkops_resolved = kept
    return kept


def loaders() -> list:
    """The loaders whose look-ups every worker repeats."""
    from ansible.plugins.loader import (
        action_loader,
        become_loader,
        connection_loader,
        lookup_loader,
        module_loader,
        shell_loader,
    )

    return [action_loader, module_loader, connection_loader, shell_loader, become_loader,
            lookup_loader]


def remember_all() -> None:
    """remember() on each loader a worker looks plugins up with, then find the connection, shell
    and become plugins it will ask for."""
    from ansible.plugins.loader import become_loader, connection_loader, shell_loader

    for loader in loaders():
        remember(loader)
    for loader, name in ((connection_loader, CONNECTION), (shell_loader, SHELL),
                         (become_loader, BECOME)):
        loader.find_plugin_with_context(name)


def resolve_for_task(action: str, collections: list | None) -> None:
    """Find what a worker of a task of `action` looks up: the module by that name (as the task
    executor and the module's payload ask), the action plugin, and `normal`, which runs a module
    that has none."""
    from ansible.plugins.loader import action_loader, module_loader

    module_loader.find_plugin_with_context(action, collection_list=collections)
    module_loader.find_plugin_with_context(action, ".py", collection_list=collections)
    action_loader.find_plugin_with_context(action, collection_list=collections)
    action_loader.find_plugin_with_context(NORMAL, collection_list=collections)
    action_loader.find_plugin_with_context(NORMAL)
