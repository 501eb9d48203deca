"""The offline mirror (tools/labs/lab.py): its releases' layout (3.4.13 from Debian 11's jars, 3.8.0
from Debian 12's), the manifest of which Debian package and version each jar comes from and the
CVE fixes their changelogs name, and when a mirror is rebuilt."""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from labs import lab
import pytest
from labs.lab import Lab, LabError
from labs.release import (
    MIRROR38_JARS,
    MIRROR38_RELEASE,
    MIRROR_COLLECT_SCRIPT,
    MIRROR_JARS,
    MIRROR_RELEASE,
    MIRROR_RELEASES,
    ChangelogEntry,
    JarSource,
    changelog_cves,
    class_path_program,
    manifest_class_path,
    mirror_manifest,
    read_collected,
    release_tarball,
    upstream_version,
    versioned_jar_name,
)

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


ZOOKEEPER38_CHANGELOG = """\
zookeeper (3.8.0-11+deb12u2) bookworm; urgency=medium

  * Bug fix: CVE-2024-23944 (Closes: #1066947):

 -- Pierre Gruet <pgt@debian.org>  Sun, 16 Jun 2024 22:49:52 +0200

zookeeper (3.8.0-11+deb12u1) bookworm-security; urgency=medium

  * Team upload:
    - CVE-2023-44981: Prevent a potential authorisation bypass vulnerability.

 -- Pierre Gruet <pgt@debian.org>  Sun, 29 Oct 2023 21:10:44 +0100
"""
NETTY = ("libnetty-java", "1:4.1.48-7+deb12u2", "netty", "")
# Debian 12's jars, some of each kind: the release's own (MIRROR38_JARS), then some that
# zookeeper.jar's Class-Path names.
PACKAGES38 = {
    "zookeeper.jar": ("libzookeeper-java", "3.8.0-11+deb12u2", "zookeeper",
                      ZOOKEEPER38_CHANGELOG),
    "logback-classic.jar": ("liblogback-java", "1:1.2.11-3", "logback", ""),
    "logback-core.jar": ("liblogback-java", "1:1.2.11-3", "logback", ""),
    "servlet-api.jar": ("libservlet-api-java", "4.0.1-2", "libservlet-api-java", ""),
    "netty-codec.jar": NETTY,
    "netty-resolver.jar": NETTY,
    "netty-transport-native-unix-common.jar": NETTY,
    "findbugs-annotations.jar": ("libfindbugs-annotations-java", "3.1.0~preview2-3",
                                 "findbugs", ""),
    "netty-buffer.jar": NETTY,
    "jetty9-server.jar": ("libjetty9-java", "9.4.57-1.1~deb12u1", "jetty9", ""),
    "zookeeper-jute.jar": ("libzookeeper-java", "3.8.0-11+deb12u2", "zookeeper",
                           ZOOKEEPER38_CHANGELOG),
}
CLASS_PATH38 = [f"/usr/share/java/{jar}" for jar in (
    "findbugs-annotations.jar", "jetty9-server.jar", "jline.jar", "netty-buffer.jar",
    "zookeeper-jute.jar")]
# lib/ of the 3.8.0 release built from them: every jar with its upstream version in its name.
LIB38 = [
    "findbugs-annotations-3.1.0-preview2.jar", "jetty9-server-9.4.57.jar",
    "logback-classic-1.2.11.jar", "logback-core-1.2.11.jar", "netty-buffer-4.1.48.jar",
    "netty-codec-4.1.48.jar", "netty-resolver-4.1.48.jar",
    "netty-transport-native-unix-common-4.1.48.jar", "servlet-api-4.0.1.jar",
    "zookeeper-3.8.0.jar", "zookeeper-jute-3.8.0.jar",
]


def write_collected(out: Path, packages: dict | None = None,
                    distribution: str = "Debian 11 (bullseye)",
                    class_path: list[str] | None = None) -> None:
    """What the collecting container leaves in /out, without a container; `class_path`: the
    Class-Path entries it lists (those of `packages`, default PACKAGES, are installed, the
    others skipped)."""
    packages = PACKAGES if packages is None else packages
    (out / "distribution").write_text(distribution + "\n")
    (out / "changelogs").mkdir(exist_ok=True)
    rows = []
    for jar, (package, version, source, changelog) in packages.items():
        (out / jar).write_bytes(f"jar {jar}".encode())
        rows.append(f"{jar}\t{package}\t{version}\t{source}\n")
        if changelog is not None:
            (out / "changelogs" / f"{package}.gz").write_bytes(gzip.compress(changelog.encode()))
    (out / "packages.tsv").write_text("".join(rows))
    if class_path is not None:
        (out / "class-path").write_text("".join(f"{p}\n" for p in class_path))
        (out / "skipped").write_text(
            "".join(f"{p}\n" for p in class_path if Path(p).name not in packages))


