"""Filters of the java role."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major_version(output: str) -> int:
    """The major version from `java -version` output: 'version "1.8.0_292"' is 8,
    'version "11.0.20"' is 11, 'version "17"' is 17. A bare version (a runtime's `release`
    file's JAVA_VERSION, "11.0.24") is read the same way."""
    text = output or ""
    match = _VERSION.search(text) or _VERSION.search(f'version "{text.strip()}"')
    if not match:
        raise AnsibleFilterError(f"cannot read a Java version from: {output!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


_PACKAGE = re.compile(r"(?:openjdk-|java-1\.|java-)(\d+)")


def java_package_major(name: str) -> int:
    """The Java major version a package name carries: openjdk-17-jre-headless is 17,
    java-1.8.0-openjdk-headless 8, java-11-openjdk-headless 11; 0 when it says none
    (default-jre-headless)."""
    match = _PACKAGE.match(name or "")
    return int(match.group(1)) if match else 0


class FilterModule:
    """Java filters."""

    def filters(self) -> dict:
        return {"java_major_version": java_major_version,
                "java_package_major": java_package_major}
