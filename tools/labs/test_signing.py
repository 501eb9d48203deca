"""The lab's signing key (tools/labs/signing.py) under the use `make test` makes of it: several
scenarios start `tools/lab up` at once, each checking the key and the mirror's signatures in the
same GnuPG home."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labs import signing as lab_signing


def test_scenarios_starting_at_once_share_one_key(tmp_path: Path) -> None:
    """Each gpg call stops the home's agent afterwards; unserialised, one call's stop killed
    the agent under another's (`gpg --list-secret-keys` exit 2: a pool scenario's create
    failed in CI). Every caller must succeed and find one key, and every signature verify."""
    home, keys = tmp_path / "gnupg", tmp_path / "KEYS"
    files = []
    for i in range(6):
        files.append(tmp_path / f"release-{i}.tar.gz")
        files[-1].write_bytes(b"release %d" % i)

    def up(path: Path) -> bool:
        lab_signing.ensure_key(home, keys)
        if not lab_signing.signed(home, path):
            lab_signing.sign(home, path)
        return lab_signing.signed(home, path)

    for _round in range(2):  # a fresh home, then one with the key
        with ThreadPoolExecutor(max_workers=len(files)) as pool:
            assert all(pool.map(up, files))
    listed = lab_signing.gpg(home, "--list-secret-keys", "--with-colons").stdout.decode()
    assert sum(line.startswith("sec:") for line in listed.splitlines()) == 1, listed