def write_collected38(out: Path, packages: dict | None = None) -> None:
    write_collected(out, PACKAGES38 if packages is None else packages, "Debian 12 (bookworm)",
                    CLASS_PATH38)


def test_changelog_cves_lists_each_entry_naming_cves_with_its_version_and_date() -> None:
    assert changelog_cves(ZOOKEEPER_CHANGELOG) == [
        ChangelogEntry("3.4.13-6+deb11u1", "bullseye-security", "2023-10-28",
                       ("CVE-2023-44981",)),
        ChangelogEntry("3.4.13-2", "unstable", "2019-06-04", ("CVE-2019-0201",)),
    ]
    assert changelog_cves(LOG4J_CHANGELOG)[0].cves == (
        "CVE-2021-4104", "CVE-2022-23302", "CVE-2022-23305", "CVE-2022-23307")


def test_changelog_cves_keeps_an_entry_without_its_trailer_and_ignores_none() -> None:
    text = "pkg (1.0-2) unstable; urgency=high\n\n  * Fix CVE-2020-1234.\n"
    assert changelog_cves(text) == [
        ChangelogEntry("1.0-2", "unstable", "", ("CVE-2020-1234",))]
    assert changelog_cves("pkg (1.0-1) unstable; urgency=low\n\n  * Initial.\n") == []


def test_read_collected_takes_versions_from_the_package_data(tmp_path: Path) -> None:
    write_collected(tmp_path)
    collected = read_collected(tmp_path, MIRROR_RELEASE)
    jars, changelogs = collected.jars, collected.changelogs
    assert collected.distribution == "Debian 11 (bullseye)"
    assert collected.skipped == ()
    assert [j.jar for j in jars] == list(MIRROR_JARS)
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
        read_collected(tmp_path, MIRROR_RELEASE)


def test_the_manifest_says_debian_build_not_apache_and_lists_every_jar(tmp_path: Path) -> None:
    write_collected(tmp_path)
    text = mirror_manifest(MIRROR_RELEASE, read_collected(tmp_path, MIRROR_RELEASE))
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
    collected = read_collected(tmp_path, MIRROR_RELEASE)
    text = mirror_manifest(MIRROR_RELEASE, collected)
    data = release_tarball(MIRROR_RELEASE, tmp_path, collected.jars, text)
    assert release_tarball(MIRROR_RELEASE, tmp_path, collected.jars, text) == data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.extractfile("zookeeper-3.4.13/SOURCES.txt").read().decode() == text
        names = tar.getnames()
    assert "zookeeper-3.4.13/lib/log4j-1.2-1.2.17.jar" in names
    assert "zookeeper-3.4.13/zookeeper-3.4.13.jar" in names


# Debian 12's zookeeper.jar manifest (shortened): Class-Path wrapped at 72 bytes, CRLF.
ZOOKEEPER38_MANIFEST = (
    "Manifest-Version: 1.0\r\n"
    "Build-Jdk-Spec: 17\r\n"
    "Class-Path: /usr/share/java/commons-cli.jar /usr/share/java/commons-io.j\r\n"
    " ar /usr/share/java/jline.jar /usr/share/java/netty-transport-native-epo\r\n"
    " ll.jar ../java/zookeeper-jute.jar\r\n"
    "Created-By: Maven JAR Plugin 3.3.0\r\n"
    "\r\n"
    "Name: org/apache/zookeeper\r\n"
    "Class-Path: /not/the/main/section.jar\r\n"
)


