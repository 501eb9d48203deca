"""What the lab's offline mirror serves: each ZooKeeper release rebuilt from a Debian release's
jars in Apache's layout, its manifest (SOURCES.txt: each jar's Debian package and version, the
CVE fixes their changelogs name) and the reproducible tarball.

Pure: the containers that collect the jars and the files written to .lab/mirror are
tools/labs/lab.py's (build_mirror).
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import inspect
import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


class LabError(RuntimeError):
    """A failure the user can act on; printed without a traceback."""


# ZooKeeper 3.4.13 as Debian 11 ships it: the jars a QuorumPeerMain needs at run time.
MIRROR_VERSION = "3.4.13"
# What Debian's changelog of that build (3.4.13-6+deb11u1, SOURCES.txt) lists as fixed beyond
# Apache's 3.4.13: deployments from the mirror say so in zookeeper_build_fixes.
MIRROR_BUILD_FIXES = ["CVE-2017-5637", "CVE-2019-0201", "CVE-2023-44981"]
MIRROR_DEBIAN_PACKAGE = "libzookeeper-java"
MIRROR_JARS = {
    "zookeeper-3.4.13.jar": None,  # top level of the release, as upstream lays it out
    "log4j-1.2-1.2.17.jar": "lib",
    "slf4j-api-1.7.30.jar": "lib",
    "slf4j-log4j12-1.7.30.jar": "lib",
    "jline-1.0.jar": "lib",
}
# ZooKeeper 3.8.0 as Debian 12 ships it, in the upstream 3.8 layout (apache-zookeeper-3.8.0-bin/
# with every jar in lib/), for deployments and upgrades to 3.8 from the offline mirror.
MIRROR38_VERSION = "3.8.0"
# What Debian's changelog of 3.8.0-11+deb12u2 lists as fixed beyond Apache's 3.8.0.
MIRROR38_BUILD_FIXES = ["CVE-2023-44981", "CVE-2024-23944"]
MIRROR38_PACKAGES = ("libzookeeper-java", "liblogback-java", "libservlet-api-java")
# lib/ of 3.8.0: zookeeper.jar, every jar its manifest's Class-Path names that Debian installs,
# and these: the logging backend upstream 3.8 ships (logback), the servlet API the admin server
# needs, and the netty jars that netty-handler and netty-transport-native-epoll (named in the
# Class-Path) need themselves, as upstream's lib/ has them.
MIRROR38_JARS = (
    "zookeeper.jar", "logback-classic.jar", "logback-core.jar", "servlet-api.jar",
    "netty-codec.jar", "netty-resolver.jar", "netty-transport-native-unix-common.jar",
)
# Written beside the tarball and into it: which Debian package and version each jar comes
# from, and the CVE fixes the packages' changelogs name. Written last: a mirror without it is
# incomplete (or older than the manifest) and is rebuilt.
MIRROR_MANIFEST = "SOURCES.txt"

JAVA_DIR = "/usr/share/java"


@dataclass(frozen=True)
class Release:
    """One ZooKeeper release on the offline mirror, rebuilt from the jars of a Debian release."""

    version: str
    distro: str  # the Debian release (DISTROS) whose packages the jars come from
    packages: tuple[str, ...]  # installed, without recommends, in a container of that release
    jars: tuple[tuple[str, str], ...]  # (jar in JAVA_DIR, its directory in the release or "")
    top: str  # the tarball's top directory
    tarball: str
    templates: str  # the directory of templates/ laid over the release (conf/, README.txt)
    build_fixes: tuple[str, ...]
    # A jar of `jars` whose manifest's Class-Path adds to lib/ each jar it names that Debian
    # installs; "" for none.
    class_path_of: str = ""

    @property
    def directory(self) -> str:
        """The release's directory on the mirror, as on Apache's archive."""
        return f"zookeeper-{self.version}"


MIRROR_RELEASE = Release(
    version=MIRROR_VERSION, distro="bullseye", packages=(MIRROR_DEBIAN_PACKAGE,),
    jars=tuple((jar, sub or "") for jar, sub in MIRROR_JARS.items()),
    top=f"zookeeper-{MIRROR_VERSION}", tarball=f"zookeeper-{MIRROR_VERSION}.tar.gz",
    templates="mirror", build_fixes=tuple(MIRROR_BUILD_FIXES))
MIRROR38_RELEASE = Release(
    version=MIRROR38_VERSION, distro="bookworm", packages=MIRROR38_PACKAGES,
    jars=tuple((jar, "lib") for jar in MIRROR38_JARS),
    top=f"apache-zookeeper-{MIRROR38_VERSION}-bin",
    tarball=f"apache-zookeeper-{MIRROR38_VERSION}-bin.tar.gz", templates="mirror38",
    build_fixes=tuple(MIRROR38_BUILD_FIXES), class_path_of="zookeeper.jar")
# Every release the mirror serves; the first is the one the lab deploys (mirror_vars).
MIRROR_RELEASES = (MIRROR_RELEASE, MIRROR38_RELEASE)


# Run in a container of the release's Debian with /out mounted: installs $PACKAGES, then copies
# each jar (the release's jars, passed as arguments, then those the Class-Path of $CLASS_PATH_OF
# names, listed by /out/class_path.py, in /out/class-path; those not installed go to
# /out/skipped), the binary package and version dpkg says it belongs to, and that package's
# changelog.
MIRROR_COLLECT_SCRIPT = r"""set -e
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
. /etc/os-release
echo "Debian $VERSION" > /out/distribution
: > /out/packages.tsv
mkdir -p /out/changelogs
collect() {
    name=${1##*/}
    if [ -f "/out/$name" ]; then
        return 0
    fi
    cp -L "$1" "/out/$name"
    owner=$( (dpkg-query -S "$1" 2>/dev/null || dpkg-query -S "$(readlink -f "$1")") | head -n 1)
    pkg=${owner%%: *}
    pkg=${pkg%%:*}
    fields=$(dpkg-query -W -f='${Package}\t${Version}\t${source:Package}' "$pkg")
    printf '%s\t%s\n' "$name" "$fields" >> /out/packages.tsv
    if [ -f "/usr/share/doc/$pkg/changelog.Debian.gz" ]; then
        cp "/usr/share/doc/$pkg/changelog.Debian.gz" "/out/changelogs/$pkg.gz"
    fi
}
for jar in "$@"; do
    collect "$jar"
done
if [ -n "$CLASS_PATH_OF" ]; then
    python3 /out/class_path.py "$CLASS_PATH_OF" > /out/class-path
    : > /out/skipped
    while read -r jar; do
        if [ -f "$jar" ]; then
            collect "$jar"
        else
            echo "$jar" >> /out/skipped
        fi
    done < /out/class-path
fi
"""


def manifest_class_path(manifest: str) -> list[str]:
    """The entries of the Class-Path header of a jar's META-INF/MANIFEST.MF (its main
    section), in order. Self-contained: class_path_program() sends it to the container."""
    headers: list[str] = []
    for line in manifest.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            break  # the main section ends at the first empty line
        if line.startswith(" ") and headers:
            headers[-1] += line[1:]  # a continuation line
        else:
            headers.append(line)
    for header in headers:
        name, _unused, value = header.partition(":")
        if name.strip().lower() == "class-path":
            return value.split()
    return []


CLASS_PATH_MAIN = '''

import posixpath
import sys
import urllib.parse
import zipfile

with zipfile.ZipFile(sys.argv[1]) as jar:
    text = jar.read("META-INF/MANIFEST.MF").decode("utf-8")
for entry in manifest_class_path(text):
    path = urllib.parse.unquote(entry)
    print(posixpath.normpath(posixpath.join(posixpath.dirname(sys.argv[1]), path)))
'''


def class_path_program() -> str:
    """The Python program the collecting container runs (`python3 class_path.py JAR`): the
    absolute paths of the jars JAR's Class-Path names, one a line."""
    return ("from __future__ import annotations\n\n\n" + inspect.getsource(manifest_class_path)
            + CLASS_PATH_MAIN)


