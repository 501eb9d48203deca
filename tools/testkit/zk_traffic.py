"""Client traffic with a ledger, and a timeline of who led, while an ensemble is changed.

`Traffic` writes a sequential znode about `rate` times a second through one kazoo
client and records every attempt: acknowledged (with its path) or failed. A second
thread asks every known server for `srvr` ten times a second and records which one
leads and how many serve. Both threads stop when the `with` block ends or after
`limit` seconds, whichever comes first. `span(name)` marks an operation, so that its
duration, longest write gap, failures and elections can be read afterwards, and
`plot()` draws the whole run as a PNG.

Used by the Molecule tests (molecule/resources/tests) and by tools/bench/run.py; it only
ever talks to the servers it is given.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from zk_status import Server, query_all, single_leader
from zk_status import leaders as all_leaders

SAMPLE_EVERY = 0.1  # seconds between two looks at who leads
SRVR_TIMEOUT = 0.5  # per server and look; a removed host must not stall the sampler
SERVING_MODES = {"leader", "follower", "standalone"}


@dataclass
class Span:
    """One operation done while the traffic ran."""

    name: str
    start: float
    end: float = 0.0


@dataclass
class Sample:
    """Who led and how many servers served, at one instant, and the leader's epoch (the high
    32 bits of its zxid, which every election raises; None when no leader answered)."""

    at: float
    leader: str | None
    serving: int
    epoch: int | None = None
    away: tuple[str, ...] = ()  # the servers that did not serve
    # (name, epoch) of every server that said it leads: more than one of one epoch is a split
    # brain; a deposed leader of an older epoch says so until it counts its followers again.
    leading: tuple[tuple[str, int | None], ...] = ()


def leader_epoch(results: Sequence[dict[str, Any]], leader: str | None) -> int | None:
    """The epoch of `leader`'s zxid in `results` (srvr answers), if it gave one."""
    for result in results:
        if result.get("name") == leader and leader is not None:
            try:
                return int(str(result.get("zxid")), 16) >> 32
            except ValueError:
                return None
    return None


