"""interrupt_playbook (conftest), against a stand-in for ansible-playbook that loses the first
SIGINT, as ansible-playbook can, and leaves a worker in a session of its own that a signal to
its process group misses. No hosts: it runs in the default scenario."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from conftest import interrupt_playbook

# Drops the first SIGINT (its handler then resets itself, as ansible-playbook's does), forks a
# worker into a session of its own that writes the marker 2 s later, says it is ready, waits.
STAND_IN = """
import os, signal, sys, time
signal.signal(signal.SIGINT, lambda *_: signal.signal(signal.SIGINT, signal.SIG_DFL))
if os.fork() == 0:
    os.setsid()
    time.sleep(2)
    open(sys.argv[1], "w").write("the worker ended")
    os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_lost_sigint_is_sent_again_and_the_workers_are_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "worker-ended"
    log = tmp_path / "interrupted.log"
    _unused, rc = interrupt_playbook([sys.executable, "-c", STAND_IN, str(marker)], log,
                                     lambda: "ready" in log.read_text(), signal.SIGINT, "ready", 10,
                                     grace=1.0)
    assert rc == -signal.SIGINT, f"not ended by the second SIGINT: {rc}"
    assert "sent again" in log.read_text()
    assert marker.exists(), "returned before the playbook's worker had ended"
