"""Action plugin: plan each ensemble's membership change and refuse an unsafe one (the module
file of the same name documents it), run once for the play. The planning is the Python the
role's filters run (plugins/plugin_utils/zookeeper_membership.py); this plugin saves the tasks
and the Jinja between them. It contacts a host only to ask electing servers again
(zookeeper_server's observe, from the task's host, as the membership walk asks them)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ansible.plugins.action import ActionBase
from ansible_collections.zkops.zookeeper34.plugins.filter.zookeeper import implementation
from ansible_collections.zkops.zookeeper34.plugins.modules.zookeeper_membership import (
    ARGUMENT_SPEC,
)
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.rendered_once import hostvars_once


def refusals(plans: dict[str, dict[str, Any]], plain_client_port_off: bool) -> list[str]:
    """Every reason not to go on: each plan's own, then what no single plan can see."""
    errors = [error for plan in plans.values() for error in plan.get("errors") or []]
    walks = [group for group, plan in plans.items() if plan.get("walk")]
    if len(walks) > 1:
        errors.append(
            f"the membership of several ensembles changes in this run ({', '.join(walks)}), so "
            "no host was changed; change one ensemble at a time: --limit \"<its "
            "group>:zookeeper_retired\".")
    if walks and plain_client_port_off:
        errors.append(
            f"the membership of {', '.join(walks)} changes while zookeeper_tls_client_plain is "
            "off, and the membership walk asks every server on its plain client port; turn it "
            "on for the change (a rolling restart), then off again.")
    return errors


def found_server(hostvars: Any, host: str, not_probed: dict[str, Any]) -> Any:
    """What `host`'s probe found of its server (its result's `ensemble`), or `not_probed`."""
    probe = hostvars[host].get("__zookeeper_probe") if host in hostvars else None
    if not isinstance(probe, Mapping) or "ensemble" not in probe:
        return not_probed
    return probe["ensemble"]


class ActionModule(ActionBase):
    """zkops.zookeeper34.zookeeper_membership"""

    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result["changed"] = False
        membership = implementation("zookeeper_membership")
        ensemble = implementation("zookeeper_ensemble")
        # Every host's variables are read many times over (each plan, the members, the found):
        # each is gathered and rendered once.
        hostvars = hostvars_once(task_vars["hostvars"])
        groups = task_vars["groups"]
        hosts = list(task_vars["ansible_play_hosts"])

        def plan_all(settled: dict[str, dict[str, Any]] | None = None
                     ) -> dict[str, dict[str, Any]]:
            return membership.zookeeper_membership_plans(
                hosts, hostvars, groups, args["retired_probes"], args["allow_outage"],
                args["reconfig"], settled)

        # During a restore the servers are stopped or half restored, and their member lists
        # say nothing: the host checks refuse the run, naming the restore to finish first.
        marker = args["restore_marker"]
        restoring = bool(marker) and any(
            marker in ((hostvars[host].get("__zookeeper_probe") or {}).get("content") or {})
            for host in hosts)
        plans = plan_all()
        # A plan refused (or made an outage) for want of a leader or of servers, while some
        # answer but still elect: wait for those, then plan again from what they say.
        electing = {plan["endpoints"][i]: name for plan in plans.values()
                    for i, name in plan.get("names", {}).items()
                    if name in plan.get("electing", ())}
        if electing and args["settle_timeout"] > 0 and not restoring:
            plans = plan_all(self._settle(electing, args["settle_timeout"], task_vars))
        # Each ensemble's members, read from the inventory once for the run (vars/main.yml,
        # __zookeeper_members): the plans are by group, one for each ensemble of the play.
        members = {group: ensemble.zookeeper_members(list(groups.get(group) or []), hostvars)
                   for group in plans}
        errors = [] if restoring else refusals(plans, args["plain_client_port_off"])
        if errors:
            return {**result, "failed": True, "msg": "\n".join(errors)}
        # And what each member's probe found of its server (vars/main.yml,
        # __zookeeper_members_found), where every host's checks read each member's variables
        # again at each use.
        found = {group: [found_server(hostvars, host, args["not_probed"])
                         for host in groups.get(group) or []] for group in plans}
        result.update(plans=plans, members=members, found=found)
        # And which of each ensemble's members in the play serve, and which are deployed but do
        # not (vars/main.yml's host checks refuse a run with both).
        if args["unit_path"]:
            result["states"] = {
                group: ensemble.zookeeper_down(
                    [host for host in hosts if host in (groups.get(group) or [])], hostvars,
                    args["unit_path"], bool(plan.get("walk")), plan.get("expected"))
                for group, plan in plans.items()}
        # How the membership changes (one ensemble per run, above), shown in the run's output
        # as a debug task would.
        walking = [line for plan in plans.values() if plan.get("walk")
                   for line in plan.get("summary") or []]
        if walking:
            result.update(msg=walking, _ansible_verbose_always=True)
        return result

    def _settle(self, electing: dict[str, str], timeout: int, task_vars: dict[str, Any]
                ) -> dict[str, dict[str, Any]]:
        """Ask the servers of `electing` (endpoint -> host) again, from the task's host as the
        membership walk does, every second until each serves or `timeout` seconds passed; by
        host, what each said last (`mode`, `zxid`) and the seconds waited (`waited`)."""
        start = time.monotonic()
        settled: dict[str, dict[str, Any]] = {}
        while True:
            said = self._execute_module(
                module_name="zkops.zookeeper34.zookeeper_server",
                module_args={"action": "observe", "peers": dict.fromkeys(electing, 0)},
                task_vars=task_vars)
            waited = round(time.monotonic() - start, 1)
            for endpoint, server in (said.get("servers") or {}).items():
                if endpoint in electing and electing[endpoint] not in settled:
                    if server.get("mode") or time.monotonic() - start >= timeout:
                        settled[electing[endpoint]] = {"mode": server.get("mode"),
                                                       "zxid": server.get("zxid"),
                                                       "waited": waited}
            if said.get("failed") or len(settled) == len(electing):
                return settled
            time.sleep(1.0)
