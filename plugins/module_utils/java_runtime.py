"""What a host's Java is: its distribution, the Java package the distribution calls for, whether
the package manager has it, and what version the java binary is. The java_probe module returns it
alone; zookeeper_probe returns it with the rest of what a run compares (one call per host)."""

import glob
import importlib.util
import os
import re
import shutil
import sys

FACTS_PACKAGE = "ansible.module_utils.facts"


def _facts_package_alone():
    """Put ansible.module_utils.facts in place as a bare package, without running its
    __init__, unless the process has imported it already.

    Its __init__ imports every fact collector of ansible-core (about 140 files) to re-export two
    old functions. A module runs from its AnsiballZ zip, where Python compiles every file it
    imports on every run, so that import was about 55 ms of CPU per call on a host (0.18 ->
    0.12 s for the probe's imports), for the one collector this file needs. The two functions
    stay reachable through the bare package (its __getattr__ imports them on first use)."""
    if FACTS_PACKAGE in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(FACTS_PACKAGE)
    except (ImportError, ValueError, AttributeError):  # not found: the import below says why
        return
    if spec is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)

    def compat(name):
        if name in ("ansible_facts", "get_all_facts"):
            return getattr(importlib.import_module(FACTS_PACKAGE + ".compat"), name)
        raise AttributeError(f"module {FACTS_PACKAGE!r} has no attribute {name!r}")

    package.__getattr__ = compat
    sys.modules[FACTS_PACKAGE] = package


_facts_package_alone()
from ansible.module_utils.facts.system.distribution import DistributionFactCollector  # noqa: E402

# The facts the roles read, as setup's distribution subset gives them.
FACTS = ("distribution", "distribution_major_version", "distribution_version",
         "distribution_release", "os_family")
# The options of a look at Java (java_probe's, and zookeeper_probe's `java` suboptions).
OPTIONS = {
    "binary": {"type": "path", "required": False, "default": "/usr/bin/java"},
    "package": {"type": "str", "required": False, "default": ""},
    "packages": {"type": "dict", "required": False, "default": {}},
    "query": {"type": "bool", "required": False, "default": True},
}


def pick_package(packages: dict, facts: dict) -> str:
    """The first of <distribution>-<major>, <os family>-<major>, <distribution>, <os family>
    that `packages` lists, as the role's vars files were once found."""
    major = facts.get("distribution_major_version", "")
    for key in (f"{facts.get('distribution')}-{major}", f"{facts.get('os_family')}-{major}",
                facts.get("distribution"), facts.get("os_family")):
        if key in packages:
            return packages[key]
    return ""


DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_UPDATES = "/var/lib/dpkg/updates"


def dpkg_status(package: str, status: str = DPKG_STATUS, updates: str = DPKG_UPDATES):
    """The package's state (installed or missing) as `dpkg-query -W -f '${db:Status-Status}'`
    gives it, read from dpkg's status file: a read of a few hundred KB where dpkg-query is a
    process (about 5 ms of CPU on a host). None where the file alone cannot tell: unreadable,
    dpkg's journal not yet merged into it (`updates/`, after an interrupted dpkg), or a name
    with an architecture. Installed is the last word of the package's Status field; with
    several architectures of the package, any one installed."""
    if not package or ":" in package:
        return None
    try:
        if any(name.isdigit() for name in os.listdir(updates)):
            return None
        with open(status, "rb") as handle:
            text = b"\n" + handle.read()
    except OSError:
        return None
    heading = b"\nPackage: " + package.encode() + b"\n"
    start = text.find(heading)
    while start >= 0:
        end = text.find(b"\n\n", start + 1)
        for line in text[start:end if end >= 0 else len(text)].split(b"\n"):
            if line.startswith(b"Status:") and line.split()[-1:] == [b"installed"]:
                return "installed"
        start = text.find(heading, start + 1)
    return "missing"


