"""The playbooks on every supported ansible-core: a fresh lab, a converge, a no-op re-run.

For each ansible-core minor version (default 2.16 2.17 2.18 2.19), one after the other:

1. a virtualenv `.venv-core/<version>` with `ansible-core==<version>.*`, created once and
   reused afterwards (keyed on the version; `--refresh` re-installs it). ansible-core brings
   everything the playbooks import on the controller (jinja2, PyYAML); kazoo and the rest of
   requirements.txt and requirements-dev.txt are for zk-status and the tests;
2. a fresh lab `core` (10.213.22.0/24): `tools/lab down`, then `tools/lab up` writes its
   inventory (the lab mirror's zookeeper_version 3.4.13 and zookeeper_mirror, the SSH settings)
   to `.lab/core-matrix/hosts.yml`. Fresh hosts for every version: the converge is the real one;
3. `playbooks/site.yml` with that virtualenv's ansible-playbook (ANSIBLE_CONFIG=ansible.cfg),
   timed: the converge; it must exit 0;
4. `site.yml` again, timed: the no-op run; it must exit 0 with changed=0 on every host;
5. the ensemble (zk_status): one leader, the others followers.

A table (version, the exact ansible-core, converge and no-op seconds, result) is printed and
results/core-matrix.json written, with each run's log in results/core-matrix/. The lab is
removed at the end unless --keep. Exit 0 when every version passed, 1 when one failed (the
others still run), 2 for a usage error, 130 when interrupted.

Run it with the repository's virtualenv: `make core-matrix` (CORE_VERSIONS="2.16 2.19").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from testkit.playbook_output import changed_tasks, changed_total, parse_recap, strip_ansi

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VERSIONS = ("2.16", "2.17", "2.18", "2.19")
LAB_NAME = "core"
LAB_SUBNET = "10.213.22.0/24"
LAB_TOOL = REPO / "tools" / "lab"
VENV_ROOT = REPO / ".venv-core"
INVENTORY = REPO / ".lab" / "core-matrix" / "hosts.yml"
PLAYBOOK = REPO / "playbooks" / "site.yml"
DEFAULT_RESULTS = REPO / "results" / "core-matrix.json"
# Written into a virtualenv once its install succeeded; it holds the requirement installed.
VENV_MARKER = ".core-matrix-installed"

PLAYBOOK_TIMEOUT = 1200.0  # a converge installs Java from the Debian mirror
LAB_TIMEOUT = 3600.0  # the first `up` may build the image and the mirror
PIP_TIMEOUT = 900.0
HEALTHY_LIMIT = 60.0  # the role waits for every server; this only allows for a slow look
POLL_EVERY = 1.0
SRVR_TIMEOUT = 2.0
OUTPUT_TAIL = 3000

VERSION = re.compile(r"^2\.(\d+)$")
CORE_VERSION_LINE = re.compile(r"^ansible-playbook \[core (?P<version>[^\]]+)\]", re.MULTILINE)

RESULT_PASSED = "passed"


class MatrixError(RuntimeError):
    """A step of one version failed; that version's result says which and why."""


# --------------------------------------------------------------------------- pure parts

def parse_version(text: str) -> str:
    """argparse type: an ansible-core minor version, `2.16`; anything else is refused."""
    match = VERSION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ansible-core minor version such as 2.16")
    return f"2.{int(match[1])}"


def requirement(version: str) -> str:
    """The pip requirement of a version: `ansible-core==2.16.*`."""
    return f"ansible-core=={version}.*"


def venv_dir(version: str, root: Path = VENV_ROOT) -> Path:
    """Where the virtualenv of a version lives."""
    return root / version


def venv_ready(path: Path, version: str) -> bool:
    """True when `path` holds a finished install of `version` (its marker says so)."""
    marker = path / VENV_MARKER
    return (path / "bin" / "ansible-playbook").is_file() and marker.is_file() and (
        marker.read_text().strip() == requirement(version))


def parse_core_version(output: str) -> str | None:
    """The exact version from `ansible-playbook --version`: `2.16.19`."""
    match = CORE_VERSION_LINE.search(strip_ansi(output))
    return match["version"] if match else None


def warnings(output: str) -> list[str]:
    """Ansible's [WARNING] and [DEPRECATION WARNING] lines, once each, in order."""
    found: list[str] = []
    for raw in strip_ansi(output).splitlines():
        line = raw.strip()
        if line.startswith(("[WARNING]", "[DEPRECATION WARNING]")) and line not in found:
            found.append(line)
    return found


def leader_and_followers(modes: Sequence[str | None]) -> bool:
    """Exactly one leader and every other member a follower."""
    return bool(modes) and modes.count("leader") == 1 and (
        modes.count("follower") == len(modes) - 1)


@dataclass
class VersionResult:
    """What one ansible-core version did."""

    version: str
    core: str | None = None  # the exact ansible-core installed, e.g. 2.16.19
    converge_s: float | None = None
    converge_changed: int | None = None
    noop_s: float | None = None
    noop_changed: int | None = None
    noop_changed_tasks: list[str] = field(default_factory=list)
    modes: dict[str, str | None] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # the 1, 5, 15 min load average at the start
    warnings: list[str] = field(default_factory=list)
    result: str = "not run"
    error: str | None = None
    logs: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.result == RESULT_PASSED


