"""Membership changes of a ZooKeeper 3.4 ensemble that never split it or lose a write.

A 3.4 server reads its member list (the `server.N` lines) once, at its start, so a change of
membership is a sequence of restarts, and at each moment servers run with different lists.
This file models what 3.4 does with such a mix, and plans the sequence from it:

- `State` is one moment: each running server's list, the leader and its followers.
- `after()` applies a stop or a start the way 3.4 reacts (elections, joins, a leader stepping
  down), with every outcome an election could have.
- `split()` says whether some network partition could let two leaders commit at once.
- `solve_step()` finds the order of restarts, starts and stops for one step (one voting
  member added or removed), such that no moment can split and a leader always serves (but for
  one election when the leader itself restarts).
- `plan()` works out the path from the running membership to the inventory's, one member per
  step, and refuses, before any host changes, what cannot be done without an outage.
- `walk_next()` gives the next actions of a run from what the servers say now.

The rules of 3.4 it follows (ZooKeeper 3.4.13 source, and checked on this project's lab,
docs/membership.md):
- A list of one server runs standalone: it serves alone and takes no part in elections.
- Election connections exist only where the higher id has the lower one in its list (the
  higher id keeps the connection; the lower one cannot call back an id it does not know).
- A LOOKING server counts votes only from members of its own list (FastLeaderElection's
  validVoter) and decides for a leader in its list once a majority of its list agrees.
- A starting server joins an established leader once more than half of its list (itself not
  counted) follow or lead it.
- A leader keeps leading while the servers synced with it number more than half of its list's
  size, counting every synced follower, even one outside its list (QuorumMaj.containsQuorum is
  a size check): so a new member that follows an old-list leader counts for it. That is why a
  new member starts only once no second old-list majority could form.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_ensemble import (
    settings_of,
)


def majority(size: int) -> int:
    """Servers a list of `size` needs: more than half."""
    return size // 2 + 1


def _bits(ids: Iterable[int]) -> int:
    mask = 0
    for i in ids:
        mask |= 1 << i
    return mask


def _ids(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


@dataclass(frozen=True)
class State:
    """One moment of an ensemble: the running servers with their lists (bit masks of ids), the
    leader (None: no leader), its followers, and the servers holding the ensemble's data (a new
    member holds none and so cannot win an election against one that does)."""

    lists: tuple[tuple[int, int], ...]
    leader: int | None = None
    followers: int = 0
    data: int = 0
    standalone: int = field(default=0, compare=False)

    @functools.cached_property
    def of(self) -> dict[int, int]:
        return dict(self.lists)

    @property
    def running(self) -> int:
        return _bits(self.of)

    def solo(self, server: int) -> bool:
        return self.of[server] == 1 << server

    @property
    def serving(self) -> int:
        solos = _bits(s for s in self.of if self.solo(s))
        leader = 0 if self.leader is None else 1 << self.leader
        return solos | leader | self.followers

    @property
    def available(self) -> bool:
        return self.serving != 0

    def describe(self) -> str:
        def one(s: int) -> str:
            role = ("L" if s == self.leader else "F" if self.followers >> s & 1 else
                    "S" if self.solo(s) else "?")
            return f"{s}{role}[{','.join(map(str, _ids(self.of[s])))}]"
        return " ".join(one(s) for s in sorted(self.of))


def make_state(lists: Mapping[int, Iterable[int]], leader: int | None = None,
               followers: Iterable[int] = (), data: Iterable[int] | None = None) -> State:
    """A State from plain ids: `lists` maps each running server to its member list."""
    masks = tuple(sorted((int(s), _bits(int(i) for i in lst)) for s, lst in lists.items()))
    held = _bits(int(s) for s in lists) if data is None else _bits(int(s) for s in data)
    return State(masks, leader, _bits(int(f) for f in followers), held)


def _linked(of: Mapping[int, int], a: int, b: int) -> bool:
    low, high = min(a, b), max(a, b)
    return bool(of[high] >> low & 1)


def _settle(st: State) -> State:
    """LOOKING servers join the established leader where more than half of their list (not
    counting themselves) follow or lead it, until nothing changes."""
    if st.leader is None:
        return st
    of, followers = st.of, st.followers
    changed = True
    while changed:
        changed = False
        with_leader = followers | 1 << st.leader
        for s, lst in of.items():
            if s == st.leader or followers >> s & 1 or st.solo(s) or not lst >> st.leader & 1:
                continue
            backing = sum(1 for o in _ids(lst & with_leader) if o != s and _linked(of, o, s))
            if backing >= majority(lst.bit_count()):
                followers |= 1 << s
                changed = True
    return State(st.lists, st.leader, followers, st.data | followers)


@functools.lru_cache(maxsize=100_000)
def _elect(st: State) -> list[State]:
    """Every outcome of an election among the running servers (none serving a leader). Each
    server holding data may be the one the votes converge on; it leads once a majority of its
    list voted for it and enough of those who can follow it do (seen here: a server that
    returned during the election kept voting for itself and stayed out), so every smallest
    such set of followers is an outcome, as is the largest; the rest join as they can. A
    candidate that cannot gather its quorum leaves the ensemble without a leader (an outcome
    too)."""
    of = st.of
    voters = [s for s in of if not st.solo(s)]
    holders = [s for s in voters if st.data >> s & 1] or voters
    outcomes: list[State] = []

    def add(result: State) -> None:
        if result not in outcomes:
            outcomes.append(result)

    for k in holders:
        def tally(s: int, k: int = k) -> int:
            return sum(1 for o in voters if (o == s or _linked(of, o, s)) and of[s] >> o & 1)
        need = majority(of[k].bit_count())
        able = [s for s in voters if s != k and of[s] >> k & 1 and _linked(of, s, k)
                and tally(s) >= majority(of[s].bit_count())]
        if tally(k) < need or len(able) + 1 < need:
            add(State(st.lists, None, 0, st.data))
            continue
        for group in itertools.combinations(able, need - 1):
            add(_settle(State(st.lists, k, _bits(group), st.data)))
        add(_settle(State(st.lists, k, _bits(able), st.data)))
    return outcomes or [State(st.lists, None, 0, st.data)]


def stop(st: State, server: int) -> tuple[list[State], bool]:
    """The outcomes of `server` going down, and whether the leader changes (an election)."""
    lists = tuple(p for p in st.lists if p[0] != server)
    followers = st.followers & ~(1 << server)
    if st.leader == server:
        return _elect(State(lists, None, 0, st.data)), True
    if st.leader is None:
        return _elect(State(lists, None, 0, st.data)), False
    if followers.bit_count() + 1 < majority(st.of[st.leader].bit_count()):
        return _elect(State(lists, None, 0, st.data)), True  # it steps down
    return [_settle(State(lists, st.leader, followers, st.data))], False


def start(st: State, server: int, members: int, data: bool = True) -> list[State]:
    """The outcomes of `server` starting with the list `members` (a bit mask)."""
    lists = tuple(sorted((*st.lists, (server, members))))
    held = st.data | (1 << server if data else 0)
    new = State(lists, st.leader, st.followers, held)
    if new.leader is not None or members == 1 << server:
        return [_settle(new)]
    return _elect(new)


def can_serve(st: State, group: int) -> bool:
    """Whether the servers of `group`, cut off from the rest, could have a leader that commits
    (optimistic: every vote that could go its way does)."""
    of = st.of
    members = [s for s in of if group >> s & 1]
    if any(st.solo(s) for s in members):
        return True
    able = _bits(s for s in members if (of[s] & group).bit_count() >= majority(of[s].bit_count()))
    if st.leader is not None and group >> st.leader & 1:
        joiners = [s for s in members if able >> s & 1 and of[s] >> st.leader & 1
                   and s != st.leader and not st.followers >> s & 1]
        count = 1 + (st.followers & group).bit_count() + len(joiners)
        if count >= majority(of[st.leader].bit_count()):
            return True
    for k in members:
        if not able >> k & 1:
            continue
        backers = sum(1 for s in members if s != k and able >> s & 1 and of[s] >> k & 1)
        if backers + 1 >= majority(of[k].bit_count()):
            return True
    return False


@functools.lru_cache(maxsize=200_000)
def split(st: State) -> tuple[int, int] | None:
    """Two disjoint groups of running servers that could both commit (a split brain), or None."""
    servers = sorted(st.of)
    if len(servers) < 2:
        return None
    first, rest = servers[0], servers[1:]
    for pick in range(1 << len(rest)):
        group = 1 << first
        for i, s in enumerate(rest):
            if pick >> i & 1:
                group |= 1 << s
        other = st.running & ~group
        if other and can_serve(st, group) and can_serve(st, other):
            return group, other
    return None


@dataclass(frozen=True)
class Step:
    """One voting member in or out: from the list `before` to `target` (bit masks)."""

    before: int
    target: int
    join: int | None
    leave: int | None

    def done(self, st: State) -> bool:
        of = st.of
        if self.join is None and self.leave is None and set(of) != set(_ids(self.target)):
            return False  # a step that moves every server at once: all of them, and only they
        if self.leave is not None and self.leave in of:
            return False
        if self.join is not None and self.join not in of:
            return False
        return all(of[s] == self.target for s in of) and st.serving == st.running

    def describe(self, names: Mapping[int, str]) -> str:
        size = f"{self.before.bit_count()} -> {self.target.bit_count()}"
        if self.join is not None:
            return f"{size}: {names.get(self.join, self.join)} joins"
        if self.leave is not None:
            return f"{size}: {names.get(self.leave, self.leave)} leaves"
        return f"{size}: every member on the list {','.join(map(str, _ids(self.target)))}"


@dataclass(frozen=True)
class Action:
    """One change of one server: restart (with `members`, a mask), start, stop, or handover (a
    leaving leader restarted with its own list, so that a member that stays leads)."""

    kind: str
    server: int
    members: int | None = None


def _candidates(st: State, step: Step) -> list[Action]:
    """What could be done next, in the order preferred: hand the leadership over from a
    leaving leader, move followers to the new list, start the new member, stop the leaving
    one, move the leader last."""
    of = st.of
    actions: list[Action] = []
    if step.leave is not None and step.leave in of and st.leader == step.leave:
        actions.append(Action("handover", step.leave, of[step.leave]))
    moving = [s for s in sorted(of) if step.target >> s & 1 and of[s] != step.target]
    actions += [Action("restart", s, step.target) for s in moving if s != st.leader]
    if step.join is not None and step.join not in of:
        actions.append(Action("start", step.join, step.target))
    if step.leave is not None and step.leave in of:
        actions.append(Action("stop", step.leave))
    actions += [Action("restart", s, step.target) for s in moving if s == st.leader]
    return actions


def apply(st: State, action: Action, outage: bool = False
          ) -> tuple[list[State], bool] | None:
    """The outcomes of `action` from `st` and whether it costs an election; None when some
    moment of it could split the ensemble, leave no leader (unless `outage`), or cost an
    election that is not the leader's own restart."""
    server = action.server
    if action.kind == "start":
        finals = start(st, server, action.members or 0, data=False)
        election = False
    else:
        downs, election = stop(st, server)
        unplanned = election and st.leader != server
        if unplanned or any(split(d) or not (d.available or outage) for d in downs):
            return None
        if action.kind == "stop":
            finals = downs
        else:
            holds = bool(st.data >> server & 1)
            # A leader restarts only once the others elected (zookeeper_server waits for it),
            # so it never takes part in that election.
            finals = [f for d in downs for f in start(d, server, action.members or 0, holds)]
    if any(split(f) or not (f.available or outage) for f in finals):
        return None
    return list(dict.fromkeys(finals)), election or any(f.leader != st.leader for f in finals)


