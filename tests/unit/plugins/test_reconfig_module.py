"""Unit tests of plugins/modules/zookeeper_reconfig.py without a ZooKeeper: which change the
options ask for, whether the configuration already holds it (idempotence), the retries, and the
whole module (AnsibleModule stubbed) against the fake server of test_zookeeper_client.py."""

from __future__ import annotations


import pytest
from plugins import module_util, module
from test_zookeeper_client import MEMBERS, FakeZooKeeper

rc = module("zookeeper_reconfig")
zc = module_util("zookeeper_client")
SPEC4 = "127.0.0.1:22884:23884:participant;127.0.0.1:22184"


# --------------------------------------------------------------------------
# The change asked for, and whether it holds
# --------------------------------------------------------------------------


def test_exactly_one_change() -> None:
    assert rc.wanted({"add": None, "remove": 3}) == (None, 3)
    assert rc.wanted({"add": f"server.4={SPEC4}", "remove": None}) == ((4, SPEC4), None)
    assert rc.wanted({"add": f"4={SPEC4}", "remove": None}) == ((4, SPEC4), None)
    for params in ({"add": None, "remove": None}, {"add": f"4={SPEC4}", "remove": 4}):
        with pytest.raises(ValueError, match="exactly one"):
            rc.wanted(params)


def test_a_joiner_needs_a_client_port_and_a_valid_spec() -> None:
    with pytest.raises(ValueError, match="no client port"):
        rc.wanted({"add": "server.4=h:2888:3888:participant", "remove": None})
    with pytest.raises(ValueError):
        rc.wanted({"add": "server.4=h:2888", "remove": None})
    with pytest.raises(ValueError):
        rc.wanted({"add": "h:2888:3888;2181", "remove": None})


def test_an_add_holds_when_the_member_has_that_spec_defaults_included() -> None:
    members = {**MEMBERS, 4: "h:2888:3888:participant;0.0.0.0:2181"}
    assert rc.holds(members, (4, "h:2888:3888;2181"), None)
    assert rc.holds(members, (4, "h:2888:3888:participant;0.0.0.0:2181"), None)
    assert not rc.holds(members, (4, "h:2888:3888:observer;2181"), None)  # a role change
    assert not rc.holds(members, (4, "h:2888:3999;2181"), None)  # a port change
    assert not rc.holds(MEMBERS, (4, "h:2888:3888;2181"), None)
    assert not rc.holds({4: "written:some:other:way"}, (4, "h:2888:3888;2181"), None)


def test_a_remove_holds_when_the_id_is_not_a_member() -> None:
    assert rc.holds(MEMBERS, None, 4)
    assert not rc.holds(MEMBERS, None, 3)


def test_the_predicted_members() -> None:
    assert rc.predicted(MEMBERS, (4, "h:1:2;3"), None) == {
        **MEMBERS, 4: "h:1:2:participant;0.0.0.0:3"}
    assert rc.predicted(MEMBERS, None, 2) == {1: MEMBERS[1], 3: MEMBERS[3]}
    assert rc.predicted(MEMBERS, None, 9) == MEMBERS


def test_where_the_joiner_answers() -> None:
    assert rc.joiner_endpoint("10.0.0.4:2888:3888;10.0.0.4:2181") == "10.0.0.4:2181"
    assert rc.joiner_endpoint("zk4:2888:3888;2181") == "zk4:2181"
    assert rc.joiner_endpoint("zk4:2888:3888;0.0.0.0:2181") == "zk4:2181"
    assert rc.joiner_endpoint("[::1]:2888:3888;[::1]:2181") == "::1:2181"
    assert rc.joiner_endpoint("a:2888:3888|b:2889:3889;2181") == "a:2181"


def test_summary_keys_members_by_id_as_text() -> None:
    config = zc.parse_config("server.2=b:1:2;3\nserver.10=c:1:2;3\nversion=1a\n")
    assert rc.summary(config) == {"version": "1a",
                                  "members": {"2": "b:1:2;3", "10": "c:1:2;3"}}


# --------------------------------------------------------------------------
# The retries
# --------------------------------------------------------------------------


class ScriptedClient:
    """Answers each reconfig with the next of `answers` (an exception to raise, or None)."""

    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.calls: list[dict] = []

    def reconfig(self, **kwargs) -> tuple[str, dict]:
        self.calls.append(kwargs)
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return "", {}


class ScriptedSession:
    def __init__(self, client: ScriptedClient, reads: list[dict], remaining: float = 60) -> None:
        self.client = client
        self.reads = reads
        self.left = remaining
        self.dropped = 0

    def remaining(self) -> float:
        return self.left

    def get(self) -> ScriptedClient:
        return self.client

    def drop(self) -> None:
        self.dropped += 1

    def read(self) -> tuple[dict, str]:
        return self.reads.pop(0), ""


def config(members: dict, version: int = 0x100000000) -> dict:
    return {"members": dict(members), "version": version, "version_hex": f"{version:x}"}


@pytest.fixture(autouse=True)
def no_pause(monkeypatch) -> None:
    monkeypatch.setattr(rc, "RETRY_PAUSE", 0.0)


