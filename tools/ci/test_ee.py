"""The execution environment's definition (execution-environment.yml, ansible-builder v3), the
collection's own EE dependencies (meta/execution-environment.yml) and ansible-navigator.yml,
as the tools read them. No image is built (that would download a base image): ansible-builder
writes the build context from the real collection tarball, `introspect` reads the installed
collection's dependencies, and ansible-navigator reads its settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ci.galaxy import build, read_galaxy

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory as `make collection` leaves the checkout: the definition and build/."""
    base = tmp_path_factory.mktemp("ee")
    build(base / "build")
    shutil.copy(REPO / "execution-environment.yml", base)
    return base


def test_ansible_builder_writes_the_context_with_the_collection_galaxy_builds(built: Path
                                                                              ) -> None:
    collection = read_galaxy()
    proc = run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context",
               cwd=built)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = built / "context"
    assert (context / "_build" / "collections" / collection.tarball_name).is_file()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"] == [
        {"name": f"/build/collections/{collection.tarball_name}", "type": "file"}]
    containerfile = (context / "Containerfile").read_text()
    core = next(line for line in (REPO / "requirements.txt").read_text().splitlines()
                if line.startswith("ansible-core=="))
    assert core in containerfile and "ansible-galaxy collection install" in containerfile


def test_a_definition_naming_another_version_leaves_the_collection_out(built: Path) -> None:
    """ansible-builder only warns when the tarball a definition names is missing (the image
    would then fail to build): the check above, that the context holds galaxy.yml's tarball,
    is what catches a version moved in galaxy.yml and not here."""
    collection = read_galaxy()
    text = (built / "execution-environment.yml").read_text()
    other = built / "other"
    other.mkdir()
    (other / "execution-environment.yml").write_text(
        text.replace(f"-{collection.version}.tar.gz", "-9.9.9.tar.gz"))
    shutil.copytree(built / "build", other / "build")
    proc = run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context",
               cwd=other)
    assert "No matches for 'build/zkops-zookeeper34-9.9.9.tar.gz'" in proc.stdout, proc.stdout
    assert not (other / "context" / "_build" / "collections" / collection.tarball_name).exists()


def test_introspect_reads_the_installed_collections_dependencies(built: Path) -> None:
    collection = read_galaxy()
    path = built / "collections"
    proc = run("ansible-galaxy", "collection", "install", str(built / "build" /
               collection.tarball_name), "-p", str(path), cwd=built)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run("ansible-builder", "introspect", "--sanitize", str(path), cwd=built)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout)
    assert any(line.startswith("paramiko") for line in found["python"]), found
    assert any(line.startswith("openssh-client ") for line in found["system"]), found


def test_ansible_navigator_reads_its_settings() -> None:
    proc = run("ansible-navigator", "settings", "--effective", "--mode", "stdout", "--ee",
               "false", cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    settings = yaml.safe_load(proc.stdout)["ansible-navigator"]
    collection = read_galaxy()
    image = settings["execution-environment"]["image"]
    assert image == f"zkops-zookeeper34-ee:{collection.version}", image
    assert settings["playbook-artifact"]["save-as"].startswith("results/navigator/")
