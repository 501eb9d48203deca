"""zookeeper_server's restart gate against fake servers answering `srvr` and `mntr`: a member
goes down only while the leader keeps a majority of its own member list without it."""

from __future__ import annotations

import socketserver
import threading
from pathlib import Path
from collections.abc import Callable, Iterator

import pytest
from plugins import module, module_util

server = module("zookeeper_server")
serving = module_util("zookeeper_serving")


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        word = self.request.recv(4).decode()
        self.request.sendall(self.server.replies[word].encode())  # type: ignore[attr-defined]


@pytest.fixture
def fake() -> Iterator[Callable[..., str]]:
    """fake(mode, synced=None): the endpoint of a server answering in that mode."""
    started: list[socketserver.TCPServer] = []

    def make(mode: str, synced: int | None = None) -> str:
        srv = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        mntr = f"zk_server_state\t{mode}\n"
        if synced is not None:
            mntr += f"zk_synced_followers\t{synced}\n"
        srv.replies = {  # type: ignore[attr-defined]
            "srvr": f"Zookeeper version: 3.4.13\nMode: {mode}\nZxid: 0x100000002\n",
            "mntr": mntr}
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        started.append(srv)
        return f"127.0.0.1:{srv.server_address[1]}"

    yield make
    for srv in started:
        srv.shutdown()
        srv.server_close()


DOWN = "127.0.0.1:1"  # nothing listens: a stopped server


def params(peers: dict[str, int], action: str = "restart") -> dict:
    return {"peers": peers, "serving": None, "action": action, "elect_quorum": None}


def test_a_follower_of_a_bare_majority_of_five_may_not_restart(fake: Callable[..., str]) -> None:
    # 5 -> 3 with both leaving servers down: the leader of the list of five keeps exactly three.
    leader, f1, f2 = fake("leader", synced=2), fake("follower"), fake("follower")
    five = {leader: 5, f1: 5, f2: 5, DOWN: 5, "127.0.0.1:2": 5}
    ok, said, found, _unused = server.gate(params(five) | {"serving": [leader, f1, f2]}, f1)
    assert not ok and found == leader, said
    assert "list of 5 and needs 3 servers in sync" in said, said


def test_a_follower_may_restart_while_the_leader_keeps_a_majority_of_its_list(
        fake: Callable[..., str]) -> None:
    leader, f1, f2 = fake("leader", synced=2), fake("follower"), fake("follower")
    ok, said, _unused, _unused = server.gate(params({leader: 3, f1: 3, f2: 3}), f1)
    assert ok, said
    # The leader's list counts, not the restarting server's: on a list of 4 (a member
    # joining), two synced followers are not enough for the leader to lose one.
    leader4 = fake("leader", synced=2)
    ok, said, _unused, _unused = server.gate(params({leader4: 4, f1: 3, f2: 3}), f1)
    assert not ok and "needs 3" in said, said


def test_the_leader_goes_down_only_when_the_others_can_elect(fake: Callable[..., str]) -> None:
    leader, f1 = fake("leader", synced=1), fake("follower")
    ok, said, _unused, _unused = server.gate(
        params({leader: 3, f1: 3, DOWN: 3}) | {"serving": [leader, f1]}, leader)
    assert not ok and "at least 2 others run" in said, said
    f2 = fake("follower")
    ok, said, _unused, _unused = server.gate(params({leader: 3, f1: 3, f2: 3}), leader)
    assert ok, said


def test_two_leaders_or_a_missing_server_stop_the_gate(fake: Callable[..., str]) -> None:
    a, b, f1 = fake("leader", synced=1), fake("leader", synced=1), fake("follower")
    ok, said, _unused, _unused = server.gate(params({a: 3, b: 3, f1: 3}), f1)
    assert not ok and "2 leaders" in said, said
    leader = fake("leader", synced=1)
    ok, said, _unused, _unused = server.gate(
        params({leader: 3, f1: 3, DOWN: 3}) | {"serving": [leader, f1, DOWN]}, f1)
    assert not ok and f"{DOWN} should serve" in said, said


def test_the_log_tail_never_follows_a_link(tmp_path: Path) -> None:
    """The log directory belongs to the service account: a failure message quotes the log's
    end, never what a link there points to."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000\n")
    log = tmp_path / "zookeeper.log"
    log.symlink_to(secret)
    said = serving.tail(str(log), 30)
    assert "secret-hash" not in said and "symbolic link" in said, said
    log.unlink()
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert serving.tail(str(log), 3) == "line 97\nline 98\nline 99\n"


POLL = ("2026-12-04 17:25:09,157 [myid:3] - INFO  [NIOServerCxn.Factory:/10.0.0.3:2181:"
        "NIOServerCnxnFactory@215] - Accepted socket connection from /10.0.0.3:44346\n"
        "2026-12-04 17:25:09,158 [myid:3] - INFO  [NIOServerCxn.Factory:/10.0.0.3:2181:"
        "NIOServerCnxn@908] - Processing srvr command from /10.0.0.3:44346\n"
        "2026-12-04 17:25:09,160 [myid:3] - INFO  [Thread-110:NIOServerCnxn@1056] - Closed "
        "socket connection for client /10.0.0.3:44346 (no session established for client)\n")
WHY = ("2026-12-04 17:24:40,001 [myid:3] - ERROR [QuorumConnectionThread-[myid=3]-1:"
       "SaslQuorumAuthLearner@133] - Failed to authenticate using SASL\n")


def test_the_log_tail_leaves_out_the_roles_own_polling(tmp_path: Path) -> None:
    """30 s of the role's `srvr` every 0.25 s writes 360 lines: the line that says why the
    server failed, written before them, must still be in a 40-line tail."""
    log = tmp_path / "zookeeper.log"
    client = ("2026-12-04 17:24:41,000 [myid:3] - INFO  [main:ZooKeeperServer@100] - "
              "Closed socket connection for client /10.0.0.9:5000 which had sessionid 0x1\n")
    log.write_text("started\n" + WHY + client + POLL * 120)
    said = serving.tail(str(log), 40)
    assert said == "(360 lines of four-letter-word polling left out)\n" + "started\n" + WHY + client
    log.write_text(WHY + "".join(f"line {i}\n" for i in range(100)))
    assert serving.tail(str(log), 2) == "line 98\nline 99\n"