def format_seconds(value: float | None) -> str:
    """A table cell: seconds with one decimal, `-` when not measured."""
    return "-" if value is None else f"{value:.1f}"


TABLE_HEADER = ("VERSION", "ANSIBLE-CORE", "CONVERGE (s)", "NO-OP (s)", "NO-OP CHANGED", "RESULT")


def table_rows(results: Sequence[VersionResult]) -> list[list[str]]:
    """The cells of the table, one row per version."""
    return [[r.version, r.core or "-", format_seconds(r.converge_s), format_seconds(r.noop_s),
             "-" if r.noop_changed is None else str(r.noop_changed), r.result]
            for r in results]


def format_table(results: Sequence[VersionResult]) -> str:
    """Aligned columns: text left, numbers right."""
    table = [list(TABLE_HEADER), *table_rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(len(TABLE_HEADER))]
    right = {2, 3, 4}
    lines = []
    for row in table:
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def document(results: Sequence[VersionResult], total_s: float, started: str,
             host: dict[str, Any]) -> dict[str, Any]:
    """The JSON written to results/core-matrix.json."""
    return {
        "started": started,
        "total_s": round(total_s, 1),
        "passed": all(r.passed for r in results) and bool(results),
        "lab": {"name": LAB_NAME, "subnet": LAB_SUBNET},
        "controller": host,
        "note": "each version on fresh lab hosts, one after the other; seconds from one run",
        "versions": [asdict(r) for r in results],
    }


def tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    """The end of a long output."""
    return text if len(text) <= limit else "..." + text[-limit:]


# --------------------------------------------------------------------------- processes

def progress(message: str) -> None:
    """A progress line on stderr."""
    print(f"core-matrix: {message}", file=sys.stderr, flush=True)


def lab(*args: str, distro: str, java: bool) -> None:
    """`tools/lab --name core --subnet 10.213.22.0/24 ... ARGS`; its log lines go to stderr."""
    argv = [str(LAB_TOOL), "--name", LAB_NAME, "--subnet", LAB_SUBNET, "--distro", distro,
            *(["--java"] if java else []), *args]
    try:
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, timeout=LAB_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as err:
        raise MatrixError(f"tools/lab {' '.join(args)} took longer than {LAB_TIMEOUT:g} s") from err
    if proc.returncode != 0:
        raise MatrixError(f"tools/lab {' '.join(args)} failed (exit {proc.returncode})")


def ensure_venv(version: str, refresh: bool, python: str) -> Path:
    """The virtualenv of `version`, created and installed unless a finished one is there."""
    path = venv_dir(version)
    if venv_ready(path, version) and not refresh:
        return path
    progress(f"{version}: installing {requirement(version)} into {path.relative_to(REPO)}")
    (path / VENV_MARKER).unlink(missing_ok=True)
    steps = [[python, "-m", "venv", str(path)],
             [str(path / "bin" / "pip"), "install", "--quiet", "--upgrade", requirement(version)]]
    for argv in steps:
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=PIP_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired as err:
            raise MatrixError(f"{' '.join(argv)} took longer than {PIP_TIMEOUT:g} s") from err
        if proc.returncode != 0:
            raise MatrixError(f"{' '.join(argv)} failed: {tail(proc.stderr.strip(), 1000)}")
    (path / VENV_MARKER).write_text(requirement(version) + "\n")
    return path


def core_version(venv: Path) -> str | None:
    """The exact ansible-core of a virtualenv."""
    proc = subprocess.run([str(venv / "bin" / "ansible-playbook"), "--version"],
                          capture_output=True, text=True, timeout=120, check=False)
    return parse_core_version(proc.stdout)


