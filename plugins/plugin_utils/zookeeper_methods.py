"""What each install method needs before any host changes, checked on the controller by
zookeeper_validate (plugins/action/zookeeper_validate.py), in the step every host runs anyway:

- package: the distribution's package (the role's vars/<distribution>-<major>.yml, else
  vars/<os family>-<major>.yml, else vars/default.yml: no package) must be of a release line the
  role knows;
- local: the release tarball on the controller, its sha512 (zookeeper_checksum, or the .sha512
  beside it) and, with zookeeper_signature_check, its .asc beside it. Each tarball is hashed
  once for the play, however many hosts name it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml
from ansible_collections.zkops.zookeeper34.plugins.module_utils.zookeeper_verify import (
    published_sha512,
    sha512_of,
)

# No filters: zookeeper_validate calls these itself.
FILTERS: dict[str, Any] = {}

# The keys of a package vars file, without this prefix in what package_facts returns.
PACKAGE_PREFIX = "__zookeeper_package_"
# Where a host's local tarball check is kept in its own check's result (zookeeper_validate).
LOCAL = "local"


def package_files(facts: Mapping[str, Any]) -> list[str]:
    """The package vars files to try for a distribution, in order (include_vars' first_found
    order of the role until now)."""
    major = facts.get("distribution_major_version", "")
    return [f"{facts.get('distribution', '')}-{major}.yml",
            f"{facts.get('os_family', '')}-{major}.yml", "default.yml"]


def package_facts(vars_dir: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The distribution's ZooKeeper package (name, version, logging, links) from the first
    package vars file found in `vars_dir`."""
    for name in package_files(facts):
        path = os.path.join(vars_dir, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                found = yaml.safe_load(handle) or {}
            return {key[len(PACKAGE_PREFIX):]: value for key, value in found.items()
                    if key.startswith(PACKAGE_PREFIX)}
    raise FileNotFoundError(f"none of {', '.join(package_files(facts))} in {vars_dir}")


def package_problem(host: str, facts: Mapping[str, Any], package: Mapping[str, Any],
                    known_lines: Iterable[str]) -> str | None:
    """Why the package method cannot install a release the role knows on this host, or None."""
    version = str(package.get("version") or "")
    known = [str(line) for line in known_lines]
    if version and ".".join(version.split(".")[:2]) in known:
        return None
    what = (f"ZooKeeper {version}" if version
            else "nothing: the distribution has no zookeeper package")
    return (f"{host}: zookeeper_install_method=package on {facts.get('distribution')} "
            f"{facts.get('distribution_version')} ({facts.get('distribution_release')}) would "
            f"install {what}, not a release of {' or '.join(known)}. Use "
            "zookeeper_install_method=tarball (download from zookeeper_mirror) or local (a "
            "tarball from the controller) on this host.")


def local_check(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the local method's check needs of a host's variables (None for another method)."""
    if values.get("zookeeper_install_method") != "local":
        return None
    return {"tarball": str(values.get("zookeeper_local_tarball") or ""),
            "checksum": str(values.get("zookeeper_checksum") or ""),
            "signature_check": bool(values.get("zookeeper_signature_check"))}


def local_problem(host: str, check: Mapping[str, Any],
                  digest_of: Callable[[str], str | None] = sha512_of) -> str | None:
    """Why a host's local tarball cannot be installed, or None; `digest_of` gives a file's
    sha512 (local_problems passes one that hashes each file once)."""
    tarball = check["tarball"]
    intro = (f"{host}: zookeeper_install_method=local needs zookeeper_local_tarball, a release "
             "tarball on the controller")
    if not tarball or not os.path.isfile(tarball):
        return f"{intro}{': ' + tarball + ' was not found' if tarball else ''}."
    expected = check["checksum"].lower()
    if not expected:
        if not os.path.isfile(tarball + ".sha512"):
            return (f"{intro}, and its sha512 in zookeeper_checksum or in {tarball}.sha512.")
        with open(tarball + ".sha512", encoding="utf-8", errors="replace") as handle:
            try:
                expected = published_sha512(handle.read())
            except ValueError as error:
                return f"{host}: {tarball}.sha512: {error}."
    actual = digest_of(tarball)
    if actual != expected:
        return (f"{intro}: its sha512 {actual} does not match the expected {expected}; fetch "
                "the release again or correct zookeeper_checksum.")
    if check["signature_check"] and not os.path.isfile(tarball + ".asc"):
        return (f"{intro}, and its signature beside it: {tarball}.asc was not found; put the "
                ".asc Apache publishes with the release there, or set "
                "zookeeper_signature_check=false (the sha512 is then all that is checked).")
    return None


def local_problems(checks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each host's local tarball check (host -> local_check), each tarball hashed once."""
    digests: dict[str, str | None] = {}

    def digest_of(path: str) -> str | None:
        if path not in digests:
            digests[path] = sha512_of(path)
        return digests[path]

    found = (local_problem(host, check, digest_of) for host, check in checks.items())
    return [problem for problem in found if problem]