Line = list[tuple[Action, bool]]


def solve_step(st: State, step: Step, outage: bool = False
               ) -> tuple[Line, frozenset[State]] | None:
    """How to take `st` through `step`: the actions (each with whether it costs an election)
    along the most likely outcome of each election (the highest id wins a tie), and the states
    the step may end in; None when some outcome of every order leads to a split or an outage
    (or with `outage`, to a split). An election may end several ways: each way must be able
    to finish the step (a run plans again from what the servers say after each election)."""
    memo: dict[State, tuple[Line, frozenset[State]] | None] = {}

    def search(now: State, depth: int) -> tuple[Line, frozenset[State]] | None:
        if step.done(now):
            return [], frozenset([now])
        if depth == 0 or now in memo:
            return memo.get(now)
        memo[now] = None
        for action in _candidates(now, step):
            result = apply(now, action, outage)
            if result is None:
                continue
            outcomes, election = result
            rests = [search(o, depth - 1) for o in outcomes]
            if any(r is None for r in rests):
                continue
            likely = max(range(len(outcomes)), key=lambda i: outcomes[i].leader or -1)
            line = [(action, election), *rests[likely][0]]  # type: ignore[index]
            memo[now] = line, frozenset(f for r in rests if r for f in r[1])
            return memo[now]
        return None

    return search(st, 2 * len(st.of) + 6)


