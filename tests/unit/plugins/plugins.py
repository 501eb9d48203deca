"""The collection's plugins for unit tests, imported from this checkout by their collection
names (``ansible_collections.zkops.zookeeper34.plugins.*``), as Ansible and AnsiballZ import them:
.collections/ansible_collections/zkops/zookeeper34 links back to the checkout, and pytest.ini puts
.collections on the path."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from collections.abc import Sequence
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".collections"
PACKAGE = "ansible_collections.zkops.zookeeper34"
PLUGINS = REPO / "plugins"
MODULES = PLUGINS / "modules"
MODULE_UTILS = PLUGINS / "module_utils"
PLUGIN_UTILS = PLUGINS / "plugin_utils"
ROLE = REPO / "roles" / "zookeeper"


def plugin(kind: str, name: str) -> ModuleType:
    """plugins/<kind>/<name>.py by its collection name: module_utils("zookeeper_4lw") is
    ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_4lw."""
    return importlib.import_module(f"{PACKAGE}.plugins.{kind}.{name}")


def module(name: str) -> ModuleType:
    """plugins/modules/<name>.py (its module_utils imported by their collection names)."""
    return plugin("modules", name)


def module_util(name: str) -> ModuleType:
    return plugin("module_utils", name)


def filter_code(name: str) -> ModuleType:
    """plugins/plugin_utils/<name>.py, the code behind the zookeeper role's filters."""
    return plugin("plugin_utils", name)


# A module as its own process: its module_utils (which AnsiballZ would bundle) imported from the
# checkout by their collection names, after a setup (Python run first: a stand-in, say).
_MODULE_MAIN = """
import runpy, sys
sys.path.insert(0, sys.argv[1])
exec(sys.argv[2])
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_module(name: str, tmp_path: Path, args: dict[str, Any], check: bool = False,
               diff: bool = False, setup: str = "", env: dict[str, str] | None = None,
               prefix: Sequence[str] = ()) -> dict:
    """plugins/modules/<name>.py run as Ansible runs it, a Python process given its arguments
    as JSON (tmp_path its temporary directory): its JSON result. `setup` is Python run before
    the module, `env` what the environment has besides this one's, `prefix` the command that
    runs it (unshare, say)."""
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        **args, "_ansible_check_mode": check, "_ansible_diff": diff,
        "_ansible_tmpdir": str(tmp_path), "_ansible_remote_tmp": str(tmp_path)}}))
    command = [*prefix, sys.executable, "-c", _MODULE_MAIN, str(COLLECTIONS), setup,
               str(MODULES / f"{name}.py"), str(path)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **(env or {})})
    return json.loads(proc.stdout)


# A stand-in `systemctl` for modules that drive the ZooKeeper unit: the unit's state is a file
# each for active, enabled, "the unit file changed on disk" (reload), "its start fails"
# (broken) and "its enable fails" (enable-fails; an enable reloads, as systemctl's does), and
# every call is logged to state/calls (a start also logs whether the path in
# $WATCH exists then).
_SYSTEMCTL = r"""#!/bin/sh
state="$(dirname "$0")/state"
echo "$*" >> "$state/calls"
flag() { [ -e "$state/$1" ] && echo "$2" || echo "$3"; }
case "$1" in
  show)
    echo "UnitFileState=$(flag enabled enabled disabled)"
    echo "ActiveState=$(flag active active inactive)"
    echo "MainPID=$(flag active 4242 0)"
    echo "ExecMainStartTimestampMonotonic=$(flag active 1000000 0)"
    echo "NeedDaemonReload=$(flag reload yes no)" ;;
  daemon-reload) rm -f "$state/reload" ;;
  enable)
    if [ -e "$state/enable-fails" ]; then echo "Failed to enable unit: $2.service" >&2; exit 1; fi
    touch "$state/enabled"; rm -f "$state/reload" ;;
  disable) rm -f "$state/enabled" ;;
  start)
    if [ -n "${WATCH:-}" ] && [ -e "$WATCH" ]; then
      echo "start: $WATCH exists" >> "$state/calls"
    fi
    if [ -e "$state/broken" ]; then echo "Job for $2.service failed." >&2; exit 1; fi
    touch "$state/active" ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"""


# ... and its journal: one line saying what failed, as systemd logs it.
_JOURNALCTL = r"""#!/bin/sh
echo "journalctl $*"
echo "zookeeper.service: Control process exited, code=exited, status=1/FAILURE"
"""


def systemctl_stand_in(tmp_path: Path, *flags: str) -> Path:
    """A directory to put first on PATH, whose `systemctl` and `journalctl` are the stand-ins
    above, its unit's state the `flags` given (active, enabled, reload, broken, enable-fails);
    systemctl's calls go to state/calls."""
    bin_dir = tmp_path / "bin"
    (bin_dir / "state").mkdir(parents=True)
    (bin_dir / "systemctl").write_text(_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    (bin_dir / "journalctl").write_text(_JOURNALCTL)
    (bin_dir / "journalctl").chmod(0o755)
    for flag in flags:
        (bin_dir / "state" / flag).touch()
    return bin_dir


def gpg(home: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """gpg's output, run in batch mode with `home` (made when missing) as its home."""
    home.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], input=stdin,
                          capture_output=True, timeout=120, check=True).stdout


