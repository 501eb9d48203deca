"""Signed releases on real hosts (default scenario: zookeeper01-02 download from the lab's mirror
over plain HTTP, zookeeper03 gets the tarball from the controller): a release signed by a key the
inventory does not trust is not unpacked on any host, and a local tarball without its signature
and a plain-HTTP mirror without a pinned checksum are refused before any change."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from labs import signing as lab_signing
from conftest import REPO, Ensemble, assert_refused, run_site

MIRROR_TARBALL = REPO / ".lab/mirror/zookeeper-3.4.13/zookeeper-3.4.13.tar.gz"
# A release directory of its own, so that the run installs (and checks) the release again
# without touching the one the servers run.
TRIAL_ROOT = "/opt/zk-signature-trial"


def test_a_release_signed_by_a_key_not_trusted_is_not_unpacked(
        ensemble: Ensemble, tmp_path: Path) -> None:
    before = ensemble.snapshot()
    # A fresh key, made as the lab makes its own, which signed none of the mirror's tarballs.
    keys = tmp_path / "KEYS"
    lab_signing.ensure_key(tmp_path / "gnupg", keys)
    try:
        rc, output = run_site(ensemble.inventory_source(), {
            "zookeeper_release_keys": str(keys), "zookeeper_install_root": TRIAL_ROOT})
        assert rc != 0, f"the play succeeded:\n{output[-3000:]}"
        # Each host names the file, why the signature is not good, and that nothing was unpacked.
        failed = re.findall(r"/zookeeper-3\.4\.13\.tar\.gz: its signature \S+\.asc is not good: "
                            r"it was made by key [0-9A-F]{16}, which is not among the trusted "
                            r"keys\. Nothing was unpacked on (zookeeper0[1-3])\.", output)
        assert failed, f"no signature refusal in the output:\n{output[-3000:]}"
        for member in ensemble.members:
            unpacked = ensemble.host(member).run(f"ls -A {TRIAL_ROOT} 2>/dev/null").stdout.split()
            assert unpacked == [], f"{member.name}: {TRIAL_ROOT} holds {unpacked}"
        assert ensemble.snapshot() == before, "a watched file or the server changed"
    finally:
        for member in ensemble.members:
            ensemble.host(member).run(f"rm -rf {TRIAL_ROOT}")


def test_a_local_tarball_without_its_signature_is_refused_before_any_change(
        ensemble: Ensemble, tmp_path: Path) -> None:
    tarball = tmp_path / MIRROR_TARBALL.name
    shutil.copy(MIRROR_TARBALL, tarball)
    shutil.copy(f"{MIRROR_TARBALL}.sha512", f"{tarball}.sha512")
    before = ensemble.snapshot()
    rc, output = run_site(ensemble.inventory_source(), {
        "zookeeper_install_method": "local", "zookeeper_local_tarball": str(tarball)})
    assert_refused(ensemble, "local tarball without .asc", before, rc, output,
                   rf"zookeeper_install_method=local needs zookeeper_local_tarball, a release "
                   rf"tarball on the controller, and its signature beside it: "
                   rf"{re.escape(str(tarball))}\.asc was not found; put the \.asc Apache "
                   rf"publishes with the release there, or set zookeeper_signature_check=false")


def test_a_plain_http_mirror_without_a_pinned_checksum_is_refused_before_any_change(
        ensemble: Ensemble) -> None:
    before = ensemble.snapshot()
    rc, output = run_site(ensemble.inventory_source(), {"zookeeper_allow_plain_http": False})
    assert_refused(ensemble, "plain HTTP mirror", before, rc, output,
                   r"zookeeper01: zookeeper_tarball_url='http://10\.213\.11\.250:8080/"
                   r"zookeeper-3\.4\.13/zookeeper-3\.4\.13\.tar\.gz' is plain http, and with "
                   r"zookeeper_checksum empty its sha512 would come unprotected from the same "
                   r"place as the tarball")
