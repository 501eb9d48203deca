"""Unit tests of the java role's filters."""

from __future__ import annotations


import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.zkops.zookeeper34.plugins.filter.java import (
    java_major_version,
    java_package_major,
)


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "1.8.0_292"\nOpenJDK Runtime Environment (build 1.8.0_292-b10)', 8),
        ('openjdk version "11.0.20" 2023-07-18\nOpenJDK Runtime Environment', 11),
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.7.0_80"', 7),
    ],
)
def test_major_version(output: str, major: int) -> None:
    assert java_major_version(output) == major


@pytest.mark.parametrize("output", ["", "bash: java: command not found", None])
def test_major_version_unreadable(output: str | None) -> None:
    with pytest.raises(AnsibleFilterError, match="cannot read a Java version"):
        java_major_version(output)


@pytest.mark.parametrize(("package", "major"), [
    ("openjdk-11-jre-headless", 11), ("openjdk-17-jre-headless", 17),
    ("java-1.8.0-openjdk-headless", 8), ("java-11-openjdk-headless", 11),
    ("default-jre-headless", 0), ("", 0),
])
def test_the_major_a_package_name_carries(package: str, major: int) -> None:
    assert java_package_major(package) == major