def test_manifest_class_path_joins_continuation_lines_of_the_main_section() -> None:
    assert manifest_class_path(ZOOKEEPER38_MANIFEST) == [
        "/usr/share/java/commons-cli.jar", "/usr/share/java/commons-io.jar",
        "/usr/share/java/jline.jar", "/usr/share/java/netty-transport-native-epoll.jar",
        "../java/zookeeper-jute.jar"]
    assert manifest_class_path(ZOOKEEPER38_MANIFEST.replace("\r\n", "\n")) == (
        manifest_class_path(ZOOKEEPER38_MANIFEST))
    assert manifest_class_path("Manifest-Version: 1.0\nclass-path: a.jar  b.jar\n") == [
        "a.jar", "b.jar"]


def test_manifest_class_path_of_a_manifest_without_one_is_empty() -> None:
    assert manifest_class_path("Manifest-Version: 1.0\n\nName: x\nClass-Path: y.jar\n") == []
    assert manifest_class_path("") == []


def test_the_class_path_program_lists_absolute_paths_from_a_real_jar(tmp_path: Path) -> None:
    """What the collecting container runs, run here on a jar with that manifest."""
    jar = tmp_path / "java" / "zookeeper.jar"
    jar.parent.mkdir()
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", ZOOKEEPER38_MANIFEST)
    program = tmp_path / "class_path.py"
    program.write_text(class_path_program())
    out = subprocess.run([sys.executable, str(program), str(jar)], capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines() == [
        "/usr/share/java/commons-cli.jar", "/usr/share/java/commons-io.jar",
        "/usr/share/java/jline.jar", "/usr/share/java/netty-transport-native-epoll.jar",
        f"{tmp_path}/java/zookeeper-jute.jar"]


def test_the_collect_script_is_valid_sh() -> None:
    subprocess.run(["sh", "-n", "-c", MIRROR_COLLECT_SCRIPT], check=True)


@pytest.mark.parametrize(("debian", "upstream"), [
    ("1:4.1.48-7+deb12u2", "4.1.48"),
    ("3.8.0-11+deb12u2", "3.8.0"),
    ("2.14.1-2~deb12u1", "2.14.1"),
    ("9.4.57-1.1~deb12u1", "9.4.57"),
    ("3.1.0~preview2-3", "3.1.0-preview2"),
    ("1.0+ds1-5", "1.0"),
    ("2.0.2+dfsg-1", "2.0.2"),
    ("0.74", "0.74"),
])
def test_upstream_version_drops_epoch_revision_and_repack(debian: str, upstream: str) -> None:
    assert upstream_version(debian) == upstream


def test_jars_are_named_with_their_version_unless_they_have_it() -> None:
    assert versioned_jar_name("netty-buffer.jar", "4.1.48") == "netty-buffer-4.1.48.jar"
    assert versioned_jar_name("zookeeper.jar", "3.8.0") == "zookeeper-3.8.0.jar"
    assert versioned_jar_name("jline-1.0.jar", "1.0") == "jline-1.0.jar"
    assert versioned_jar_name("log4j-1.2-1.2.17.jar", "1.2.17") == "log4j-1.2-1.2.17.jar"


def test_the_releases_and_their_mirror_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab, "STATE", tmp_path)
    assert MIRROR_RELEASES[0] is MIRROR_RELEASE  # the one the lab deploys
    assert lab.mirror_tarball() == (
        tmp_path / "mirror/zookeeper-3.4.13/zookeeper-3.4.13.tar.gz")
    assert lab.mirror_tarball(MIRROR38_RELEASE) == (
        tmp_path / "mirror/zookeeper-3.8.0/apache-zookeeper-3.8.0-bin.tar.gz")
    assert MIRROR38_RELEASE.distro == "bookworm"
    assert MIRROR38_RELEASE.packages == (
        "libzookeeper-java", "liblogback-java", "libservlet-api-java")


def test_read_collected_adds_the_class_path_after_its_jar_and_skips_what_is_missing(
        tmp_path: Path) -> None:
    write_collected38(tmp_path)
    collected = read_collected(tmp_path, MIRROR38_RELEASE)
    assert collected.distribution == "Debian 12 (bookworm)"
    assert [j.jar for j in collected.jars] == [
        "zookeeper.jar", "findbugs-annotations.jar", "jetty9-server.jar", "netty-buffer.jar",
        "zookeeper-jute.jar", "logback-classic.jar", "logback-core.jar", "servlet-api.jar",
        "netty-codec.jar", "netty-resolver.jar", "netty-transport-native-unix-common.jar"]
    assert collected.skipped == ("/usr/share/java/jline.jar",)
    assert [e.cves for e in collected.changelogs["libzookeeper-java"]] == [
        ("CVE-2024-23944",), ("CVE-2023-44981",)]


