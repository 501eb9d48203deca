"""Tests of zk_traffic's reading of a run (gaps, failures, elections) and its plot."""

from __future__ import annotations

import json
from pathlib import Path

from testkit.zk_traffic import Sample, Span, Traffic, leader_epoch


def run() -> Traffic:
    """A made-up run: writes every 0.05 s from t=100 to t=110 except 104.0-105.5, with a
    failure at 104.5, zk1 leading, nobody at 104.2-104.9, then zk2."""
    traffic = Traffic(client=None, parent="/t", servers=list)  # type: ignore[arg-type]
    traffic.started, traffic.ended = 100.0, 110.0
    times = [100 + i * 0.05 for i in range(200)]
    traffic.acked = {f"/t/w-{i:010d}": t for i, t in enumerate(times) if not 104 < t < 105.5}
    traffic.failures = [104.5]
    traffic.samples = [Sample(100 + i * 0.1, "zk1" if i < 42 else None if i < 50 else "zk2",
                              3 if i < 42 else 0 if i < 50 else 3) for i in range(100)]
    traffic.spans = [Span("change", 103.0, 106.0), Span("quiet", 107.0, 109.0)]
    return traffic


def test_longest_gap_and_counts_per_span() -> None:
    traffic = run()
    change, quiet = traffic.spans
    assert 1.5 <= traffic.longest_gap(change) <= 1.55
    assert traffic.longest_gap(quiet) < 0.06
    assert traffic.failed_in(change) == 1 and traffic.failed_in(quiet) == 0
    assert traffic.acknowledged_in(quiet) == 41
    assert traffic.last_acknowledged() == max(traffic.acked.values())


def test_elections_leaders_and_moments_without_a_server() -> None:
    traffic = run()
    change, quiet = traffic.spans
    assert traffic.leaders(change) == ["zk1", None, "zk2"]
    assert traffic.elections(change) == 1
    assert traffic.elections(quiet) == 0
    assert traffic.none_serving(change) and not traffic.none_serving(quiet)
    # Nobody from the look at 104.2 to the next that found a server, at 105.0.
    assert abs(traffic.longest_none_serving(change) - 0.8) < 1e-6
    assert traffic.longest_none_serving(quiet) == 0.0
    assert traffic.fewest_serving(change) == 3


def test_fewest_serving_outside_an_election_and_a_stretch_reaching_the_end() -> None:
    traffic = run()
    traffic.samples[10].serving = 2  # one server away at t=101
    traffic.samples[95:] = [Sample(109.5 + i * 0.1, None, 0) for i in range(5)]
    assert traffic.fewest_serving() == 2
    assert abs(traffic.longest_none_serving() - 0.8) < 1e-6  # 104.2-105.0, not 109.5-110.0
    assert abs(traffic.longest_none_serving(Span("end", 109.0, 110.0)) - 0.5) < 1e-6


def test_the_looks_next_to_an_election_are_the_elections() -> None:
    """One server serving just before and after nobody does (followers leaving, the new leader
    before its follower synced) is the election; two away a while later is not."""
    traffic = run()  # nobody serving at 104.2-104.9
    traffic.samples[41].serving = 1  # 104.1
    traffic.samples[50].serving = 1  # 105.0
    assert traffic.fewest_serving() == 3
    traffic.samples[61].serving = 1  # 106.1, 1.2 s after the last look that found none
    assert traffic.fewest_serving() == 1
    assert traffic.fewest_serving(settle=1.5) == 3


def test_how_long_each_server_was_away() -> None:
    traffic = run()
    traffic.samples = [Sample(100.0, "zk1", 3), Sample(100.1, "zk1", 2, away=("zk2",)),
                       Sample(100.2, "zk1", 2, away=("zk2",)), Sample(100.3, "zk1", 3),
                       Sample(100.4, None, 0, away=("zk1", "zk2", "zk3")),
                       Sample(100.5, "zk2", 2, away=("zk1",)), Sample(100.9, "zk2", 3)]
    away = traffic.away()
    assert [round(s, 2) for s in away["zk2"]] == [0.2, 0.1]
    assert [round(s, 2) for s in away["zk1"]] == [0.5]
    assert [round(s, 2) for s in away["zk3"]] == [0.1]


def test_the_same_leader_elected_again_counts() -> None:
    traffic = run()
    traffic.samples = [Sample(101, "zk1", 3), Sample(102, None, 0), Sample(103, "zk1", 3)]
    assert traffic.elections() == 1


