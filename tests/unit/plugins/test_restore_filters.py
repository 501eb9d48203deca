"""Unit tests of the restore filters: what a backup holds and which ensemble it is from, whether
a restore play is one ensemble whole, and whether every member ended on the restored data."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zlib
from pathlib import Path

import pytest

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_restore import (
    FILTERS,
    zookeeper_archive_name,
    zookeeper_backup_contents,
    zookeeper_restore_check_problems,
    zookeeper_restore_origin,
    zookeeper_restore_scope_problems,
    zookeeper_zxid,
)

EPOCH = 1 << 32


def record(zxid: int, body: bytes = b"\x00" * 12, checksum: int | None = None) -> bytes:
    """One transaction log record as ZooKeeper 3.4 writes it: Adler-32, length, TxnHeader
    (clientId, cxid, zxid, time, type) and body, then 'B'."""
    txn = struct.pack(">qiqqi", 0x1234, 7, zxid, 1_700_000_000_000, 1) + body
    crc = zlib.adler32(txn) if checksum is None else checksum
    return struct.pack(">qi", crc, len(txn)) + txn + b"B"


def log(*records: bytes, padding: int = 512) -> bytes:
    """A transaction log: its header, the records, and the zeros ZooKeeper preallocates."""
    return b"ZKLG" + struct.pack(">iq", 2, 0) + b"".join(records) + b"\x00" * padding


def archive(path: Path, files: dict[str, bytes], manifest: dict | None = None) -> Path:
    """A tar.gz as backup.yml writes it: the manifest first (if any), then the data files."""
    with tarfile.open(path, "w:gz") as tar:
        entries = ({"zookeeper-backup.json": json.dumps(manifest).encode()} if manifest else {})
        entries.update(files)
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def manifest(name: str = "kafka", group: str = "zk_kafka") -> dict:
    return {"format": 1, "time": "20240102T030405Z", "ensemble": {"name": name, "group": group},
            "members": [{"id": 1, "name": "kafka-zk1", "address": "10.0.1.11"}],
            "source": {"host": "kafka-zk2", "id": 2, "mode": "follower", "zxid": "0x200000005"},
            "data_dirs": ["/var/lib/zookeeper"]}


DATA = "var/lib/zookeeper/version-2/"


def test_contents_newest_logged_zxid_across_epochs_of_one_log(tmp_path: Path) -> None:
    # A log file is named after its first zxid and goes on across elections: the name alone
    # (epoch 1) would miss the epoch-2 transactions.
    path = archive(tmp_path / "kafka-backup-20240102T030405Z.tar.gz", {
        DATA + "currentEpoch": b"2", DATA + "acceptedEpoch": b"2",
        DATA + "snapshot.100000000": b"x" * 40,
        DATA + "log.100000001": log(record(EPOCH + 1), record(EPOCH + 2), record(2 * EPOCH + 5)),
    }, manifest())
    found = zookeeper_backup_contents(str(path))
    assert found["error"] == ""
    assert found["manifest"]["ensemble"] == {"name": "kafka", "group": "zk_kafka"}
    assert found["dirs"] == ["/var/lib/zookeeper"]
    assert (found["last_zxid"], found["last_zxid_hex"]) == (2 * EPOCH + 5, "0x200000005")
    assert found["epoch"] == 2


def test_contents_stop_where_zookeeper_stops(tmp_path: Path) -> None:
    # A record cut short (tar read the log while the server wrote), a wrong checksum, or the
    # preallocated zeros end a log; so does a record without its 'B'.
    cut = record(EPOCH + 9)[:-10]
    bad = record(EPOCH + 8, checksum=42)
    no_eor = record(EPOCH + 7)[:-1] + b"X"
    path = archive(tmp_path / "a.tar.gz", {
        "data/version-2/log.100000001": log(record(EPOCH + 1), record(EPOCH + 3), cut, padding=0),
        "data/version-2/log.100000004": log(record(EPOCH + 4), bad, record(EPOCH + 10)),
        "data/version-2/log.100000005": log(record(EPOCH + 5), no_eor, record(EPOCH + 11)),
        "txlog/version-2/log.100000006": log(record(EPOCH + 6)),
        "txlog/version-2/notes.txt": b"ignored",
    })
    found = zookeeper_backup_contents(str(path))
    assert found["last_zxid"] == EPOCH + 6
    assert found["dirs"] == ["/data", "/txlog"]
    assert found["manifest"] is None
    assert found["epoch"] == 0


def test_contents_snapshot_newer_than_the_logs(tmp_path: Path) -> None:
    path = archive(tmp_path / "a.tar.gz", {
        DATA + "log.100000001": log(record(EPOCH + 1)),
        DATA + "snapshot.30000000a": b"x" * 40,
    })
    assert zookeeper_backup_contents(str(path))["last_zxid"] == 3 * EPOCH + 10


def test_contents_of_what_is_no_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not gzip at all")
    assert "ReadError" in zookeeper_backup_contents(str(junk))["error"]
    assert "FileNotFoundError" in zookeeper_backup_contents(str(tmp_path / "none"))["error"]
    good = archive(tmp_path / "cut.tar.gz", {DATA + "log.100000001": log(record(EPOCH + 1))},
                   manifest())
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[:-40])
    assert zookeeper_backup_contents(str(truncated))["error"]


def test_contents_manifest_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("zookeeper-backup.json")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"{oops"))
    found = zookeeper_backup_contents(str(path))
    assert found["manifest"] is None and "not JSON" in found["manifest_error"]
    origin = zookeeper_restore_origin(found, str(path), "kafka", "zk_kafka")
    assert "does not say which ensemble it is from" in origin["problem"]


def test_origin_from_the_manifest() -> None:
    contents = {"manifest": manifest()}
    ours = zookeeper_restore_origin(contents, "/b/anything.tar.gz", "kafka", "zk_kafka")
    assert ours["problem"] == "" and ours["ensemble"] == "kafka"
    assert ours["how"] == ("its zookeeper-backup.json, taken 20240102T030405Z from kafka-zk2 "
                           "at zxid 0x200000005")
    # The manifest wins over the file name.
    theirs = zookeeper_restore_origin(contents, "/b/hbase-backup-20240102T030405Z.tar.gz",
                                      "hbase", "zk_hbase")
    assert theirs["problem"] == (
        "/b/hbase-backup-20240102T030405Z.tar.gz is a backup of ensemble kafka (group zk_kafka), "
        "as its zookeeper-backup.json, taken 20240102T030405Z from kafka-zk2 at zxid 0x200000005 "
        "says, not of ensemble hbase (group zk_hbase), which this play restores, so no host was "
        "changed. Restore hbase from one of its own archives (hbase-backup-<time>.tar.gz), or "
        "restore this one into kafka: --limit zk_kafka.")


@pytest.mark.parametrize(("file", "name", "ok"), [
    ("kafka-backup-20240102T030405Z.tar.gz", "kafka", True),
    ("zookeeper-backup-20240102T030405Z.tar.gz", "zookeeper", True),
    ("kafka_east-backup-20240102T030405Z.tar.gz", "kafka/east", True),  # as backup.yml names it
    ("hbase-backup-20240102T030405Z.tar.gz", "kafka", False),
    ("kafka-backup-20240102T030405Z.tar.gz", "kafka-b", False),
])
def test_origin_of_an_older_archive_from_its_file_name(file: str, name: str, ok: bool) -> None:
    origin = zookeeper_restore_origin({"manifest": None}, f"/b/{file}", name, "g")
    assert bool(origin["problem"]) is not ok
    assert origin["ensemble"] == file.split("-backup-")[0]
    if not ok:
        assert origin["problem"] == (
            f"/b/{file} is a backup of ensemble {file.split('-backup-')[0]}, as its file name "
            f"(it has no zookeeper-backup.json: an archive of an older backup.yml) says, not of "
            f"ensemble {name} (group g), which this play restores, so no host was changed. "
            f"Restore {name} from one of its own archives ({name}-backup-<time>.tar.gz).")


@pytest.mark.parametrize("file", ["other.tar.gz", "kafka-backup.tar.gz",
                                  "kafka-backup-2024-01-02.tar.gz"])
def test_origin_refused_when_nothing_says(file: str) -> None:
    origin = zookeeper_restore_origin({"manifest": None}, f"/b/{file}", "kafka", "zk_kafka")
    assert origin["problem"] == (
        f"/b/{file} has no zookeeper-backup.json (an archive of an older backup.yml) and its file "
        "name is not <ensemble name>-backup-<YYYYmmddTHHMMSSZ>.tar.gz, so nothing says which "
        "ensemble it is from; no host was changed. If it is a backup of ensemble kafka (group "
        "zk_kafka), give it the name backup.yml gave it, kafka-backup-<its UTC time>.tar.gz, and "
        "run again.")


def settings(group: str) -> dict:
    return {"__zookeeper_validated": {"settings": {"zookeeper_ensemble_group": group}}}


HOSTVARS = {"a1": settings("zk_a"), "b1": settings("zk_b"), "b2": settings("zk_b"),
            "b3": settings("zk_b")}
GROUPS = {"zk_a": ["a1"], "zk_b": ["b1", "b2", "b3"], "zookeeper": ["a1", "b1", "b2", "b3"]}


def test_scope_one_whole_ensemble() -> None:
    assert zookeeper_restore_scope_problems(["b1", "b2", "b3"], HOSTVARS, GROUPS) == []
    assert zookeeper_restore_scope_problems(["a1"], HOSTVARS, GROUPS) == []
    # Without a resolved setting: the inventory's zookeeper_ensemble_group, else 'zookeeper'.
    plain = {"z1": {}, "z2": {"zookeeper_ensemble_group": "zookeeper"}}
    assert zookeeper_restore_scope_problems(["z1", "z2"], plain, {"zookeeper": ["z1", "z2"]}) == []


def test_scope_several_ensembles() -> None:
    assert zookeeper_restore_scope_problems(["a1", "b1", "b2", "b3"], HOSTVARS, GROUPS) == [
        "restore.yml puts one ensemble's backup into that ensemble, and this play covers 2 "
        "ensembles (group zk_a: a1; group zk_b: b1, b2, b3; zookeeper_ensemble_group), so no host "
        "was changed. Restore one ensemble at a time, each from its own archive: --limit <its "
        "group> -e zookeeper_restore_archive=<a backup of that ensemble>, for example --limit "
        "zk_a."]


def test_scope_part_of_an_ensemble() -> None:
    problems = zookeeper_restore_scope_problems(["b1", "b3"], HOSTVARS, GROUPS)
    assert len(problems) == 1
    assert problems[0].startswith(
        "restore.yml restores every member of an ensemble at once, and this play leaves out b2 "
        "of group zk_b (zookeeper_ensemble_group; it runs on b1, b3), so no host was changed: a "
        "member that keeps its own data would be elected with its newer zxid and overwrite the "
        "restored data of the others. Run restore.yml on the whole group: --limit zk_b, or no "
        "--limit.")
    assert "replace it by a new, empty host with the same inventory name and zookeeper_id" in \
        problems[0]


def seen(mode: str, zxid: str, epoch: int | None) -> dict:
    content = {} if epoch is None else {"/var/lib/zookeeper/version-2/currentEpoch": str(epoch),
                                        "/var/lib/zookeeper/version-2/acceptedEpoch": str(epoch)}
    return {"mode": mode, "zxid": zxid, "content": content}


def test_check_every_member_on_the_restored_data() -> None:
    # The leader's zxid is its new epoch's first; a follower that took a DIFF keeps the
    # backup's last zxid until the first write.
    ok = {"z1": seen("follower", "0x200000005", 5), "z2": seen("leader", "0x500000000", 5),
          "z3": seen("follower", "0x500000003", 5)}
    assert zookeeper_restore_check_problems(ok, 4, 2 * EPOCH + 5, 3) == []
    assert zookeeper_restore_check_problems({"z1": seen("standalone", "0x200000007", None)},
                                            4, "0x200000005", 1) == []


def test_check_a_leader_outside_the_play() -> None:
    # The members followed a server zoo.cfg lists and the play does not: its epoch was higher.
    outside = {"z1": seen("follower", "0x200000005", 101),
               "z2": seen("follower", "0x200000005", 101)}
    assert zookeeper_restore_check_problems(outside, 12, 2 * EPOCH + 5, 3) == [
        "no member of the restored ensemble leads (z1=follower, z2=follower): they follow a server "
        "outside this play that zoo.cfg lists (server.N lines of a host not in the group), whose "
        "epoch was above 12, and synced to its data, not the backup's. Stop ZooKeeper on that "
        "server, or take its server.N line out of zoo.cfg with site.yml, then run restore.yml "
        "again with the same archive"]


def test_check_members_that_are_not_on_the_restored_data() -> None:
    said = {"z1": seen("follower", "0x100000009", 5),   # behind the backup
            "z2": seen("leader", "0x400000000", 4),     # an epoch of before the restore
            "z3": seen("follower", "0x400000002", None),  # no epoch file
            "z4": seen("", "", None)}                    # does not serve
    assert zookeeper_restore_check_problems(said, 4, "0x200000005", 4) == [
        "z1: its last zxid 0x100000009 is before 0x200000005, the newest transaction of the "
        "restored data: it does not have all of it",
        "z2: serves in epoch 4 (version-2/currentEpoch), not in one after 4, the epoch the "
        "restore gave every member: it did not join the election of the restored members",
        "z3: serves in epoch None (version-2/currentEpoch), not in one after 4, the epoch the "
        "restore gave every member: it did not join the election of the restored members",
        "z4: does not serve after the restore (srvr mode none, leader or follower expected)"]


def test_names_and_zxids() -> None:
    assert zookeeper_archive_name("kafka/east 1") == "kafka_east_1"
    assert zookeeper_archive_name("zk-a.b_c") == "zk-a.b_c"
    assert zookeeper_zxid("0x300000012") == 3 * EPOCH + 0x12
    assert zookeeper_zxid(17) == 17
    assert zookeeper_zxid("17") == 17
    assert zookeeper_zxid(None) == zookeeper_zxid("") == 0
    assert set(FILTERS) == {
        "zookeeper_archive_name", "zookeeper_zxid", "zookeeper_backup_contents",
        "zookeeper_restore_scope_problems", "zookeeper_restore_origin",
        "zookeeper_restore_check_problems"}
