"""The offline mirror's manifest (tools/lab.py): which Debian package and version each jar of the
lab's tarball comes from, the CVE fixes their changelogs name, and when a mirror is rebuilt."""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import tarfile
from pathlib import Path

import lab
import pytest
from lab import ChangelogEntry, JarSource, Lab, LabError

# Lines in the form of Debian 11's changelogs (zookeeper 3.4.13-6+deb11u1, apache-log4j1.2
# 1.2.17-10+deb11u1), shortened.
ZOOKEEPER_CHANGELOG = """\
zookeeper (3.4.13-6+deb11u1) bullseye-security; urgency=medium

  * Team upload:
    - CVE-2023-44981: Prevent a potential authorisation bypass vulnerability.
      If SASL Quorum Peer authentication was enabled (via
      quorum.auth.enableSasl), ...

 -- Pierre Gruet <pgt@debian.org>  Sat, 28 Oct 2023 23:16:44 +0200

zookeeper (3.4.13-6) unstable; urgency=medium

  * Fixed the build failure with OpenJDK 17 (Closes: #981923)

 -- Emmanuel Bourg <ebourg@apache.org>  Sun, 07 Feb 2021 23:16:46 +0100

zookeeper (3.4.13-2) unstable; urgency=medium

  * Add patch for CVE-2019-0201 (Debian: #929283)

 -- tony mancill <tmancill@debian.org>  Tue, 04 Jun 2019 21:22:04 -0700
"""
LOG4J_CHANGELOG = """\
apache-log4j1.2 (1.2.17-10+deb11u1) bullseye; urgency=medium

  * Team upload.
  * Fix CVE-2021-4104, CVE-2022-23302, CVE-2022-23305 and CVE-2022-23307.
    Multiple security vulnerabilities have been discovered in
    Apache Log4j 1.2 when it is configured to use JMSSink, JDBCAppender and
    JMSAppender or Apache Chainsaw. ... (CVE-2021-4104 again)

 -- Markus Koschany <apo@debian.org>  Sat, 12 Feb 2022 10:54:14 +0100

apache-log4j1.2 (1.2.17-9) unstable; urgency=high

  * Fix CVE-2019-17571. (Closes: #947124)

 -- Markus Koschany <apo@debian.org>  Sat, 11 Jan 2020 23:06:27 +0100
"""
# jar -> (binary package, version, source package, changelog)
PACKAGES = {
    "zookeeper-3.4.13.jar": ("libzookeeper-java", "3.4.13-6+deb11u1", "zookeeper",
                             ZOOKEEPER_CHANGELOG),
    "log4j-1.2-1.2.17.jar": ("liblog4j1.2-java", "1.2.17-10+deb11u1", "apache-log4j1.2",
                             LOG4J_CHANGELOG),
    "slf4j-api-1.7.30.jar": ("libslf4j-java", "1.7.30-1", "libslf4j-java", ""),
    "slf4j-log4j12-1.7.30.jar": ("libslf4j-java", "1.7.30-1", "libslf4j-java", ""),
    "jline-1.0.jar": ("libjline-java", "1.0-3", "jline", None),
}


def write_collected(out: Path, packages: dict = PACKAGES) -> None:
    """What the collecting container leaves in /out, without a container."""
    (out / "distribution").write_text("Debian 11 (bullseye)\n")
    (out / "changelogs").mkdir(exist_ok=True)
    rows = []
    for jar, (package, version, source, changelog) in packages.items():
        (out / jar).write_bytes(f"jar {jar}".encode())
        rows.append(f"{jar}\t{package}\t{version}\t{source}\n")
        if changelog is not None:
            (out / "changelogs" / f"{package}.gz").write_bytes(gzip.compress(changelog.encode()))
    (out / "packages.tsv").write_text("".join(rows))


def test_changelog_cves_lists_each_entry_naming_cves_with_its_version_and_date() -> None:
    assert lab.changelog_cves(ZOOKEEPER_CHANGELOG) == [
        ChangelogEntry("3.4.13-6+deb11u1", "bullseye-security", "2023-10-28",
                       ("CVE-2023-44981",)),
        ChangelogEntry("3.4.13-2", "unstable", "2019-06-04", ("CVE-2019-0201",)),
    ]
    assert lab.changelog_cves(LOG4J_CHANGELOG)[0].cves == (
        "CVE-2021-4104", "CVE-2022-23302", "CVE-2022-23305", "CVE-2022-23307")


