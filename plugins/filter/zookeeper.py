"""The zookeeper role's filters: their names here, their code in plugins/plugin_utils/.

Ansible loads every filter file of a role in every worker process it forks, one per task and
host, as soon as the task applies any filter that is not Jinja's own. Compiling and running the
role's ~1,900 lines of filter code there cost about 20 ms a worker, a quarter of the controller's
CPU in a run that changes nothing. So this file only names the filters, and a module of
plugins/plugin_utils/ is imported (once per process) by the first task that applies one of its
filters; the preload callback imports those a run with nothing to do applies before the workers
fork.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

# Where the code is: the collection's plugin_utils package, beside this one (plugins/filter/).
IMPL = "ansible_collections.zkops.zookeeper34.plugins.plugin_utils"

# Each filter, and the module of plugins/plugin_utils/ whose FILTERS holds it.
FILTERS = {
    "zookeeper_members": "zookeeper_ensemble",
    "zookeeper_etc_hosts": "zookeeper_ensemble",
    "zookeeper_sha512": "zookeeper_ensemble",
    "zookeeper_problems": "zookeeper_ensemble",
    "zookeeper_ensembles_problems": "zookeeper_ensemble",
    "zookeeper_differs": "zookeeper_ensemble",
    "zookeeper_existing": "zookeeper_ensemble",
    "zookeeper_pending": "zookeeper_ensemble",
    "zookeeper_down": "zookeeper_ensemble",
    "zookeeper_not_files": "zookeeper_ensemble",
    "zookeeper_jaas_string": "zookeeper_ensemble",
    "zookeeper_super_digest": "zookeeper_ensemble",
    "zookeeper_membership_plan": "zookeeper_membership",
    "zookeeper_membership_plans": "zookeeper_membership",
    "zookeeper_walk_next": "zookeeper_membership",
    "zookeeper_walk_apply": "zookeeper_membership",
    "zookeeper_endpoints": "zookeeper_membership",
    "zookeeper_archive_name": "zookeeper_restore",
    "zookeeper_zxid": "zookeeper_restore",
    "zookeeper_backup_contents": "zookeeper_restore",
    "zookeeper_restore_scope_problems": "zookeeper_restore",
    "zookeeper_restore_origin": "zookeeper_restore",
    "zookeeper_restore_check_problems": "zookeeper_restore",
    "zookeeper_value_problems": "zookeeper_values",
    "zookeeper_of_family": "zookeeper_values",
    "zookeeper_tls_passes": "zookeeper_tls",
    "zookeeper_tls_checks": "zookeeper_tls",
}


def implementation(module: str) -> ModuleType:
    """plugins/plugin_utils/<module>.py, imported on first use (Python keeps it for the
    process)."""
    return importlib.import_module(f"{IMPL}.{module}")


def _deferred(name: str, module: str) -> Callable[..., Any]:
    """The filter `name`, which loads its module when first applied."""
    def apply(*args: Any, **kwargs: Any) -> Any:
        return implementation(module).FILTERS[name](*args, **kwargs)

    apply.__name__ = apply.__qualname__ = name
    return apply


class FilterModule:
    """The zookeeper role's filters (plugins/plugin_utils/*.py)."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {name: _deferred(name, module) for name, module in FILTERS.items()}
