"""What a host's Java is: its distribution, the Java package the distribution calls for, whether
the package manager has it, and what the java binary reports. The java_probe module returns it
alone; zookeeper_probe returns it with the rest of what a run compares (one call per host)."""

import importlib.util
import os
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


def package_state(module, os_family: str, package: str) -> str:
    """Whether the package manager has the package installed: dpkg on the Debian family, rpm
    on the Red Hat family, else whichever of the two the host has."""
    if not package:
        return "unknown"
    manager = {"Debian": "dpkg-query", "RedHat": "rpm"}.get(os_family)
    if manager is None:
        manager = next((name for name in ("rpm", "dpkg-query") if module.get_bin_path(name)),
                       None)
    if manager == "dpkg-query":
        rc, out = module.run_command(["dpkg-query", "-W", "-f", "${db:Status-Status}",
                                      package])[:2]
        return "installed" if rc == 0 and out.strip() == "installed" else "missing"
    if manager == "rpm":
        rc = module.run_command(["rpm", "-q", "--quiet", package])[0]
        return "installed" if rc == 0 else "missing"
    return "unknown"


def look(module, binary: str, package: str, packages: dict, query: bool) -> dict:
    """The distribution (as setup's facts, `ansible_facts`), the package, its state, and the
    exit status and output of `java -version` (`version_rc`, `stderr`; `msg` when the binary
    cannot be run)."""
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
    else:
        rc, _out, err = module.run_command([binary, "-version"])  # the JVM prints to stderr
        result.update(version_rc=rc, stderr=err)
    return result
