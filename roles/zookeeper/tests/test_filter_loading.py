"""The role's one filter file (filter_plugins/zookeeper.py) names every filter of impl/ and
loads a module of impl/ only when a task applies one of its filters: Ansible loads the filter
file in every worker process, and most workers apply none of these filters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from role_modules import load

FILTER_DIR = Path(__file__).resolve().parent.parent / "filter_plugins"


def test_every_filter_of_impl_is_named_once_with_its_module() -> None:
    entry = load("zookeeper_filter_entry_test", FILTER_DIR / "zookeeper.py")
    found = {}
    for path in sorted((FILTER_DIR / "impl").glob("*.py")):
        for name in load(f"zookeeper_filter_impl_test_{path.stem}", path).FILTERS:
            assert name not in found, f"{name} is in impl/{found.get(name)}.py and {path.name}"
            found[name] = path.stem
    assert entry.FILTERS == found
    assert set(entry.FilterModule().filters()) == set(found)


PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("entry", sys.argv[1])
entry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(entry)
loaded = lambda: sorted(m for m in sys.modules if m.startswith("_zookeeper_filters_"))
filters = entry.FilterModule().filters()
before = loaded()
zxid = filters["zookeeper_zxid"]("0x300000012")
after_one = loaded()
try:
    filters["zookeeper_value_problems"]({}, "zookeeper01")
    error = None
except Exception as exc:
    error = type(exc).__name__
print(json.dumps({"before": before, "after_one": after_one, "zxid": zxid,
                  "after_two": loaded(), "error": error}))
"""


def test_a_module_of_impl_is_loaded_by_the_first_use_of_its_filters_only() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(FILTER_DIR / "zookeeper.py")],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    seen = json.loads(out)
    assert seen["before"] == [], "the filter file loaded impl/ before any filter was applied"
    assert seen["after_one"] == ["_zookeeper_filters_zookeeper_restore"]
    assert seen["zxid"] == (3 << 32) + 0x12
    assert seen["after_two"] == ["_zookeeper_filters_zookeeper_restore",
                                 "_zookeeper_filters_zookeeper_values"]


def test_a_module_that_fails_to_load_is_not_kept_half_loaded(tmp_path: Path) -> None:
    (tmp_path / "impl").mkdir()
    (tmp_path / "zookeeper.py").write_text((FILTER_DIR / "zookeeper.py").read_text())
    (tmp_path / "impl" / "zookeeper_values.py").write_text("raise RuntimeError('broken')\n")
    entry = load("zookeeper_filter_entry_broken_test", tmp_path / "zookeeper.py")
    apply = entry.FilterModule().filters()["zookeeper_value_problems"]
    for _ in range(2):  # the second call loads again instead of using a half-run module
        with pytest.raises(RuntimeError, match="broken"):
            apply({}, "zookeeper01")
    assert "_zookeeper_filters_zookeeper_values" not in sys.modules