def package_state(module, os_family: str, package: str) -> str:
    """Whether the package manager has the package installed: dpkg on the Debian family, rpm
    on the Red Hat family, else whichever of the two the host has. dpkg's status file is read
    where it tells (dpkg_status); else dpkg-query is asked."""
    if not package:
        return "unknown"
    manager = {"Debian": "dpkg-query", "RedHat": "rpm"}.get(os_family)
    if manager is None:
        manager = next((name for name in ("rpm", "dpkg-query") if module.get_bin_path(name)),
                       None)
    if manager == "dpkg-query":
        state = dpkg_status(package)
        if state is not None:
            return state
        rc, out = module.run_command(["dpkg-query", "-W", "-f", "${db:Status-Status}",
                                      package])[:2]
        return "installed" if rc == 0 and out.strip() == "installed" else "missing"
    if manager == "rpm":
        rc = module.run_command(["rpm", "-q", "--quiet", package])[0]
        return "installed" if rc == 0 else "missing"
    return "unknown"


_RELEASE_VERSION = re.compile(r'^JAVA_VERSION="([^"]+)"', re.MULTILINE)


def release_version(binary: str) -> tuple:
    """The version the runtime of `binary` declares in its `release` file, and that file, or
    ("", "") when it declares none.

    Every OpenJDK build since 9, and JDK 8's, has the file at its home (the directory above
    bin/, or above jre/ for Java 8's jre/bin/java), next to the JVM it runs (lib/server/libjvm.so,
    Java 8's jre/lib/<arch>/server/libjvm.so beside jre/bin/java). Reading it costs
    a few system calls where `java -version` starts a JVM (about 50 ms of CPU per host, the
    largest part of a probe). Only a runtime whose JVM library is there is read this way;
    anything else, a script standing in for java included, is run with -version."""
    real = os.path.realpath(binary)
    home = os.path.dirname(os.path.dirname(real))
    for base in (home, os.path.dirname(home)) if os.path.basename(home) == "jre" else (home,):
        path = os.path.join(base, "release")
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                match = _RELEASE_VERSION.search(handle.read(65536))
        except OSError:
            continue
        libjvm = [os.path.join(home, "lib", "server", "libjvm.so"),
                  *glob.glob(os.path.join(home, "lib", "*", "server", "libjvm.so"))]
        if match and any(os.path.isfile(lib) for lib in libjvm):
            return match.group(1), path
    return "", ""


def _commands_known() -> None:
    """Tell the distro library (which the distribution facts ask) what two of its commands
    would tell it, where that is known beforehand, so that it does not start them: a process
    each per call (about 3 ms of CPU on a host), the same facts.

    `uname -rs`: it weighs the answer against the release files and drops it when the system
    is Linux (the kernel's version is not the distribution's). `lsb_release -a`: where no such
    command is on the PATH, it finds that out by failing to start one, and takes that as no
    answer. Where lsb_release is there, it runs as before."""
    if os.uname().sysname != "Linux":
        return
    try:
        from ansible.module_utils import distro
    except ImportError:
        return
    # the library's own instance: in ansible-core's copy, or in the host's distro package
    found = getattr(distro, "_distro", None) or getattr(getattr(distro, "distro", None),
                                                        "_distro", None)
    if found is None:
        return
    known = vars(found)
    if hasattr(type(found), "_uname_info"):
        known.setdefault("_uname_info", {})
    if hasattr(type(found), "_lsb_release_info") and getattr(found, "include_lsb", False) \
            and shutil.which("lsb_release") is None:
        known.setdefault("_lsb_release_info", {})


def look(module, binary: str, package: str, packages: dict, query: bool) -> dict:
    """The distribution (as setup's facts, `ansible_facts`), the package, its state, and the
    binary's version: from its runtime's `release` file (`version`, `version_from`), else the
    exit status and output of `java -version` (`version_rc`, `stderr`; `msg` when the binary
    cannot be run)."""
    _commands_known()
    collected = DistributionFactCollector().collect(module=module)
    facts = {name: collected.get(name, "") for name in FACTS}
    package = package or pick_package(packages, facts)
    result = {
        "ansible_facts": {f"ansible_{name}": value for name, value in facts.items()},
        "package": package,
        "package_state": package_state(module, facts["os_family"], package) if query
        else "unknown",
    }
    if not os.access(binary, os.X_OK):
        result.update(version_rc=127, stderr="", msg=f"{binary} does not exist or cannot be run")
        return result
    version, release = release_version(binary)
    if version:
        result.update(version_rc=0, stderr="", version=version, version_from=release)
    else:
        rc, _out, err = module.run_command([binary, "-version"])  # the JVM prints to stderr
        result.update(version_rc=rc, stderr=err, version_from="-version")
    return result
