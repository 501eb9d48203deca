"""The benchmark's two floors: what the same work costs without the toolkit, on this machine.

- by-hand floor: plain ssh + shell, one ssh per host, all started together, on fresh lab hosts
  with the same tarball from the lab's mirror: download it with its .sha512, check it, unpack
  it to /opt, write zoo.cfg and myid, start QuorumPeerMain (`systemd-run --unit zk-floor`);
  timed from the start until every ensemble has one leader and the others followers (polled
  every 0.1 s from here, as for the toolkit's fresh converge);
- Ansible floor: an ansible-playbook run of one no-op task (ansible.builtin.ping) on every
  host, with the project's ansible.cfg and the bench inventory: what any Ansible run costs
  here (interpreter start, inventory, connections, one module per host).

The toolkit's figures are divided by these, measured in the same run (tools/bench/run.py).

Beside them, the cost of one task that runs on the controller only (an assert on every host):
the difference between a playbook of TASK_COST_TASKS such tasks and one of a single one, per
task. It is what each task of a run costs before any module runs on a host, so it says how
much of the no-op re-run its number of tasks alone accounts for.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from bench.cpu import CpuMeter, cpu_between
from bench.lab import (
    HEALTHY_LIMIT,
    BenchError,
    HealthWatch,
    PlaybookRun,
    ensembles_report,
    run_playbook,
    ssh_argv,
    summary,
)
from zk_status import Server

FLOOR_UNIT = "zk-floor"
FLOOR_DATA_DIR = "/var/lib/zk-floor"
SCRIPT_TIMEOUT = 180.0  # one host's download, unpack and start
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
# Fetched with the hosts' python3: the lab image has no curl or wget.
FETCH = ("import sys, urllib.request as r; "
         "r.urlretrieve(sys.argv[1], sys.argv[2]); "
         "r.urlretrieve(sys.argv[1] + '.sha512', sys.argv[2] + '.sha512')")

ANSIBLE_FLOOR_PLAYBOOK = """\
---
# Written by tools/bench/run.py: the Ansible floor, one task that changes nothing on every host.
- name: Ansible floor
  hosts: zookeeper
  gather_facts: false
  tasks:
    - name: One no-op task
      ansible.builtin.ping:
"""

TASK_COST_TASKS = 21


def task_cost_playbook(tasks: int) -> str:
    """A playbook of `tasks` assert tasks on every host (nothing contacts a host)."""
    body = "".join(f"""    - name: Check {index}
      ansible.builtin.assert:
        that: inventory_hostname in groups['all']
        quiet: true
""" for index in range(1, tasks + 1))
    return f"""---
# Written by tools/bench/run.py: what {tasks} controller-only task(s) cost.
- name: Task cost, {tasks} task(s)
  hosts: all
  gather_facts: false
  tasks:
{body}"""


def zoo_cfg(ensemble: Sequence[Server], data_dir: str = FLOOR_DATA_DIR) -> str:
    """zoo.cfg of one ensemble, as a person would write it for 3.4."""
    lines = ["tickTime=2000", "initLimit=5", "syncLimit=2", f"dataDir={data_dir}",
             "clientPort=2181", "4lw.commands.whitelist=srvr,mntr,ruok"]
    lines += [f"server.{i}={server.address}:2888:3888"
              for i, server in enumerate(ensemble, start=1)]
    return "\n".join(lines) + "\n"


def release_dir(url: str) -> str:
    """The tarball's top directory: zookeeper-3.4.13 for .../zookeeper-3.4.13.tar.gz."""
    return url.rsplit("/", 1)[-1].removesuffix(".tar.gz")


def floor_script(url: str, myid: int, config: str) -> str:
    """The shell one host runs: fetch, check, unpack, configure, start."""
    tarball = url.rsplit("/", 1)[-1]
    home = f"/opt/{release_dir(url)}"
    java = (f"\"$(command -v java)\" -cp {shlex.quote(f'{home}/*:{home}/lib/*:conf')} "
            f"{MAIN_CLASS} conf/zoo.cfg")
    return "\n".join([
        "set -eu",
        "cd /tmp",
        f"python3 -c {shlex.quote(FETCH)} {shlex.quote(url)} {shlex.quote(tarball)}",
        f"sha512sum --check --quiet {shlex.quote(tarball + '.sha512')}",
        f"tar -xzf {shlex.quote(tarball)} -C /opt",
        f"mkdir -p {FLOOR_DATA_DIR}",
        f"echo {myid} > {FLOOR_DATA_DIR}/myid",
        f"cat > {home}/conf/zoo.cfg <<'EOF'\n{config}EOF",
        f"systemd-run --quiet --unit={FLOOR_UNIT} --working-directory={home} {java}",
    ]) + "\n"


