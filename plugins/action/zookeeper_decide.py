"""Action plugin: check a host against the run, then decide which phases of the zookeeper role
have work on it (the module file of the same name documents it). One task a host instead of two
(the checks' and the decision's); both stay the role's variables, rendered here by name, the
decision only where the checks passed. Given `java`, the java role's check comes first
(plugins/plugin_utils/java_check.py): site.yml's step a host fewer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.zkops.zookeeper34.plugins.modules.java_check import (
    ARGUMENT_SPEC as JAVA_OPTIONS,
)
from ansible_collections.zkops.zookeeper34.plugins.modules.zookeeper_decide import (
    ARGUMENT_SPEC as OPTIONS,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.java_check import check_java
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.rendered_once import variables_once

# The module's options, `java` checked against java_check's own.
ARGUMENT_SPEC = {**OPTIONS, "java": {**OPTIONS["java"], "options": JAVA_OPTIONS}}
# What the java role reads of its check (its tasks/validate.yml registers it there).
JAVA_CHECKED = "__java_checked"


class ActionModule(ActionBase):
    """zkops.zookeeper34.zookeeper_decide"""

    TRANSFERS_FILES = False

    @staticmethod
    def _render(variables: Mapping[str, Any], name: str) -> Any:
        """The value of the variable `name` (a template, as the role's variables are)."""
        if name not in variables:
            raise AnsibleError(f"zookeeper_decide: no variable {name!r} to render")
        return variables[name]

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result["changed"] = False
        # The checks and the decision name the same variables many times over: each is rendered
        # once for the host.
        variables = variables_once(self._templar, task_vars)
        if args["java"] is not None:
            java = check_java(self, task_vars, variables, args["java"])
            if java.get("failed") or java.get("unreachable"):
                return {**result, **java}
            # (the facts of a java_probe call it made are the host's, as java_check's are)
            facts = java.pop("ansible_facts", None)
            if facts:
                result["ansible_facts"] = facts
            result["java"] = java
            # The host checks read the Java a run would leave (java_expected_major) from it:
            # through the variables' own templates too (which an ansible-core before 2.19
            # renders with the templar's variables), for this step only.
            with_java = {**task_vars, JAVA_CHECKED: java}
            before, self._templar.available_variables = self._templar.available_variables, with_java
            try:
                return self._decide(result, variables_once(self._templar, with_java), args)
            finally:
                self._templar.available_variables = before
        return self._decide(result, variables, args)

    def _decide(self, result: dict[str, Any], variables: Mapping[str, Any],
                args: Mapping[str, Any]) -> dict[str, Any]:
        """The host's problems (a failure with all of them), else the decision."""
        problems = self._render(variables, args["problems"])
        if not isinstance(problems, list):
            raise AnsibleError(f"zookeeper_decide: {args['problems']} is not a list: {problems!r}")
        problems = [str(problem) for problem in problems if problem]
        if problems:
            return {**result, "failed": True, "msg": "\n".join(problems)}
        # (ansible-core before 2.19 renders a boolean as the text True or False.)
        result["todo"] = {phase: boolean(self._render(variables, name), strict=False)
                          for phase, name in args["phases"].items()}
        result["new_server"] = bool(args["new_server"]) and boolean(
            self._render(variables, args["new_server"]), strict=False)
        return result
