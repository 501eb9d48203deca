"""Action plugin: the java role's checks before anything is installed (the module file of the
same name documents it; plugins/plugin_utils/java_check.py runs them). One task a host instead
of four."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase
from ansible_collections.zkops.zookeeper34.plugins.modules.java_check import ARGUMENT_SPEC
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.java_check import check_java
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.rendered_once import variables_once


class ActionModule(ActionBase):
    """zkops.zookeeper34.java_check"""

    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        result["changed"] = False
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        return {**result, **check_java(self, task_vars,
                                       variables_once(self._templar, task_vars), args)}
