"""A role's variables against its meta/argument_specs.yml, checked in an action plugin as
ansible.builtin.validate_argument_spec checks them (the same validator, the same message), so
that the check does not cost a task of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

# No filters here (plugins/filter/zookeeper.py names those of the other modules of this package).
FILTERS: dict[str, Any] = {}


def load_options(path: str, entry_point: str) -> dict[str, Any]:
    """The options of one entry point of a role's meta/argument_specs.yml."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        specs = yaml.load(handle, Loader=loader)  # a safe loader, C's when there is one
    try:
        return specs["argument_specs"][entry_point]["options"]
    except (KeyError, TypeError):
        raise AnsibleError(f"{path} has no options for the entry point {entry_point!r}") from None


def check_variables(variables: Mapping[str, Any], options: Mapping[str, Any]
                    ) -> tuple[dict[str, Any], list[str]]:
    """The host's values of the role's variables, and validate_argument_spec's message when
    one of them has the wrong type or is not one of its choices. `variables` gives each
    rendered (plugin_utils/rendered_once.py)."""
    given = {name: variables[name] for name in options if name in variables}
    checked = ArgumentSpecValidator(dict(options)).validate(dict(given),
                                                            validate_role_argument_spec=True)
    if checked.error_messages:
        return dict(given), ["Validation of arguments failed:\n"
                             + "\n".join(checked.error_messages)]
    return dict(given), []