def test_read_collected_refuses_a_class_path_jar_neither_copied_nor_skipped(
        tmp_path: Path) -> None:
    write_collected38(tmp_path)
    (tmp_path / "packages.tsv").write_text("".join(
        line + "\n" for line in (tmp_path / "packages.tsv").read_text().splitlines()
        if not line.startswith("netty-buffer.jar")))
    with pytest.raises(LabError, match=r"no Debian package found for netty-buffer\.jar"):
        read_collected(tmp_path, MIRROR38_RELEASE)
    (tmp_path / "class-path").unlink()
    with pytest.raises(LabError, match=r"Class-Path of zookeeper\.jar was not listed"):
        read_collected(tmp_path, MIRROR38_RELEASE)


def test_the_38_manifest_says_debian_build_and_what_the_class_path_left_out(
        tmp_path: Path) -> None:
    write_collected38(tmp_path)
    text = mirror_manifest(MIRROR38_RELEASE, read_collected(tmp_path, MIRROR38_RELEASE))
    assert text.startswith("apache-zookeeper-3.8.0-bin: where each jar comes from\n")
    assert "This is Debian's patched build of ZooKeeper 3.8.0 (with the CVE fixes its" in text
    assert "NOT Apache's release" in text
    assert "packages of Debian 12 (bookworm)" in text
    rows = [line.split() for line in text.splitlines()
            if line.startswith("apache-zookeeper-3.8.0-bin/")]
    assert rows[:2] == [
        ["apache-zookeeper-3.8.0-bin/lib/zookeeper-3.8.0.jar", "libzookeeper-java",
         "3.8.0-11+deb12u2"],
        ["apache-zookeeper-3.8.0-bin/lib/findbugs-annotations-3.1.0-preview2.jar",
         "libfindbugs-annotations-java", "3.1.0~preview2-3"]]
    assert len(rows) == len(LIB38)
    assert ("Named in the Class-Path of zookeeper.jar but not installed with these packages "
            "(left out):\n  /usr/share/java/jline.jar\n") in text
    assert "    3.8.0-11+deb12u2 (2024-06-16): CVE-2024-23944\n" in text
    digest = hashlib.sha512(b"jar netty-buffer.jar").hexdigest()
    assert f"{digest}  apache-zookeeper-3.8.0-bin/lib/netty-buffer-4.1.48.jar\n" in text


def test_the_38_tarball_has_the_upstream_layout_and_is_reproducible(tmp_path: Path) -> None:
    write_collected38(tmp_path)
    collected = read_collected(tmp_path, MIRROR38_RELEASE)
    text = mirror_manifest(MIRROR38_RELEASE, collected)
    data = release_tarball(MIRROR38_RELEASE, tmp_path, collected.jars, text)
    assert release_tarball(MIRROR38_RELEASE, tmp_path, collected.jars, text) == data
    top = "apache-zookeeper-3.8.0-bin"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile(f"{top}/SOURCES.txt").read().decode() == text
        logback = tar.extractfile(f"{top}/conf/logback.xml").read()
        netty = tar.extractfile(f"{top}/lib/netty-buffer-4.1.48.jar").read()
    assert {name.split("/")[0] for name in members} == {top}
    assert sorted(n[len(f"{top}/lib/"):] for n in members if n.startswith(f"{top}/lib/")) == LIB38
    assert sorted(n for n in members if "/lib/" not in n) == [
        top, f"{top}/README.txt", f"{top}/SOURCES.txt", f"{top}/conf", f"{top}/conf/logback.xml",
        f"{top}/conf/zoo_sample.cfg", f"{top}/lib"]
    assert netty == b"jar netty-buffer.jar"
    assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members.values())
    root = ET.fromstring(logback)
    files = [e.text for e in root.iter("file")]
    assert files == ["${zookeeper.log.dir:-.}/${zookeeper.log.file:-zookeeper.log}"]
    assert [e.get("ref") for e in root.find("root")] == ["CONSOLE", "ROLLINGFILE"]
    assert root.find("property") is None  # it would hide -Dzookeeper.log.dir


