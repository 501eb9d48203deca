"""The membership planner (plugins/plugin_utils/zookeeper_membership.py): its model of ZooKeeper
3.4, the orders it finds for each step, the plans it refuses, and a run's walk.

Every order the solver returns is replayed here through every outcome of every election and
checked for a split brain by a second, deliberately plain check (`two_leaders_possible`), so
that a fault in the solver's own check shows up here instead of being trusted."""

from __future__ import annotations

import itertools

import pytest

from plugins import filter_code

zm = filter_code("zookeeper_membership")

bits, ids = zm._bits, zm._ids


def serving(n: int, leader: int | None = None) -> zm.State:
    """n servers 1..n on one list, `leader` (default n) leading the others."""
    members = set(range(1, n + 1))
    lead = n if leader is None else leader
    return zm.make_state({i: members for i in members}, lead, members - {lead})


def quorum_possible(st: zm.State, group: set[int]) -> bool:
    """Plainly: could the servers of `group` alone have a leader that commits? The leader
    already there keeps every follower in the group; any server of the group could be elected
    by the members of its own list in the group, and any server of the group whose list has a
    majority in the group and names that leader could follow it."""
    lists = {s: set(ids(m)) for s, m in st.of.items()}
    if any(lists[s] == {s} for s in group):
        return True

    def majority_in(s: int) -> bool:
        return len(lists[s] & group) > len(lists[s]) / 2

    if st.leader in group:
        kept = {st.leader} | (set(ids(st.followers)) & group)
        kept |= {s for s in group if st.leader in lists[s] and majority_in(s)}
        if len(kept) > len(lists[st.leader]) / 2:
            return True
    for k in group:
        if majority_in(k):
            backers = {k} | {s for s in group if k in lists[s] and majority_in(s)}
            if len(backers) > len(lists[k]) / 2:
                return True
    return False


def two_leaders_possible(st: zm.State) -> bool:
    servers = sorted(st.of)
    for size in range(1, len(servers)):
        for group in itertools.combinations(servers, size):
            rest = set(servers) - set(group)
            if quorum_possible(st, set(group)) and quorum_possible(st, rest):
                return True
    return False


def replay(st: zm.State, step: zm.Step) -> list[zm.State]:
    """Every state the solver's order for `step` passes through, over every outcome (the
    solver answers for each outcome of an election: it is asked again from there)."""
    seen: list[zm.State] = []
    todo = [st]
    while todo:
        now = todo.pop()
        seen.append(now)
        if step.done(now):
            continue
        line, _ends = zm.solve_step(now, step)
        action = line[0][0]
        downs, _e = zm.stop(now, action.server) if action.kind != "start" else ([now], False)
        seen.extend(downs)
        todo.extend(zm.apply(now, action)[0])
    return seen


# ---------------------------------------------------------------- the model against 3.4


def test_a_new_member_following_an_old_list_leader_counts_for_it() -> None:
    """Measured on 3.4.13 (docs/membership.md): a fourth server started on {1,2,3,4} follows
    the leader of {1,2,3} and is counted in its quorum, so cutting {leader, new} off from the
    other two leaves two leaders that both acknowledge writes."""
    old, new = {1, 2, 3}, {1, 2, 3, 4}
    st = zm.make_state({1: old, 2: old, 3: old, 4: new}, 3, [1, 2, 4])
    assert zm.split(st) is not None
    assert two_leaders_possible(st)
    group, other = zm.split(st)
    assert {frozenset(ids(group)), frozenset(ids(other))} == {frozenset({1, 2}),
                                                              frozenset({3, 4})}


@pytest.mark.parametrize("n", range(1, 10))
def test_one_list_never_splits(n: int) -> None:
    assert zm.split(serving(n)) is None
    assert not two_leaders_possible(serving(n))


def test_two_lists_apart_by_two_members_split() -> None:
    st = zm.make_state({1: {1, 2, 3}, 2: {1, 2, 3}, 3: {1, 2, 3, 4, 5}, 4: {1, 2, 3, 4, 5},
                        5: {1, 2, 3, 4, 5}}, 1, [2, 3, 4, 5])
    assert zm.split(st) is not None


def test_a_standalone_server_does_not_vote() -> None:
    """1 -> 2: the new server on {1,2} cannot elect itself while 1 serves standalone."""
    st = zm.make_state({1: {1}}, None, [], [1])
    outcomes = zm.start(st, 2, bits([1, 2]), data=False)
    assert outcomes == [zm.State(outcomes[0].lists, None, 0, outcomes[0].data)]
    assert outcomes[0].serving == bits([1])


