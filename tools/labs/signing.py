"""The lab mirror's signing key. The mirror rebuilds ZooKeeper's tarballs from Debian's jars, so
Apache's signatures cannot apply to them: it signs them with a key of the lab's own, made on this
machine, as Apache signs its releases (a detached, armored .asc beside each), and the lab's
inventories trust that key (zookeeper_release_keys) where users trust Apache's KEYS."""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KEY_UID = "ZooKeeper lab mirror (signs the lab's rebuilt tarballs) <mirror@zk-lab.invalid>"


def gpg(home: Path, *args: str) -> subprocess.CompletedProcess:
    """gpg with `home` as its home, non-interactive; the agent it starts is stopped after."""
    try:
        return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet", *args],
                              capture_output=True, timeout=120, check=True)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                       capture_output=True, timeout=30, check=False)


@contextmanager
def locked(home: Path) -> Iterator[None]:
    """One user of `home` at a time, across processes: every gpg call stops the home's agent
    afterwards, which would kill it under another process's call (make test starts several
    scenarios' `tools/lab up` at once), and two processes must not both make a key."""
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f".{home.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_key(home: Path, keys: Path) -> None:
    """A signing key in `home` (made there, without a passphrase, if it has none) and its public
    part, armored, at `keys`: the lab's KEYS file."""
    with locked(home):
        _ensure_key(home, keys)


def _ensure_key(home: Path, keys: Path) -> None:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    listed = gpg(home, "--list-secret-keys", "--with-colons").stdout.decode()
    if not any(line.startswith("sec:") for line in listed.splitlines()):
        gpg(home, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", KEY_UID,
            "ed25519", "sign", "never")
    exported = gpg(home, "--armor", "--export").stdout
    if not keys.is_file() or keys.read_bytes() != exported:
        keys.parent.mkdir(parents=True, exist_ok=True)
        tmp = keys.with_name(f".{keys.name}.tmp")
        tmp.write_bytes(exported)
        tmp.replace(keys)


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + ".asc")


def signed(home: Path, path: Path) -> bool:
    """Whether `path` has a good signature beside it by the key in `home`."""
    if not signature_path(path).is_file():
        return False
    try:
        with locked(home):
            gpg(home, "--verify", str(signature_path(path)), str(path))
    except subprocess.CalledProcessError:
        return False
    return True


def sign(home: Path, path: Path) -> Path:
    """Sign `path` with the key in `home`: its detached, armored signature beside it."""
    asc = signature_path(path)
    tmp = asc.with_name(f".{asc.name}.{os.getpid()}.tmp")
    with locked(home):
        gpg(home, "--yes", "--armor", "--detach-sign", "--output", str(tmp), str(path))
    tmp.replace(asc)
    return asc
