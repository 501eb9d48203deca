"""The distributions a lab's hosts can run: where debootstrap takes each from, with which archive
keyring, what a fresh server of it has in its apt sources, and its default JDK.

Debian's releases are checked by the controller's own debian-archive-keyring. Ubuntu's archive
keyring is not packaged for Debian 12: it is taken from Ubuntu's own `ubuntu-keyring` package on
the Ubuntu archive, accepted only with the SHA-256 pinned here, and cached in the lab's state.
Ubuntu's hosts get main and universe (where its ZooKeeper package is), with their package lists.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEBIAN_MIRROR = os.environ.get("ZK_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
UBUNTU_MIRROR = os.environ.get("ZK_LAB_UBUNTU_MIRROR", "http://archive.ubuntu.com/ubuntu")
FETCH_TIMEOUT = 120.0


class DistroError(Exception):
    """A distribution's keyring could not be had or was not the one pinned."""


@dataclass(frozen=True)
class Keyring:
    """An archive keyring shipped in a .deb of the distribution's archive."""

    package_path: str  # below the mirror, from the release's Packages index
    sha256: str  # of the .deb, pinned
    member: str  # the keyring file inside the package

    @property
    def file_name(self) -> str:
        return Path(self.member).name


@dataclass(frozen=True)
class Distro:
    """A release debootstrap can install, as the lab builds its hosts from it."""

    suite: str  # debootstrap's name of the release: bullseye, jammy
    title: str  # Debian 11, Ubuntu 22.04
    mirror: str
    java_package: str  # the release's default headless JRE
    keyring: Keyring | None = None  # None: debootstrap's default (debian-archive-keyring)
    # the archive's components the hosts' apt sources (and package lists) hold
    components: tuple[str, ...] = ("main",)

    def debootstrap_options(self, keyring: Path | None) -> list[str]:
        """debootstrap's options for the release: its components, and the keyring its Release
        file is checked with (None: debootstrap's own)."""
        return ([f"--components={','.join(self.components)}"]
                + ([f"--keyring={keyring}"] if keyring else []))


UBUNTU_KEYRING = Keyring(
    package_path="pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb",
    sha256="0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f",
    member="usr/share/keyrings/ubuntu-archive-keyring.gpg",
)

DISTROS = {distro.suite: distro for distro in (
    Distro("bullseye", "Debian 11", DEBIAN_MIRROR, "openjdk-11-jre-headless"),
    Distro("bookworm", "Debian 12", DEBIAN_MIRROR, "openjdk-17-jre-headless"),
    # The seed guides' other platform. Its universe has ZooKeeper 3.4.13 (Debian's package).
    Distro("jammy", "Ubuntu 22.04", UBUNTU_MIRROR, "openjdk-11-jre-headless",
           keyring=UBUNTU_KEYRING, components=("main", "universe")),
)}


def fetch(url: str, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The body of `url`; raises DistroError with the URL when it cannot be had."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except OSError as err:
        raise DistroError(f"could not fetch {url}: {err}") from err


def archive_keyring(distro: Distro, cache: Path) -> Path | None:
    """The keyring debootstrap checks `distro`'s Release file with: None for debootstrap's own
    (Debian), else the pinned package's keyring, fetched once into `cache`."""
    keyring = distro.keyring
    if keyring is None:
        return None
    path = cache / f"{distro.suite}-{keyring.file_name}"
    if path.exists():
        return path
    url = f"{distro.mirror}/{keyring.package_path}"
    package = fetch(url)
    digest = hashlib.sha256(package).hexdigest()
    if digest != keyring.sha256:
        raise DistroError(f"{url} has SHA-256 {digest}, not the pinned {keyring.sha256}: "
                          "not using it (a mirror serving something else?)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        deb = Path(tmp) / "keyring.deb"
        deb.write_bytes(package)
        unpacked = Path(tmp) / "root"
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise DistroError(f"dpkg-deb could not unpack {url}: {proc.stderr.strip()}")
        found = unpacked / keyring.member
        if not found.is_file():
            raise DistroError(f"{url} holds no {keyring.member}")
        os.replace(found, path)
    return path