def host_scripts(ensembles: Sequence[Sequence[Server]], url: str) -> dict[Server, str]:
    """Every host's script: its ensemble's zoo.cfg and its id in it."""
    return {server: floor_script(url, myid, zoo_cfg(ensemble))
            for ensemble in ensembles for myid, server in enumerate(ensemble, start=1)}


def run_by_hand_floor(ensembles: Sequence[Sequence[Server]], key: Path, url: str, log: Path,
                      limit: float = HEALTHY_LIMIT, meter: CpuMeter | None = None
                      ) -> dict[str, Any]:
    """Start one ssh per host at once; the seconds until every ensemble is whole, each
    host's script time (until its java was started) and, with a `meter`, the machine's CPU
    until then (bench.cpu)."""
    scripts = host_scripts(ensembles, url)
    finished: dict[str, float] = {}
    with ExitStack() as stack:
        outputs = {server: stack.enter_context(tempfile.TemporaryFile("w+"))
                   for server in scripts}
        watch = stack.enter_context(HealthWatch(ensembles, meter.sample if meter else None))
        before = meter.sample() if meter else None
        started = time.monotonic()
        procs = {server: subprocess.Popen(ssh_argv(key, server.address, script),
                                          stdout=outputs[server], stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, text=True)
                 for server, script in scripts.items()}
        try:
            while len(finished) < len(procs) and time.monotonic() - started < SCRIPT_TIMEOUT:
                for server, proc in procs.items():
                    if server.name not in finished and proc.poll() is not None:
                        finished[server.name] = round(time.monotonic() - started, 3)
                time.sleep(0.02)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                proc.wait(10)
        write_floor_log(log, scripts, outputs)
        failed = [f"{server.name}: " + (f"exit {proc.returncode}" if server.name in finished
                                        else f"no end within {SCRIPT_TIMEOUT:g} s")
                  for server, proc in procs.items()
                  if server.name not in finished or proc.returncode != 0]
        if failed:
            raise BenchError(f"by-hand floor: {'; '.join(failed)}; output in {log}")
        healthy_at = watch.wait(limit)
    if healthy_at is None:
        raise BenchError(f"by-hand floor: not whole {limit:g} s after the start: "
                         f"{summary(ensembles_report(ensembles))}")
    seconds = healthy_at - started
    cpu = (cpu_between(before, watch.healthy_sample, seconds)
           if before is not None and watch.healthy_sample is not None else {})
    return {"by_hand_s": round(seconds, 3), "by_hand_scripts_s": finished, **cpu}


def write_floor_log(log: Path, scripts: dict[Server, str], outputs: dict[Server, IO[str]]
                    ) -> None:
    """Each host's script and what it printed."""
    parts = []
    for server, script in scripts.items():
        outputs[server].seek(0)
        parts.append(f"## {server.name} ({server.address})\n$ {script}{outputs[server].read()}")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(parts))


def write_floor_playbook(path: Path) -> Path:
    """The Ansible floor's playbook (one no-op task), written where the results go, and the
    task cost's two playbooks beside it (task-cost-1.yml, task-cost-N.yml)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ANSIBLE_FLOOR_PLAYBOOK)
    for tasks in (1, TASK_COST_TASKS):
        path.with_name(f"task-cost-{tasks}.yml").write_text(task_cost_playbook(tasks))
    return path


def run_task_cost(inventory: Path, floor_playbook: Path, log: Path) -> dict[str, float]:
    """The seconds one controller-only task costs on every host: (the run of TASK_COST_TASKS
    asserts - the run of one) / (TASK_COST_TASKS - 1), each the playbook's wall time."""
    walls = {}
    for tasks in (1, TASK_COST_TASKS):
        run = run_playbook(inventory, log.with_name(f"{log.stem}-{tasks}.log"),
                           playbook=floor_playbook.with_name(f"task-cost-{tasks}.yml"))
        walls[tasks] = run.seconds
    per_task = (walls[TASK_COST_TASKS] - walls[1]) / (TASK_COST_TASKS - 1)
    return {"one_task_run_s": round(walls[1], 3),
            f"tasks_{TASK_COST_TASKS}_run_s": round(walls[TASK_COST_TASKS], 3),
            "per_task_s": round(max(per_task, 0.0), 4)}


def run_ansible_floor(inventory: Path, playbook: Path, log: Path) -> PlaybookRun:
    """One run of the Ansible floor; raises BenchError unless it exits 0 with changed=0."""
    run = run_playbook(inventory, log, playbook=playbook)
    if run.changed:
        raise BenchError(f"the Ansible floor changed {run.changed} tasks; see {log}")
    return run