def in_fresh_python(script: str, *args: str) -> Any:
    """What `script` prints last (JSON), run in a fresh interpreter given the collections (its
    first argument) and `args`."""
    proc = subprocess.run([sys.executable, "-c", script, str(COLLECTIONS), *args],
                          capture_output=True, text=True, check=False, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def isolated_env(tmp_path: Path, collections: str = str(COLLECTIONS)) -> dict[str, str]:
    """The environment of an ansible-playbook run of a test: an empty ansible.cfg in tmp_path,
    none of the caller's ANSIBLE_* variables, `collections` as the collections path."""
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=collections)
    return env


def local_play(tmp_path: Path, play: str, **env: str) -> subprocess.CompletedProcess:
    """ansible-playbook of `play` (YAML text) on localhost with this Python and the local
    connection, the checkout as the collection, an empty ansible.cfg, none of the caller's
    ANSIBLE_* variables, and the preload callback's caches (when `env` enables it) in tmp_path
    unless `env` names another ZKOPS_CACHE_DIR. It must succeed."""
    (tmp_path / "play.yml").write_text(play)
    full = isolated_env(tmp_path)
    full.update(ZKOPS_CACHE_DIR=str(tmp_path / "cache"))
    full.update(env)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(tmp_path / "play.yml"), "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, env=full, check=False, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


# An SSH address nothing listens on (loopback's discard port): a play's host there is
# unreachable as soon as a task contacts it, so a play that ends without "UNREACHABLE" did not.
NOWHERE = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}


def inventory_play(tmp_path: Path, play: str, inventory: dict[str, Any]) -> tuple[int, str]:
    """ansible-playbook of `play` (YAML text) on `inventory` (group `all`: its hosts, children
    and vars) with this Python, the checkout as the collection, an empty ansible.cfg and none of
    the caller's ANSIBLE_* variables: its return code and output. No host may be unreachable."""
    top = dict(inventory, vars={"ansible_python_interpreter": sys.executable,
                                **inventory.get("vars", {})})
    inventory = {"all": top}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(play)
    env = isolated_env(tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i",
         str(tmp_path / "inventory.json"), str(tmp_path / "play.yml")],
        capture_output=True, text=True, env=env, check=False, timeout=180, cwd=REPO)
    output = proc.stdout + proc.stderr
    assert "UNREACHABLE" not in output, output
    return proc.returncode, output


def reported(output: str) -> Any:
    """What a play's `debug` printed as "RESULT <json>" (None when it did not get there)."""
    found = re.search(r'"RESULT (\{.*\})"', output)
    return json.loads(found[1].replace('\\"', '"')) if found else None


def reported_numbers(output: str) -> dict[str, Any] | None:
    """`reported`, each text of digits as the number (ansible-core before 2.19 renders a
    variable's template as text: "17" for 17)."""
    got = reported(output)
    return None if got is None else {
        k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in got.items()}