def test_elections_are_rises_of_the_leaders_epoch_when_known() -> None:
    """A look that found no leader (a timed-out srvr) between two of the same epoch is no
    election; a new epoch is one, the same leader's included."""
    traffic = run()
    traffic.samples = [Sample(101, "zk1", 3, 5), Sample(102, None, 2), Sample(103, "zk1", 3, 5),
                       Sample(104, None, 0), Sample(105, "zk1", 3, 6), Sample(106, "zk2", 3, 7),
                       Sample(107, "zk2", 3, 7)]
    assert traffic.elections(Span("blip", 101.5, 103.5)) == 0
    assert traffic.elections(Span("twice", 101.5, 106.5)) == 2
    assert traffic.elections(Span("after", 106.5, 108)) == 0


def test_the_epoch_comes_from_the_leaders_zxid() -> None:
    results = [{"name": "zk1", "mode": "follower", "zxid": "0x500000003"},
               {"name": "zk2", "mode": "leader", "zxid": "0x600000001"}]
    assert leader_epoch(results, "zk2") == 6
    assert leader_epoch(results, None) is None
    assert leader_epoch([{"name": "zk2", "zxid": None}], "zk2") is None


def deposed_run() -> Traffic:
    """The looks of a 3 -> 5 change cut in two (CI of 00acd4e): zookeeper02 led epoch 3, was
    cut off, zookeeper01 was elected in epoch 4 on the other side, and zookeeper02 still said
    it leads in epoch 3 for 1.2 s, until it counted its followers."""
    traffic = run()
    z1, z2 = "zookeeper01", "zookeeper02"
    traffic.samples = [Sample(101.0, z2, 3, 3, leading=((z2, 3),)),
                       Sample(101.1, None, 1, away=(z1, "zookeeper03")),
                       Sample(102.0, z1, 2, 4, leading=((z1, 4),)),
                       Sample(102.1, None, 2, leading=((z2, 3), (z1, 4))),
                       Sample(102.5, None, 2, leading=((z1, 4), (z2, 3))),
                       Sample(103.3, z1, 3, 4, leading=((z1, 4),)),
                       Sample(104.0, z1, 3, 4, leading=((z1, 4),))]
    return traffic


def test_a_deposed_leader_is_no_split_and_how_long_it_said_so() -> None:
    traffic = deposed_run()
    assert traffic.most_leaders() == 2
    assert traffic.split() == []
    deposed = traffic.deposed()
    assert list(deposed) == ["zookeeper02"] and abs(deposed["zookeeper02"][0] - 1.2) < 1e-6
    assert abs(traffic.longest_deposed(Span("cut", 102.2, 102.4)) - 1.2) < 1e-6
    assert traffic.deposed(Span("later", 103.5, 104.5)) == {}
    assert traffic.summary()["split_looks"] == 0
    assert traffic.summary()["longest_deposed_s"] == 1.2


def test_two_leaders_of_one_epoch_or_of_an_unknown_one_are_a_split() -> None:
    traffic = deposed_run()
    traffic.samples[3].leading = (("zookeeper02", 4), ("zookeeper01", 4))
    assert traffic.split() == [traffic.samples[3]]
    traffic.samples[3].leading = (("zookeeper02", None), ("zookeeper01", 4))
    assert traffic.split() == [traffic.samples[3]]
    assert traffic.split(Span("before", 100.0, 102.05)) == []


def test_a_deposed_leader_that_never_gave_up_counts_to_the_last_look() -> None:
    traffic = deposed_run()
    for sample in traffic.samples[3:]:
        sample.leading = (("zookeeper01", 4), ("zookeeper02", 3))
    assert abs(traffic.longest_deposed() - 1.9) < 1e-6


def test_two_majorities_leading_through_a_partition_exceed_the_deposed_bound() -> None:
    """The split a membership change must never make: each side of a 15 s partition a majority
    of its own member list, each with a leader of its own epoch. No look has two leaders of one
    epoch, but the older epoch's leader says so for the whole cut, far past syncLimit x
    tickTime + 1 s (5 s with the role's defaults), which the membership tests assert."""
    traffic = run()
    both = (("zookeeper02", 3), ("zookeeper04", 4))
    traffic.samples = [Sample(100 + i * 0.1, None, 4, leading=both) for i in range(150)]
    traffic.samples.append(Sample(115.0, "zookeeper04", 5, 4, leading=(("zookeeper04", 4),)))
    assert traffic.split() == []
    assert traffic.longest_deposed() > 14.9 > 5.0
    assert list(traffic.deposed()) == ["zookeeper02"]


def test_json_and_plot(tmp_path: Path) -> None:
    traffic = run()
    traffic.to_json(tmp_path / "run.json", {"parent": "/t"})
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["parent"] == "/t"
    assert [o["operation"] for o in data["operations"]] == ["change", "quiet"]
    assert data["summary"]["failed"] == 1
    assert len(data["acknowledged_at"]) == len(traffic.acked)
    traffic.plot(tmp_path / "run.png", "test run")
    assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
