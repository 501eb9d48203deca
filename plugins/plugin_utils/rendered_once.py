"""A host's variables, each rendered at most once for one step of a run.

Ansible renders a variable each time a template names it, and a variable that names another
renders that one again from the start: each render makes a new Jinja context over every variable
of the host and wraps them all anew. The zookeeper role's decision (vars/main.yml, What differs)
names its shared parts many times over: in one host's decision, `__zookeeper_found` was rendered
17 times, `__zookeeper_version` 9, and 149 renders were of 62 variables.

- `variables_once(templar, task_vars)`, for an action plugin's run: a mapping of the host's
  variables in which each one is rendered on its first use and kept for every later use, by the
  template that asked for it and by every template rendered through it (the vars lookup, a
  variable naming another).
- `render_tasks_once(collection)`: the same for the rendering of the keywords and arguments of
  each task of that collection's roles (Ansible's post-validation of the task).
- `hostvars_once(hostvars)`, for an action plugin run once for the play that reads other hosts'
  variables (the membership plan, the ensembles check): each host's variables gathered once
  and each of them rendered once, where Ansible's `hostvars` gathers all of a host's variables
  again at each `hostvars[host]` and renders a variable at each read (a registered result as
  large as a probe's included).

Within one action's run, or one task's post-validation, on one host the variables do not change,
so a value rendered once is the value every later render would give.

It builds on ansible-core 2.19's lazy containers, the mapping Ansible itself hands Jinja for one
template (where a variable is kept for that template only). With an older ansible-core, which
has none, each use renders again as before and no task is changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

try:  # ansible-core 2.19 and later
    from ansible._internal._templating._lazy_containers import (
        _AnsibleLazyTemplateDict,
        _LazyValue,
        _LazyValueSource,
    )
    from ansible._internal._templating._utils import LazyOptions
except ImportError:  # pragma: no cover - an older ansible-core: render as Ansible does
    _AnsibleLazyTemplateDict = None

# No filters here (plugins/filter/zookeeper.py names those of the other modules of this package).
FILTERS: dict[str, Any] = {}


class _RenderedEachTime(Mapping):
    """The variables as Ansible renders them without this module: at each use."""

    def __init__(self, templar: Any, task_vars: Mapping[str, Any]) -> None:
        self._templar = templar
        self._task_vars = task_vars

    def __getitem__(self, name: str) -> Any:
        return self._templar.template(self._task_vars[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._task_vars)

    def __len__(self) -> int:
        return len(self._task_vars)


def _engine_once(engine: Any, task_vars: Mapping[str, Any]) -> Any:
    """A template engine of its own (the same Jinja environment as `engine`, so the filters it
    looked up stay) whose variables are one lazy mapping of `task_vars`: every render through
    it, nested ones included, reads and keeps its values there."""
    own = engine.extend()
    own.available_variables = _AnsibleLazyTemplateDict(_LazyValueSource(
        source=((key, _LazyValue(value)) for key, value in task_vars.items()),
        templar=own, lazy_options=LazyOptions.DEFAULT))
    return own


def variables_once(templar: Any, task_vars: Mapping[str, Any]) -> Mapping[str, Any]:
    """The host's variables `task_vars`, each rendered on its first use and kept (see the
    module's documentation). `templar` is the action plugin's."""
    engine = getattr(templar, "_engine", None)
    if _AnsibleLazyTemplateDict is None or not hasattr(engine, "extend"):
        return _RenderedEachTime(templar, task_vars)
    return _engine_once(engine, task_vars).available_variables


class _Kept(Mapping):
    """A read-only view of `source` that keeps each value it reads, made by `make`."""

    def __init__(self, source: Mapping[str, Any], make: Any = None) -> None:
        self._source = source
        self._make = make
        self._kept: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._kept:
            value = self._source[key]
            self._kept[key] = value if self._make is None else self._make(value)
        return self._kept[key]

    def __contains__(self, key: object) -> bool:
        return key in self._kept or key in self._source

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def hostvars_once(hostvars: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    """`hostvars` (Ansible's, from an action's task variables) with each host's variables
    gathered once and each variable rendered once, for one action's run (see the module's
    documentation): within it no host's variables change."""
    return hostvars if isinstance(hostvars, _Kept) else _Kept(hostvars, _Kept)


def render_tasks_once(collection: str) -> bool:
    """From now on, in this process and the workers it forks, a task of a role of `collection`
    renders its keywords and arguments (Ansible's post-validation of the task) with each
    variable rendered once for that task, not once per use. The task's variables are fixed
    while it is post-validated (each item of a loop is post-validated apart, with its own).
    False when this ansible-core has no lazy containers (nothing changes then)."""
    from ansible.playbook.task import Task

    if _AnsibleLazyTemplateDict is None:
        return False
    if getattr(Task.post_validate, "zkops_once", False):
        return True
    original = Task.post_validate

    def post_validate(self: Any, templar: Any) -> Any:
        role = getattr(self, "_role", None)
        task_vars = getattr(templar, "available_variables", None)
        # (A plain dictionary, as Ansible hands the task's variables over; exact types, as
        # Ansible's own lazy containers check them.)
        plain = type(task_vars) is dict  # pylint: disable=unidiomatic-typecheck
        if getattr(role, "_role_collection", None) != collection or not plain \
                or not hasattr(templar, "extend"):
            return original(self, templar)
        return original(self, _engine_once(templar, task_vars))

    post_validate.zkops_once = True  # type: ignore[attr-defined]
    Task.post_validate = post_validate
    return True


def top_level(variables: Any) -> Mapping[str, Any]:
    """`variables` for a lookup that copies the variables it is given: the lazy mapping's top
    level as a plain dictionary, what is rendered already as rendered, the rest as written
    (copying the lazy mapping itself would render every variable); any other mapping as it is,
    for the lookup to copy."""
    # (Exact types, as Ansible's own lazy containers check them.)
    # pylint: disable=unidiomatic-typecheck
    if _AnsibleLazyTemplateDict is not None and type(variables) is _AnsibleLazyTemplateDict:
        return {key: value.value if type(value) is _LazyValue else value
                for key, value in dict.items(variables)}
    return variables