@dataclass(frozen=True)
class JarSource:
    """One jar of the mirror and the Debian binary package it was taken from."""

    jar: str
    package: str
    version: str
    source: str
    sha512: str


@dataclass(frozen=True)
class ChangelogEntry:
    """A Debian changelog entry that names CVEs."""

    version: str
    distribution: str
    date: str  # YYYY-MM-DD, or "" if the trailer line did not parse
    cves: tuple[str, ...]


CHANGELOG_HEADER = re.compile(r"^(\S+) \(([^)\s]+)\) ([^;]+);")
CHANGELOG_TRAILER = re.compile(r"^ -- .*?>  (.+)$")
CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")


def changelog_cves(text: str) -> list[ChangelogEntry]:
    """The entries of a Debian changelog that name CVE ids, newest first, each id once."""
    entries: list[ChangelogEntry] = []
    version = distribution = ""
    cves: list[str] = []

    def close(date: str) -> None:
        if version and cves:
            entries.append(ChangelogEntry(version, distribution, date, tuple(cves)))

    for line in text.splitlines():
        header = CHANGELOG_HEADER.match(line)
        if header:
            version, distribution, cves = header.group(2), header.group(3).strip(), []
            continue
        trailer = CHANGELOG_TRAILER.match(line)
        if trailer:
            try:
                date = email.utils.parsedate_to_datetime(trailer.group(1).strip()).date()
            except (TypeError, ValueError):
                close("")
            else:
                close(date.isoformat())
            version, cves = "", []
            continue
        for cve in CVE_ID.findall(line):
            if cve not in cves:
                cves.append(cve)
    close("")  # an entry without its trailer (a truncated changelog)
    return entries


