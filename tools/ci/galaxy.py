"""The collection the checkout is (galaxy.yml), and its tarball as `ansible-galaxy collection
build` makes it: the only build step, no file rewritten (used by the collection and EE tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Collection:
    namespace: str
    name: str
    version: str

    @property
    def fqcn(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def tarball_name(self) -> str:
        return f"{self.namespace}-{self.name}-{self.version}.tar.gz"


def read_galaxy(repo: Path = REPO) -> Collection:
    meta = yaml.safe_load((repo / "galaxy.yml").read_text())
    return Collection(str(meta["namespace"]), str(meta["name"]), str(meta["version"]))


def build(output: Path, repo: Path = REPO) -> Path:
    """`ansible-galaxy collection build` of the checkout as it is; the tarball's path."""
    galaxy = BIN / "ansible-galaxy"
    command = [str(galaxy) if galaxy.exists() else "ansible-galaxy", "collection", "build",
               str(repo), "--output-path", str(output), "--force"]
    output.mkdir(parents=True, exist_ok=True)
    # From the output directory: an ansible.cfg of the checkout's (its collections_path) or of
    # the current directory plays no part.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300,
                          cwd=output, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stdout}{proc.stderr}")
    tarball = output / read_galaxy(repo).tarball_name
    if not tarball.is_file():
        raise RuntimeError(f"ansible-galaxy did not write {tarball}:\n{proc.stdout}")
    return tarball
