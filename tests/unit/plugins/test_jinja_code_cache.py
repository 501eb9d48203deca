"""The compiled-code cache (plugins/plugin_utils/jinja_code_cache.py): code read from it renders
exactly what compiling renders, also where Ansible compiles the same text two ways; a
directory another user could write to is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugins import COLLECTIONS, local_play

# In a fresh interpreter (as a worker): render CASES with Ansible's Templar, with the cache in
# the directory argv[2] or (argv[2] == "") without it; print the results and the cache's counts.
RENDER = r"""
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from pathlib import Path
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
try:
    from ansible.template import trust_as_template
except ImportError:  # before ansible-core 2.19 every string is a template
    trust_as_template = lambda text: text
from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import jinja_code_cache as cache
if sys.argv[2]:
    cache.install()
    cache.load(Path(sys.argv[2]))
templar = Templar(loader=DataLoader(), variables={
    "members": [{"id": 2, "name": "b"}, {"id": 1, "name": "a"}], "port": 2181, "line": "3.4"})
results = []
for text, escape in json.loads(sys.argv[3]):
    try:
        value = templar.template(trust_as_template(text), escape_backslashes=escape)
    except Exception as exc:
        value = "error: " + type(exc).__name__
    results.append(value)
if hasattr(templar, "evaluate_conditional"):
    conditional = templar.evaluate_conditional(trust_as_template("line is version('3.5', '<')"))
else:  # ansible-core 2.16 renders a condition as a template
    conditional = templar.template(
        "{% if line is version('3.5', '<') %}True{% else %}False{% endif %}")
print(json.dumps({"results": results, "conditional": conditional, "stats": cache.stats()}))
"""

# Templates and the backslash escaping Ansible compiles them with. The same text with escaping
# on and off renders differently: a cache keyed on the text alone hands one the other's code.
CASES = [
    ["{{ members | sort(attribute='id') | map(attribute='name') | join(',') }}", True],
    ["server.{{ members[0].id }}={{ members[0].name }}:{{ port + 1 }}", True],
    ["{% for m in members %}{{ m.id }}\n{% endfor %}", True],
    ["{{ 'a\\tb' | length }}", True],
    ["{{ 'a\\tb' | length }}", False],
    ["{{ 'x\\\\y' }}", False],
    ["{{ 'x\\\\y' }}", True],
    ["{{ missing | default('none') }} {{ line is version('3.5', '<') }}", True],
    ["{{ port | int + }}", True],
]


def _render(cache_dir: str, python: str = sys.executable) -> dict:
    proc = subprocess.run([python, "-c", RENDER, str(COLLECTIONS), cache_dir,
                           json.dumps(CASES)], capture_output=True, text=True, check=False,
                          timeout=120, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_code_from_the_cache_renders_what_compiling_renders(tmp_path: Path) -> None:
    cache_dir = tmp_path / "code"
    plain = _render("")
    cold = _render(str(cache_dir))   # compiles, and writes what it compiled
    warm = _render(str(cache_dir))   # a later run: reads it all
    assert plain["results"][3:5] == [4, 3]  # escaping on and off do differ
    assert plain["results"][-1].startswith("error")
    assert cold["results"] == plain["results"] and warm["results"] == plain["results"]
    assert cold["conditional"] is warm["conditional"] is plain["conditional"] is True
    assert cold["stats"]["misses"] > 0
    assert warm["stats"]["misses"] == 0 and warm["stats"]["hits"] >= len(CASES) - 1
    entries = sorted(os.listdir(cache_dir))
    assert len(entries) == cold["stats"]["misses"] and not [e for e in entries if e[0] == "."]
    assert (cache_dir.stat().st_mode & 0o777) == 0o700


def test_a_torn_entry_is_compiled_again(tmp_path: Path) -> None:
    cache_dir = tmp_path / "code"
    plain = _render("")
    _render(str(cache_dir))
    for entry in cache_dir.iterdir():
        entry.write_bytes(entry.read_bytes()[:7])
    again = _render(str(cache_dir))
    assert again["results"] == plain["results"]
    assert again["stats"]["hits"] == 0 and again["stats"]["misses"] > 0


def test_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    from ansible_collections.zkops.zookeeper34.plugins.plugin_utils import jinja_code_cache

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(jinja_code_cache.UnsafeCacheError, match="chmod go-w"):
        jinja_code_cache.load(shared)
    assert list(shared.iterdir()) == []


def test_a_playbook_run_warns_of_it_and_runs_as_without(tmp_path: Path) -> None:
    play = """
- name: A template in a worker
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Render
      ansible.builtin.debug:
        msg: "{{ [3, 1, 2] | sort | join('-') }}"
"""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    outputs = [local_play(tmp_path, play, ZKOPS_CACHE_DIR=cache_dir,
                          ANSIBLE_CALLBACKS_ENABLED="zkops.zookeeper34.preload")
               for cache_dir in (str(shared), str(tmp_path / "own"), str(tmp_path / "own"))]
    assert "not using the cache" in outputs[0].stderr and "chmod go-w" in outputs[0].stderr
    assert list(shared.iterdir()) == []
    assert '"msg": "1-2-3"' in outputs[0].stdout
    assert outputs[1].stdout == outputs[2].stdout == outputs[0].stdout
    assert len(list((tmp_path / "own" / "jinja-code").iterdir())) > 0


def test_an_entry_unused_for_a_week_is_removed_and_a_use_keeps_one(tmp_path: Path) -> None:
    """Entries of templates no run uses any more do not pile up (each is read before every
    run's first task): one unused for over a week goes when the directory is read; a use marks
    an entry whose mark is over a day old, and none younger (no write at each use)."""
    cache_dir = tmp_path / "code"
    _render(str(cache_dir))
    entries = sorted(cache_dir.iterdir())
    assert len(entries) >= 4
    day = 24 * 3600
    now = time.time()
    stale, old, recent = entries[0], entries[1], entries[2]
    os.utime(stale, (now - 8 * day, now - 8 * day))
    for entry in entries[1:]:
        os.utime(entry, (now - 2 * day, now - 2 * day))
    os.utime(recent, (now - 3600, now - 3600))
    # Entries of templates this run does not render: one unused for eight days, one for two.
    gone, idle = cache_dir / ("0" * 64), cache_dir / ("1" * 64)
    for entry, age in ((gone, 8 * day), (idle, 2 * day)):
        entry.write_bytes(stale.read_bytes())
        os.utime(entry, (now - age, now - age))
    again = _render(str(cache_dir))
    assert not gone.exists(), "an entry unused for eight days was kept"
    assert abs(idle.stat().st_mtime - (now - 2 * day)) < 2
    # The eight-day-old entry was not read: its template was compiled again (and written anew);
    # every other one came from the cache.
    assert again["stats"]["misses"] == 1, again["stats"]
    assert stale.stat().st_mtime > now - 60
    assert old.stat().st_mtime > now - 60, "a two-day-old entry that was used was not marked"
    assert abs(recent.stat().st_mtime - (now - 3600)) < 2, "a fresh mark was written again"