def run_steps(states: Iterable[State], steps: Sequence[Step]
              ) -> tuple[list[Line], int | None, frozenset[State]]:
    """Each step's actions from every one of `states` (the line shown is the first state's);
    stops at the first step that cannot be done from one of them (its index, else None) and
    returns the states reached."""
    now = frozenset(states)
    lines: list[Line] = []
    for index, step in enumerate(steps):
        reached: set[State] = set()
        line: Line | None = None
        for st in sorted(now, key=lambda s: s.describe()):
            solved = solve_step(st, step)
            if solved is None:
                return lines, index, now
            line = solved[0] if line is None else line
            reached |= solved[1]
        lines.append(line or [])
        now = frozenset(reached)
    return lines, None, now


def path(current: int, target: int, dead: Iterable[int] = ()) -> list[Step]:
    """One member per step: every new member in (by id), then every leaving one out (those
    whose server is down first, then by id)."""
    steps, now = [], current
    for j in _ids(target & ~current):
        steps.append(Step(now, now | 1 << j, j, None))
        now |= 1 << j
    gone = set(dead)
    for x in sorted(_ids(current & ~target), key=lambda i: (i not in gone, i)):
        steps.append(Step(now, now & ~(1 << x), None, x))
        now &= ~(1 << x)
    return steps


# --------------------------------------------------------------------------- the plan


def _member_ids(members: Any) -> frozenset[int] | None:
    """The ids of a member list as zookeeper_probe reports it (None stays None)."""
    if members is None:
        return None
    return frozenset(int(m["id"]) for m in members)


def _names(ids: Iterable[int], names: Mapping[int, str]) -> str:
    return ", ".join(names.get(i, f"server.{i}") for i in sorted(ids))


def _list_text(ids: Iterable[int]) -> str:
    return "{" + ",".join(str(i) for i in sorted(ids)) + "}"