def test_two_jars_with_one_name_in_the_release_are_refused(tmp_path: Path) -> None:
    packages = dict(PACKAGES38, **{"zookeeper-3.8.0.jar": PACKAGES38["zookeeper.jar"]})
    write_collected(tmp_path, packages, "Debian 12 (bookworm)",
                    [*CLASS_PATH38, "/usr/share/java/zookeeper-3.8.0.jar"])
    collected = read_collected(tmp_path, MIRROR38_RELEASE)
    with pytest.raises(LabError, match=r"would be lib/zookeeper-3\.8\.0\.jar"):
        mirror_manifest(MIRROR38_RELEASE, collected)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """build_mirror with the lab state in tmp_path and a fake `podman run` that leaves what
    the collecting container would (3.8.0's when asked for a Class-Path); returns the podman
    calls made."""
    calls: list[list[str]] = []

    def fake_podman(*args: str, **_: object) -> str:
        calls.append(list(args))
        out = Path(args[args.index("-v") + 1].split(":")[0])
        if "CLASS_PATH_OF=/usr/share/java/zookeeper.jar" in args:
            assert "def manifest_class_path" in (out / "class_path.py").read_text()
            write_collected38(out)
        else:
            write_collected(out)
        return ""

    monkeypatch.setattr(lab, "STATE", tmp_path / "state")
    monkeypatch.setattr(lab, "podman", fake_podman)
    monkeypatch.setattr(lab, "build_base_image", lambda base: None)
    return calls


LAB = Lab("test", ipaddress.IPv4Network("10.213.99.0/24"))


def test_build_mirror_writes_tarball_checksum_and_manifest_beside(
        state: list[list[str]]) -> None:
    tarball = lab.build_mirror(LAB)["3.4.13"]
    manifest = tarball.with_name("SOURCES.txt")
    checksum = tarball.with_name("zookeeper-3.4.13.tar.gz.sha512")
    assert checksum.read_text() == (
        f"{hashlib.sha512(tarball.read_bytes()).hexdigest()}  zookeeper-3.4.13.tar.gz\n")
    with tarfile.open(tarball) as tar:
        assert tar.extractfile("zookeeper-3.4.13/SOURCES.txt").read() == manifest.read_bytes()
    assert "libzookeeper-java  3.4.13-6+deb11u1" in manifest.read_text()
    assert sorted(p.name for p in tarball.parent.iterdir()) == [
        "SOURCES.txt", "zookeeper-3.4.13.tar.gz", "zookeeper-3.4.13.tar.gz.asc",
        "zookeeper-3.4.13.tar.gz.sha512"]
    assert len(state) == 2 and "PACKAGES=libzookeeper-java" in state[0]
    assert f"localhost/zk-lab:bullseye-r{lab.IMAGE_REVISION}" in state[0]
    assert "/usr/share/java/zookeeper-3.4.13.jar" in state[0]
    # Complete: the next call builds nothing.
    assert lab.build_mirror(LAB)["3.4.13"] == tarball
    assert len(state) == 2


def test_build_mirror_builds_38_beside_in_the_upstream_layout(state: list[list[str]]) -> None:
    tarball = lab.build_mirror(LAB)["3.8.0"]
    assert tarball == lab.STATE / "mirror/zookeeper-3.8.0/apache-zookeeper-3.8.0-bin.tar.gz"
    assert sorted(p.name for p in tarball.parent.iterdir()) == [
        "SOURCES.txt", "apache-zookeeper-3.8.0-bin.tar.gz",
        "apache-zookeeper-3.8.0-bin.tar.gz.asc", "apache-zookeeper-3.8.0-bin.tar.gz.sha512"]
    assert tarball.with_name("apache-zookeeper-3.8.0-bin.tar.gz.sha512").read_text() == (
        f"{hashlib.sha512(tarball.read_bytes()).hexdigest()}  apache-zookeeper-3.8.0-bin.tar.gz\n")
    call = state[1]
    assert f"localhost/zk-lab:bookworm-r{lab.IMAGE_REVISION}" in call
    assert "PACKAGES=libzookeeper-java liblogback-java libservlet-api-java" in call
    assert call[-len(MIRROR38_JARS):] == [f"/usr/share/java/{j}" for j in MIRROR38_JARS]
    with tarfile.open(tarball) as tar:
        assert "apache-zookeeper-3.8.0-bin/lib/zookeeper-3.8.0.jar" in tar.getnames()


