"""The lab's distributions (tools/labs/distros.py): debootstrap's options for each, and
the archive keyring taken from a package only with its pinned SHA-256 (a real .deb built here
with dpkg-deb and served from a file: URL stands in for the Ubuntu archive)."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from labs import distros
from labs.distros import DISTROS, Distro, DistroError, Keyring, archive_keyring

KEYRING_BYTES = b"a keyring stand-in\n"
MEMBER = "usr/share/keyrings/stand-in-archive-keyring.gpg"


def build_keyring_deb(tmp_path: Path) -> Path:
    """A .deb holding MEMBER, as the archive's ubuntu-keyring package holds its keyring."""
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: stand-in-keyring\nVersion: 1\nArchitecture: all\n"
        "Maintainer: lab <lab@example.invalid>\nDescription: a stand-in\n")
    (root / MEMBER).parent.mkdir(parents=True)
    (root / MEMBER).write_bytes(KEYRING_BYTES)
    deb = tmp_path / "mirror" / "pool" / "stand-in-keyring_1_all.deb"
    deb.parent.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


def stand_in(tmp_path: Path, sha256: str | None = None) -> Distro:
    deb = build_keyring_deb(tmp_path)
    digest = sha256 or hashlib.sha256(deb.read_bytes()).hexdigest()
    keyring = Keyring("pool/stand-in-keyring_1_all.deb", digest, MEMBER)
    return replace(DISTROS["jammy"], mirror=(tmp_path / "mirror").as_uri(), keyring=keyring)


def test_ubuntu_hosts_get_universe_and_ubuntus_keyring_debian_main_and_debootstraps(
        tmp_path: Path) -> None:
    keyring = tmp_path / "ubuntu-archive-keyring.gpg"
    assert DISTROS["jammy"].debootstrap_options(keyring) == [
        "--components=main,universe", f"--keyring={keyring}"]
    assert DISTROS["bullseye"].debootstrap_options(None) == ["--components=main"]
    assert (DISTROS["jammy"].title, DISTROS["bookworm"].java_package) == (
        "Ubuntu 22.04", "openjdk-17-jre-headless")


def test_debian_is_checked_with_debootstraps_own_keyring(tmp_path: Path) -> None:
    assert archive_keyring(DISTROS["bookworm"], tmp_path) is None
    assert not any(tmp_path.iterdir())


def test_the_keyring_comes_out_of_the_pinned_package_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distro = stand_in(tmp_path)
    path = archive_keyring(distro, tmp_path / "cache")
    assert path == tmp_path / "cache" / "jammy-stand-in-archive-keyring.gpg"
    assert path.read_bytes() == KEYRING_BYTES
    # cached: not fetched again
    monkeypatch.setattr(distros, "fetch", lambda url: pytest.fail(f"fetched {url} again"))
    assert archive_keyring(distro, tmp_path / "cache") == path


def test_a_package_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    distro = stand_in(tmp_path, sha256="0" * 64)
    with pytest.raises(DistroError, match=r"stand-in-keyring_1_all\.deb has SHA-256 [0-9a-f]{64}, "
                                          r"not the pinned 0{64}"):
        archive_keyring(distro, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_package_without_the_keyring_is_refused(tmp_path: Path) -> None:
    distro = stand_in(tmp_path)
    assert distro.keyring is not None
    missing = replace(distro, keyring=replace(distro.keyring, member="usr/share/keyrings/none"))
    with pytest.raises(DistroError, match=r"holds no usr/share/keyrings/none"):
        archive_keyring(missing, tmp_path / "cache")


def test_an_archive_that_does_not_answer_is_named(tmp_path: Path) -> None:
    distro = replace(stand_in(tmp_path), mirror=(tmp_path / "nowhere").as_uri())
    with pytest.raises(DistroError, match=r"could not fetch file://.*/nowhere/pool/"):
        archive_keyring(distro, tmp_path / "cache")