def test_changelog_cves_keeps_an_entry_without_its_trailer_and_ignores_none() -> None:
    text = "pkg (1.0-2) unstable; urgency=high\n\n  * Fix CVE-2020-1234.\n"
    assert lab.changelog_cves(text) == [
        ChangelogEntry("1.0-2", "unstable", "", ("CVE-2020-1234",))]
    assert lab.changelog_cves("pkg (1.0-1) unstable; urgency=low\n\n  * Initial.\n") == []


def test_read_collected_takes_versions_from_the_package_data(tmp_path: Path) -> None:
    write_collected(tmp_path)
    distribution, jars, changelogs = lab.read_collected(tmp_path)
    assert distribution == "Debian 11 (bullseye)"
    assert [j.jar for j in jars] == list(lab.MIRROR_JARS)
    assert jars[0] == JarSource(
        "zookeeper-3.4.13.jar", "libzookeeper-java", "3.4.13-6+deb11u1", "zookeeper",
        hashlib.sha512(b"jar zookeeper-3.4.13.jar").hexdigest())
    assert [e.version for e in changelogs["libzookeeper-java"]] == ["3.4.13-6+deb11u1",
                                                                    "3.4.13-2"]
    assert changelogs["libslf4j-java"] == []
    assert "libjline-java" not in changelogs


def test_read_collected_refuses_a_jar_without_a_package(tmp_path: Path) -> None:
    write_collected(tmp_path, {k: v for k, v in PACKAGES.items() if k != "jline-1.0.jar"})
    with pytest.raises(LabError, match=r"no Debian package found for jline-1\.0\.jar"):
        lab.read_collected(tmp_path)


def test_the_manifest_says_debian_build_not_apache_and_lists_every_jar(tmp_path: Path) -> None:
    write_collected(tmp_path)
    text = lab.mirror_manifest(*lab.read_collected(tmp_path))
    assert "This is Debian's patched build of ZooKeeper 3.4.13 (with the CVE fixes its" in text
    assert "NOT Apache's release" in text
    assert "packages of Debian 11 (bullseye)" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("zookeeper-3.4.13/")]
    assert rows == [
        ["zookeeper-3.4.13/zookeeper-3.4.13.jar", "libzookeeper-java", "3.4.13-6+deb11u1"],
        ["zookeeper-3.4.13/lib/log4j-1.2-1.2.17.jar", "liblog4j1.2-java", "1.2.17-10+deb11u1"],
        ["zookeeper-3.4.13/lib/slf4j-api-1.7.30.jar", "libslf4j-java", "1.7.30-1"],
        ["zookeeper-3.4.13/lib/slf4j-log4j12-1.7.30.jar", "libslf4j-java", "1.7.30-1"],
        ["zookeeper-3.4.13/lib/jline-1.0.jar", "libjline-java", "1.0-3"],
    ]
    assert "    3.4.13-6+deb11u1 (2023-10-28): CVE-2023-44981\n" in text
    assert "    3.4.13-2 (2019-06-04): CVE-2019-0201\n" in text
    assert ("    1.2.17-10+deb11u1 (2022-02-12): CVE-2021-4104, CVE-2022-23302, "
            "CVE-2022-23305, CVE-2022-23307\n") in text
    assert text.count("  libslf4j-java 1.7.30-1:\n    (none named)\n") == 1
    assert "  libjline-java 1.0-3:\n    (no changelog found in the package)\n" in text
    digest = hashlib.sha512(b"jar jline-1.0.jar").hexdigest()
    assert f"{digest}  zookeeper-3.4.13/lib/jline-1.0.jar\n" in text