def test_a_server_joins_a_leader_only_with_a_majority_of_its_list_behind_it() -> None:
    st = serving(3)
    joined = zm.start(st, 4, bits([1, 2, 3, 4]), data=False)
    assert joined[0].followers >> 4 & 1  # 1, 2, 3 follow or lead: 3 of 4
    moved = zm.stop(st, 1)[0][0]
    alone = zm.start(moved, 1, bits([1, 2, 3, 4]))
    assert not alone[0].followers >> 1 & 1  # only 2 and 3 of {1,2,3,4} behind the leader


# ---------------------------------------------------------------- the orders found


STEPS = [(kind, n) for n in range(2, 8) for kind in ("grow", "shrink", "shrink the leader")]


@pytest.mark.parametrize(("kind", "n"), STEPS, ids=[f"{k} {n}" for k, n in STEPS])
def test_every_moment_of_every_order_is_safe(kind: str, n: int) -> None:
    members = set(range(1, n + 1))
    st = serving(n)
    if kind == "grow":
        step = zm.Step(bits(members), bits(members | {n + 1}), n + 1, None)
    else:
        leaving = n if kind == "shrink the leader" else 1
        step = zm.Step(bits(members), bits(members - {leaving}), None, leaving)
    solved = zm.solve_step(st, step)
    if n <= 3 and kind != "grow":
        assert solved is None  # 3 -> 2 and 2 -> 1: a list of 2 cannot lose anyone
        return
    assert solved is not None
    states = replay(st, step)
    assert not [s.describe() for s in states if two_leaders_possible(s)]
    assert all(s.available for s in states)


def test_growing_3_to_4_starts_the_new_member_once_a_follower_moved() -> None:
    """Started first, the fourth server would count for the old leader (the split above)."""
    line, _ends = zm.solve_step(serving(3), zm.Step(bits([1, 2, 3]), bits([1, 2, 3, 4]), 4,
                                                    None))
    order = [(a.kind, a.server) for a, _e in line]
    assert order.index(("restart", 1)) < order.index(("start", 4))
    assert order[2] == ("restart", 3)  # the leader, after the new member
    assert sum(e for _a, e in line) >= 1


def test_a_leaving_leader_hands_over_and_stops_before_the_last_restart() -> None:
    line, _ends = zm.solve_step(serving(4), zm.Step(bits(range(1, 5)), bits([1, 2, 3]), None, 4))
    order = [(a.kind, a.server) for a, _e in line]
    assert order[0] == ("handover", 4)
    assert order.index(("stop", 4)) < len(order) - 1  # gone before the last leader restart


def test_the_order_that_starts_the_new_member_first_is_refused() -> None:
    """The mutation of the solver's order this suite must catch: starting 4 first."""
    st = serving(3)
    assert zm.apply(st, zm.Action("start", 4, bits([1, 2, 3, 4]))) is None


def test_path_adds_first_then_removes_the_dead_first() -> None:
    steps = zm.path(bits([1, 2, 3, 4, 5]), bits([1, 2, 3, 6]), dead=[5])
    assert [(s.join, s.leave) for s in steps] == [(6, None), (None, 5), (None, 4)]
    assert all((s.before ^ s.target).bit_count() == 1 for s in steps)


def test_3_to_7_and_back_go_through_every_size() -> None:
    lines, stuck, _ends = zm.run_steps([serving(3)], zm.path(bits([1, 2, 3]), bits(range(1, 8))))
    assert stuck is None and len(lines) == 4
    lines, stuck, _ends = zm.run_steps([serving(7)], zm.path(bits(range(1, 8)), bits([1, 2, 3])))
    assert stuck is None and len(lines) == 4


# ---------------------------------------------------------------- plans and refusals


def seen(running: dict[str, tuple[list[int], str]], stopped: tuple[str, ...] = (),
         data: tuple[str, ...] = (), epoch: int | None = None) -> dict:
    out = {}
    for name, (members, mode) in running.items():
        out[name] = {"reachable": True, "active": True, "mode": mode,
                     "running": frozenset(members), "config": frozenset(members), "data": True,
                     "epoch": 2, "zxid": "0x200000010"}
    for name in stopped:
        out[name] = {"reachable": True, "active": False, "mode": None, "running": None,
                     "config": None, "data": name in data, "epoch": epoch}
    return out