def ansible_env(venv: Path) -> dict[str, str]:
    """The environment of a run: the project's ansible.cfg, that virtualenv first on PATH,
    no colours; nothing from the calling shell's ANSIBLE_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PATH=f"{venv / 'bin'}:{env.get('PATH', '')}",
               VIRTUAL_ENV=str(venv))
    return env


def run_playbook(venv: Path, inventory: Path, log: Path) -> tuple[float, str]:
    """Run site.yml with the virtualenv's ansible-playbook; (seconds, output). The output is
    written to `log`; raises MatrixError unless it exits 0."""
    argv = [str(venv / "bin" / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK)]
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=ansible_env(venv), cwd=REPO, timeout=PLAYBOOK_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired as err:
        raise MatrixError(f"{log.name}: site.yml ran longer than {PLAYBOOK_TIMEOUT:g} s") from err
    seconds = round(time.monotonic() - started, 2)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {' '.join(argv)}\n{proc.stdout}\n# exit {proc.returncode} after "
                   f"{seconds:.2f} s\n")
    if proc.returncode != 0:
        raise MatrixError(f"site.yml failed (exit {proc.returncode}); full output in "
                          f"{log.relative_to(REPO) if log.is_relative_to(REPO) else log}; "
                          f"its end:\n{tail(proc.stdout)}")
    return seconds, proc.stdout


def ensemble_modes(inventory: Path) -> dict[str, str | None]:
    """Each member's mode (leader, follower, ...; None when it does not answer), polled until
    one leader and the others followers, or HEALTHY_LIMIT."""
    import zk_status

    servers = zk_status.servers_from_inventory(str(inventory))
    deadline = time.monotonic() + HEALTHY_LIMIT
    while True:
        results = zk_status.query_all(servers, SRVR_TIMEOUT)
        modes = {r["name"]: r.get("mode") for r in results}
        if leader_and_followers(list(modes.values())) or time.monotonic() > deadline:
            return modes
        time.sleep(POLL_EVERY)


def run_version(version: str, args: argparse.Namespace, logs: Path) -> VersionResult:
    """One version end to end; its result, whatever happened."""
    result = VersionResult(version, load=[round(x, 2) for x in os.getloadavg()])
    step = "virtualenv"
    try:
        venv = ensure_venv(version, args.refresh, args.python)
        result.core = core_version(venv)
        step = "lab"
        progress(f"{version}: a fresh lab {LAB_NAME} ({LAB_SUBNET})")
        lab("down", distro=args.distro, java=args.java)
        lab("up", "--inventory", str(INVENTORY), distro=args.distro, java=args.java)
        step = "converge"
        progress(f"{version}: site.yml with ansible-core {result.core} (converge)")
        log = logs / f"{version}-converge.log"
        result.logs.append(str(log))
        result.converge_s, output = run_playbook(venv, INVENTORY, log)
        result.converge_changed = changed_total(parse_recap(output))
        result.warnings = warnings(output)
        progress(f"{version}: converged in {result.converge_s:.1f} s")
        step = "no-op"
        log = logs / f"{version}-noop.log"
        result.logs.append(str(log))
        result.noop_s, output = run_playbook(venv, INVENTORY, log)
        result.noop_changed = changed_total(parse_recap(output))
        result.noop_changed_tasks = changed_tasks(output)
        result.warnings += [w for w in warnings(output) if w not in result.warnings]
        progress(f"{version}: no-op run in {result.noop_s:.1f} s, changed={result.noop_changed}")
        if result.noop_changed != 0:
            raise MatrixError(f"the second run changed {result.noop_changed} task(s): "
                              + ", ".join(result.noop_changed_tasks))
        step = "ensemble"
        result.modes = ensemble_modes(INVENTORY)
        if not leader_and_followers(list(result.modes.values())):
            raise MatrixError("not one leader and the others followers: "
                              + ", ".join(f"{h} {m or 'down'}" for h, m in result.modes.items()))
        result.result = RESULT_PASSED
    except MatrixError as err:
        result.result = f"failed: {step}"
        result.error = str(err)
        progress(f"{version}: FAILED at {step}: {err}")
    return result


# --------------------------------------------------------------------------- command line

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ci.core_matrix", description=__doc__.partition("\n\n")[0],
        epilog="Only touches its own lab: containers core-*, network zk-core, 10.213.22.0/24.")
    parser.add_argument("versions", nargs="*", type=parse_version, default=list(DEFAULT_VERSIONS),
                        metavar="VERSION",
                        help=f"ansible-core minor versions (default: {' '.join(DEFAULT_VERSIONS)})")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="the JSON document (default: results/core-matrix.json); run logs "
                        "go to a directory of the same name without .json")
    parser.add_argument("--refresh", action="store_true",
                        help="re-install each virtualenv (the newest patch release)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the last version's lab running (tools/lab --name core "
                        f"--subnet {LAB_SUBNET} down removes it)")
    parser.add_argument("--distro", default="bullseye", choices=("bullseye", "bookworm"),
                        help="Debian release of the lab hosts")
    parser.add_argument("--java", action="store_true",
                        help="hosts start with OpenJDK installed (a faster converge that does "
                        "not install Java)")
    parser.add_argument("--python", default=sys.executable,
                        help="the Python the virtualenvs are made with (default: this one)")
    args = parser.parse_args(argv)
    if len(set(args.versions)) != len(args.versions):
        parser.error("a version is given twice")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logs = args.results.with_suffix("")
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    results: list[VersionResult] = []
    interrupted = False
    try:
        for version in args.versions:
            results.append(run_version(version, args, logs))
    except KeyboardInterrupt:
        interrupted = True
        progress("interrupted")
    finally:
        if not args.keep:
            try:
                lab("down", distro=args.distro, java=args.java)
            except MatrixError as err:
                progress(f"could not remove the lab: {err}")
    total = time.monotonic() - started
    host = {"python": platform.python_version(), "cpus": os.cpu_count(),
            "distro": args.distro, "java_preinstalled": args.java}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(document(results, total, started_at, host), indent=2)
                            + "\n")
    print(format_table(results))
    print(f"\n{len(results)} version(s) in {total / 60:.1f} min on {os.cpu_count()} CPUs, one "
          f"after the other; {args.results}")
    for r in results:
        if r.error:
            print(f"\n{r.version}: {tail(r.error, 1500)}")
    if interrupted:
        return 130
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
