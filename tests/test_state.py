"""The state folder holds the private key the ISV's app trusts: it survives a run killed at
any point, keeps its permissions tight, and stays out of the ISV's git repository."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from oin_conformance.state import GITIGNORE, StateError, StateFolder, generate_keypair

KILLED_AFTER_KEY = """
import os, signal, sys
from pathlib import Path
from oin_conformance.state import _publish, generate_keypair

folder = Path(sys.argv[1])
folder.mkdir(mode=0o700)
pair = generate_keypair("killed")
_publish(folder / "op.key.pem", pair.key_pem)
print(pair.key_pem, end="", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # before the certificate is published
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _keypair(path: str) -> tuple[str, str]:
    pair = StateFolder(Path(path)).keypair("op", "race")
    return pair.key_pem, pair.cert_pem


def test_a_run_killed_between_key_and_certificate_breaks_no_later_run(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_KEY, str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (folder / "op.key.pem").exists() and not (folder / "op.cert.pem").exists()
    # Parallel workers of the next run all recover, and agree on one key and one certificate:
    # the key that was published, and a certificate derived from it.
    with ProcessPoolExecutor(max_workers=4) as pool:
        pairs = set(pool.map(_keypair, [str(folder)] * 4))
    assert len(pairs) == 1
    key_pem, cert_pem = pairs.pop()
    assert key_pem == killed.stdout
    pair = StateFolder(folder).keypair("op", "race")
    assert (pair.key_pem, pair.cert_pem) == (key_pem, cert_pem)
    assert pair.certificate.public_key() == pair.private_key.public_key()
    assert mode(folder / "op.cert.pem") == 0o600
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".op.")], "temp files"


def test_existing_folder_and_keys_are_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    StateFolder(folder).keypair("idp", "idp")
    os.chmod(folder, 0o755)  # noqa: S103 - the loose mode under test
    os.chmod(folder / "idp.key.pem", 0o644)
    os.chmod(folder / "idp.cert.pem", 0o664)
    StateFolder(folder).keypair("idp", "idp")
    assert mode(folder) == 0o700
    assert mode(folder / "idp.key.pem") == 0o600
    assert mode(folder / "idp.cert.pem") == 0o600


def test_a_folder_made_by_someone_else_is_tightened_too(tmp_path: Path) -> None:
    """``mkdir(mode=0o700)`` applies only to a new folder: an empty one made by hand (or
    by an older version) with the umask's 0755 is tightened."""
    folder = tmp_path / "made-by-hand"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)  # noqa: S103 - the loose mode under test
    StateFolder(folder).keypair("idp", "idp")
    assert mode(folder) == 0o700
    assert (folder / ".gitignore").read_text() == GITIGNORE


def test_the_folder_stays_out_of_git(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "isv-repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "oin-target.toml").write_text("[app]\n")
    StateFolder(repo / ".oin-state").keypair("idp", "idp")
    lines = GITIGNORE.splitlines()
    assert lines[-1] == "*" and all(ln.startswith("#") for ln in lines[:-1])
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status.splitlines() == ["?? oin-target.toml"], status


def test_a_folder_of_the_isvs_own_is_left_as_it_is(tmp_path: Path) -> None:
    """``state_dir`` pointed at a folder holding other files: no .gitignore (it would hide
    them from git), its mode untouched; the keys are still 0600."""
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o755)  # noqa: S103 - the loose mode under test
    (folder / "notes.txt").write_text("mine")
    StateFolder(folder).keypair("idp", "idp")
    assert not (folder / ".gitignore").exists()
    assert mode(folder) == 0o755
    assert mode(folder / "idp.key.pem") == 0o600


def test_a_certificate_without_its_key_says_what_to_delete(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    StateFolder(folder).keypair("idp", "idp")
    (folder / "idp.key.pem").unlink()
    with pytest.raises(StateError) as info:
        StateFolder(folder).keypair("idp", "idp")
    assert f"delete {folder / 'idp.cert.pem'} and run again" in str(info.value)
    assert not (folder / "idp.key.pem").exists(), "no key published beside a stale cert"


def test_a_certificate_of_another_key_says_what_to_delete(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    StateFolder(folder).keypair("idp", "idp")
    (folder / "idp.cert.pem").write_text(generate_keypair("other").cert_pem)
    with pytest.raises(StateError, match=r"does not belong to the key .* delete .*idp\.cert"):
        StateFolder(folder).keypair("idp", "idp")
    (folder / "idp.cert.pem").unlink()  # as the message says: the cert is derived again
    pair = StateFolder(folder).keypair("idp", "idp")
    assert pair.certificate.public_key() == pair.private_key.public_key()


def test_a_damaged_key_says_what_to_delete(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "op.key.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    with pytest.raises(StateError) as info:
        StateFolder(folder).keypair("op", "op")
    message = str(info.value)
    assert "is not an unencrypted RSA private key in PEM" in message
    assert f"delete {folder / 'op.key.pem'} and {folder / 'op.cert.pem'}" in message