def test_an_existing_34_mirror_is_kept_and_only_38_built(state: list[list[str]]) -> None:
    first = lab.build_mirror(LAB)
    shutil.rmtree(first["3.8.0"].parent)
    kept = first["3.4.13"].stat().st_mtime_ns
    assert lab.build_mirror(LAB) == first
    assert len(state) == 3 and f"localhost/zk-lab:bookworm-r{lab.IMAGE_REVISION}" in state[2]
    assert first["3.4.13"].stat().st_mtime_ns == kept
    assert lab.mirror_complete(first["3.8.0"])


def test_the_lab_describes_every_release_of_its_mirror(state: list[list[str]]) -> None:
    assert LAB.describe()["releases"]["3.8.0"] == {
        "url": "http://10.213.99.250:8080/zookeeper-3.8.0/apache-zookeeper-3.8.0-bin.tar.gz",
        "sha512": None}
    tarballs = lab.build_mirror(LAB)
    releases = LAB.describe()["releases"]
    assert releases == {
        version: {"url": f"http://10.213.99.250:8080/zookeeper-{version}/{tarball.name}",
                  "sha512": hashlib.sha512(tarball.read_bytes()).hexdigest()}
        for version, tarball in tarballs.items()}
    assert LAB.describe()["zookeeper_version"] == "3.4.13"


ALL_FIXES = ["CVE-2017-5637", "CVE-2019-0201", "CVE-2023-44981", "CVE-2024-23944"]


def test_mirror_vars_deploy_34_unless_told_38() -> None:
    """The build fixes are both releases', so the same inventory upgrades without warnings;
    the lab's key is trusted and its plain HTTP allowed."""
    lab_trust = {"zookeeper_release_keys": str(lab.STATE / "mirror" / "KEYS"),
                 "zookeeper_allow_plain_http": True}
    assert lab.mirror_vars(LAB) == {
        "zookeeper_version": "3.4.13", "zookeeper_mirror": "http://10.213.99.250:8080",
        "zookeeper_build_fixes": ALL_FIXES, **lab_trust}
    assert lab.mirror_vars(LAB, MIRROR38_RELEASE) == {
        "zookeeper_version": "3.8.0", "zookeeper_mirror": "http://10.213.99.250:8080",
        "zookeeper_build_fixes": ALL_FIXES, **lab_trust}
    # Written into an inventory, the keys' path is relative to it (the same in any clone).
    assert lab.mirror_vars(LAB, inventory_dir=lab.STATE.parent / "inventories" / "lab")[
        "zookeeper_release_keys"] == f"{{{{ inventory_dir }}}}/../../{lab.STATE.name}/mirror/KEYS"


def test_the_mirror_signs_its_tarballs_with_the_lab_key_its_keys_file_holds(
        state: list[list[str]], tmp_path: Path) -> None:
    """gpgv, as the role runs it on the hosts, takes each tarball's .asc with the lab's KEYS
    alone; a tarball changed afterwards is signed again on the next build."""
    tarballs = lab.build_mirror(LAB)
    keyring = tmp_path / "keys.gpg"
    subprocess.run(["gpg", "--batch", "--yes", "--dearmor", "--output", str(keyring),
                    str(lab.mirror_keys())], check=True, capture_output=True, timeout=60)

    def gpgv(tarball: Path) -> int:
        return subprocess.run(["gpgv", "--homedir", str(tmp_path), "--keyring", str(keyring),
                               f"{tarball}.asc", str(tarball)], capture_output=True,
                              timeout=60, check=False).returncode

    for tarball in tarballs.values():
        assert gpgv(tarball) == 0, tarball
    tarball = tarballs["3.4.13"]
    asc = Path(f"{tarball}.asc").read_bytes()
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    assert gpgv(tarball) != 0  # the signature is of the tarball as it was
    checksum = tarball.with_name(tarball.name + ".sha512")
    checksum.write_text(f"{hashlib.sha512(tarball.read_bytes()).hexdigest()}  {tarball.name}\n")
    assert lab.build_mirror(LAB)["3.4.13"] == tarball  # complete: not rebuilt, signed again
    assert Path(f"{tarball}.asc").read_bytes() != asc
    assert gpgv(tarball) == 0