def ensemble(members: list[int], retired: list[int] = ()) -> zm.Ensemble:
    def name(i: int) -> str:
        return f"zookeeper0{i}"
    return zm.Ensemble({i: name(i) for i in members}, {i: name(i) for i in retired},
                       {i: f"10.0.0.1{i}:2181" for i in [*members, *retired]})


def test_nothing_to_do_when_every_server_runs_the_inventorys_list() -> None:
    three = [1, 2, 3]
    plan = zm.plan(seen({"zookeeper01": (three, "follower"), "zookeeper02": (three, "follower"),
                         "zookeeper03": (three, "leader")}), ensemble(three))
    assert plan["walk"] is False and plan["errors"] == []


def test_shrinking_5_to_3_with_both_leaving_servers_down_is_refused_or_done_with_an_outage(
) -> None:
    five = [1, 2, 3, 4, 5]
    observed = seen({"zookeeper01": (five, "follower"), "zookeeper02": (five, "follower"),
                     "zookeeper03": (five, "leader")}, stopped=("zookeeper04", "zookeeper05"))
    plan = zm.plan(observed, ensemble([1, 2, 3], [4, 5]))
    assert plan["walk"] is True and plan["steps"] == []
    assert "restarting any one of them loses the quorum" in plan["errors"][0]
    assert "zookeeper_membership_allow_outage=true" in plan["errors"][0]
    plan = zm.plan(observed, ensemble([1, 2, 3], [4, 5]), allow_outage=True)
    assert plan["errors"] == [] and plan["outage"] is True
    assert [s["kind"] for s in plan["steps"]] == ["together"]


def test_the_plan_says_which_server_the_run_waited_for_while_it_elected() -> None:
    four, three = [1, 2, 3, 4], [1, 2, 3]
    observed = seen({"zookeeper01": (three, "follower"), "zookeeper02": (three, "follower"),
                     "zookeeper03": (three, "leader")}, stopped=("zookeeper04",))
    observed["zookeeper01"]["waited"] = 12.5
    plan = zm.plan(observed, ensemble(four))
    assert plan["errors"] == [] and plan["walk"] is True
    assert "zookeeper01 was electing when the run looked; it served 12.5 s later" in plan["notes"]
    observed["zookeeper01"].update(mode=None, waited=90.2)
    assert "zookeeper01 was still electing 90.2 s after the run looked" in \
        zm.plan(observed, ensemble(four))["notes"]
    observed["zookeeper01"].update(mode="follower", waited=0)
    assert zm.plan(observed, ensemble(four))["notes"] == []


def test_electing_servers_are_named_only_where_they_could_lift_a_refusal() -> None:
    five, three = [1, 2, 3, 4, 5], [1, 2, 3]
    # The 3 -> 5 walk interrupted and cut: 1 and 4 run with {1,2,3,4} and elect (too few of
    # that list serve for them to follow); the plan goes on around them, with no wait.
    observed = seen({"zookeeper01": ([1, 2, 3, 4], None), "zookeeper02": (three, "follower"),
                     "zookeeper03": (three, "leader"), "zookeeper04": ([1, 2, 3, 4], None)},
                    stopped=("zookeeper05",))
    observed["zookeeper04"].update(data=False, zxid=None)  # the new member never synced
    plan = zm.plan(observed, ensemble(five))
    assert plan["errors"] == [] and plan["electing"] == []
    # Every server electing: no leader to start from; they are named for the wait.
    observed = seen({f"zookeeper0{i}": (three, None) for i in three}, stopped=("zookeeper04",))
    plan = zm.plan(observed, ensemble([1, 2, 3, 4]))
    assert any("leads now" in e for e in plan["errors"])
    assert plan["electing"] == ["zookeeper01", "zookeeper02", "zookeeper03"]
    # The 5 -> 3 walk interrupted and cut: 1 and 2 run with {1,2,3,4} and still elect after
    # the cut healed; without them no order of restarts keeps the quorum: refused, and named.
    observed = seen({"zookeeper01": ([1, 2, 3, 4], None), "zookeeper02": ([1, 2, 3, 4], None),
                     "zookeeper03": (five, "leader"), "zookeeper04": (five, "follower"),
                     "zookeeper05": (five, "follower")})
    plan = zm.plan(observed, ensemble(three, [4, 5]))
    assert "one server at a time" in plan["errors"][0]
    assert plan["electing"] == ["zookeeper01", "zookeeper02"]
    # Once they follow, the same change is planned.
    for name in ("zookeeper01", "zookeeper02"):
        observed[name]["mode"] = "follower"
    assert zm.plan(observed, ensemble(three, [4, 5]))["errors"] == []


