"""Filters of backup.yml and restore.yml: what a backup holds and which ensemble it is from,
whether a restore covers one ensemble whole, and whether every member ended on the restored data.

A backup is a tar.gz of one member's `<dir>/version-2` directories (paths relative to /) with,
since this version of backup.yml, a manifest `zookeeper-backup.json` at its top. ZooKeeper 3.4
keeps `currentEpoch` and `acceptedEpoch` in dataDir's `version-2`, so they are in the backup.

A zxid is (epoch << 32) | counter. A restore raises every member's epoch files above every epoch
the ensemble, and the backup, ever had: ZooKeeper's election ranks a server by its currentEpoch
before its zxid, so no server with other data can lead the restored ones, and the restored
ensemble's zxids follow all the ones its clients have seen (a server refuses a client that has
seen a zxid newer than its own).
"""

from __future__ import annotations

import json
import re
import struct
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from typing import IO, Any

from ansible_collections.zkops.zookeeper34.plugins.plugin_utils.zookeeper_ensemble import (
    settings_of,
)

MANIFEST = "zookeeper-backup.json"
# backup.yml names an archive <zookeeper_ensemble_name>-backup-<UTC time>.tar.gz, the name with
# every character but [A-Za-z0-9._-] replaced by _.
ARCHIVE_NAME = re.compile(r"^(?P<name>.+)-backup-(?P<time>\d{8}T\d{6}Z)\.tar\.gz$")
DATA_FILE = re.compile(r"^(?:\./)?(?P<dir>.+)/version-2/(?P<file>[^/]+)$")
LOG_MAGIC = b"ZKLG"  # a transaction log's header: magic, version (int), dbid (long)
EOR = b"B"  # the byte after each log record


