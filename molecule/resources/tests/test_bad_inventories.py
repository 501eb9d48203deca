"""Bad inventories of the scenario's own hosts: every one is refused with a message a new user
can act on (host, variable, value, what to do) and leaves every host as it was."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Ensemble, assert_refused, run_site

DROP = object()  # remove the variable


@dataclass
class Bad:
    name: str
    message: str  # regular expression over the play's output
    hosts: dict[int, dict[str, Any]] = field(default_factory=dict)  # member index -> vars
    group: dict[str, Any] = field(default_factory=dict)  # group vars
    extra_member: dict[str, Any] | None = None  # a further (never contacted) member
    retired: dict[str, dict[str, Any]] = field(default_factory=dict)  # zookeeper_retired hosts


CASES = [
    Bad("id missing", r"zookeeper02: zookeeper_id is missing; give every ensemble member an "
        r"integer zookeeper_id from 1 to 255", hosts={1: {"zookeeper_id": DROP}}),
    Bad("id duplicated", r"zookeeper02: zookeeper_id=1 is already used by zookeeper01; every "
        r"member needs its own id", hosts={1: {"zookeeper_id": 1}}),
    Bad("id not an integer", r"zookeeper02: zookeeper_id='two' is not an integer; use a number "
        r"from 1 to 255", hosts={1: {"zookeeper_id": "two"}}),
    Bad("id zero", r"zookeeper02: zookeeper_id=0 is outside 1-255; pick an unused id",
        hosts={1: {"zookeeper_id": 0}}),
    Bad("id too big", r"zookeeper03: zookeeper_id=256 is outside 1-255",
        hosts={2: {"zookeeper_id": 256}}),
    Bad("id a boolean", r"zookeeper03: zookeeper_id is True; give every ensemble member an "
        r"integer", hosts={2: {"zookeeper_id": True}}),
    Bad("no address", r"zookeeper02: no IP address \(ansible_host/zookeeper_address is "
        r"'zookeeper02'\); set ansible_host, or zookeeper_address",
        hosts={1: {"ansible_host": DROP}}),
    Bad("address a host name", r"zookeeper03: no IP address \(ansible_host/zookeeper_address "
        r"is 'zk3\.example\.invalid'\)", hosts={2: {"zookeeper_address": "zk3.example.invalid"}}),
    Bad("two members on one address and ports", r"zookeeper02: (\d+\.){3}\d+:2181 "
        r"\(zookeeper_client_port\) is also used by zookeeper01; members sharing an address "
        r"need different ports", hosts={1: {"zookeeper_address": "@member0"}}),
    Bad("client port zero", r"zookeeper01: zookeeper_client_port=0 is not a port \(1-65535\)",
        group={"zookeeper_client_port": 0}),
    Bad("client port too big", r"zookeeper03: zookeeper_client_port=70000 is not a port",
        hosts={2: {"zookeeper_client_port": 70000}}),
    Bad("quorum port not a number", r"zookeeper01: zookeeper_quorum_port='abc' is not a port",
        hosts={0: {"zookeeper_quorum_port": "abc"}}),
    Bad("client port clashes with election port", r"zookeeper03: zookeeper_client_port and "
        r"zookeeper_election_port are both 3888; give each of the client, quorum and election "
        r"ports its own number", hosts={2: {"zookeeper_client_port": 3888}}),
    Bad("quorum and election ports clash", r"zookeeper01: zookeeper_quorum_port and "
        r"zookeeper_election_port are both 2888", group={"zookeeper_election_port": 2888}),
    Bad("tickTime zero", r"zookeeper01: zookeeper_tick_time=0 is not a positive integer",
        group={"zookeeper_tick_time": 0}),
    Bad("tickTime negative", r"zookeeper02: zookeeper_tick_time=-5 is not a positive integer",
        hosts={1: {"zookeeper_tick_time": -5}}),
    Bad("initLimit not a number", r"zookeeper01: zookeeper_init_limit='ten' is not a positive "
        r"integer", group={"zookeeper_init_limit": "ten"}),
    Bad("syncLimit zero", r"zookeeper03: zookeeper_sync_limit=0 is not a positive integer",
        hosts={2: {"zookeeper_sync_limit": 0}}),
    Bad("maxSessionTimeout below two ticks", r"zookeeper01: zookeeper_max_session_timeout=3000 "
        r"is below 2 x zookeeper_tick_time \(4000\), the shortest session ZooKeeper allows; "
        r"raise it to at least 4000", group={"zookeeper_max_session_timeout": 3000}),
    Bad("two ensembles in one group", r"the group holds more than one ensemble by "
        r"zookeeper_ensemble_name \(kafka-b: zookeeper03; zookeeper: zookeeper01, zookeeper02\); "
        r"put each ensemble in its own inventory group",
        hosts={2: {"zookeeper_ensemble_name": "kafka-b"}}),
    Bad("ids swapped between hosts that have data", r"zookeeper01: /var/lib/zookeeper/myid "
        r"says 1 but the inventory gives zookeeper_id=2\. A server's id must not move to "
        r"another host: correct zookeeper_id in the inventory, or, when this host really is "
        r"to become server\.2, set zookeeper_myid_overwrite=true",
        hosts={0: {"zookeeper_id": 2}, 1: {"zookeeper_id": 1}}),
    Bad("even member count (warned) with a missing id", r"WARNING: the ensemble has 4 members, "
        r"an even number: it tolerates no more failures \(1\) than 3 members would.*"
        r"zookeeper02: zookeeper_id is missing",
        hosts={1: {"zookeeper_id": DROP}}, extra_member={"zookeeper_id": 4}),
    Bad("a host both member and retired", r"zookeeper03: in both groups zookeeper and "
        r"zookeeper_retired; a host either stays a member or leaves the ensemble",
        retired={"zookeeper03": {}}),
    Bad("a retired host without an id", r"zookeeper09: zookeeper_id is missing; give every "
        r"ensemble member an integer zookeeper_id", retired={"zookeeper09": {}}),
    Bad("a heap size the JVM refuses", r"zookeeper02: zookeeper_heap_size='512mb' is not a JVM "
        r"heap size \(the JVM would refuse to start\); use a number with k, m or g",
        hosts={1: {"zookeeper_heap_size": "512mb"}}),
    Bad("a key the role writes, in config_extra", r"zookeeper01: zookeeper_config_extra sets "
        r"tickTime, which the role writes from zookeeper_tick_time; remove it there and set "
        r"zookeeper_tick_time instead", group={"zookeeper_config_extra": {"tickTime": 3000}}),
    Bad("a relative data directory", r"zookeeper03: zookeeper_data_dir='var/lib/zookeeper' is "
        r"not an absolute path; give the full path, starting with /",
        hosts={2: {"zookeeper_data_dir": "var/lib/zookeeper"}}),
    Bad("fewer snapshots kept than ZooKeeper allows", r"zookeeper01: "
        r"zookeeper_autopurge_snap_retain_count=1 is below 3 \(ZooKeeper silently raises a lower "
        r"count to 3\)", group={"zookeeper_autopurge_snap_retain_count": 1}),
    Bad("a variable of the wrong type", r"argument 'zookeeper_service_enabled' is of type "
        r".*str.* and we were unable to convert to bool",
        group={"zookeeper_service_enabled": "maybe"}),
]


def bad_inventory(ensemble: Ensemble, case: Bad, path: Path) -> Path:
    """The scenario's inventory (its connection and ZooKeeper variables) with the case's
    changes, written as YAML."""
    hosts = {}
    for member in ensemble.members:
        hostvars = ensemble.hostvars[member.name]
        hosts[member.name] = {**{k: copy.deepcopy(v) for k, v in hostvars.items()
                                 if k.startswith("zookeeper_")},
                              **ensemble.connection_vars(member.name)}
    names = [m.name for m in ensemble.members]
    for index, changes in case.hosts.items():
        for var, value in changes.items():
            if value is DROP:
                hosts[names[index]].pop(var, None)
            elif value == "@member0":
                hosts[names[index]][var] = ensemble.members[0].peer_address
            else:
                hosts[names[index]][var] = value
    if case.extra_member is not None:
        extra = copy.deepcopy(hosts[names[0]])
        extra.update(case.extra_member, ansible_host=re.sub(r"\d+$", "99", extra["ansible_host"]))
        hosts["zookeeper04"] = extra
    groups: dict[str, Any] = {"zookeeper": {"hosts": hosts, "vars": case.group}}
    if case.retired:
        # Retired hosts never contacted: the case's own, or a member's connection settings
        # under its name (the same host, in both groups), at an address nobody uses.
        groups["zookeeper_retired"] = {"hosts": {
            name: hosts.get(name) or {"ansible_host": re.sub(r"\d+$", "98", hosts[names[0]][
                "ansible_host"]), **changes} for name, changes in case.retired.items()}}
    inventory = {"all": {"children": groups}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=True))
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_inventory_refused_before_any_host_changes(
        ensemble: Ensemble, case: Bad, tmp_path: Path) -> None:
    before = ensemble.snapshot()
    rc, output = run_site(bad_inventory(ensemble, case, tmp_path / "hosts.yml"))
    assert_refused(ensemble, case.name, before, rc, output, case.message)


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
