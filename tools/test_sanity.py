"""Unit tests of tools/sanity.py's parsing; `make sanity` runs the tool itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from sanity import NO_PIP, environment_test, unpinned


def test_unpinned_keeps_only_package_names() -> None:
    text = ("# edit \"sanity.pylint.in\" and generate with: hacking/update...\n"
            "astroid==3.3.10\nPyYAML==6.0.2  # comment\n\nresolvelib >= 0.5.3, < 2.0.0\n"
            "pkg[extra]==1.0\n")
    assert unpinned(text) == ["astroid", "PyYAML", "resolvelib", "pkg"]


def test_the_environment_ansible_test_could_not_bootstrap_is_found() -> None:
    output = ('Installing requirements for Python 3.11 [venv]\nFATAL: Python 3.11 at '
              '"/root/.ansible/test/venv/sanity.import.plugin/3.11/9cdf3c32/bin/python" '
              'does not have pip available.\n')
    found = NO_PIP.search(output)
    assert found
    venv = Path(found["python"])
    assert venv == Path("/root/.ansible/test/venv/sanity.import.plugin/3.11/9cdf3c32")
    assert environment_test(venv) == "import.plugin"


def test_a_path_that_is_not_a_sanity_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="not a sanity test environment"):
        environment_test(Path("/usr/lib/python3/3.11/abc"))