def zookeeper_archive_name(name: Any) -> str:
    """An ensemble's name as backup.yml writes it in an archive's file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(name))


def zookeeper_zxid(value: Any) -> int:
    """A zxid as srvr prints it ('0x300000012'), or a number; 0 for none."""
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    return int(text, 16) if text.startswith("0x") else int(text)


def _last_logged_zxid(stream: IO[bytes]) -> int:
    """The zxid of a transaction log's last whole record, 0 for none.

    Each record is its Adler-32 (a long), its length (an int), the transaction (a TxnHeader:
    clientId long, cxid int, zxid long, time long, type int, then the body) and 'B'. Reading
    stops where ZooKeeper's does, at a zero length (the file is preallocated with zeros) or a
    record cut short (a backup taken while the server wrote), and at a checksum that does not
    match (where ZooKeeper would refuse to load the log at all).
    """
    if stream.read(16)[:4] != LOG_MAGIC:
        return 0
    last = 0
    while True:
        head = stream.read(12)
        if len(head) < 12:
            return last
        checksum, length = struct.unpack(">qi", head)
        if length < 20:
            return last
        body = stream.read(length)
        if len(body) < length or stream.read(1) != EOR:
            return last
        if zlib.adler32(body) != checksum & 0xFFFFFFFF:
            return last
        last = max(last, struct.unpack_from(">q", body, 12)[0])


def zookeeper_backup_contents(path: str) -> dict[str, Any]:
    """What a backup archive on the controller holds, read once from end to end.

    Returns `manifest` (backup.yml's zookeeper-backup.json, or None for an archive of an older
    backup.yml), `dirs` (each absolute directory whose version-2 it holds), `last_zxid` (the
    newest transaction of its data: the newest snapshot's or logged one, as ZooKeeper loads it)
    and its hex form, `epoch` (the highest currentEpoch/acceptedEpoch in it, 0 for none) and
    `error` (why it could not be read; empty when it could).
    """
    found: dict[str, Any] = {"manifest": None, "manifest_error": "", "dirs": [],
                             "last_zxid": 0, "last_zxid_hex": "0x0", "epoch": 0, "files": 0,
                             "error": ""}
    dirs: set[str] = set()
    try:
        with tarfile.open(path, "r|gz") as archive:
            for member in archive:
                name = member.name
                if name.startswith("./"):
                    name = name[2:]
                if name == MANIFEST and member.isfile():
                    try:
                        found["manifest"] = json.load(archive.extractfile(member))
                    except ValueError as err:
                        found["manifest_error"] = f"{MANIFEST} is not JSON: {err}"
                    continue
                if member.isdir() and name.rstrip("/").endswith("/version-2"):
                    dirs.add("/" + name.rstrip("/")[:-len("/version-2")])
                    continue
                match = DATA_FILE.match(name)
                if not match or not member.isfile():
                    continue
                dirs.add("/" + match["dir"])
                found["files"] += 1
                file = match["file"]
                if file.startswith("log."):
                    zxid = _last_logged_zxid(archive.extractfile(member))
                elif file.startswith("snapshot."):
                    zxid = int(file.split(".", 1)[1], 16) if re.fullmatch(
                        r"snapshot\.[0-9a-fA-F]+", file) else 0
                elif file in ("currentEpoch", "acceptedEpoch"):
                    text = archive.extractfile(member).read(32).decode("ascii", "replace")
                    if text.strip().isdigit():
                        found["epoch"] = max(found["epoch"], int(text.strip()))
                    continue
                else:
                    continue
                found["last_zxid"] = max(found["last_zxid"], zxid)
    except (OSError, EOFError, tarfile.TarError, zlib.error) as err:
        found["error"] = f"{type(err).__name__}: {err}"
    found["dirs"] = sorted(dirs)
    found["last_zxid_hex"] = hex(found["last_zxid"])
    return found


def _group_of(host: str, hostvars: Mapping[str, Mapping[str, Any]]) -> str:
    own = settings_of(hostvars[host]) or {}
    return str(own.get("zookeeper_ensemble_group")
               or hostvars[host].get("zookeeper_ensemble_group") or "zookeeper")


def zookeeper_restore_scope_problems(hosts: Iterable[str],
                                     hostvars: Mapping[str, Mapping[str, Any]],
                                     groups: Mapping[str, Iterable[str]]) -> list[str]:
    """Why a restore play may not go on: its hosts span several ensembles (by each host's
    resolved zookeeper_ensemble_group), or leave out a member of theirs. Empty when the play
    is one ensemble, whole."""
    hosts = list(hosts)
    by_group: dict[str, list[str]] = {}
    for host in hosts:
        by_group.setdefault(_group_of(host, hostvars), []).append(host)
    if len(by_group) > 1:
        listing = "; ".join(f"group {group}: {', '.join(members)}"
                            for group, members in sorted(by_group.items()))
        first = sorted(by_group)[0]
        return [f"restore.yml puts one ensemble's backup into that ensemble, and this play covers "
                f"{len(by_group)} ensembles ({listing}; zookeeper_ensemble_group), so no host was "
                f"changed. Restore one ensemble at a time, each from its own archive: --limit "
                f"<its group> -e zookeeper_restore_archive=<a backup of that ensemble>, for "
                f"example --limit {first}."]
    problems = []
    for group, members in sorted(by_group.items()):
        left_out = [h for h in groups.get(group) or [] if h not in members]
        if left_out:
            problems.append(
                f"restore.yml restores every member of an ensemble at once, and this play leaves "
                f"out {', '.join(left_out)} of group {group} (zookeeper_ensemble_group; it runs on "
                f"{', '.join(members)}), so no host was changed: a member that keeps its own data "
                f"would be elected with its newer zxid and overwrite the restored data of the "
                f"others. Run restore.yml on the whole group: --limit {group}, or no --limit. A "
                f"member whose host is gone for good must not come back with its old data: "
                f"first replace it by a new, empty host with the same inventory name and "
                f"zookeeper_id and run playbooks/site.yml (docs/operations.md, Replace a dead "
                f"member), or "
                f"take it out of the ensemble (move it to group zookeeper_retired and run "
                f"site.yml), then restore.")
    return problems


def zookeeper_restore_origin(contents: Mapping[str, Any], path: str, name: Any, group: Any
                             ) -> dict[str, str]:
    """Which ensemble an archive is from and how that is known, and why it may not go into
    ensemble `name` (group `group`); `problem` is empty when it may.

    backup.yml's manifest says it. An archive of an older backup.yml has none: its file name,
    <ensemble name>-backup-<time>.tar.gz, is then the only record, and an archive whose name
    is not of that form is refused, since nothing tells which ensemble it is from.
    """
    file = str(path).rsplit("/", 1)[-1]
    wanted = f"ensemble {name} (group {group})"
    manifest = contents.get("manifest")
    if contents.get("manifest_error"):
        return {"ensemble": "", "how": "", "problem": (
            f"{path}: {contents['manifest_error']}, so it does not say which ensemble it is "
            f"from; no host was changed. Restore an archive playbooks/backup.yml wrote.")}
    if isinstance(manifest, Mapping):
        ensemble = manifest.get("ensemble") or {}
        theirs = str(ensemble.get("name", ""))
        source = manifest.get("source") or {}
        how = (f"its {MANIFEST}, taken {manifest.get('time', '?')} from "
               f"{source.get('host', '?')} at zxid {source.get('zxid', '?')}")
        if theirs == str(name):
            return {"ensemble": theirs, "how": how, "problem": ""}
        return {"ensemble": theirs, "how": how, "problem": (
            f"{path} is a backup of ensemble {theirs} (group {ensemble.get('group', '?')}), as "
            f"{how} says, not of {wanted}, which this play restores, so no host was changed. "
            f"Restore {name} from one of its own archives ({zookeeper_archive_name(name)}"
            f"-backup-<time>.tar.gz), or restore this one into {theirs}: --limit "
            f"{ensemble.get('group', '<its group>')}.")}
    match = ARCHIVE_NAME.match(file)
    if match is None:
        return {"ensemble": "", "how": "", "problem": (
            f"{path} has no {MANIFEST} (an archive of an older backup.yml) and its file name "
            f"is not <ensemble name>-backup-<YYYYmmddTHHMMSSZ>.tar.gz, so nothing says which "
            f"ensemble it is from; no host was changed. If it is a backup of {wanted}, give "
            f"it the name backup.yml gave it, {zookeeper_archive_name(name)}-backup-<its UTC "
            f"time>.tar.gz, and run again.")}
    how = f"its file name (it has no {MANIFEST}: an archive of an older backup.yml)"
    if match["name"] == zookeeper_archive_name(name):
        return {"ensemble": match["name"], "how": how, "problem": ""}
    return {"ensemble": match["name"], "how": how, "problem": (
        f"{path} is a backup of ensemble {match['name']}, as {how} says, not of {wanted}, which "
        f"this play restores, so no host was changed. Restore {name} from one of its own "
        f"archives ({zookeeper_archive_name(name)}-backup-<time>.tar.gz).")}


def _current_epoch(content: Mapping[str, Any]) -> int | None:
    """The number in a member's version-2/currentEpoch (zookeeper_probe's `content`)."""
    for path, text in content.items():
        if str(path).endswith("/version-2/currentEpoch") and str(text).strip().isdigit():
            return int(str(text).strip())
    return None


def zookeeper_restore_check_problems(seen: Mapping[str, Mapping[str, Any]], epoch: Any,
                                     last_zxid: Any, members: Any) -> list[str]:
    """Why a member of a restored ensemble may not be on the restored data; empty when every
    member is.

    `seen` is, per member of the play (the whole ensemble), what zookeeper_probe said after the
    start: `mode` and `zxid` (srvr) and, in `content`, version-2/currentEpoch. `epoch` is the
    epoch the restore wrote into every member's epoch files, above every epoch the ensemble
    and the backup had; `last_zxid` the newest transaction of the restored data.

    Every member loaded the backup's files; what may still put other data on it is a leader
    that did not: a server outside the play, which the members' zoo.cfg lists. So a member must
    serve in an epoch after `epoch` (it took part in an election after the restore), be at or
    after `last_zxid` (it has all of the backup), and one member of the play must lead (the
    one whose data the others synced to). A one-member ensemble runs standalone: no election.
    """
    epoch, last_zxid, members = int(epoch), zookeeper_zxid(last_zxid), int(members)
    expected = ["standalone"] if members == 1 else ["leader", "follower"]
    problems = []
    for host, said in sorted(seen.items()):
        mode = said.get("mode")
        if mode not in expected:
            problems.append(f"{host}: does not serve after the restore (srvr mode "
                            f"{mode or 'none'}, {' or '.join(expected)} expected)")
            continue
        zxid = zookeeper_zxid(said.get("zxid"))
        if zxid < last_zxid:
            problems.append(f"{host}: its last zxid {hex(zxid)} is before {hex(last_zxid)}, the "
                            f"newest transaction of the restored data: it does not have all of it")
        current = _current_epoch(said.get("content") or {})
        if members > 1 and (current is None or int(current) <= epoch):
            problems.append(f"{host}: serves in epoch {current} (version-2/currentEpoch), not in "
                            f"one after {epoch}, the epoch the restore gave every member: it did "
                            f"not join the election of the restored members")
    leaders = sorted(h for h, said in seen.items() if said.get("mode") == "leader")
    if members > 1 and not problems and len(leaders) != 1:
        modes = ", ".join(f"{h}={said.get('mode')}" for h, said in sorted(seen.items()))
        problems.append(
            f"no member of the restored ensemble leads ({modes}): they follow a server outside "
            f"this play that zoo.cfg lists (server.N lines of a host not in the group), whose "
            f"epoch was above {epoch}, and synced to its data, not the backup's. Stop ZooKeeper "
            f"on that server, or take its server.N line out of zoo.cfg with site.yml, then run "
            f"restore.yml again with the same archive")
    return problems


# Filters of backup.yml and restore.yml, by the names tasks apply them with.
# plugins/filter/zookeeper.py names each and loads this file when a task first applies one.
FILTERS = {
    "zookeeper_archive_name": zookeeper_archive_name,
    "zookeeper_zxid": zookeeper_zxid,
    "zookeeper_backup_contents": zookeeper_backup_contents,
    "zookeeper_restore_scope_problems": zookeeper_restore_scope_problems,
    "zookeeper_restore_origin": zookeeper_restore_origin,
    "zookeeper_restore_check_problems": zookeeper_restore_check_problems,
}
