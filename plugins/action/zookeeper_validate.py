"""Action plugin: check the zookeeper role's inventory on the controller, before any host
changes (the module file of the same name documents it). It contacts no host, except to read the
distribution of a host of the package method (when nothing has yet).

Two uses, two tasks of tasks/validate-inventory.yml:
- on each host (`spec` given): its ensemble settings (the variables the ensembles compare), its
  release line, its variables against the argument specs, the values a type cannot check
  (plugin_utils/zookeeper_values.py), the warnings about the known vulnerabilities of its
  release and, for the package method, the distribution's package (plugin_utils/
  zookeeper_methods.py). It refuses nothing: the task registers what it found as
  `__zookeeper_validated` (plugin_utils/zookeeper_ensemble.py, `settings_of`);
- `ensembles: true`, once for the play, after it: every ensemble of the play from those
  settings, and the retired hosts; when they pass, every host's own problems and warnings, all
  at once, with the local method's tarballs (each hashed once). An ensemble problem stops every
  host before its own checks are reported.
Every check is the same Python the role's filters run; this plugin only saves the tasks (each
costs the controller a forked worker per host) and the Jinja between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleError
from ansible.module_utils.compat.version import LooseVersion
from ansible.plugins.action import ActionBase
from ansible_collections.zkops.zookeeper34.plugins.filter.zookeeper import (
    implementation as _impl,
)
from ansible_collections.zkops.zookeeper34.plugins.modules.zookeeper_validate import (
    ARGUMENT_SPEC,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_ensemble import (
    SETTINGS_OF_HOST,
    VALIDATED,
    settings_of,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.rendered_once import (
    hostvars_once,
    variables_once,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_methods import (
    LOCAL,
    local_check,
    local_problems,
    package_facts,
    package_problem,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.role_arguments import (
    check_variables,
    load_options,
)


def _version_below(version: str, bound: str) -> bool:
    return LooseVersion(version) < LooseVersion(bound)


class ActionModule(ActionBase):
    """zkops.zookeeper34.zookeeper_validate"""

    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        # Each variable rendered once for the host: the role's name many of the same others.
        variables = variables_once(self._templar, task_vars)
        result["changed"] = False
        if not args["ensembles"]:
            if not args["spec"]:
                raise AnsibleError("zookeeper_validate: spec is required unless ensembles is on")
            warnings, errors, found = self._host(variables, args, task_vars)
            result.update(found)
            result.update(settings=self._settings(variables), problems=errors, cautions=warnings)
            return result
        # Every host's variables are read by both checks: each gathered and rendered once.
        hostvars = hostvars_once(task_vars["hostvars"])
        own_warnings, own_errors, unchecked, local = self._hosts(task_vars, hostvars)
        if unchecked:
            warnings, errors = [], [
                f"{', '.join(unchecked)}: not checked on their own (the task before this one, "
                f"which registers {VALIDATED}, did not run on them), so their ensemble settings "
                "are unknown; import the role's tasks/validate-inventory.yml whole."]
        else:
            warnings, errors = self._ensembles(task_vars, hostvars, variables)
            if not errors:
                warnings, errors = warnings + own_warnings, own_errors + local_problems(local)
        if errors:
            # The warnings first, as the role's output always had them.
            result.update(failed=True, msg="\n".join(warnings + errors))
        elif warnings:
            result.update(msg=warnings, _ansible_verbose_always=True)
        return result

    def _settings(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The host's ensemble settings, rendered: what the ensembles check compares and the
        role's Python reads of the members (a missing zookeeper_id is None)."""
        host = variables["inventory_hostname"]
        address = self._var(variables, "zookeeper_address", None)
        if address is None:
            address = self._var(variables, "ansible_host", host)
        return {"zookeeper_id": self._var(variables, "zookeeper_id", None), "address": address,
                **{name: self._var(variables, name, None) for name in SETTINGS_OF_HOST}}

    @staticmethod
    def _hosts(task_vars: Mapping[str, Any], hostvars: Mapping[str, Any]
               ) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
        """What each host of the play found of its own (the per-host use of this plugin,
        registered as VALIDATED), in the play's order: its warnings, its problems, the hosts
        where it did not run, and the local method's tarball checks still to make (by host)."""
        warnings: list[str] = []
        errors: list[str] = []
        unchecked: list[str] = []
        local: dict[str, Any] = {}
        for host in task_vars["ansible_play_hosts"]:
            if settings_of(hostvars[host]) is None:
                unchecked.append(host)
                continue
            found = hostvars[host][VALIDATED]
            warnings += list(found.get("cautions") or [])
            errors += list(found.get("problems") or [])
            if found.get(LOCAL) and not found.get("problems"):
                local[host] = found[LOCAL]
        return warnings, errors, unchecked, local

    @staticmethod
    def _var(variables: Mapping[str, Any], name: str, default: Any = "") -> Any:
        """A variable of the host, rendered (the task's variables hold templates)."""
        return variables[name] if name in variables else default

    def _ensembles(self, task_vars: Mapping[str, Any], hostvars: Mapping[str, Any],
                   variables: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """Every ensemble of the play at once; then, when group zookeeper_retired has hosts,
        that the play covers one ensemble and that no host is both member and retired
        (`task_vars` as Ansible gives them, `variables` rendered)."""
        ensemble = _impl("zookeeper_ensemble")
        groups = task_vars["groups"]
        hosts = list(task_vars["ansible_play_hosts"])
        found = ensemble.zookeeper_ensembles_problems(hosts, hostvars, groups)
        warnings = [f"WARNING: {text}" for text in found["warnings"]]
        errors = list(found["errors"])
        retired = list(groups.get("zookeeper_retired") or [])
        if not retired:
            return warnings, errors
        play_groups: list[str] = []
        for host in hosts:
            group = (settings_of(hostvars[host]) or {}).get("zookeeper_ensemble_group")
            if group not in play_groups:
                play_groups.append(group)
        if len(play_groups) != 1:
            errors.append(
                f"Group zookeeper_retired has hosts ({', '.join(retired)}) while this run covers "
                f"several ensembles ({', '.join(map(str, play_groups))}), so no host was "
                "changed; shrink one ensemble at a time: --limit '<its group>:zookeeper_retired'.")
            return warnings, errors
        # Each retired host's id and address are checked as a member's are.
        try:
            names = [m["name"] for m in ensemble.zookeeper_members(retired, hostvars)]
        except AnsibleError as error:
            return warnings, [*errors, error.message]
        group = str(self._var(variables, "zookeeper_ensemble_group", "zookeeper"))
        both = [name for name in names if name in (groups.get(group) or [])]
        if both:
            errors.append(
                f"{', '.join(both)}: in both groups {group} and zookeeper_retired; a host either "
                "stays a member or leaves the ensemble, so remove it from one of the two.")
        return warnings, errors

    def _host(self, variables: Mapping[str, Any], args: dict[str, Any],
              task_vars: Mapping[str, Any]) -> tuple[list[str], list[str], dict[str, Any]]:
        """This host: its release line, then types and choices, then values; the warnings
        about its release's vulnerabilities; then what its install method needs (the
        package method's package; what the local method's check, once for the play, reads).
        Also what the task returns besides (the package, facts read, the local check)."""
        host = variables["inventory_hostname"]
        checks = _impl("zookeeper_values")
        version = str(self._var(variables, "zookeeper_version"))
        line = checks.VERSION.fullmatch(version)
        known = [str(known) for known in args["known_lines"]]
        if not line or line["line"] not in known:
            lines = ", ".join(f"{known}.N" for known in known)
            return [], [f"{host}: zookeeper_version={version} is not a release of a line this "
                        f"role deploys ({lines}), so no host was changed; give one of those, "
                        "such as 3.4.14 or 3.8.4."], {}
        options = load_options(args["spec"], args["entry_point"])
        given, errors = check_variables(variables, options)
        if errors:
            return [], [f"{host}: {error}" for error in errors], {}
        values = {name: given.get(name, "") for name in options}
        values.update(args["values"])
        problems = (checks.zookeeper_value_problems(values, host)
                    + checks.zookeeper_switch_problems(values, host))
        if problems:
            return [], problems, {}
        warnings = self._cve_warnings(variables, host, values, line["line"],
                                      args["release_cves"])
        if values.get("zookeeper_install_method") != "package":
            check = local_check(values)
            return warnings, [], ({LOCAL: check} if check else {})
        if not args["package_vars"]:
            raise AnsibleError("zookeeper_validate: package_vars is required on a host of the "
                               "package method")
        facts, found = self._distribution(task_vars)
        package = package_facts(args["package_vars"], facts)
        problem = package_problem(host, facts, package, known)
        return warnings, [problem] if problem else [], {"package": package, **found}

    def _distribution(self, task_vars: Mapping[str, Any]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The host's distribution facts, read from the host when no task has yet (a task of
        the package method: its package and paths depend on them); and what the task returns
        besides (the facts read, as setup would)."""
        facts = dict(task_vars.get("ansible_facts") or {})
        if "distribution" in facts:
            return facts, {}
        read = self._execute_module(
            module_name="ansible.builtin.setup", task_vars=dict(task_vars),
            module_args={"gather_subset": ["!all", "!min", "distribution"]})
        if read.get("failed") or "ansible_facts" not in read:
            raise AnsibleError(f"{task_vars.get('inventory_hostname')}: could not read the "
                               "distribution (zookeeper_install_method=package needs it): "
                               f"{read.get('msg', read)}")
        gathered = read["ansible_facts"]
        facts.update({key.removeprefix("ansible_"): value for key, value in gathered.items()})
        return facts, {"ansible_facts": gathered}

    def _cve_warnings(self, variables: Mapping[str, Any], host: str, values: dict[str, Any],
                      line: str, cves: list[dict[str, Any]]) -> list[str]:
        """A release (tarball or local method) without the fix of a known vulnerability,
        unless zookeeper_build_fixes says the build has it."""
        method = values.get("zookeeper_install_method")
        if method not in ("tarball", "local"):
            return []
        checks = _impl("zookeeper_values")
        version = str(values.get("zookeeper_version"))
        fixed_in_build = [str(cve) for cve in values.get("zookeeper_build_fixes") or []]
        warnings = []
        for item in cves:
            when, fixed = item.get("when"), item.get("fixed")
            if item["id"] in fixed_in_build:
                continue
            if when is not None and not checks.switched_on(self._var(variables, when)):
                continue
            if fixed is not None and not _version_below(version, str(fixed)):
                continue
            since = (f"Apache released it in {fixed}" if fixed
                     else "No Apache 3.4 release has the fix")
            debian = ("; Debian 11's package (zookeeper_install_method=package) and ZooKeeper "
                      "3.8.3+ have it" if line == "3.4" else "")
            warnings.append(
                f"WARNING: {host}: the Apache ZooKeeper {version} release ({method} method) lacks "
                f"the fix for {item['id']}{'' if when is None else f' ({when} is on)'}: "
                f"{item['what']}. {since}{debian}. If your build is patched, add {item['id']} "
                "to zookeeper_build_fixes.")
        return warnings