def test_a_mirror_without_the_manifest_is_rebuilt(state: list[list[str]]) -> None:
    tarball = lab.mirror_tarball()
    tarball.parent.mkdir(parents=True)
    tarball.write_bytes(b"a tarball built before the manifest existed")
    tarball.with_name(tarball.name + ".sha512").write_text(
        f"{hashlib.sha512(tarball.read_bytes()).hexdigest()}  {tarball.name}\n")
    assert not lab.mirror_complete(tarball)
    lab.build_mirror(LAB)
    assert len(state) == 2  # 3.4.13 rebuilt, 3.8.0 built
    assert lab.mirror_complete(tarball)
    with tarfile.open(tarball) as tar:
        assert "zookeeper-3.4.13/SOURCES.txt" in tar.getnames()


@pytest.mark.parametrize("version", ["3.4.13", "3.8.0"])
def test_a_mirror_whose_checksum_does_not_match_is_rebuilt(
        state: list[list[str]], version: str) -> None:
    tarball = lab.build_mirror(LAB)[version]
    tarball.write_bytes(b"truncated")
    assert not lab.mirror_complete(tarball)
    lab.build_mirror(LAB)
    assert len(state) == 3  # that release alone is built again
    assert lab.mirror_complete(tarball)


def test_only_the_labs_own_inventories_skip_host_key_checks(tmp_path: Path) -> None:
    """The lab's hosts are made anew each time, so their inventories skip SSH host key
    checks; the project's ansible.cfg and the example a production inventory is copied from
    do not."""
    repo = Path(__file__).resolve().parents[2]
    skipping = "StrictHostKeyChecking=no"
    cfg = (repo / "ansible.cfg").read_text().lower().replace(" ", "")
    assert "host_key_checking=false" not in cfg
    example = "".join(p.read_text() for p in (repo / "inventories" / "example").rglob("*.yml"))
    assert skipping not in example
    inventory = tmp_path / "hosts.yml"
    lab.write_inventory(Lab("t", ipaddress.IPv4Network("10.213.99.0/24")), inventory)
    assert skipping in inventory.read_text()
    assert skipping in (repo / "inventories" / "vagrant" / "hosts.yml").read_text()


def test_the_inotify_limit_is_raised_when_below_and_left_when_above(tmp_path: Path) -> None:
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    assert lab.ensure_inotify_instances(limit, 1024) == 1024
    assert limit.read_text().strip() == "1024"
    limit.write_text("4096\n")
    assert lab.ensure_inotify_instances(limit, 1024) == 4096
    assert limit.read_text().strip() == "4096"
    assert lab.ensure_inotify_instances(tmp_path / "none", 1024) == 0


def fake_containers(monkeypatch: pytest.MonkeyPatch, present: set[str],
                    failures: int) -> list[list[str]]:
    """`present` as the containers there; podman rm fails `failures` times (removing nothing, as
    when podman gives up on PIDs not reaped in time), then removes what it is given. Returns the
    rm calls."""
    calls: list[list[str]] = []

    def fake_podman(*args: str, **_: object) -> str:
        assert args[:3] == ("rm", "-f", "-t"), args
        calls.append(list(args[4:]))
        if len(calls) <= failures:
            raise LabError("command failed (125): podman rm\nError: cannot remove container x "
                           "as it could not be stopped: given PIDs did not die within timeout")
        present.difference_update(args[4:])
        return ""

    monkeypatch.setattr(lab, "podman", fake_podman)
    monkeypatch.setattr(lab, "container_state",
                        lambda name: "running" if name in present else None)
    return calls


def test_containers_podman_fails_to_remove_are_removed_at_the_next_try(
        monkeypatch: pytest.MonkeyPatch) -> None:
    present = {"a", "b"}
    calls = fake_containers(monkeypatch, present, failures=2)
    lab.remove_containers("a", "b", "gone", pause=0)
    assert calls == [["a", "b"]] * 3 and present == set()


def test_a_container_that_cannot_be_removed_is_an_error_after_the_last_try(
        monkeypatch: pytest.MonkeyPatch) -> None:
    present = {"a"}
    calls = fake_containers(monkeypatch, present, failures=lab.REMOVE_TRIES)
    with pytest.raises(LabError, match="given PIDs did not die"):
        lab.remove_containers("a", pause=0)
    assert len(calls) == lab.REMOVE_TRIES and present == {"a"}


def test_nothing_is_removed_where_no_container_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_containers(monkeypatch, set(), failures=0)
    lab.remove_containers("a", "b", pause=0)
    assert calls == []