def test_the_tarball_carries_the_manifest_and_is_reproducible(tmp_path: Path) -> None:
    write_collected(tmp_path)
    text = lab.mirror_manifest(*lab.read_collected(tmp_path))
    data = lab.release_tarball(tmp_path, text)
    assert lab.release_tarball(tmp_path, text) == data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.extractfile("zookeeper-3.4.13/SOURCES.txt").read().decode() == text
        names = tar.getnames()
    assert "zookeeper-3.4.13/lib/log4j-1.2-1.2.17.jar" in names
    assert "zookeeper-3.4.13/zookeeper-3.4.13.jar" in names


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """build_mirror with the lab state in tmp_path and a fake `podman run` that leaves what
    the collecting container would; returns the podman calls made."""
    calls: list[list[str]] = []

    def fake_podman(*args: str, **_: object) -> str:
        calls.append(list(args))
        volume = args[args.index("-v") + 1]
        write_collected(Path(volume.split(":")[0]))
        return ""

    monkeypatch.setattr(lab, "STATE", tmp_path / "state")
    monkeypatch.setattr(lab, "podman", fake_podman)
    monkeypatch.setattr(lab, "build_base_image", lambda base: None)
    return calls


LAB = Lab("test", ipaddress.IPv4Network("10.213.99.0/24"))


def test_build_mirror_writes_tarball_checksum_and_manifest_beside(
        state: list[list[str]]) -> None:
    tarball = lab.build_mirror(LAB)
    manifest = tarball.with_name("SOURCES.txt")
    checksum = tarball.with_name("zookeeper-3.4.13.tar.gz.sha512")
    assert checksum.read_text() == (
        f"{hashlib.sha512(tarball.read_bytes()).hexdigest()}  zookeeper-3.4.13.tar.gz\n")
    with tarfile.open(tarball) as tar:
        assert tar.extractfile("zookeeper-3.4.13/SOURCES.txt").read() == manifest.read_bytes()
    assert "libzookeeper-java  3.4.13-6+deb11u1" in manifest.read_text()
    assert sorted(p.name for p in tarball.parent.iterdir()) == [
        "SOURCES.txt", "zookeeper-3.4.13.tar.gz", "zookeeper-3.4.13.tar.gz.sha512"]
    assert len(state) == 1 and "PACKAGE=libzookeeper-java" in state[0]
    # Complete: the next call builds nothing.
    assert lab.build_mirror(LAB) == tarball
    assert len(state) == 1


def test_a_mirror_without_the_manifest_is_rebuilt(state: list[list[str]]) -> None:
    tarball = lab.mirror_tarball()
    tarball.parent.mkdir(parents=True)
    tarball.write_bytes(b"a tarball built before the manifest existed")
    tarball.with_name(tarball.name + ".sha512").write_text(
        f"{hashlib.sha512(tarball.read_bytes()).hexdigest()}  {tarball.name}\n")
    assert not lab.mirror_complete(tarball)
    lab.build_mirror(LAB)
    assert len(state) == 1
    assert lab.mirror_complete(tarball)
    with tarfile.open(tarball) as tar:
        assert "zookeeper-3.4.13/SOURCES.txt" in tar.getnames()


def test_a_mirror_whose_checksum_does_not_match_is_rebuilt(state: list[list[str]]) -> None:
    tarball = lab.build_mirror(LAB)
    tarball.write_bytes(b"truncated")
    assert not lab.mirror_complete(tarball)
    lab.build_mirror(LAB)
    assert len(state) == 2
    assert lab.mirror_complete(tarball)


def test_only_the_labs_own_inventories_skip_host_key_checks(tmp_path: Path) -> None:
    """The lab's hosts are made anew each time, so their inventories skip SSH host key
    checks; the project's ansible.cfg and the example a production inventory is copied from
    do not."""
    repo = Path(__file__).resolve().parent.parent
    skipping = "StrictHostKeyChecking=no"
    cfg = (repo / "ansible.cfg").read_text().lower().replace(" ", "")
    assert "host_key_checking=false" not in cfg
    example = "".join(p.read_text() for p in (repo / "inventories" / "example").rglob("*.yml"))
    assert skipping not in example
    inventory = tmp_path / "hosts.yml"
    lab.write_inventory(Lab("t", ipaddress.IPv4Network("10.213.99.0/24")), inventory)
    assert skipping in inventory.read_text()
    assert skipping in (repo / "inventories" / "vagrant" / "hosts.yml").read_text()