def test_new_config_no_quorum_is_retried_until_the_joiner_synced() -> None:
    no_quorum = zc.ZooKeeperError(zc.NEW_CONFIG_NO_QUORUM, "reconfig")
    client = ScriptedClient([no_quorum, no_quorum, None])
    session = ScriptedSession(client, [config(MEMBERS), config(MEMBERS)])
    outcome, attempts, _config = rc.reconfigure(session, (4, SPEC4), None, config(MEMBERS))
    assert (outcome, attempts) == ("done", 3)
    assert client.calls[0] == {"joining": [f"server.4={SPEC4}"], "leaving": None,
                               "from_config": 0x100000000, "timeout": 60}


def test_a_lost_answer_counts_when_the_config_shows_the_change() -> None:
    client = ScriptedClient([zc.ConnectionLost("closed")])
    session = ScriptedSession(client, [config({1: MEMBERS[1], 2: MEMBERS[2]}, 0x100000009)])
    outcome, attempts, _config = rc.reconfigure(session, None, 3, config(MEMBERS))
    assert (outcome, attempts) == ("done", 1)
    assert session.dropped == 1
    assert client.calls[0]["leaving"] == ["3"] and client.calls[0]["joining"] is None


def test_another_clients_change_first_is_held_not_done() -> None:
    client = ScriptedClient([zc.ZooKeeperError(zc.BAD_VERSION, "reconfig")])
    session = ScriptedSession(client, [config({1: MEMBERS[1], 2: MEMBERS[2]}, 0x100000009)])
    assert rc.reconfigure(session, None, 3, config(MEMBERS))[:2] == ("held", 1)


def test_a_version_race_that_does_not_hold_is_tried_again_from_the_new_version() -> None:
    client = ScriptedClient([zc.ZooKeeperError(zc.BAD_VERSION, "reconfig"), None])
    session = ScriptedSession(client, [config(MEMBERS, 0x100000009)])
    assert rc.reconfigure(session, None, 3, config(MEMBERS))[:2] == ("done", 2)
    assert client.calls[1]["from_config"] == 0x100000009


@pytest.mark.parametrize("code", [-102, -123, -6, -8])
def test_what_does_not_pass_by_itself_fails_at_once(code: int) -> None:
    client = ScriptedClient([zc.ZooKeeperError(code, "reconfig")])
    with pytest.raises(zc.ZooKeeperError):
        rc.reconfigure(ScriptedSession(client, []), None, 3, config(MEMBERS))
    assert len(client.calls) == 1


def test_retries_end_with_the_time() -> None:
    client = ScriptedClient([zc.ZooKeeperError(zc.NEW_CONFIG_NO_QUORUM, "reconfig")])
    with pytest.raises(zc.ZooKeeperError) as caught:
        rc.reconfigure(ScriptedSession(client, [], remaining=0), (4, SPEC4), None,
                       config(MEMBERS))
    message = rc.failure_message(caught.value, {"host": "h", "port": 1, "timeout": 5}, "reconfig")
    assert "NewConfigNoQuorum after 5 s" in message


def test_failure_messages_say_what_to_do() -> None:
    params = {"host": "127.0.0.1", "port": 2181, "timeout": 9}
    assert "super_password" in rc.failure_message(zc.ZooKeeperError(-102, "reconfig"), params, "x")
    assert "reconfigEnabled=true" in rc.failure_message(zc.ZooKeeperError(-123, "reconfig"),
                                                        params, "x")
    assert "standaloneEnabled=false" in rc.failure_message(zc.ZooKeeperError(-6, "reconfig"),
                                                           params, "x")
    lost = rc.failure_message(zc.ConnectionLost("127.0.0.1:2181 gave no session"), params, "r")
    assert lost == "r: no session on 127.0.0.1:2181 within 9 s: 127.0.0.1:2181 gave no session"


# --------------------------------------------------------------------------
# The module, AnsibleModule stubbed, against the fake server
# --------------------------------------------------------------------------


class Exited(Exception):
    def __init__(self, result: dict, failed: bool) -> None:
        super().__init__(result.get("msg"))
        self.result = result
        self.failed = failed


def run(monkeypatch, check_mode: bool = False, **options) -> tuple[dict, bool]:
    """main() with these options (the spec's defaults otherwise); (result, failed)."""
    params = {key: spec.get("default") for key, spec in rc.ARGUMENT_SPEC.items()}
    params.update(options)

    class FakeModule:
        def __init__(self, argument_spec: dict, supports_check_mode: bool) -> None:
            assert argument_spec is rc.ARGUMENT_SPEC and supports_check_mode
            self.params = params
            self.check_mode = check_mode

        def exit_json(self, **result) -> None:
            raise Exited(result, False)

        def fail_json(self, **result) -> None:
            raise Exited(result, True)

    monkeypatch.setattr(rc, "AnsibleModule", FakeModule)
    with pytest.raises(Exited) as caught:
        rc.main()
    return caught.value.result, caught.value.failed


@pytest.fixture
def fake():
    server = FakeZooKeeper(MEMBERS, 0x100000000)
    yield server
    server.close()