@dataclass
class Traffic:
    """A writer and a leader sampler; use as a context manager."""

    client: KazooClient
    parent: str
    servers: Callable[[], Sequence[Server]]
    rate: float = 20.0
    limit: float = 600.0
    acked: dict[str, float] = field(default_factory=dict)
    failures: list[float] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = time.monotonic()
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._write, daemon=True),
                         threading.Thread(target=self._sample, daemon=True)]

    def __enter__(self) -> Traffic:
        self.client.ensure_path(self.parent)
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        for thread in self._threads:
            thread.join(30)
        self.ended = time.monotonic()

    @contextmanager
    def span(self, name: str) -> Iterator[Span]:
        """Mark the operation done inside the block."""
        span = Span(name, time.monotonic())
        self.spans.append(span)
        try:
            yield span
        finally:
            span.end = time.monotonic()

    def _write(self) -> None:
        deadline = self.started + self.limit
        period = 1.0 / self.rate
        while not self._done.is_set() and time.monotonic() < deadline:
            began = time.monotonic()
            try:
                path = self.client.create_async(f"{self.parent}/w-", b"t", sequence=True
                                                ).get(timeout=1.0)
                self.acked[path] = time.monotonic()
            except Exception:  # not acknowledged: counted, and the next write is a new znode
                self.failures.append(time.monotonic())
            self._done.wait(max(0.0, period - (time.monotonic() - began)))

    def _sample(self) -> None:
        deadline = self.started + self.limit
        while not self._done.is_set() and time.monotonic() < deadline:
            servers = list(self.servers())
            results = query_all(servers, SRVR_TIMEOUT)
            serving = sum(1 for r in results if r["mode"] in SERVING_MODES)
            leader = single_leader(results)
            away = tuple(r["name"] for r in results if r["mode"] not in SERVING_MODES)
            leading = tuple((name, leader_epoch(results, name)) for name in all_leaders(results))
            self.samples.append(Sample(time.monotonic(), leader, serving,
                                       leader_epoch(results, leader), away, leading))
            self._done.wait(SAMPLE_EVERY)

    # ------------------------------------------------------------------ reading

    def window(self, span: Span | None = None) -> tuple[float, float]:
        if span is None:
            return self.started, getattr(self, "ended", time.monotonic())
        return span.start, span.end or time.monotonic()

    def last_acknowledged(self) -> float:
        """When the latest acknowledged write was (0.0 before the first)."""
        return max(list(self.acked.values()), default=0.0)

    def longest_gap(self, span: Span | None = None) -> float:
        """Longest time with no acknowledged write, within the span (a gap that crosses
        its start or end counts whole)."""
        start, end = self.window(span)
        times = sorted(self.acked.values())
        gaps = [b - a for a, b in zip(times, times[1:]) if b >= start and a <= end]
        return max(gaps, default=0.0)

    def acknowledged_in(self, span: Span | None = None) -> int:
        start, end = self.window(span)
        return sum(1 for t in self.acked.values() if start <= t <= end)

    def failed_in(self, span: Span | None = None) -> int:
        start, end = self.window(span)
        return sum(1 for t in self.failures if start <= t <= end)

    def leaders(self, span: Span | None = None) -> list[str | None]:
        """Who led, in order, each change once (None: no single leader)."""
        start, end = self.window(span)
        sequence: list[str | None] = []
        for sample in self.samples:
            if start <= sample.at <= end and (not sequence or sample.leader != sequence[-1]):
                sequence.append(sample.leader)
        return sequence

    def elections(self, span: Span | None = None) -> int:
        """Elections in the span: the times the leader's epoch rose, counted from the last
        epoch seen before the span. A look that found no leader (a srvr that timed out on a
        loaded machine) is no election then. Without epochs (older samples): the times a
        leader appeared after a moment without one, or another took over."""
        start, end = self.window(span)
        if any(s.epoch is not None for s in self.samples):
            before = [s.epoch for s in self.samples if s.at < start and s.epoch is not None]
            epochs = before[-1:] + [s.epoch for s in self.samples
                                    if start <= s.at <= end and s.epoch is not None]
            return sum(1 for a, b in zip(epochs, epochs[1:]) if b > a)
        sequence = self.leaders(span)
        named = [leader for leader in sequence if leader]
        changes = sum(1 for a, b in zip(named, named[1:]) if a != b)
        # The same server leading again after a moment without a leader was elected again.
        regained = sum(1 for a, b, c in zip(sequence, sequence[1:], sequence[2:])
                       if a and b is None and c == a)
        return changes + regained

    def none_serving(self, span: Span | None = None) -> bool:
        """Whether any look found no server serving."""
        start, end = self.window(span)
        return any(s.serving == 0 for s in self.samples if start <= s.at <= end)

    def longest_none_serving(self, span: Span | None = None) -> float:
        """The longest stretch with no server serving (a leader election), from the first look
        that found none to the next that found one; 0.0 when every look found one."""
        start, end = self.window(span)
        longest, since = 0.0, None
        for sample in (s for s in self.samples if start <= s.at <= end):
            if sample.serving == 0 and since is None:
                since = sample.at
            elif sample.serving > 0 and since is not None:
                longest, since = max(longest, sample.at - since), None
        if since is not None:
            longest = max(longest, end - since)
        return longest

    def away(self, span: Span | None = None) -> dict[str, list[float]]:
        """Per server that stopped serving, how long each time: from the first look that found
        it away to the next that found it serving (an election counts for every server)."""
        start, end = self.window(span)
        stretches: dict[str, list[float]] = {}
        since: dict[str, float] = {}
        for sample in (s for s in self.samples if start <= s.at <= end):
            for name in sample.away:
                since.setdefault(name, sample.at)
            for name in [n for n in since if n not in sample.away]:
                stretches.setdefault(name, []).append(sample.at - since.pop(name))
        for name, began in since.items():
            stretches.setdefault(name, []).append(end - began)
        return stretches

    def most_leaders(self, span: Span | None = None) -> int:
        """The most servers that said they lead at one look (more than one: a split brain, or
        a deposed leader not yet given up; split() and deposed() tell which)."""
        start, end = self.window(span)
        return max((len(s.leading) for s in self.samples if start <= s.at <= end), default=0)

    def split(self, span: Span | None = None) -> list[Sample]:
        """Looks with two leaders of one epoch, or with two leaders one of which gave no epoch
        (unknown counts as the same)."""
        start, end = self.window(span)
        return [s for s in self.samples if start <= s.at <= end and len(s.leading) > 1 and (
            None in (epoch for _unused, epoch in s.leading)
            or len({epoch for _unused, epoch in s.leading}) < len(s.leading))]

    def deposed(self, span: Span | None = None) -> dict[str, list[float]]:
        """Per server, how long each time it said "leader" in an epoch below the newest any
        leader had shown by then (counted from the whole run's start): from the first such look
        to the next look without it. Only stretches that overlap the span."""
        start, end = self.window(span)
        stretches: dict[str, list[float]] = {}
        since: dict[str, float] = {}
        newest = -1
        for sample in self.samples:
            newest = max([newest, *(e for _unused, e in sample.leading if e is not None)])
            stale = {n for n, e in sample.leading if e is not None and e < newest}
            for name in stale:
                since.setdefault(name, sample.at)
            for name in [n for n in since if n not in stale]:
                began = since.pop(name)
                if sample.at >= start and began <= end:
                    stretches.setdefault(name, []).append(sample.at - began)
        last = self.samples[-1].at if self.samples else end
        for name, began in since.items():
            if began <= end:
                stretches.setdefault(name, []).append(last - began)
        return stretches

    def longest_deposed(self, span: Span | None = None) -> float:
        """The longest any deposed leader still said it leads (0.0 if none did)."""
        return max((max(v) for v in self.deposed(span).values()), default=0.0)

    def fewest_serving(self, span: Span | None = None, settle: float = 1.0) -> int | None:
        """The fewest servers serving at any look outside an election (None without looks).
        A look that found none, and every look within `settle` s of one, is the election's:
        as a leader goes its followers drop out one by one, and a new leader says it leads
        before its last follower has synced."""
        start, end = self.window(span)
        looks = [s for s in self.samples if start <= s.at <= end]
        elections = [s.at for s in looks if s.serving == 0]
        counts = [s.serving for s in looks
                  if s.serving > 0 and all(abs(s.at - t) > settle for t in elections)]
        return min(counts, default=None)

    def summary(self, span: Span | None = None) -> dict[str, Any]:
        start, end = self.window(span)
        return {
            "operation": span.name if span else "whole run",
            "seconds": round(end - start, 2),
            "acknowledged": self.acknowledged_in(span),
            "failed": self.failed_in(span),
            "longest_gap_s": round(self.longest_gap(span), 2),
            "elections": self.elections(span),
            "leaders": self.leaders(span),
            "none_serving": self.none_serving(span),
            "none_serving_s": round(self.longest_none_serving(span), 2),
            "fewest_serving": self.fewest_serving(span),
            "most_leaders": self.most_leaders(span),
            "split_looks": len(self.split(span)),
            "longest_deposed_s": round(self.longest_deposed(span), 2),
        }

    def to_json(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Every figure plus the raw timeline, times in seconds from the start."""
        t0 = self.started
        data = {
            **(extra or {}),
            "summary": self.summary(),
            "operations": [self.summary(s) for s in self.spans],
            "acknowledged_at": sorted(round(t - t0, 3) for t in self.acked.values()),
            "failed_at": [round(t - t0, 3) for t in self.failures],
            "leader_samples": [[round(s.at - t0, 3), s.leader, s.serving, s.epoch,
                                [list(pair) for pair in s.leading]]
                               for s in self.samples],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n")

    def plot(self, path: Path, title: str) -> None:
        """Writes per second, failed writes per second and the leader over time, with
        each operation shaded."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        t0 = self.started
        end = self.window()[1] - t0
        bins = max(1, int(end) + 1)
        ok = [0] * bins
        bad = [0] * bins
        for t in self.acked.values():
            ok[min(bins - 1, int(t - t0))] += 1
        for t in self.failures:
            bad[min(bins - 1, int(t - t0))] += 1
        names = sorted({s.leader for s in self.samples if s.leader})
        rows = ["none", *names]
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(12, 6),
                                          gridspec_kw={"height_ratios": [3, 2]})
        top.bar(range(bins), ok, width=1.0, align="edge", color="tab:green",
                label="acknowledged writes/s")
        top.bar(range(bins), bad, width=1.0, align="edge", color="tab:red", bottom=ok,
                label="failed writes/s")
        top.set_ylabel("writes per second")
        top.legend(loc="lower left", fontsize=8)
        top.set_title(title)
        xs = [s.at - t0 for s in self.samples]
        ys = [rows.index(s.leader) if s.leader else 0 for s in self.samples]
        bottom.step(xs, ys, where="post", color="tab:blue")
        bottom.set_yticks(range(len(rows)), rows)
        bottom.set_ylabel("leader")
        bottom.set_xlabel("seconds")
        for i, span in enumerate(self.spans, start=1):
            for axis in (top, bottom):
                axis.axvspan(span.start - t0, (span.end or t0 + end) - t0, color=f"C{i % 10}",
                             alpha=0.12, zorder=0)
            top.text(span.start - t0 + 0.5, 0.97, str(i), transform=top.get_xaxis_transform(),
                     fontsize=9, va="top", fontweight="bold")
        legend = "   ".join(f"{i}: {span.name}" for i, span in enumerate(self.spans, start=1))
        fig.text(0.01, 0.005, legend, fontsize=8, va="bottom", wrap=True)
        bottom.set_xlim(0, end)
        fig.tight_layout(rect=(0, 0.04 if self.spans else 0, 1, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)


def first_acknowledged(client: KazooClient, prefix: str, limit: float,
                       clock: Callable[[], float] = time.monotonic) -> tuple[str, float] | None:
    """Create sequential znodes `prefix`N until ZooKeeper acknowledges one, for at most
    `limit` seconds; its path and `clock()` at the acknowledgement, or None. (An attempt whose
    answer was lost may still have been applied: each attempt writes a new znode, so the first
    acknowledgement is the one measured.)"""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            path = client.create_async(prefix, b"after failover", sequence=True).get(timeout=1.0)
            return path, clock()
        except Exception:  # not acknowledged: the survivors are still electing
            time.sleep(0.05)
    return None


def missing(client: KazooClient, parent: str, acked: dict[str, float]) -> list[str]:
    """The acknowledged znodes of `parent` that the server `client` talks to lacks."""
    client.sync(parent)
    present = {f"{parent}/{child}" for child in client.get_children(parent)}
    return sorted(set(acked) - present)