def test_a_running_server_the_inventory_does_not_know_is_refused() -> None:
    four = [1, 2, 3, 4]
    plan = zm.plan(seen({f"zookeeper0{i}": (four, "follower" if i < 4 else "leader")
                         for i in (1, 2, 3)}), ensemble([1, 2, 3]))
    assert any("server.4 is in the member list" in e and "zookeeper_retired" in e
               for e in plan["errors"])


def test_servers_on_lists_two_members_apart_are_refused() -> None:
    plan = zm.plan(seen({"zookeeper01": ([1, 2, 3], "follower"),
                         "zookeeper02": ([1, 2, 3, 4, 5], "leader")}), ensemble([1, 2, 3, 4, 5]))
    assert any("no safe change connects" in e for e in plan["errors"])


def test_a_play_limited_to_part_of_the_ensemble_cannot_change_its_membership() -> None:
    observed = seen({"zookeeper01": ([1, 2, 3], "follower"),
                     "zookeeper02": ([1, 2, 3], "leader")})
    plan = zm.plan(observed, ensemble([1, 2, 3, 4]))
    assert any("--limit" in e and "zookeeper03" in e for e in plan["errors"])


def test_a_new_member_holding_newer_data_is_refused() -> None:
    three = [1, 2, 3]
    observed = seen({f"zookeeper0{i}": (three, "leader" if i == 3 else "follower")
                     for i in three}, stopped=("zookeeper04",), data=("zookeeper04",), epoch=7)
    plan = zm.plan(observed, ensemble([1, 2, 3, 4]))
    assert any("zookeeper04 (zookeeper_id=4) joins" in e for e in plan["errors"])
    observed["zookeeper04"]["epoch"] = 1  # an old member of this ensemble: it loses elections
    assert zm.plan(observed, ensemble([1, 2, 3, 4]))["errors"] == []


def test_growing_a_single_server_goes_through_two() -> None:
    observed = seen({"zookeeper01": ([1], "standalone")}, stopped=("zookeeper02", "zookeeper03"))
    plan = zm.plan(observed, ensemble([1, 2, 3]))
    assert plan["errors"] == []
    assert [(s["kind"], s["target"]) for s in plan["steps"]] == [
        ("standalone", [1, 2]), ("rolling", [1, 2, 3])]


# ---------------------------------------------------------------- a run's walk


def walk(plan: dict, members: list[int], retired: list[int] = ()) -> dict:
    ens = ensemble(members, retired)
    return {**plan, "names": {str(i): n for i, n in ens.names.items()},
            "endpoints": {str(i): ep for i, ep in ens.endpoints.items()}, "group": "zookeeper",
            "ports": [2888, 3888]}


def said(modes: dict[int, str | None]) -> dict:
    return {f"10.0.0.1{i}:2181": {"mode": m, "running": m != "down"} for i, m in modes.items()}


def test_the_walk_acts_up_to_the_first_election_then_asks_again() -> None:
    three, four = [1, 2, 3], [1, 2, 3, 4]
    observed = seen({f"zookeeper0{i}": (three, "leader" if i == 3 else "follower")
                     for i in three}, stopped=("zookeeper04",))
    current = walk(zm.plan(observed, ensemble(four)), four)
    nxt = zm.walk_next(current, said({1: "follower", 2: "follower", 3: "leader", 4: "down"}))
    assert nxt["error"] == ""
    assert [(a["kind"], a["host"]) for a in nxt["actions"]] == [
        ("restart", "zookeeper01"), ("start", "zookeeper04"), ("restart", "zookeeper03")]
    first = nxt["actions"][0]
    assert first["servers"] == [f"server.{i}=zookeeper0{i}:2888:3888" for i in four]
    assert first["peers"] == {"10.0.0.11:2181": 3, "10.0.0.12:2181": 3, "10.0.0.13:2181": 3}
    assert "10.0.0.11:2181" not in first["after"]  # it elects until the new member is in
    done = zm.walk_apply(current, [{"item": a} for a in nxt["actions"]])
    assert done["lists"] == {"1": four, "2": three, "3": four, "4": four}
    again = zm.walk_next(done, said({1: "follower", 2: "leader", 3: None, 4: None}))
    assert [(a["kind"], a["host"]) for a in again["actions"]] == [("restart", "zookeeper02")]
    last = zm.walk_apply(done, [{"item": a} for a in again["actions"]])
    finished = zm.walk_next(last, said({1: "leader", 2: "follower", 3: "follower",
                                        4: "follower"}))
    assert finished == {"done": True, "actions": [], "error": ""}