@dataclass(frozen=True)
class Collected:
    """What MIRROR_COLLECT_SCRIPT left for a release: the distribution, one JarSource per jar
    (in the release's order), the CVE entries of each package's changelog, and the Class-Path
    entries Debian does not install (left out)."""

    distribution: str
    jars: tuple[JarSource, ...]
    changelogs: dict[str, list[ChangelogEntry]]
    skipped: tuple[str, ...] = ()


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line] if path.is_file() else []


def read_collected(out: Path, release: Release) -> Collected:
    """What MIRROR_COLLECT_SCRIPT left in `out` for `release`, the jars in the release's order
    with the Class-Path's after the jar naming them; refuses a jar it lacks."""
    distribution = (out / "distribution").read_text().strip()
    rows: dict[str, JarSource] = {}
    for line in (out / "packages.tsv").read_text().splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or not all(fields):
            raise LabError(f"unexpected package data for the mirror: {line!r}")
        jar, package, version, source = fields
        sha512 = hashlib.sha512((out / jar).read_bytes()).hexdigest()
        rows[jar] = JarSource(jar, package, version, source or package, sha512)
    if release.class_path_of and not (out / "class-path").is_file():
        raise LabError(f"the Class-Path of {release.class_path_of} was not listed")
    skipped = read_lines(out / "skipped")
    class_path = [Path(p).name for p in read_lines(out / "class-path") if p not in skipped]
    wanted: list[str] = []
    for jar, _unused in release.jars:  # each jar, then what its Class-Path adds
        wanted += [jar, *(class_path if jar == release.class_path_of else [])]
    wanted = list(dict.fromkeys(wanted))
    missing = [jar for jar in wanted if jar not in rows]
    if missing:
        raise LabError(f"no Debian package found for {', '.join(missing)}")
    changelogs: dict[str, list[ChangelogEntry]] = {}
    for source in rows.values():
        path = out / "changelogs" / f"{source.package}.gz"
        if source.package not in changelogs and path.is_file():
            changelogs[source.package] = changelog_cves(
                gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace"))
    return Collected(distribution, tuple(rows[jar] for jar in wanted), changelogs,
                     tuple(skipped))


DEBIAN_REPACK = re.compile(r"[+~](?:dfsg|ds|repack)\d*$")


def upstream_version(debian_version: str) -> str:
    """The upstream part of a Debian package version, without epoch, Debian revision or repack
    suffix, and `~` as `-`: 1:4.1.48-7+deb12u2 -> 4.1.48, 3.1.0~preview2-3 -> 3.1.0-preview2."""
    version = debian_version.split(":", 1)[-1]
    if "-" in version:
        version = version.rsplit("-", 1)[0]
    return DEBIAN_REPACK.sub("", version).replace("~", "-")


def versioned_jar_name(jar: str, version: str) -> str:
    """Debian's jar name with the upstream version, unless it has it already:
    netty-buffer.jar -> netty-buffer-4.1.48.jar, jline-1.0.jar stays."""
    stem = jar[:-len(".jar")] if jar.endswith(".jar") else jar
    return jar if stem.endswith(f"-{version}") else f"{stem}-{version}.jar"


def release_paths(release: Release, jars: tuple[JarSource, ...]) -> list[str]:
    """Where each jar goes in the release (below its top directory): the directory the release
    names for it (lib/ for a Class-Path jar), under its versioned name."""
    directories = dict(release.jars)
    paths = []
    for jar in jars:
        name = versioned_jar_name(jar.jar, upstream_version(jar.version))
        directory = directories.get(jar.jar, "lib")
        paths.append(f"{directory}/{name}" if directory else name)
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise LabError(f"two jars of {release.tarball} would be {', '.join(twice)}")
    return paths


def mirror_manifest(release: Release, collected: Collected) -> str:
    """SOURCES.txt: each jar of the release's tarball, the Debian package and version it comes
    from, and the CVE fixes those packages' changelogs name. The same bytes for the same
    packages, so the tarball stays reproducible."""
    top, jars = release.top, collected.jars
    title = f"{top}: where each jar comes from"
    lines = [
        title,
        "=" * len(title),
        "",
        f"This is Debian's patched build of ZooKeeper {release.version} (with the CVE fixes its",
        "changelog lists, below), NOT Apache's release: the jars were taken from the binary",
        f"packages of {collected.distribution} named here and laid out like an Apache release "
        "for the",
        "project's offline lab and tests. Do not use it outside the lab.",
        "",
    ]
    paths = [f"{top}/{path}" for path in release_paths(release, jars)]
    width = max(len(p) for p in paths)
    pwidth = max(len(j.package) for j in jars)
    lines.append(f"{'jar':<{width}}  {'Debian package':<{pwidth}}  version")
    for path, jar in zip(paths, jars):
        lines.append(f"{path:<{width}}  {jar.package:<{pwidth}}  {jar.version}")
    if collected.skipped:
        lines += ["", f"Named in the Class-Path of {release.class_path_of} but not installed with "
                  "these packages (left out):"]
        lines += [f"  {path}" for path in collected.skipped]
    lines += ["", "CVE fixes named in each package's changelog "
              "(/usr/share/doc/<package>/changelog.Debian.gz):"]
    lines += changelog_lines(jars, collected.changelogs)
    lines += ["", "sha512 of each jar:"]
    for path, jar in zip(paths, jars):
        lines.append(f"{jar.sha512}  {path}")
    return "\n".join(lines) + "\n"


def changelog_lines(jars: tuple[JarSource, ...],
                    changelogs: dict[str, list[ChangelogEntry]]) -> list[str]:
    """The manifest's CVE fixes: each package once, its entries that name CVEs."""
    lines: list[str] = []
    seen: set[str] = set()
    for jar in jars:
        if jar.package in seen:
            continue
        seen.add(jar.package)
        lines.append(f"  {jar.package} {jar.version}:")
        entries = changelogs.get(jar.package)
        if entries is None:
            lines.append("    (no changelog found in the package)")
        elif not entries:
            lines.append("    (none named)")
        for entry in entries or []:
            when = f" ({entry.date})" if entry.date else ""
            lines.append(f"    {entry.version}{when}: {', '.join(entry.cves)}")
    return lines


def release_files(release: Release, jars_dir: Path, jars: tuple[JarSource, ...],
                  manifest: str) -> list[tuple[str, bytes, int]]:
    """The files of the release (path with its top directory, bytes, mode): the jars, the
    manifest (SOURCES.txt) and the release's templates; what is in bin/ is executable."""
    top = release.top
    entries = [(f"{top}/{path}", (jars_dir / jar.jar).read_bytes(), 0o644)
               for path, jar in zip(release_paths(release, jars), jars)]
    entries.append((f"{top}/{MIRROR_MANIFEST}", manifest.encode(), 0o644))
    templates = TEMPLATES / release.templates
    for path in sorted(templates.rglob("*")):
        if path.is_file():
            mode = 0o755 if path.parent.name == "bin" else 0o644
            entries.append((f"{top}/{path.relative_to(templates)}", path.read_bytes(), mode))
    return entries


def release_tarball(release: Release, jars_dir: Path, jars: tuple[JarSource, ...],
                    manifest: str) -> bytes:
    """A reproducible .tar.gz laid out like the upstream release, with the manifest at its
    top."""
    return reproducible_tarball(release.top, release_files(release, jars_dir, jars, manifest))


def reproducible_tarball(top: str, entries: list[tuple[str, bytes, int]]) -> bytes:
    """A .tar.gz of `entries` and their directories: sorted, owned by root, dated 1970."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = sorted({str(Path(n).parent) for n, _unused, _unused in entries} | {top})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, data, mode in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)
