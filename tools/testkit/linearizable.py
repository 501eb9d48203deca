"""Is a history of operations on one znode linearizable, read as a versioned register?

ZooKeeper raises a znode's data version by exactly one at each `set`, so the versions name the
order in which the writes took effect, and no search is needed: with the write of version v at
"level" 2v and every read of v at 2v+1 (after the write it saw, before the next), points in time
inside each interval that keep that order exist exactly when no operation that ended before
another started has the higher level (a cycle of real time and levels needs such a pair). The
violations reported, each a sentence naming the operations (id, client@server, interval, value,
version), tagged with its kind:

1. one write per version: two acknowledged writes made one version; a CAS, acknowledged or
   proved applied by a read of its value, made another version than expected+1;
2. versions from writes: a version below or (made by a write) at the initial one; more versions
   than acknowledged and unknown-outcome writes; a version between the initial and the newest
   seen (all existed: each `set` adds one) that no write can have made;
3. read value: a read of version v returns the initial value (v initial) or the value of the
   write of v, never a value nobody wrote or whose write failed or was refused; a read of an
   unknown-outcome write's value proves it applied at that version (one version per value);
4. real time: an operation that started after another ended read or made an older version;
5. seen before start: a read of version v ended before the write of v began;
6. refused CAS: a refused CAS is a read of "any version but its expected e"; a violation when
   e was the newest version throughout its interval, when refused CASes that precede one
   another leave it only e, or when e was never seen (the recorder only expects versions seen).

Failed operations were never applied; failed and unknown reads and refused CASes change
nothing. An unknown-outcome write may take effect any time after it starts (its end is
+infinity) or never: a read of its value fixes its version; otherwise it may make a version
nobody else made (a "hole": holes are filled in version order by the unknown CAS expecting the
version below, else the earliest unknown blind write that started before a newer version was
seen, which fills every hole that can be filled), or be left out. Refused CASes are placed in
order of their ends, each at the lowest version it can have seen. O(n log n), plus holes times
unknown writes. Tests compare the verdict with an exhaustive search on small random histories.

It cannot detect: anything about other znodes, watches, sessions or ephemeral nodes; what
failed or unknown reads and unread unknown writes would have shown; a refused CAS illegal only
for some choices of the unknown writes that fill holes (it takes the most permissive, so it may
miss one, never invents one); orderings finer than the recorded times (equal times overlap);
and it trusts the recorder's outcomes: a "failed" write that took effect shows as a read of a
failed write's value or as a hole. ZooKeeper itself promises linearizable writes, and reads
after `sync` only in the absence of leader changes (sync is not a quorum operation,
ZOOKEEPER-1675): a stale read around an election is reported, and may be that.

`python tools/testkit/linearizable.py HISTORY.json` (from tools/testkit/zk_register.py) prints a
summary and each violation; exit 0 when linearizable, 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

KINDS = ("read", "write", "cas")
OUTCOMES = ("ok", "refused", "failed", "unknown")
VIOLATIONS = ("one write per version", "versions from writes", "read value", "real time",
              "seen before start", "refused CAS")


@dataclass(frozen=True)
class Op:
    """One operation on the znode: `version` is what an ok read saw or an ok write made."""

    id: int
    client: str
    kind: str
    start: float
    end: float
    outcome: str
    value: str | None = None
    version: int | None = None
    expected: int | None = None
    server: str | None = None

    @property
    def writes(self) -> bool:
        return self.kind in ("write", "cas")

    @property
    def finish(self) -> float:
        """The end for ordering: an unknown outcome may take effect at any later time."""
        return math.inf if self.outcome == "unknown" else self.end


def describe(op: Op) -> str:
    who = f"{op.client}@{op.server}" if op.server else op.client
    what = op.kind if op.kind == "read" else f"{op.kind} {op.value!r}"
    if op.kind == "cas":
        what += f" expecting v{op.expected}"
    end = "unknown" if op.outcome == "unknown" else f"{op.end:.6f}"
    result = op.outcome
    if op.outcome == "ok":
        result = f"v{op.version}" + (f" {op.value!r}" if op.kind == "read" else "")
    return f"#{op.id} ({who} {what} [{op.start:.6f}, {end}] -> {result})"


def _validate(history: Sequence[Op], initial_value: str) -> None:
    """Raise ValueError for a history the check cannot read (not for a violation)."""
    ids: set[int] = set()
    values = {initial_value}
    for op in history:
        problem = None
        if op.id in ids:
            problem = "duplicate id"
        elif op.kind not in KINDS or op.outcome not in OUTCOMES:
            problem = "unknown kind or outcome"
        elif not (math.isfinite(op.start) and math.isfinite(op.end)) or op.end < op.start:
            problem = "bad times"
        elif op.outcome == "refused" and op.kind != "cas":
            problem = "only a CAS can be refused"
        elif op.kind == "cas" and op.expected is None:
            problem = "a CAS without its expected version"
        elif op.outcome == "ok" and op.version is None:
            problem = "an ok operation without its version"
        elif op.kind == "read" and op.outcome == "ok" and op.value is None:
            problem = "an ok read without its value"
        elif op.writes and (op.value is None or op.value in values):
            problem = "written values must be given and unique (and not the initial value)"
        if problem:
            raise ValueError(f"operation {op.id}: {problem}")
        ids.add(op.id)
        if op.writes:
            values.add(op.value)  # type: ignore[arg-type]


class _Checker:
    """The steps of `check`, sharing what they learn: who made each version, and each placed
    operation's level (2v for the write of v, 2v+1 for a read of v)."""

    def __init__(self, history: Sequence[Op], initial_value: str, initial_version: int) -> None:
        self.initial, self.v0 = initial_value, initial_version
        self.out: list[str] = []
        self.writers = {op.value: op for op in history if op.writes}
        self.acked = [op for op in history if op.writes and op.outcome == "ok"]
        self.reads = [op for op in history if op.kind == "read" and op.outcome == "ok"]
        self.unknown = [op for op in history if op.writes and op.outcome == "unknown"]
        self.refused = [op for op in history if op.outcome == "refused"]
        self.producer: dict[int, Op] = {}
        self.level: dict[int, tuple[int, Op]] = {}
        self.spare: list[Op] = []
        self.earliest: dict[int, float] = {}  # a hole's filler -> earliest start that could fill
        seen = [op.version for op in self.acked + self.reads if op.version is not None]
        self.newest = max([initial_version, *seen])

    def report(self, kind: str, text: str) -> None:
        self.out.append(f"[{kind}] {text}")

    def place(self, op: Op, level: int) -> None:
        self.level[op.id] = (level, op)

    def acknowledged(self) -> None:
        for op in sorted(self.acked, key=lambda o: (o.version, o.start)):
            v = op.version or 0
            self.place(op, 2 * v)
            if op.kind == "cas" and v != (op.expected or 0) + 1:
                self.report("one write per version", f"{describe(op)} succeeded but made "
                            f"version {v}, not {(op.expected or 0) + 1}")
            if v <= self.v0:
                self.report("versions from writes", f"{describe(op)} made version {v}, not "
                            f"above the initial version {self.v0}")
            elif v in self.producer:
                self.report("one write per version", f"{describe(self.producer[v])} and "
                            f"{describe(op)} both made version {v}")
            else:
                self.producer[v] = op

    def read_values(self) -> None:
        attributed: dict[int, Op] = {}  # unknown write's id -> the first read of its value
        for r in sorted(self.reads, key=lambda o: o.start):
            v, x = r.version or 0, r.value
            self.place(r, 2 * v + 1)
            w, p = self.writers.get(x), self.producer.get(v)  # type: ignore[arg-type]
            if v < self.v0:
                self.report("versions from writes", f"{describe(r)} read version {v}, below "
                            f"the initial version {self.v0}")
            elif v == self.v0 or x == self.initial:
                if (v, x) != (self.v0, self.initial):
                    self.report("read value", f"{describe(r)}: the initial version is "
                                f"v{self.v0} with value {self.initial!r}")
            elif w is None:
                self.report("read value", f"{describe(r)} read a value no operation wrote")
            elif w.outcome in ("failed", "refused"):
                self.report("read value", f"{describe(r)} read the value of {describe(w)}, "
                            "which was not applied")
            elif p is not None and p is not w:
                self.report("read value", f"{describe(r)} read version {v}, which "
                            f"{describe(p)} made with value {p.value!r}")
            elif w.outcome == "ok" and w.version != v:
                self.report("read value", f"{describe(r)} read at version {v} the value "
                            f"{describe(w)} wrote at version {w.version}")
            elif w.outcome == "unknown" and w.id in attributed and self.level[w.id][0] != 2 * v:
                self.report("read value", f"{describe(r)} read at version {v} the value of "
                            f"{describe(w)}, which {describe(attributed[w.id])} read at "
                            f"version {self.level[w.id][0] // 2}")
            elif w.outcome == "unknown" and w.id not in attributed:
                attributed[w.id] = r
                self.producer[v] = w
                self.place(w, 2 * v)
                if w.kind == "cas" and v != (w.expected or 0) + 1:
                    self.report("one write per version", f"{describe(w)} was applied at "
                                f"version {v} ({describe(r)} read its value), not at "
                                f"{(w.expected or 0) + 1}")
        self.spare = [w for w in self.unknown if w.id not in attributed]

    def _deadlines(self) -> tuple[list[int], list[tuple[float, int]]]:
        """Levels of the placed operations, ascending, and the suffix minimum of their ends:
        a write of version h must exist before any operation with a level above 2h ends."""
        placed = sorted((level, op.finish, op.id) for level, op in self.level.values())
        suffix: list[tuple[float, int]] = [(math.inf, -1)] * (len(placed) + 1)
        for i in range(len(placed) - 1, -1, -1):
            suffix[i] = min(suffix[i + 1], (placed[i][1], placed[i][2]))
        return [p[0] for p in placed], suffix

    def holes(self) -> None:
        applied = len(self.acked) + len(self.unknown)
        if self.newest - self.v0 > applied:
            self.report("versions from writes", f"version {self.newest} was seen, but at most "
                        f"{applied} writes ({len(self.acked)} acknowledged, "
                        f"{len(self.unknown)} of unknown outcome) can have been applied after "
                        f"the initial version {self.v0}")
        levels, suffix = self._deadlines()
        for h in range(self.v0 + 1, self.newest + 1):
            if h in self.producer:
                continue
            deadline, by = suffix[bisect.bisect_right(levels, 2 * h)]
            fits = [w for w in sorted(self.spare, key=lambda o: o.start) if w.start <= deadline
                    and (w.kind == "write" or w.expected == h - 1)]
            cas = [w for w in fits if w.kind == "cas"]
            if fits:
                w = (cas or fits)[0]
                self.earliest[w.id] = fits[0].start
                self.spare.remove(w)
                self.producer[h] = w
                self.place(w, 2 * h)
            elif self.newest - self.v0 <= applied:
                when = f" before {describe(self.level[by][1])} ended" if by >= 0 else ""
                self.report("versions from writes", f"version {h} existed (version "
                            f"{self.newest} was seen) but no write can have made it: none "
                            "acknowledged it, no read saw its value, and no unknown-outcome "
                            f"write left could have made it{when}")

    def real_time(self) -> None:
        placed = sorted(self.level.values(), key=lambda lo: lo[1].finish)
        ends = [op.finish for _unused, op in placed]
        best: list[tuple[int, Op]] = []
        for level, op in placed:
            best.append(max(best[-1], (level, op), key=lambda lo: lo[0]) if best else (level, op))
        first_read: dict[int, Op] = {}
        for r in sorted(self.reads, key=lambda o: o.end):
            first_read.setdefault(r.version or 0, r)
        for level, b in sorted(self.level.values(), key=lambda lo: lo[1].id):
            k = bisect.bisect_left(ends, b.start)
            if k and best[k - 1][0] > level + (0 if b.kind == "read" else 1):
                la, a = best[k - 1]
                self.report("real time", f"{describe(b)} started after {describe(a)} ended, "
                            f"yet its version {level // 2} is older than {la // 2}")
            r = first_read.get(level // 2)
            if b.writes and r is not None and r.end < b.start:
                self.report("seen before start", f"{describe(r)} saw version {level // 2} "
                            f"and ended before {describe(b)}, which made it, started")

    def refusals(self) -> None:
        placed = sorted(self.level.values(), key=lambda lo: lo[1].finish)
        ends = [op.finish for _unused, op in placed]
        lows: list[tuple[int, Op | None]] = [(self.v0, None)]
        for level, op in placed:  # on a tie, the latest to end: it is named
            lows.append((level // 2, op) if level // 2 >= lows[-1][0] else lows[-1])
        start = {i: self.earliest.get(i, op.start) for i, (_unused, op) in self.level.items()}
        after = sorted(self.level.values(), key=lambda lo: start[lo[1].id])
        starts = [start[op.id] for _unused, op in after]
        highs: list[tuple[int, Op | None]] = [(self.newest, None)] * (len(after) + 1)
        for i in range(len(after) - 1, -1, -1):
            level, op = after[i]  # on a tie, an operation rather than none: it is named
            bound = (level - 1) // 2
            highs[i] = (bound, op) if bound <= highs[i + 1][0] else highs[i + 1]
        done_ends: list[float] = []
        done_best: list[tuple[int, Op | None]] = [(self.v0, None)]
        for c in sorted(self.refused, key=lambda o: o.end):
            e = c.expected or 0
            if not self.v0 <= e <= self.newest:
                self.report("refused CAS", f"{describe(c)} expected version {e}, which no "
                            f"operation made or saw (v{self.v0} to v{self.newest} existed)")
                continue
            lo, a = lows[bisect.bisect_left(ends, c.start)]
            hi, b = highs[bisect.bisect_right(starts, c.end)]
            if b is None and any(w.start <= c.end and w.expected in (None, self.newest)
                                 for w in self.spare):
                hi += 1  # an unknown write may have made a newer version before it ended
            floor, p = max((lo, a), done_best[bisect.bisect_left(done_ends, c.start)],
                           key=lambda lo: lo[0])
            at = floor + 1 if floor == e else floor
            if at <= hi:
                done_ends.append(c.end)
                done_best.append(max(done_best[-1], (at, c), key=lambda lo: lo[0]))
            elif lo == hi == e:
                made = (f"{describe(a)} had seen or made it before it started" if a
                        else "it was the initial version")
                if b is None or b.id in self.earliest:
                    then = f"no write that could make version {e + 1} started before it ended"
                elif b.kind == "read":
                    then = f"{describe(b)} started after it ended and still saw it"
                else:
                    then = f"{describe(b)} made version {e + 1} but started after it ended"
                self.report("refused CAS", f"{describe(c)} was refused, yet version {e} was "
                            f"the newest throughout: {made}, and {then}")
            elif lo <= hi:
                self.report("refused CAS", f"{describe(c)} was refused, but no version other "
                            f"than v{e} can have been current during it: it came after "
                            f"{describe(p) if p else 'v' + str(floor)}, refused with "
                            f"v{floor} current at the earliest, "
                            f"and no version after v{hi} existed before it ended")
            else:  # an operation before it saw a newer version than one after it: real time
                done_ends.append(c.end)
                done_best.append(done_best[-1])


def check(history: Sequence[Op], initial_value: str = "",
          initial_version: int = 0) -> list[str]:
    """Every violation found, each a sentence naming the operations; [] when the history is
    linearizable as a versioned register (as far as the module docstring says). Raises
    ValueError for a history it cannot read."""
    _validate(history, initial_value)
    checker = _Checker(history, initial_value, initial_version)
    checker.acknowledged()
    checker.read_values()
    checker.holes()
    checker.real_time()
    checker.refusals()
    return checker.out


def load(path: Path) -> tuple[list[Op], str, int]:
    """The operations, initial value and initial version of a JSON history (zk_register)."""
    data = json.loads(Path(path).read_text())
    servers = data.get("clients", {})
    names = {f.name for f in fields(Op)}
    ops = []
    for raw in data["ops"]:
        extra = set(raw) - names
        if extra:
            raise ValueError(f"operation {raw.get('id')}: unknown fields {sorted(extra)}")
        ops.append(Op(**{"server": servers.get(raw["client"]), **raw}))
    return ops, str(data.get("initial_value", "")), int(data.get("initial_version", 0))


def summary(history: Sequence[Op], violations: Sequence[str]) -> dict[str, Any]:
    """Counts per kind and outcome, versions, clients and the verdict."""
    by_kind = {kind: dict(Counter(op.outcome for op in history if op.kind == kind))
               for kind in KINDS}
    versions = [op.version for op in history if op.outcome == "ok" and op.version is not None]
    clients: dict[str, dict[str, Any]] = {}
    for op in history:
        entry = clients.setdefault(op.client, {"server": op.server, "operations": 0})
        entry["operations"] += 1
    kinds = Counter(v[1:v.index("]")] for v in violations if v.startswith("["))
    return {
        "operations": len(history),
        "by_kind": by_kind,
        "outcomes": dict(Counter(op.outcome for op in history)),
        "versions": {"lowest": min(versions, default=None),
                     "highest": max(versions, default=None),
                     "distinct": len(set(versions))},
        "clients": clients,
        "violations": len(violations),
        "violations_by_kind": dict(kinds),
        "linearizable": not violations,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history", type=Path,
                        help="a JSON history from tools/testkit/zk_register.py")
    args = parser.parse_args(argv)
    try:
        history, initial_value, initial_version = load(args.history)
        violations = check(history, initial_value, initial_version)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"{args.history}: cannot check: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary(history, violations), indent=1))
    for violation in violations:
        print(violation)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