def observations(hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """What each host's zookeeper_probe says about its server, in the planner's terms: `active`
    (the unit runs), `mode`, `running` (the ids of the list it started with; None when it
    cannot be known), `config` (the ids zoo.cfg lists), `data`, `epoch`, `reachable`, `waited`
    (the seconds an electing server was waited for: the membership action's second look)."""
    seen = {}
    for name, probe in hosts.items():
        if not probe or probe.get("unreachable"):
            seen[name] = {"reachable": False, "active": False, "mode": None, "running": None,
                          "config": None, "data": False, "epoch": None}
            continue
        ens = probe.get("ensemble") or {}
        active = bool((probe.get("service") or {}).get("active"))
        seen[name] = {"reachable": True, "active": active, "mode": probe.get("mode"),
                      "running": _member_ids(ens.get("running")) if active else None,
                      "config": _member_ids(ens.get("config")), "data": bool(ens.get("data")),
                      "epoch": ens.get("epoch"), "zxid": probe.get("zxid"),
                      "reconfig": bool(ens.get("reconfig")), "waited": probe.get("waited") or 0}
    return seen


@dataclass
class Ensemble:
    """The inventory's side of a plan: members (id -> name), retired hosts, endpoints."""

    members: dict[int, str]
    retired: dict[int, str]
    endpoints: dict[int, str]
    group: str = "zookeeper"

    @property
    def names(self) -> dict[int, str]:
        return {**self.retired, **self.members}


def _live_state(seen: Mapping[str, Mapping[str, Any]], ens: Ensemble) -> State:
    """The observed moment as a State (servers whose list is known only)."""
    ids = {name: i for i, name in ens.names.items()}
    lists = {ids[n]: o["running"] for n, o in seen.items() if n in ids and o["running"]}
    leaders = [ids[n] for n, o in seen.items() if n in ids and o["mode"] == "leader"]
    followers = [ids[n] for n, o in seen.items() if n in ids and o["mode"] == "follower"]
    # A server that never synced (a new member still electing) holds no data, and so cannot
    # win an election against one that does (its zxid is 0).
    holders = [ids[n] for n, o in seen.items() if n in ids and ids[n] in lists
               and (o.get("data") or o["mode"] in ("leader", "follower", "standalone"))]
    return make_state(lists, leaders[0] if len(leaders) == 1 else None,
                      [f for f in followers if f in lists], holders)


def _why_not(st: State, step: Step, names: Mapping[int, str]) -> str:
    """Why a step cannot be done one server at a time, in a sentence."""
    running = sorted(st.of)
    size = step.before.bit_count()
    if step.target.bit_count() <= 2 and step.leave is not None:
        return (f"an ensemble of {step.target.bit_count()} has no member to spare, so moving its "
                "servers to the smaller list takes them all down at some point")
    down = _ids(step.before & ~st.running)
    if len(running) - 1 < majority(size):
        return (f"{len(running)} of the {size} servers on the list {_list_text(_ids(step.before))} "
                f"run ({_names(down, names)} down) and the leader needs {majority(size)} of them "
                "in sync, so restarting any one of them loses the quorum")
    return ("every order of restarts leaves the leader without a majority of its own list at "
            "some moment, or lets two majorities form (docs/membership.md)")


def plan(seen: Mapping[str, Mapping[str, Any]], ens: Ensemble, allow_outage: bool = False,
         reconfig: bool = False) -> dict[str, Any]:
    """The path from the membership the servers run with to the inventory's, one voting member
    per step, checked step by step against 3.4's rules; or the reasons it is refused. With
    `reconfig` (ZooKeeper 3.8's dynamic reconfiguration, every server running with it), each
    step is a `reconfig` of one server instead, and no server restarts."""
    names = ens.names
    ids = {name: i for i, name in names.items()}
    target = frozenset(ens.members)
    errors: list[str] = []
    notes: list[str] = []
    result: dict[str, Any] = {"walk": False, "steps": [], "target": sorted(target),
                              "current": None, "errors": errors, "notes": notes,
                              "outage": False, "expected": None, "running": [],
                              "electing": []}
    missing = [n for n in names.values() if n not in seen]
    unknown = [n for n, o in seen.items() if o["active"] and o["running"] is None
               and o["reachable"]]
    running = {ids[n]: o["running"] for n, o in seen.items()
               if n in ids and o["active"] and o["running"] is not None}
    lists = sorted(set(running.values()), key=lambda s: (len(s), sorted(s)))
    if not running:
        configs = {frozenset(o["config"]) for n, o in seen.items() if o.get("config")}
        if configs and configs != {target} and any(o.get("data") for o in seen.values()):
            errors.append(
                f"no server of {ens.group} runs, and the member lists on disk "
                f"({', '.join(_list_text(c) for c in sorted(configs, key=sorted))}) differ from "
                f"the inventory's {_list_text(target)}, so no host was changed: starting them all "
                "on the new list at once could elect a server without the latest data. Start "
                "the ensemble as it was (systemctl start zookeeper on each member), then run "
                "again.")
        return result
    result["current"] = sorted(lists[-1]) if len(lists) == 1 else None
    # The hosts that every running server counts as members: they should run (a new member
    # that an interrupted run had not started yet is on one list only, and may be down).
    result["expected"] = sorted(names[i] for i in frozenset.intersection(*lists) if i in names)
    # The hosts whose server runs: a walk rewrites their member list itself, at their restart.
    result["running"] = sorted(names[i] for i in running if i in names)
    if len(lists) == 1 and lists[0] == target:
        return result
    if len(lists) > 2 or (len(lists) == 2 and len(lists[0] ^ lists[1]) != 1):
        held = "; ".join(f"{_names([i for i, lst in running.items() if lst == s], names)} on "
                         f"{_list_text(s)}" for s in lists)
        errors.append(f"the running servers of {ens.group} use member lists that no safe change "
                      f"connects ({held}), so no host was changed; bring them to one list by "
                      "hand first (docs/membership.md, 'Servers on different lists').")
        return result
    strangers = sorted(set().union(*lists) - set(names))
    for i in strangers:
        holders = _names([s for s, lst in running.items() if i in lst], names)
        errors.append(
            f"server.{i} is in the member list that {holders} run with, but no host of group "
            f"{ens.group} or zookeeper_retired has zookeeper_id={i}, so no host was changed: put "
            f"that host in group zookeeper_retired to take it out of the ensemble (or back in "
            f"{ens.group} to keep it).")
    if missing:
        errors.append(
            f"the membership of {ens.group} changes ({' -> '.join(_list_text(s) for s in lists)} "
            f"-> {_list_text(target)}), which needs every member and retired host in the play; "
            f"{', '.join(sorted(missing))} {'is' if len(missing) == 1 else 'are'} left out (by "
            "--limit?), so no host was changed: run without --limit.")
    if unknown:
        errors.append(
            f"{', '.join(sorted(unknown))}: the running server's member list cannot be known "
            "(zoo.cfg changed after it started, and its unit is older than the role's record of "
            "what each server runs), so no membership change was started; restart it alone "
            "(systemctl restart zookeeper), then run again.")
    st = _live_state(seen, ens)
    # Servers that answer but do not serve yet (electing: just started, or back from a
    # partition, where the election retries with a back-off of up to 60 s). Where the plan is
    # refused for want of a leader or of servers, the action plugin waits for these and plans
    # again instead (plugins/action/zookeeper_membership.py).
    electing = sorted(n for n, o in seen.items() if n in ids and o["active"] and o["reachable"]
                      and not o["mode"] and o["running"] is not None)
    if st.leader is None and not any(st.solo(s) for s in st.of):
        result["electing"] = electing
        said = ", ".join(f"{n} {o['mode'] or 'not serving'}" for n, o in sorted(seen.items())
                         if o["active"])
        errors.append(f"no server of {ens.group} leads now ({said}), so no membership change "
                      "was started: it starts from a serving ensemble. Bring the ensemble back "
                      "first (tools/zk-status shows what each server says).")
    if errors:
        return result
    if len(lists) == 2:
        a, b = lists
        ahead = a if len(a ^ target) < len(b ^ target) else b
        behind = b if ahead == a else a
        first = [Step(_bits(behind), _bits(ahead), _one(ahead - behind), _one(behind - ahead))]
        start_list = ahead
        notes.append(f"an earlier run stopped between {_list_text(behind)} and "
                     f"{_list_text(ahead)}: that step is finished first")
    else:
        first, start_list = [], lists[0]
    dead = [i for i in start_list if i not in running]
    steps = first + path(_bits(start_list), _bits(target), dead)
    result["walk"] = True
    notes.extend(f"{n} was electing when the run looked; it served {o['waited']:g} s later"
                 if o["mode"] else f"{n} was still electing {o['waited']:g} s after the run "
                 "looked" for n, o in sorted(seen.items()) if o.get("waited"))
    if reconfig:
        return _reconfig_plan(result, seen, ens, lists, steps)
    epoch = max((int(o["zxid"], 16) >> 32 for o in seen.values() if o.get("zxid")), default=0)
    solo = steps[0].before.bit_count() == 1
    for step in steps:
        joiner = names.get(step.join) if step.join is not None else None
        if joiner and step.join not in running and seen.get(joiner, {}).get("data"):
            their = seen[joiner].get("epoch")
            if solo or their is None or their >= epoch:
                errors.append(
                    f"{joiner} (zookeeper_id={step.join}) joins {ens.group}, but its dataDir "
                    f"holds data (version-2, currentEpoch {their}) not older than the "
                    f"ensemble's (epoch {epoch}): it could win an election and replace the "
                    "ensemble's data, so no host was changed. Move its dataDir's version-2 and "
                    "currentEpoch aside (or empty them), then run again.")
    if errors:
        return result
    described = []
    rolling = steps[1:] if solo else steps
    states = [st]
    if solo:
        s, j = _ids(steps[0].before)[0], steps[0].join
        joined = steps[0].target
        states = [make_state({s: _ids(joined), j: _ids(joined)}, s, [j], [s, j])]
        described.append(_step_out(steps[0], "standalone", [], names))
    lines, stuck, _ends = run_steps(states, rolling)
    for step, line in zip(rolling, lines):
        described.append(_step_out(step, "rolling", line, names))
    if stuck is not None:
        result["electing"] = electing
        step = rolling[stuck]
        reason = _why_not(next(iter(_ends)), step, names)
        if not allow_outage:
            errors.append(
                f"{ens.group} cannot go from {_list_text(lists[-1])} to {_list_text(target)} "
                f"one server at a time: at step {step.describe(names)}, {reason}. No host was "
                "changed. Either bring the servers that are down back first, or set "
                "zookeeper_membership_allow_outage=true: the servers that run then stop together "
                "and start on the new list, so clients get no answer for one start and election "
                "(docs/membership.md gives the time measured); nothing acknowledged is lost.")
            return result
        result["outage"] = True
        together = Step(_bits(start_list), _bits(target), None, None)
        described = [_step_out(together, "together", [], names)]
        notes.append(f"outage allowed: {reason}; the running servers restart together on "
                     f"{_list_text(target)}")
    result["steps"] = described
    origin = " / ".join(_list_text(lst) for lst in lists)
    result["summary"] = [
        f"{ens.group}: {origin} -> {_list_text(target)}, {len(described)} step(s), each one "
        "member in or out" + (" (an outage: allowed by zookeeper_membership_allow_outage)"
                              if result["outage"] else ""),
        *(f"step {i}: {d['describe']}" + (f", {d['actions']} change(s), {d['elections'] or 0} "
                                          "election(s) expected" if d["actions"] else "")
          for i, d in enumerate(described, start=1)), *notes]
    result["lists"] = {str(i): sorted(lst) for i, lst in running.items()}
    result["data"] = _ids(st.data)
    return result


def _reconfig_plan(result: dict[str, Any], seen: Mapping[str, Mapping[str, Any]],
                   ens: Ensemble, lists: list[frozenset[int]], steps: list[Step]
                   ) -> dict[str, Any]:
    """The walk of an ensemble that changes its membership with `reconfig`: one server per
    step, none restarted (ZooKeeper commits each change with the old and the new quorum)."""
    names, errors = ens.names, result["errors"]
    static = sorted(n for n, o in seen.items() if o["active"] and not o.get("reconfig"))
    if static:
        errors.append(
            f"zookeeper_reconfig is on, but {', '.join(static)} still run without dynamic "
            "reconfiguration, so no host was changed: a run turns it on (each server restarts "
            "once, one at a time) and only the run after can change the membership. Run "
            "site.yml with the members the servers have now first, then with the new ones.")
        return result
    result["mode"] = "reconfig"
    result["steps"] = [{"before": _ids(s.before), "target": _ids(s.target), "join": s.join,
                        "leave": s.leave, "kind": "reconfig", "describe": s.describe(names),
                        "actions": None, "elections": None} for s in steps]
    origin = " / ".join(_list_text(lst) for lst in lists)
    result["summary"] = [
        f"{ens.group}: {origin} -> {_list_text(ens.members)}, {len(steps)} step(s), each "
        "one member in or out by reconfig, no server restarted",
        *(f"step {i}: {d['describe']}" for i, d in enumerate(result["steps"], start=1)),
        *result["notes"]]
    return result


def _one(ids: frozenset[int]) -> int | None:
    return next(iter(ids)) if len(ids) == 1 else None


def _step_out(step: Step, kind: str, line: Line, names: Mapping[int, str]) -> dict[str, Any]:
    return {"before": _ids(step.before), "target": _ids(step.target), "join": step.join,
            "leave": step.leave, "kind": kind, "describe": step.describe(names),
            "actions": len(line) or None, "elections": sum(1 for _a, e in line if e) or None}


# --------------------------------------------------------------------------- a run's walk


def _walk_state(walk: Mapping[str, Any], said: Mapping[str, Mapping[str, Any]]
                ) -> tuple[State | None, str]:
    """The moment the servers describe (`said`: each endpoint's srvr mode and whether it
    runs), with the lists the walk knows they run with; or why it cannot be trusted."""
    endpoints = {int(i): ep for i, ep in walk["endpoints"].items()}
    names = {int(i): n for i, n in walk["names"].items()}
    lists = {int(i): lst for i, lst in walk["lists"].items()}
    gone = [i for i in lists if not (said.get(endpoints[i]) or {}).get("running")]
    if gone:
        on = ", ".join(_list_text(lists[i]) for i in gone)
        return None, f"{_names(gone, names)} should run (on {on}) but do not answer"
    strays = [i for i, ep in endpoints.items()
              if i not in lists and (said.get(ep) or {}).get("running")]
    if strays:
        return None, f"{_names(strays, names)} run but should not at this point"
    modes = {i: (said.get(endpoints[i]) or {}).get("mode") for i in lists}
    leaders = [i for i, m in modes.items() if m == "leader"]
    if len(leaders) > 1:
        return None, f"{_names(leaders, names)} all lead"
    st = make_state(lists, leaders[0] if leaders else None,
                    [i for i, m in modes.items() if m == "follower"],
                    set(walk.get("data", [])) | {i for i, m in modes.items() if m})
    return st, ""


def _module_args(walk: Mapping[str, Any], st: State, action: Action, outcomes: list[State],
                 step_text: str, gated: bool = True) -> dict[str, Any]:
    endpoints = {int(i): ep for i, ep in walk["endpoints"].items()}
    names = {int(i): n for i, n in walk["names"].items()}
    members = _ids(action.members) if action.members is not None else None
    after = functools.reduce(lambda mask, o: mask & o.serving, outcomes, st.running | 1 << 63)
    after = after & ~(1 << 63) if outcomes else 0
    module = {"handover": "restart"}.get(action.kind, action.kind)
    new_list = members if action.kind in ("restart", "start") else None
    quorum, election = walk.get("ports") or (2888, 3888)
    return {
        "host": names[action.server], "id": action.server, "kind": action.kind,
        "action": module, "list": new_list,
        "servers": [f"server.{i}={names[i]}:{quorum}:{election}" for i in new_list]
        if new_list else None,
        "member": endpoints[action.server],
        "members": len(members) if members else 3,
        "peers": {endpoints[s]: lst.bit_count() for s, lst in st.of.items()} if gated else {},
        "serving": [endpoints[s] for s in _ids(st.serving)],
        "after": [endpoints[s] for s in _ids(after)],
        "disable": action.kind == "stop" and action.server not in walk["target"],
        "wait": True,
        "label": (f"{names[action.server]}: {action.kind}"
                  + (f" on {_list_text(members)}" if members and action.kind != "handover"
                     else "") + f" ({step_text})"),
    }


def walk_next(walk: Mapping[str, Any], said: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The next actions of the walk from what the servers say now (an `observe` of
    zookeeper_server): those of the step in progress up to and including the first that costs
    an election (after it, the walk asks the servers again). `done` when every step is done;
    `error` when the servers are not where the walk left them."""
    st, problem = _walk_state(walk, said)
    if st is None:
        return {"done": False, "actions": [], "error": problem}
    names = {int(i): n for i, n in walk["names"].items()}
    total = len(walk["steps"])
    # The step in progress: the last one whose list some server already runs with (its earlier
    # steps are behind every server), else the first.
    held = set(st.of.values())
    begin = max((i for i, out in enumerate(walk["steps"]) if _bits(out["target"]) in held),
                default=0)
    for index, out in enumerate(walk["steps"][begin:], start=begin + 1):
        step = Step(_bits(out["before"]), _bits(out["target"]), out["join"], out["leave"])
        if step.done(st):
            continue
        text = f"step {index}/{total}, {step.describe(names)}"
        if out["kind"] == "together":
            stops = [Action("stop", s) for s in sorted(st.of)]
            starts = [Action("start", s, step.target) for s in _ids(step.target)]
            actions = [_module_args(walk, st, a, [], text, gated=False) for a in stops + starts]
            for a in actions:
                a["after"], a["wait"] = [], False  # all down, then all up: no one to wait for
            final = actions[-1] | {"kind": "wait", "action": "wait", "member": "", "list": None,
                                   "wait": True,
                                   "servers": None, "label": f"every member serves ({text})",
                                   "peers": {walk["endpoints"][str(i)]: len(out["target"])
                                             for i in out["target"]},
                                   "after": [walk["endpoints"][str(i)] for i in out["target"]]}
            return {"done": False, "actions": [*actions, final], "error": ""}
        if out["kind"] == "standalone":
            solo, joiner = _ids(step.before)[0], out["join"]
            first = _module_args(walk, st, Action("start", joiner, step.target), [], text, False)
            second = _module_args(walk, st, Action("restart", solo, step.target), [], text, False)
            first["after"] = []
            second["after"] = [walk["endpoints"][str(solo)], walk["endpoints"][str(joiner)]]
            return {"done": False, "actions": [first, second], "error": ""}
        solved = solve_step(st, step)
        if solved is None:
            return {"done": False, "actions": [], "error": (
                f"{text} cannot go on one server at a time from what the servers say now "
                f"({st.describe()}): {_why_not(st, step, names)}")}
        actions = []
        for action, election in solved[0]:
            outcomes, _e = apply(st, action) or ([], False)
            actions.append(_module_args(walk, st, action, outcomes, text))
            if election or len(outcomes) != 1:
                break
            st = outcomes[0]
        return {"done": False, "actions": actions, "error": ""}
    return {"done": True, "actions": [], "error": ""}


def walk_apply(walk: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The walk after a loop of actions: each server's list as the actions that succeeded
    left it (a failed or skipped one changed nothing the walk relies on)."""
    lists = dict(walk["lists"])
    data = set(walk.get("data", []))
    for result in results:
        action = result.get("item") or {}
        if result.get("failed") or result.get("skipped") or not action.get("id"):
            continue
        key = str(action["id"])
        if action["kind"] == "stop":
            lists.pop(key, None)
        elif action.get("list"):
            lists[key] = action["list"]
            if action["kind"] == "restart":
                data.add(action["id"])
    return {**walk, "lists": lists, "data": sorted(data)}


# --------------------------------------------------------------------------- Ansible's side


# clientPortAddress values that bind every address: the member address is where to ask (from
# another host, 0.0.0.0 would reach that host's own server).
ANY_ADDRESS = ("0.0.0.0", "::", "[::]")


def _endpoint(name: str, hostvars: Mapping[str, Mapping[str, Any]], port: Any,
              tls: bool = False) -> str:
    """Where a host's client port answers: its clientPortAddress, else its member address;
    with `tls`, its TLS client port (zookeeper_tls_client_port, else `port`)."""
    hv = hostvars[name]
    own = settings_of(hv) or {}
    bound = own.get("zookeeper_client_port_address") or hv.get("zookeeper_client_port_address")
    address = ((bound if bound not in ANY_ADDRESS else None)
               or own.get("address") or hv.get("zookeeper_address") or hv.get("ansible_host")
               or name)
    if tls:
        port = hv.get("zookeeper_tls_client_port") or port
    else:
        port = own.get("zookeeper_client_port") or hv.get("zookeeper_client_port") or port
    return f"{address}:{port}"


def zookeeper_membership_plan(group_hosts: Sequence[str], hostvars: Mapping[str, Any],
                              retired_hosts: Sequence[str] = (),
                              retired_probes: Sequence[Mapping[str, Any]] = (),
                              allow_outage: bool = False, group: str = "zookeeper",
                              port: int = 2181, reconfig: bool = False,
                              settled: Mapping[str, Mapping[str, Any]] | None = None
                              ) -> dict[str, Any]:
    """The membership walk of the ensemble `group_hosts` (the inventory group; each host's
    zookeeper_probe result as `__zookeeper_probe`), with the retired hosts' probes (results of
    a loop over them, each with its `item`; unreachable ones count as down). `settled` gives,
    by host, what an electing server said when asked again (`mode`, `zxid`, `waited`)."""
    members = {int(hostvars[h]["zookeeper_id"]): h for h in group_hosts}
    retired = {int(hostvars[h]["zookeeper_id"]): h for h in retired_hosts}
    probes: dict[str, Any] = {h: hostvars[h].get("__zookeeper_probe") for h in group_hosts
                              if hostvars[h].get("__zookeeper_probe")}
    for result in retired_probes or []:
        probes[result["item"]] = result
    for host, said in (settled or {}).items():
        if host in probes:
            probes[host] = {**probes[host], **said}
    ens = Ensemble(members, retired,
                   {i: _endpoint(h, hostvars, port) for i, h in {**retired, **members}.items()},
                   group)
    result = plan(observations(probes), ens, bool(allow_outage), bool(reconfig))
    own = (settings_of(hostvars[group_hosts[0]]) or {}) if group_hosts else {}
    result.update(names={str(i): n for i, n in ens.names.items()},
                  endpoints={str(i): ep for i, ep in ens.endpoints.items()}, group=group,
                  ports=[int(own.get("zookeeper_quorum_port") or 2888),
                         int(own.get("zookeeper_election_port") or 3888)])
    return result


def zookeeper_membership_plans(play_hosts: Sequence[str], hostvars: Mapping[str, Any],
                               groups: Mapping[str, Sequence[str]],
                               retired_probes: Sequence[Mapping[str, Any]] = (),
                               allow_outage: bool = False, reconfig: bool = False,
                               settled: Mapping[str, Mapping[str, Any]] | None = None
                               ) -> dict[str, dict[str, Any]]:
    """`zookeeper_membership_plan` of every ensemble the play's hosts belong to, by group."""
    plans = {}
    for host in play_hosts:
        own = settings_of(hostvars[host]) or {}
        group = str(own.get("zookeeper_ensemble_group") or "zookeeper")
        if group not in plans:
            plans[group] = zookeeper_membership_plan(
                list(groups.get(group) or []), hostvars,
                list(groups.get("zookeeper_retired") or []), retired_probes, allow_outage, group,
                int(own.get("zookeeper_client_port") or 2181), reconfig, settled)
    return plans


def zookeeper_endpoints(hosts: Sequence[str], hostvars: Mapping[str, Any], port: int = 2181,
                        tls: bool = False) -> dict[str, str]:
    """Each host's client endpoint (`address:port`), by name; with `tls` its TLS one."""
    return {h: _endpoint(h, hostvars, port, bool(tls)) for h in hosts}


# The membership planner's filters, by the names tasks apply them with.
# plugins/filter/zookeeper.py names each and loads this file when a task first applies one.
FILTERS = {
    "zookeeper_membership_plan": zookeeper_membership_plan,
    "zookeeper_membership_plans": zookeeper_membership_plans,
    "zookeeper_walk_next": walk_next,
    "zookeeper_walk_apply": walk_apply,
    "zookeeper_endpoints": zookeeper_endpoints,
}
