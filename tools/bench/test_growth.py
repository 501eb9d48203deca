"""Unit tests of tools/bench/growth.py: the forks settings and the growth table."""

from __future__ import annotations

from typing import Any

from bench import growth as bench_growth


def point(shape: str, hosts: int, forks: int, wall: list[float], cpu: list[float],
          error: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"shape": shape, "hosts": hosts, "forks": forks, "wall_s": wall,
                            "healthy_s": [w - 1.0 for w in wall], "cpu_s": cpu}
    if error:
        data["error"] = error
    return data


def test_growth_forks() -> None:
    assert bench_growth.growth_forks(20) == [20]
    assert bench_growth.growth_forks(5) == [5, 20]
    assert bench_growth.growth_forks(50) == [20, 50]


def test_default_shapes() -> None:
    assert [s.short for s in bench_growth.DEFAULT_SHAPES] == ["1x3", "1x5", "1x7", "1x9", "3x3"]


def test_growth_rows_give_the_wall_ratio_to_three_hosts_with_the_same_forks() -> None:
    points = [point("1x3", 3, 5, [20.0, 22.0, 21.0], [10.0]),
              point("1x3", 3, 20, [20.0], [10.5]),
              point("1x9", 9, 5, [42.0], [30.0]),
              point("1x9", 9, 20, [30.0], [29.0]),
              point("3x3", 9, 20, [31.0], [28.0])]
    assert bench_growth.growth_rows(points) == [
        ["3", "1x3", "5", "21.00", "20.00", "10.00", "1.00x"],
        ["3", "1x3", "20", "20.00", "19.00", "10.50", "1.00x"],
        ["9", "1x9", "5", "42.00", "41.00", "30.00", "2.00x"],
        ["9", "1x9", "20", "30.00", "29.00", "29.00", "1.50x"],
        ["9", "3x3", "20", "31.00", "30.00", "28.00", "1.55x"]]


def test_growth_rows_without_a_baseline_or_values() -> None:
    points = [point("1x5", 5, 20, [25.0], [12.0]),
              point("3x3", 9, 20, [], [], error="site.yml failed (exit 2)\nits end")]
    assert bench_growth.growth_rows(points) == [
        ["5", "1x5", "20", "25.00", "24.00", "12.00", "-"],
        ["9", "3x3", "20", "-", "-", "-", "-", "error: site.yml failed (exit 2)"]]


def test_growth_table_lines_up() -> None:
    points = [point("1x3", 3, 20, [20.0], [10.0]), point("1x5", 5, 20, [26.0], [13.25])]
    lines = bench_growth.growth_table(points).splitlines()
    assert lines[0].split() == ["HOSTS", "SHAPE", "FORKS", "WALL", "S", "QUORUM", "S",
                                "CONTROLLER", "CPU", "S", "WALL", "/", "3", "HOSTS"]
    assert lines[2].split() == ["5", "1x5", "20", "26.00", "25.00", "13.25", "1.30x"]
    # right-aligned numbers: every row ends at the same column
    assert len({len(line) for line in lines}) == 1
