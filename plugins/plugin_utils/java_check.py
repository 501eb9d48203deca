"""The java role's checks before anything is installed, for an action plugin on the controller:
the role's variables against its argument specs, what Java the host has (found already, or one
java_probe call), that the binary runs unless the run installs one, and the major version a run
would leave. zkops.zookeeper34.java_check runs them as the java role's own step; the zookeeper
role's zookeeper_decide runs them first in its host checks (site.yml and upgrade.yml: one step a
host fewer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.zkops.zookeeper34.plugins.filter.java import (
    java_major_version,
    java_package_major,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.role_arguments import (
    check_variables,
    load_options,
)

# No filters here (plugins/filter/zookeeper.py names those of the other modules of this package).
FILTERS: dict[str, Any] = {}


def refusal(host: str, given: dict[str, Any], found: dict[str, Any],
            facts: dict[str, Any]) -> str:
    """Why a Java that does not run stops the run, and what to do."""
    binary = given["java_binary"]
    why = found.get("msg") or found.get("stderr", "")
    text = f"{host}: `{binary} -version` failed ({why}), so no host was changed. "
    if not given["java_install"]:
        return text + (
            f"With java_install={given['java_install']}, set java_binary to an installed JVM, "
            "or set java_install to true so the role installs "
            f"{found.get('package') or 'java_package'}.")
    if found.get("package_state") == "unknown":
        return text + (
            f"The java role knows no Java package for {facts.get('distribution')} "
            f"{facts.get('distribution_major_version')} ({facts.get('os_family')} family), or "
            "no package manager it can ask (dpkg-query, rpm): set java_package to the package "
            f"that installs {binary}, or install Java yourself and set java_install to false.")
    return text + (
        f"The package {found.get('package')} is installed, so java_binary is not the JVM it "
        "installs: set java_binary to that JVM, or java_package to the package of this one.")


def check_java(action: ActionBase, task_vars: dict[str, Any], variables: Mapping[str, Any],
               args: Mapping[str, Any]) -> dict[str, Any]:
    """The java role's checks on the host of `task_vars` (`variables`: each rendered,
    plugin_utils/rendered_once.py), with java_check's options `args`. A failure is a result
    with `failed` (or the probe's own `unreachable`); else `found`, `install_pending`,
    `expected_major` and `major_version`, and the `ansible_facts` of a probe it ran."""
    options = load_options(args["spec"], args["entry_point"])
    given, errors = check_variables(variables, options)
    if errors:
        return {"failed": True, "msg": errors[0]}
    # The role's defaults fill what the inventory leaves out (as the argument specs say).
    given = {name: given.get(name, spec.get("default")) for name, spec in options.items()}
    given["java_install"] = boolean(given["java_install"], strict=False)
    host = task_vars.get("inventory_hostname", "")
    facts = {k: v for k, v in (task_vars.get("ansible_facts") or {}).items()
             if k in ("distribution", "distribution_major_version", "os_family")}
    result: dict[str, Any] = {}
    found = args["found"]
    if found is None:
        probed = action._execute_module(  # pylint: disable=protected-access
            module_name="zkops.zookeeper34.java_probe", task_vars=task_vars,
            module_args={"binary": given["java_binary"], "package": given["java_package"],
                         "packages": args["packages"], "query": given["java_install"]})
        if probed.get("failed") or probed.get("unreachable"):
            return probed
        result["ansible_facts"] = probed.pop("ansible_facts", {})
        facts.update({k.removeprefix("ansible_"): v
                      for k, v in result["ansible_facts"].items()})
        found = {k: v for k, v in probed.items()
                 if not k.startswith("_ansible") and k not in ("changed", "invocation")}
    pending = given["java_install"] and found.get("package_state") == "missing"
    if found.get("version_rc") != 0 and not pending:
        return {"failed": True, "msg": refusal(host, given, found, facts)}
    try:
        # The runtime's release file, where the probe read it; else `java -version`.
        major = None if pending else java_major_version(
            found.get("version") or found.get("stderr", ""))
    except AnsibleError as error:
        return {"failed": True,
                "msg": f"{host}: {given['java_binary']} runs, but {error.message}; set "
                       "java_binary to a JVM whose `java -version` names its version."}
    expected = java_package_major(found.get("package", "")) if pending else major
    return {**result, "found": found, "install_pending": pending, "expected_major": expected,
            "major_version": major}