def reconfigs(fake: FakeZooKeeper) -> int:
    return sum(1 for op, _record in fake.received if op == zc.OP_RECONFIG)


def test_the_module_removes_a_server_once(monkeypatch, fake) -> None:
    result, failed = run(monkeypatch, port=fake.port, remove=3, super_password="secret")
    assert not failed and result["changed"] and result["attempts"] == 1
    assert result["msg"] == "removed server 3"
    assert result["before"] == {"version": "100000000",
                                "members": {str(k): v for k, v in MEMBERS.items()}}
    assert sorted(result["after"]["members"]) == ["1", "2"]
    assert int(result["after"]["version"], 16) > 0x100000000
    assert "server.3=" in result["diff"]["before"] and "server.3=" not in result["diff"]["after"]
    again, failed = run(monkeypatch, port=fake.port, remove=3, super_password="secret")
    assert not failed and not again["changed"] and again["attempts"] == 0
    assert again["before"] == again["after"] == result["after"]
    assert reconfigs(fake) == 1


def test_the_module_adds_a_server_once_it_follows(monkeypatch, fake) -> None:
    asked = []
    monkeypatch.setattr(rc, "srvr_at", lambda endpoint: asked.append(endpoint) or (
        {"mode": None, "error": "not serving"} if len(asked) < 3 else {"mode": "follower"}))
    result, failed = run(monkeypatch, port=fake.port, add=f"server.4={SPEC4}",
                         super_password="secret")
    assert not failed and result["changed"], result
    assert asked == ["127.0.0.1:22184"] * 3
    assert result["after"]["members"]["4"] == SPEC4 and result["msg"] == "added server 4"
    assert any(op == zc.OP_PING for op, _record in fake.received)  # kept alive while waiting
    again, _failed = run(monkeypatch, port=fake.port, add=f"4={SPEC4}", super_password="secret")
    assert not again["changed"] and reconfigs(fake) == 1


def test_the_module_does_not_add_a_server_that_does_not_run(monkeypatch, fake) -> None:
    monkeypatch.setattr(rc, "srvr_at", lambda endpoint: {"mode": None,
                                                         "error": "ConnectionRefusedError"})
    result, failed = run(monkeypatch, port=fake.port, add=f"server.4={SPEC4}", timeout=0.5,
                         super_password="secret")
    assert failed and "server 4 does not run as a follower on 127.0.0.1:22184" in result["msg"]
    assert "ConnectionRefusedError" in result["msg"] and reconfigs(fake) == 0


def test_a_changed_spec_is_a_change(monkeypatch, fake) -> None:
    result, failed = run(monkeypatch, port=fake.port, wait_for_joiner=False,
                         add="server.3=127.0.0.1:22883:23883:observer;127.0.0.1:22183",
                         super_password="secret")
    assert not failed and result["changed"] and result["msg"] == "changed server 3"
    assert result["after"]["members"]["3"].endswith(":observer;127.0.0.1:22183")


def test_check_mode_reads_and_predicts_but_changes_nothing(monkeypatch, fake) -> None:
    monkeypatch.setattr(rc, "srvr_at", lambda endpoint: pytest.fail("no wait in check mode"))
    result, failed = run(monkeypatch, check_mode=True, port=fake.port, add=f"server.4={SPEC4}")
    assert not failed and result["changed"]
    assert result["msg"] == "check mode: would have added server 4"
    assert result["after"] == {"version": None, "members": {
        **{str(k): v for k, v in MEMBERS.items()}, "4": SPEC4}}
    assert reconfigs(fake) == 0 and sorted(fake.members) == [1, 2, 3]
    unchanged, _failed = run(monkeypatch, check_mode=True, port=fake.port, remove=9)
    assert not unchanged["changed"]


def test_without_the_super_password_it_fails_with_what_to_do(monkeypatch, fake) -> None:
    result, failed = run(monkeypatch, port=fake.port, remove=2)
    assert failed and "NoAuth (-102)" in result["msg"] and "super_password" in result["msg"]
    assert sorted(fake.members) == [1, 2, 3]


def test_new_config_no_quorum_then_success(monkeypatch) -> None:
    server = FakeZooKeeper(MEMBERS, 0x100000000, errors=(zc.NEW_CONFIG_NO_QUORUM,) * 2)
    try:
        result, failed = run(monkeypatch, port=server.port, remove=1, super_password="secret")
    finally:
        server.close()
    assert not failed and result["changed"] and result["attempts"] == 3


def test_a_server_without_quorum_fails_once_the_time_is_out(monkeypatch) -> None:
    server = FakeZooKeeper(MEMBERS, 1, serve=False)
    try:
        result, failed = run(monkeypatch, port=server.port, remove=1, timeout=0.3)
    finally:
        server.close()
    assert failed and result["msg"].startswith("reading the configuration: no session on")
    assert "does not serve" in result["msg"]


def test_options_that_are_not_one_change_fail_before_connecting(monkeypatch) -> None:
    result, failed = run(monkeypatch, port=1, add=f"4={SPEC4}", remove=4)
    assert failed and result["msg"] == "give exactly one of add and remove"
