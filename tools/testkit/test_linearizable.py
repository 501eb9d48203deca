"""Tests of the linearizability check: each violation kind on a small history made by hand,
valid histories that must pass, long histories from a sequential model, and the check against
an exhaustive search on small random histories. Histories are plain data: no ZooKeeper."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from testkit.linearizable import Op, check, load, main, summary


def read(i: int, start: float, end: float, value: str, version: int, client: str = "r") -> Op:
    return Op(i, client, "read", start, end, "ok", value, version)


def write(i: int, start: float, end: float, value: str, version: int | None = None,
          outcome: str = "ok") -> Op:
    return Op(i, "w", "write", start, end, outcome, value, version)


def cas(i: int, start: float, end: float, value: str, expected: int,
        outcome: str = "ok") -> Op:
    version = expected + 1 if outcome == "ok" else None
    return Op(i, "c", "cas", start, end, outcome, value, version, expected)


def only(violations: list[str], kind: str) -> str:
    """The one violation, of `kind`."""
    assert len(violations) == 1, violations
    assert violations[0].startswith(f"[{kind}] "), violations
    return violations[0]


# ------------------------------------------------------------------ each violation kind


def test_two_acknowledged_writes_made_one_version() -> None:
    message = only(check([write(1, 0, 1, "a", 1), write(2, 0.5, 2, "b", 1)]),
                   "one write per version")
    assert "#1 (w write 'a' [0.000000, 1.000000] -> v1)" in message
    assert "#2 (w write 'b'" in message and "both made version 1" in message


def test_a_successful_cas_makes_expected_plus_one() -> None:
    history = [write(1, 0, 1, "a", 1), replace(cas(2, 2, 3, "b", 0), version=2)]
    message = only(check(history), "one write per version")
    assert "#2 (c cas 'b' expecting v0" in message and "made version 2, not 1" in message


def test_an_unknown_cas_read_at_another_version_than_expected_plus_one() -> None:
    history = [write(1, 0, 1, "a", 1), cas(2, 2, 3, "b", 0, "unknown"),
               read(3, 4, 5, "b", 2)]
    message = only(check(history), "one write per version")
    assert "#2 (c cas 'b'" in message and "#3 (r read" in message
    assert "applied at version 2" in message


def test_more_versions_than_writes() -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 2, 3, "b", outcome="unknown"),
               read(3, 4, 5, "b", 3)]
    message = only(check(history), "versions from writes")
    assert message == "[versions from writes] version 3 was seen, but at most 2 writes (1 " \
        "acknowledged, 1 of unknown outcome) can have been applied after the initial version 0"


def test_versions_below_or_at_the_initial_one() -> None:
    message = only(check([write(1, 0, 1, "a", 5)], "x", 5), "versions from writes")
    assert message.startswith("[versions from writes] #1 (w write 'a' [0.000000, 1.000000] "
                              "-> v5) made version 5, not above the initial version 5")
    message = only(check([read(1, 0, 1, "x", 4)], "x", 5), "versions from writes")
    assert "#1 (r read [0.000000, 1.000000] -> v4 'x') read version 4, below" in message


def test_a_version_nobody_can_have_made() -> None:
    """v2 existed (v3 was made) but the only unknown write started after a read of v3 ended."""
    history = [write(1, 0, 1, "a", 1), write(2, 2, 3, "b", 3), read(3, 4, 5, "b", 3),
               write(4, 6, 7, "c", outcome="unknown")]
    message = only(check(history), "versions from writes")
    assert message.startswith("[versions from writes] version 2 existed")
    assert "before #2 (w write 'b'" in message


def test_a_read_sees_the_value_that_made_its_version() -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 2, 3, "b", 2), read(3, 4, 5, "a", 2)]
    message = only(check(history), "read value")
    assert "#3 (r read [4.000000, 5.000000] -> v2 'a')" in message
    assert "which #2 (w write 'b'" in message


def test_a_read_of_an_acknowledged_value_at_another_version() -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 2, 3, "b", outcome="unknown"),
               read(3, 4, 5, "a", 2)]
    message = only(check(history), "read value")
    assert "#3 (r read [4.000000, 5.000000] -> v2 'a') read at version 2 the value #1 (w " \
           "write 'a' [0.000000, 1.000000] -> v1) wrote at version 1" in message


def test_reads_of_the_initial_version_a_failed_write_and_nobodys_value() -> None:
    history = [read(1, 0, 1, "x", 0), write(2, 2, 3, "a", outcome="failed"),
               read(3, 4, 5, "a", 1), read(4, 6, 7, "zzz", 1)]
    violations = [v for v in check(history, "init") if v.startswith("[read value]")]
    assert len(violations) == 3
    assert "#1 (r read" in violations[0] and "initial version is v0 with value 'init'" in \
        violations[0]
    assert "value of #2 (w write 'a'" in violations[1] and "not applied" in violations[1]
    assert "#4 (r read" in violations[2] and "no operation wrote" in violations[2]


def test_an_unknown_writes_value_read_at_two_versions() -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 0, 9, "b", outcome="unknown"),
               read(3, 2, 3, "b", 2), write(4, 4, 5, "c", 3), read(5, 6, 7, "b", 4)]
    violations = check(history)
    message = [v for v in violations if v.startswith("[read value]")]
    assert len(message) == 1 and "#5 (r read" in message[0] and "#3 (r read" in message[0]


def test_a_stale_read_after_a_newer_version() -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 2, 3, "b", 2), read(3, 4, 5, "a", 1)]
    message = only(check(history), "real time")
    assert "#3 (r read [4.000000, 5.000000] -> v1 'a') started after #2 (w write 'b' " \
           "[2.000000, 3.000000] -> v2) ended, yet its version 1 is older than 2" in message


def test_a_write_after_a_newer_read_made_an_older_version() -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 1.5, 4, "b", 2), read(3, 2, 3, "b", 2),
               write(4, 3.5, 5, "c", 3), read(5, 6, 7, "c", 3)]
    assert check(history) == []
    history[3] = write(4, 3.5, 5, "c", 1)
    violations = check(history)
    assert any(v.startswith("[real time] #4 (w write 'c'") and "after #3 (r read" in v
               for v in violations), violations


def test_a_write_seen_before_it_started() -> None:
    history = [read(1, 0, 1, "a", 1), write(2, 2, 3, "a", 1)]
    message = only(check(history), "seen before start")
    assert "#1 (r read [0.000000, 1.000000] -> v1 'a') saw version 1 and ended before " \
           "#2 (w write 'a'" in message


def test_a_refused_cas_while_its_version_was_the_newest() -> None:
    history = [write(1, 0, 1, "a", 1), read(2, 2, 3, "a", 1, "c"), cas(3, 4, 5, "b", 1,
               "refused"), write(4, 6, 7, "d", 2)]
    message = only(check(history), "refused CAS")
    assert "#3 (c cas 'b' expecting v1 [4.000000, 5.000000] -> refused) was refused" in message
    assert "#2 (c read" in message and "#4 (w write 'd'" in message
    assert "made version 2 but started after it ended" in message


def test_a_refused_cas_expecting_the_initial_version_with_no_writes() -> None:
    message = only(check([cas(1, 0, 1, "a", 0, "refused")]), "refused CAS")
    assert "it was the initial version" in message and "no write that could make version 1" \
        in message


def test_a_refused_cas_after_another_refused_cas() -> None:
    """#2 refused expecting v0 saw v1; #3, after it, refused expecting v1, must have seen v2,
    which never existed before the read of v1 that followed it."""
    history = [write(1, 0, 10, "a", 1), cas(2, 1, 2, "b", 0, "refused"),
               cas(3, 3, 4, "c", 1, "refused"), read(4, 5, 6, "a", 1)]
    message = only(check(history), "refused CAS")
    assert message.startswith("[refused CAS] #3 (c cas 'c' expecting v1 [3.000000, 4.000000] "
                              "-> refused) was refused") and "after #2 (c cas 'b'" in message
    assert not brute_force(history)
    assert check([*history[:3], read(4, 5, 6, "d", 2), write(5, 0, 10, "d", 2)]) == []


def test_a_refused_cas_expecting_a_version_never_made() -> None:
    history = [write(1, 0, 1, "a", 1), cas(2, 2, 3, "b", 5, "refused")]
    message = only(check(history), "refused CAS")
    assert "#2 (c cas 'b' expecting v5" in message and "which no operation made or saw" in message


# ------------------------------------------------------------------ valid histories


@pytest.mark.parametrize("first", [1, 2])
def test_concurrent_writes_in_either_order(first: int) -> None:
    history = [write(1, 0, 2, "a", first), write(2, 1, 3, "b", 3 - first),
               read(3, 4, 5, "a" if first == 2 else "b", 2)]
    assert check(history) == []


def test_unknown_writes_applied_and_not() -> None:
    history = [write(1, 0, 1, "a", outcome="unknown"), read(2, 5, 6, "a", 1),
               write(3, 7, 8, "b", outcome="unknown"), write(4, 9, 10, "c", 2),
               read(5, 11, 12, "c", 2), write(6, 13, 14, "d", outcome="failed"),
               Op(7, "r", "read", 15, 16, "failed"), Op(8, "r", "read", 15, 16, "unknown")]
    assert check(history) == []


def test_an_unread_unknown_write_fills_a_hole() -> None:
    history = [write(1, 0, 1, "a", 1), cas(2, 2, 3, "b", 1, "unknown"),
               write(3, 4, 5, "c", 3), read(4, 6, 7, "c", 3)]
    assert check(history) == []


def test_a_refused_cas_with_a_concurrent_write() -> None:
    history = [write(1, 0, 1, "a", 1), read(2, 2, 3, "a", 1, "c"), cas(3, 4, 6, "b", 1,
               "refused"), write(4, 5, 7, "d", 2)]
    assert check(history) == []


def test_a_refused_cas_with_a_concurrent_unknown_write() -> None:
    history = [read(1, 0, 1, "", 0, "c"), cas(2, 2, 4, "b", 0, "refused"),
               write(3, 3, 5, "d", outcome="unknown")]
    assert check(history) == []


def test_a_refusal_explained_by_either_unknown_write_that_may_have_made_the_version() -> None:
    """v1 was made by #1 or #2 (the check picks the CAS); #1 may have made it before the
    refusal."""
    history = [write(1, 0, 1, "x", outcome="unknown"), cas(2, 3, 4, "y", 0, "unknown"),
               cas(3, 1, 2, "c", 0, "refused"), write(4, 2.5, 6, "z", 2)]
    assert check(history) == [] and brute_force(history)


@pytest.mark.parametrize(("value", "version"), [("a", 1), ("b", 2)])
def test_reads_during_a_write_see_the_old_or_the_new_version(value: str, version: int) -> None:
    history = [write(1, 0, 1, "a", 1), write(2, 2, 5, "b", 2), read(3, 3, 4, value, version),
               read(4, 3.5, 6, value, version)]
    assert check(history) == []


# ------------------------------------------------------------------ generated histories


def generate(rng: random.Random, n: int, width: float = 2.0) -> list[Op]:
    """Operations applied one by one to an in-memory register, each at a point of its own
    interval (so some linearization exists): some writes lost in an unknown outcome."""
    value, version, ops, at = "", 0, [], 0.0
    for i in range(n):
        at += rng.uniform(0.05, 1.0)
        start, end = at - rng.uniform(0, width), at + rng.uniform(0, width)
        client, kind, r = f"c{rng.randrange(3)}", rng.choice(["read", "read", "write", "cas"]), \
            rng.random()
        new = f"v-{i}"
        if kind == "read":
            ops.append(Op(i, client, "read", start, end, "ok", value, version))
        elif r < 0.1:  # applied or not, nobody knows
            ops.append(Op(i, client, kind, start, end, "unknown", new, None,
                          version if kind == "cas" else None))
            if rng.random() < 0.5:
                value, version = new, version + 1
        elif r < 0.15:
            ops.append(Op(i, client, kind, start, end, "failed", new, None,
                          version if kind == "cas" else None))
        elif kind == "cas" and r < 0.4 and version > 0:
            ops.append(Op(i, client, "cas", start, end, "refused", new, None,
                          rng.randrange(version)))
        else:
            value, version = new, version + 1
            ops.append(Op(i, client, kind, start, end, "ok", new, version,
                          version - 1 if kind == "cas" else None))
    return ops


def test_a_long_history_from_the_model_passes_and_one_stale_read_fails() -> None:
    history = generate(random.Random(7), 3000)
    assert check(history) == []
    value_of = {op.version: op.value for op in history if op.outcome == "ok"}
    value_of[0] = ""
    ends = sorted((op.end, op.version or 0) for op in history if op.outcome == "ok")
    for i, op in enumerate(history):  # a read of v that started after a v was known
        if op.kind == "read" and (op.version or 0) > 0 and any(
                end < op.start and seen >= (op.version or 0) for end, seen in ends):
            v = (op.version or 0) - 1
            history[i] = replace(op, version=v, value=value_of[v])
            break
    violations = check(history)
    assert len(violations) == 1 and violations[0].startswith(f"[real time] #{i} ")


def brute_force(history: list[Op], initial: str = "") -> bool:
    """Whether some order of the operations (unknown writes included or not) that keeps real
    time gives every operation its result on a sequential register: exhaustive, tiny only."""
    ops = [op for op in history if op.outcome in ("ok", "refused") or
           (op.outcome == "unknown" and op.kind != "read")]
    must = frozenset(op.id for op in ops if op.outcome != "unknown")
    before = {op.id: frozenset(a.id for a in ops if a.finish < op.start) for op in ops}
    failed: set[tuple[frozenset[int], str, int]] = set()

    def step(op: Op, value: str, version: int) -> tuple[str, int] | None:
        if op.kind == "read":
            return (value, version) if (op.value, op.version) == (value, version) else None
        if op.outcome == "refused":
            return None if op.expected == version else (value, version)
        if op.kind == "cas" and op.expected != version:
            return None
        if op.outcome == "ok" and op.version != version + 1:
            return None
        return op.value or "", version + 1

    def search(done: frozenset[int], value: str, version: int) -> bool:
        if must <= done:
            return True
        if (done, value, version) in failed:
            return False
        for op in ops:
            after = (None if op.id in done or not before[op.id] <= done
                     else step(op, value, version))
            if after is not None and search(done | {op.id}, *after):
                return True
        failed.add((done, value, version))
        return False

    return search(frozenset(), initial, 0)


def test_the_check_agrees_with_an_exhaustive_search() -> None:
    """Small model histories, most of them damaged (a version, a time, a value changed)."""
    rng = random.Random(11)
    verdicts = {True: 0, False: 0}
    for _unused in range(400):
        history = generate(rng, 6, width=3.0)
        for _unused in range(rng.randrange(3)):
            i = rng.randrange(len(history))
            op, shift = history[i], rng.uniform(-3, 3)
            history[i] = rng.choice([
                replace(op, start=op.start + shift, end=op.end + shift),
                replace(op, version=None if op.version is None else max(0, op.version - 1)),
                replace(op, value=rng.choice(history).value) if op.kind == "read" else op])
        top = max([0, *(op.version or 0 for op in history)])
        if any(op.outcome == "refused" and (op.expected or 0) > top for op in history):
            continue  # the check also rejects expecting a version nobody saw
        linearizable = brute_force(history)
        assert (check(history) == []) == linearizable, history
        verdicts[linearizable] += 1
    assert min(verdicts.values()) > 50, verdicts


# ------------------------------------------------------------------ load, summary, main


def save(path: Path, history: list[Op], initial: str = "", version: int = 0) -> Path:
    ops = [{k: v for k, v in asdict(op).items() if k != "server" and v is not None}
           for op in history]
    path.write_text(json.dumps({"path": "/lin", "initial_value": initial,
                                "initial_version": version, "clients": {"w": "zk1:2181"},
                                "ops": ops}))
    return path


def test_load_and_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = [write(1, 0, 1, "a", 6), read(2, 2, 3, "a", 6), read(3, 4, 5, "x", 5)]
    path = save(tmp_path / "h.json", history[:2], "x", 5)
    ops, initial, version = load(path)
    assert (initial, version) == ("x", 5)
    assert ops[0] == replace(history[0], server="zk1:2181") and ops[1].server is None
    assert main([str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["linearizable"] and data["by_kind"]["write"] == {"ok": 1}
    assert data["clients"]["w"] == {"server": "zk1:2181", "operations": 1}
    assert main([str(save(tmp_path / "bad.json", history, "x", 5))]) == 1
    out = capsys.readouterr().out
    assert "[real time] #3 (r read" in out and '"violations": 1' in out


@pytest.mark.parametrize("text", ["not json", '{"ops": [{"id": 1}]}',
                                  '{"ops": [{"id": 1, "client": "c", "kind": "write", '
                                  '"start": 0, "end": 1, "outcome": "ok", "value": ""}]}'])
def test_bad_input_exits_2(tmp_path: Path, text: str) -> None:
    (tmp_path / "h.json").write_text(text)
    assert main([str(tmp_path / "h.json")]) == 2
    assert main([str(tmp_path / "missing.json")]) == 2


def test_summary_counts() -> None:
    history = [write(1, 0, 1, "a", 1), cas(2, 2, 3, "b", 0, "refused"), read(3, 4, 5, "a", 1)]
    violations = check(history)
    data = summary(history, violations)
    assert data["by_kind"]["cas"] == {"refused": 1}
    assert data["versions"] == {"lowest": 1, "highest": 1, "distinct": 1}
    assert data["violations"] == 0 and data["linearizable"]
    stale = summary(history, ["[real time] x", "[real time] y", "[read value] z"])
    assert stale["violations_by_kind"] == {"real time": 2, "read value": 1}
