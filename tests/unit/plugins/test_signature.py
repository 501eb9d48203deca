"""Tests of the zookeeper_signature module, run as Ansible runs it (a Python process given its
arguments as JSON) with this machine's gpgv: a real Apache ZooKeeper release and its signature
against the keys pinned in the role, and each way a check must fail."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from plugins import REPO, ROLE, gpg, module_util, run_module

PINNED_KEYS = ROLE / "files" / "zookeeper-release-keys.asc"
# Debian's source package of ZooKeeper carries Apache's source release as it was published,
# with Apache's signature (<name>.orig.tar.gz.asc): a real release to check, fetched once.
APACHE_CACHE = REPO / ".lab" / "apache-release"
DEBIAN_SOURCES = """Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def run(tmp_path: Path, **args: Any) -> dict:
    """The module's JSON result for `args`."""
    return run_module("zookeeper_signature", tmp_path, args)


@pytest.fixture(scope="session")
def apache_release() -> tuple[Path, Path]:
    """Apache's ZooKeeper source release (the one Debian 12 packages) and its .asc, fetched
    from Debian's archive with apt-get into .lab/apache-release once (a lock keeps parallel
    test workers from fetching it twice)."""
    APACHE_CACHE.mkdir(parents=True, exist_ok=True)
    with (APACHE_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = sorted(APACHE_CACHE.glob("*.orig.tar.gz"))
        if not found or not Path(f"{found[0]}.asc").is_file():
            apt = APACHE_CACHE / "apt"
            (apt / "sources").mkdir(parents=True, exist_ok=True)
            (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
            (apt / "sources" / "debian-src.sources").write_text(DEBIAN_SOURCES)
            options = ["-o", "Dir::Etc::SourceList=/dev/null",
                       "-o", f"Dir::Etc::SourceParts={apt / 'sources'}",
                       "-o", f"Dir::State::Lists={apt / 'lists'}",
                       "-o", "APT::Sandbox::User=root"]
            for step in (["update"], ["source", "--download-only", "zookeeper"]):
                proc = subprocess.run(["apt-get", *options, *step], cwd=APACHE_CACHE,
                                      capture_output=True, text=True, timeout=600, check=False)
                assert proc.returncode == 0, f"apt-get {step[0]}: {proc.stdout[-1500:]}" \
                                             f"{proc.stderr[-1500:]}"
            found = sorted(APACHE_CACHE.glob("*.orig.tar.gz"))
    assert found, f"no *.orig.tar.gz in {APACHE_CACHE}"
    return found[0], Path(f"{found[0]}.asc")


def test_a_real_apache_release_verifies_against_the_pinned_keys(
        tmp_path: Path, apache_release: tuple[Path, Path]) -> None:
    tarball, signature = apache_release
    result = run(tmp_path, path=str(tarball), signature=str(signature),
                 keys=PINNED_KEYS.read_text())
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["keys"] == 16  # Apache's KEYS as pinned: one block per release manager
    assert result["fingerprint"] == "BBE7232D7991050B54C8EA0ADC08637CA615D22C", result
    assert "eolivelli@apache.org" in result["signer"], result
    assert result["signed"] > 1_600_000_000


def test_a_changed_byte_is_a_bad_signature(
        tmp_path: Path, apache_release: tuple[Path, Path]) -> None:
    tarball, signature = apache_release
    changed = tmp_path / tarball.name
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed.write_bytes(bytes(data))
    result = run(tmp_path, path=str(changed), signature=str(signature),
                 keys=PINNED_KEYS.read_text(), advice="Fetch the release again.")
    assert result.get("failed"), result
    assert result["msg"] == (
        f"{changed}: its signature {signature} is not good: the signature does not match the "
        "file: the file was changed after it was signed, or the signature is of another file. "
        "Fetch the release again."), result


@pytest.fixture(scope="module")
def signed_by_another_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A file signed by a fresh key that no trusted KEYS holds, and that key's armored text."""
    base = tmp_path_factory.mktemp("another-key")
    home = base / "gnupg"
    gpg(home, "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key",
        "Not a release manager <nobody@example.invalid>", "ed25519", "sign", "never")
    tarball = base / "zookeeper-3.4.14.tar.gz"
    tarball.write_bytes(b"not ZooKeeper\n")
    gpg(home, "--armor", "--detach-sign", "--output", f"{tarball}.asc", str(tarball))
    return tarball, Path(f"{tarball}.asc"), gpg(home, "--armor", "--export").decode()


def test_a_signature_by_a_key_not_trusted_is_refused(
        tmp_path: Path, signed_by_another_key: tuple[Path, Path, str]) -> None:
    tarball, signature, other_keys = signed_by_another_key
    result = run(tmp_path, path=str(tarball), signature=str(signature),
                 keys=PINNED_KEYS.read_text())
    assert result.get("failed"), result
    assert "is not good: it was made by key " in result["msg"], result
    assert "which is not among the trusted keys" in result["msg"], result
    # The same file checks out against the key that signed it: the refusal was the key's.
    trusted = run(tmp_path, path=str(tarball), signature=str(signature), keys=other_keys)
    assert not trusted.get("failed"), trusted
    assert trusted["keys"] == 1


def test_a_missing_signature_and_an_empty_signature_are_refused(
        tmp_path: Path, signed_by_another_key: tuple[Path, Path, str]) -> None:
    tarball, _unused, keys = signed_by_another_key
    missing = run(tmp_path, path=str(tarball), signature=str(tmp_path / "none.asc"), keys=keys)
    assert missing["msg"] == (f"{tarball}: {tmp_path / 'none.asc'} (its signature) does not "
                              "exist or is not a regular file."), missing
    empty = tmp_path / "empty.asc"
    empty.write_text("")
    result = run(tmp_path, path=str(tarball), signature=str(empty), keys=keys)
    assert result.get("failed") and "holds no OpenPGP signature" in result["msg"], result


def test_keys_that_are_not_keys_are_refused(tmp_path: Path,
                                            signed_by_another_key: tuple[Path, Path, str]
                                            ) -> None:
    tarball, signature, keys = signed_by_another_key
    result = run(tmp_path, path=str(tarball), signature=str(signature), keys="just text\n")
    assert result["msg"] == (f"{tarball}: the trusted keys cannot be used: they hold no public "
                             "key block (-----BEGIN PGP PUBLIC KEY BLOCK-----)."), result
    # One character of the key changed: its armor checksum tells.
    lines = keys.splitlines()
    body = next(i for i, line in enumerate(lines) if line.startswith("mDM"))
    lines[body] = lines[body][:10] + ("A" if lines[body][10] != "A" else "B") + lines[body][11:]
    result = run(tmp_path, path=str(tarball), signature=str(signature),
                 keys="\n".join(lines) + "\n")
    assert "does not match its checksum" in result["msg"], result


def test_dearmor_reads_every_block_of_an_apache_keys_file() -> None:
    keyring, count = module_util("zookeeper_verify").dearmor(PINNED_KEYS.read_text())
    assert count == 16
    # What gpg makes of the same file, as one binary keyring, is the same packets.
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"zk-dearmor-{os.getpid()}"
    try:
        gpg(home, "--import", str(PINNED_KEYS))
        listed = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--with-colons",
                                 "--show-keys"], input=keyring, capture_output=True,
                                timeout=60, check=True).stdout.decode()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert listed.count("\npub:") + listed.startswith("pub:") == 16
    assert "BBE7232D7991050B54C8EA0ADC08637CA615D22C" in listed


def test_no_verifier_on_the_host_says_what_to_install(
        tmp_path: Path, signed_by_another_key: tuple[Path, Path, str]) -> None:
    tarball, signature, keys = signed_by_another_key
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(sys.executable, bare / "python3")
    # get_bin_path also looks in /sbin, /usr/sbin and /usr/local/sbin: hide gpg from them too by
    # a PATH of one empty directory and verifier names that are not found.
    result = run_module(
        "zookeeper_signature", tmp_path,
        {"path": str(tarball), "signature": str(signature), "keys": keys},
        setup="from ansible_collections.zkops.zookeeper34.plugins.module_utils import "
              "zookeeper_verify; zookeeper_verify.VERIFIERS = ('gpgv-absent',)",
        env={"PATH": str(bare)})
    assert result["msg"] == (f"{tarball}: no program here checks OpenPGP signatures (gpgv, gpgv2 "
                             "or gpg): install gpgv (Debian, Ubuntu) or gnupg2 (the RHEL "
                             "family)."), result