def test_the_walk_goes_on_from_the_step_in_progress_not_from_the_first() -> None:
    """Seen here: after 1 -> 2 -> 3 the walk must not take 1 -> 2 up again."""
    observed = seen({"zookeeper01": ([1], "standalone")}, stopped=("zookeeper02", "zookeeper03"))
    current = walk(zm.plan(observed, ensemble([1, 2, 3])), [1, 2, 3])
    current["lists"] = {"1": [1, 2, 3], "2": [1, 2, 3], "3": [1, 2, 3]}
    nxt = zm.walk_next(current, said({1: "follower", 2: "follower", 3: "leader"}))
    assert nxt["done"] is True


def test_the_walk_stops_when_a_server_it_counts_on_is_gone() -> None:
    three = [1, 2, 3]
    observed = seen({f"zookeeper0{i}": (three, "leader" if i == 3 else "follower")
                     for i in three}, stopped=("zookeeper04",))
    current = walk(zm.plan(observed, ensemble([1, 2, 3, 4])), [1, 2, 3, 4])
    nxt = zm.walk_next(current, said({1: "down", 2: "follower", 3: "leader", 4: "down"}))
    assert nxt["actions"] == [] and "zookeeper01 should run" in nxt["error"]


# ---------------------------------------------------------------- 3.8: reconfig


def test_with_reconfig_each_step_is_one_reconfig_and_nothing_restarts() -> None:
    three = [1, 2, 3]
    observed = seen({f"zookeeper0{i}": (three, "leader" if i == 3 else "follower")
                     for i in three}, stopped=("zookeeper04", "zookeeper05"))
    for name in ("zookeeper01", "zookeeper02", "zookeeper03"):
        observed[name]["reconfig"] = True
    plan = zm.plan(observed, ensemble([1, 2, 3, 4, 5]), reconfig=True)
    assert plan["errors"] == [] and plan["mode"] == "reconfig"
    assert [(s["kind"], s["join"]) for s in plan["steps"]] == [("reconfig", 4), ("reconfig", 5)]
    assert "no server restarted" in plan["summary"][0]


def test_reconfig_waits_until_every_server_runs_with_it() -> None:
    three = [1, 2, 3]
    observed = seen({f"zookeeper0{i}": (three, "leader" if i == 3 else "follower")
                     for i in three}, stopped=("zookeeper04",))
    observed["zookeeper01"]["reconfig"] = True
    plan = zm.plan(observed, ensemble([1, 2, 3, 4]), reconfig=True)
    assert any("zookeeper02, zookeeper03 still run without dynamic reconfiguration" in e
               for e in plan["errors"])


@pytest.mark.parametrize(("hostvars", "endpoint"), [
    ({"ansible_host": "10.0.0.1"}, "10.0.0.1:2181"),
    ({"ansible_host": "10.0.0.1", "zookeeper_address": "10.1.0.1"}, "10.1.0.1:2181"),
    ({"ansible_host": "10.0.0.1", "zookeeper_client_port_address": "10.2.0.1"}, "10.2.0.1:2181"),
    ({"ansible_host": "10.0.0.1", "zookeeper_client_port": 2182}, "10.0.0.1:2182"),
    # Bound to every address: asked at the member address (from another host, 0.0.0.0 would
    # be that host's own server).
    ({"ansible_host": "10.0.0.1", "zookeeper_client_port_address": "0.0.0.0"}, "10.0.0.1:2181"),
    ({"ansible_host": "10.0.0.1", "zookeeper_client_port_address": "::"}, "10.0.0.1:2181"),
    ({"zookeeper_client_port_address": "10.2.0.1",
      "__zookeeper_validated": {"settings": {"address": "10.1.0.1",
                                             "zookeeper_client_port_address": None}}},
     "10.2.0.1:2181"),
])
def test_the_gate_asks_each_member_where_its_client_port_answers(
        hostvars: dict, endpoint: str) -> None:
    assert zm.zookeeper_endpoints(["zk1"], {"zk1": hostvars}) == {"zk1": endpoint}
